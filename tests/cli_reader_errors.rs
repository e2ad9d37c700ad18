//! The readers' errors on the conventions of real checkpoints, as a user of
//! the binary meets them: a DCP folder missing a rank's file or with a
//! truncated `.metadata`, colliding tensor names at one step, a Hugging Face
//! index naming absent shards. Nothing readable: exit 2 and one line naming
//! the file (and tensor or field); some readable: exit 1, the rest read and
//! every unread file listed with its reason.

mod common;

use std::path::Path;

use common::{fails_with_2, fixture};

/// `real/<from>/<step>` copied to `<dir>/<step>`, leaving out `omit`.
fn copy_step(from: &str, step: &str, dir: &Path, omit: &[&str]) -> std::path::PathBuf {
    let source = fixture("real").join(from).join(step);
    let target = dir.join(step);
    std::fs::create_dir_all(&target).unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let name = entry.unwrap().file_name();
        if !omit.iter().any(|o| name == *o) {
            std::fs::copy(source.join(&name), target.join(&name)).unwrap();
        }
    }
    target
}

#[track_caller]
fn one_line(stderr: &str, needles: &[&str]) {
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("gradrd: error: "), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
}

#[test]
fn a_dcp_folder_without_a_ranks_file_names_that_file() {
    let dir = tempfile::tempdir().unwrap();
    copy_step("dcp", "step_000300", dir.path(), &["__1_0.distcp"]);
    let path = dir.path().display().to_string();
    let stderr = fails_with_2(&["inspect", &path]);
    one_line(&stderr, &["__1_0.distcp", "cannot read"]);
}

#[test]
fn a_truncated_dcp_metadata_names_the_file_and_byte() {
    let dir = tempfile::tempdir().unwrap();
    let step = copy_step("dcp", "step_000300", dir.path(), &[]);
    let metadata = step.join(".metadata");
    let bytes = std::fs::read(&metadata).unwrap();
    std::fs::write(&metadata, &bytes[..100]).unwrap();
    let path = dir.path().display().to_string();
    let stderr = fails_with_2(&["fit", &path, "--family", "gennorm"]);
    one_line(&stderr, &[".metadata", "at byte", "truncated"]);
}

#[test]
fn colliding_names_at_one_step_name_both_files_and_the_rule() {
    let path = fixture("real/collide").display().to_string();
    let stderr = fails_with_2(&["inspect", &path]);
    one_line(
        &stderr,
        &["a.safetensors", "b.safetensors", "collision rule `report`"],
    );
    // the rule a user can choose settles it
    let out = assert_cmd::Command::cargo_bin("gradrd")
        .unwrap()
        .args(["inspect", &path, "--collisions", "first"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn an_index_naming_absent_shards_reads_the_rest_and_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    copy_step(
        "hf-sharded",
        "checkpoint-300",
        dir.path(),
        &[
            "model-00002-of-00003.safetensors",
            "model-00003-of-00003.safetensors",
        ],
    );
    let out = assert_cmd::Command::cargo_bin("gradrd")
        .unwrap()
        .args(["inspect", &dir.path().display().to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!out.stdout.is_empty());
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    for (line, shard) in lines.iter().zip(["00002", "00003"]) {
        assert!(
            line.contains(&format!(
                "model-{shard}-of-00003.safetensors which is missing"
            )),
            "{line}"
        );
    }
}
