//! Hostile and unlucky filesystems on the real binary: FIFOs where files are
//! expected, `-o` onto devices, folders, links and the input itself, the
//! mode of new outputs, a dump truncated while it is memory-mapped, and the
//! partial folders a killed `gradrd run` leaves. Each refusal is one line
//! naming the path, exit 2, and nothing written where it was not asked.
#![cfg(unix)]

mod common;

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("gradrd")
}

/// Runs gradrd with `args`, killed after 20 s (a FIFO must not hang it).
fn gradrd(args: &[&str]) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gradrd starts");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("gradrd {args:?} still runs after 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Asserts exit 2 and one stderr line holding every needle.
#[track_caller]
fn refused(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

fn data(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .display()
        .to_string()
}

/// A small f32 .npy file.
fn npy(path: &Path, values: &[f32]) {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    std::fs::write(path, common::npy_bytes(&header, &data)).unwrap();
}

#[test]
fn fifos_as_dump_spec_and_codebook_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("step_1.npy");
    mkfifo(&fifo);
    let fifo = fifo.display().to_string();
    refused(&gradrd(&["inspect", &fifo]), &[&fifo, "FIFO"]);
    refused(&gradrd(&["run", &fifo]), &[&fifo, "FIFO"]);
    let values = dir.path().join("x.npy");
    npy(&values, &[0.5, -1.0, 2.0, 0.25]);
    refused(
        &gradrd(&["quantize", "eval", &fifo, &values.display().to_string()]),
        &[&fifo, "FIFO"],
    );
}

#[test]
fn a_fifo_in_a_dump_folder_is_listed_and_the_rest_read() {
    let dir = tempfile::tempdir().unwrap();
    npy(&dir.path().join("step_2.npy"), &[0.5, -1.0, 2.0, 0.25]);
    mkfifo(&dir.path().join("step_1.npy"));
    let out = gradrd(&["inspect", &dir.path().display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("step_1.npy: a FIFO, not read"),
        "the FIFO is listed: {stderr}"
    );
}

#[test]
fn outputs_are_only_regular_files_or_new_paths() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("g.npy");
    npy(&dump, &[0.5, -1.0, 2.0, 0.25]);
    let dump_arg = dump.display().to_string();
    // A character device (/dev/null is one everywhere; it stays one).
    refused(
        &gradrd(&["inspect", &dump_arg, "-o", "/dev/null"]),
        &["/dev/null", "character device"],
    );
    assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
    // A folder.
    let folder = dir.path().display().to_string();
    refused(
        &gradrd(&["inspect", &dump_arg, "-o", &folder]),
        &[&folder, "a folder"],
    );
    // A FIFO.
    let fifo = dir.path().join("out.fifo");
    mkfifo(&fifo);
    refused(
        &gradrd(&["inspect", &dump_arg, "-o", &fifo.display().to_string()]),
        &["a FIFO"],
    );
    // The input itself, by its name and through a link to it.
    let before = std::fs::read(&dump).unwrap();
    refused(
        &gradrd(&["inspect", &dump_arg, "-o", &dump_arg]),
        &[&dump_arg, "input"],
    );
    let link = dir.path().join("alias.json");
    std::os::unix::fs::symlink(&dump, &link).unwrap();
    refused(
        &gradrd(&["inspect", &dump_arg, "-o", &link.display().to_string()]),
        &["input"],
    );
    assert_eq!(
        std::fs::read(&dump).unwrap(),
        before,
        "the dump is untouched"
    );
    // A link to nothing.
    let dangling = dir.path().join("dangling.json");
    std::os::unix::fs::symlink(dir.path().join("missing/x"), &dangling).unwrap();
    refused(
        &gradrd(&["inspect", &dump_arg, "-o", &dangling.display().to_string()]),
        &["symbolic link to nothing"],
    );
    // Nothing was left behind in the folder (no temporary files).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["alias.json", "dangling.json", "g.npy", "out.fifo"]);
}

#[test]
fn a_link_is_kept_and_its_target_replaced_with_the_umask_or_old_mode() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("g.npy");
    npy(&dump, &[0.5, -1.0, 2.0, 0.25]);
    let dump_arg = dump.display().to_string();
    let fresh = dir.path().join("fresh.json");
    let out = Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(binary())
        .args(["inspect", &dump_arg, "--format", "json", "-o"])
        .arg(&fresh)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "0666 less umask 022");

    let target = dir.path().join("target.json");
    std::fs::write(&target, "old").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = gradrd(&[
        "inspect",
        &dump_arg,
        "--format",
        "json",
        "-o",
        &link.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(written.contains("\"schema\""), "{written}");
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "a replaced file keeps its mode");
}

#[test]
fn a_dump_truncated_while_mapped_is_one_line_not_a_bus_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.safetensors");
    // A sparse file: one f32 tensor of 2^32 zeros (16 GiB of holes, no disk),
    // which `inspect` streams through the map for several seconds.
    let n: u64 = 1 << 32;
    let header = format!(
        "{{\"g\":{{\"dtype\":\"F32\",\"shape\":[{n}],\"data_offsets\":[0,{}]}}}}",
        4 * n
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header.as_bytes());
    let start = bytes.len() as u64;
    std::fs::write(&path, &bytes).unwrap();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(start + 4 * n).unwrap();
    let path_arg = path.display().to_string();
    let child = Command::new(binary())
        .args(["inspect", &path_arg])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it map the file and start reading, then cut the file short.
    std::thread::sleep(Duration::from_millis(700));
    file.set_len(start + 4096).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), None, "killed by a signal: {stderr}");
    refused(&out, &[&path_arg, "shrank while it was being read"]);
}

/// A spec `<name>.toml` in `dir` over the shipped MLP dump, `body` appended.
fn digits_spec(dir: &Path, name: &str, body: &str) -> PathBuf {
    let spec = dir.join(format!("{name}.toml"));
    let text = format!(
        "name = \"{name}\"\ndump = \"{}\"\n{body}",
        data("data/digits-mlp")
    );
    std::fs::write(&spec, text).unwrap();
    spec
}

/// Sets the modification time of `path` an hour back.
fn age_an_hour(path: &Path) {
    let an_hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::open(path)
        .unwrap()
        .set_modified(an_hour_ago)
        .unwrap();
}

#[test]
fn a_killed_runs_partial_folder_is_removed_by_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let spec = digits_spec(
        dir.path(),
        "t",
        "tensor = \"fc3.weight\"\n[[analysis]]\nkind = \"fit\"\nbins = 10\n",
    );
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    // What a SIGKILLed run leaves: its staging folder, unlocked, a while ago.
    let stale = reports.join(".t.partial-AbC123");
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("report.md"), "half").unwrap();
    age_an_hour(&stale);
    // Another report's partial is not this run's to remove.
    let other = reports.join(".u.partial-XyZ789");
    std::fs::create_dir(&other).unwrap();
    age_an_hour(&other);
    let out = gradrd(&[
        "run",
        &spec.display().to_string(),
        "--reports",
        &reports.display().to_string(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stale.exists(), "the stale partial is gone");
    assert!(other.exists());
    assert!(stderr.contains(".t.partial-AbC123"), "named: {stderr}");
    assert!(reports.join("t/report.md").is_file());
}

#[test]
fn a_killed_run_leaves_the_previous_report_and_a_partial_the_next_run_removes() {
    let dir = tempfile::tempdir().unwrap();
    let spec = digits_spec(
        dir.path(),
        "k",
        "[[analysis]]\nkind = \"fit\"\n[[analysis]]\nkind = \"evolve\"\n",
    );
    let reports = dir.path().join("reports");
    let spec_arg = spec.display().to_string();
    let reports_arg = reports.display().to_string();
    let first = gradrd(&["run", &spec_arg, "--reports", &reports_arg]);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let previous = std::fs::read(reports.join("k/report.md")).unwrap();
    let mut child = Command::new(binary())
        .args(["run", &spec_arg, "--reports", &reports_arg])
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let partial = |reports: &Path| {
        std::fs::read_dir(reports)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .as_bytes()
                    .starts_with(b".k.partial-")
            })
    };
    let started = Instant::now();
    while partial(&reports).is_none() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let Some(left) = partial(&reports) else {
        // The run finished before it could be killed mid-way; nothing to check.
        return;
    };
    assert_eq!(
        std::fs::read(reports.join("k/report.md")).unwrap(),
        previous
    );
    // Within the grace period a partial may be a live run's: it stays.
    let again = gradrd(&["run", &spec_arg, "--reports", &reports_arg]);
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    assert!(left.exists(), "young partials are kept");
    age_an_hour(&left);
    let last = gradrd(&["run", &spec_arg, "--reports", &reports_arg]);
    assert_eq!(last.status.code(), Some(0), "{last:?}");
    assert!(!left.exists(), "the killed run's partial is removed");
}

#[test]
fn an_unreadable_subfolder_is_reported_like_an_unreadable_file() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("d");
    for sub in ["", "closed", "open"] {
        std::fs::create_dir_all(dump.join(sub)).unwrap();
    }
    npy(&dump.join("step_1.npy"), &[0.5, -1.0, 2.0, 0.25]);
    npy(&dump.join("open/step_2.npy"), &[0.5, -1.0, 2.0, 0.25]);
    npy(&dump.join("closed/step_3.npy"), &[0.5, -1.0, 2.0, 0.25]);
    npy(&dump.join("step_4.npy"), &[0.5, -1.0, 2.0, 0.25]);
    let everyone = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    for path in [dir.path(), &dump, &dump.join("open")] {
        everyone(path, 0o755);
    }
    for path in ["step_1.npy", "open/step_2.npy", "closed/step_3.npy"] {
        everyone(&dump.join(path), 0o644);
    }
    everyone(&dump.join("closed"), 0o000);
    everyone(&dump.join("step_4.npy"), 0o000);
    // Permissions bind only an unprivileged user: as root, run as nobody.
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    let mut command = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(binary());
        c
    } else {
        Command::new(binary())
    };
    let out = command
        .args(["inspect", &dump.display().to_string()])
        .output()
        .unwrap();
    everyone(&dump.join("closed"), 0o755);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(errors
        .iter()
        .any(|l| l.contains("closed") && l.contains("Permission denied")));
    assert!(errors
        .iter()
        .any(|l| l.contains("step_4.npy") && l.contains("Permission denied")));
    // The readable files were read: `d` at step 1, `open` at step 2.
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().take(2).collect())
        .collect();
    assert_eq!(rows, [["d", "1"], ["open", "2"]], "{stdout}");
}

#[test]
fn non_utf8_file_names_are_distinct_tensors() {
    let dir = tempfile::tempdir().unwrap();
    for (name, value) in [(&b"a\xff.npy"[..], 1.0), (&b"a\xfe.npy"[..], 2.0)] {
        let path = dir.path().join(std::ffi::OsStr::from_bytes(name));
        npy(&path, &[value, value, -value, 0.5]);
    }
    let out = gradrd(&[
        "inspect",
        &dir.path().display().to_string(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut seen: Vec<(String, f64)> = json["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tensor"].as_str().unwrap().to_string(),
                t["max"].as_f64().unwrap(),
            )
        })
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(seen, [("a%FE".to_string(), 2.0), ("a%FF".to_string(), 1.0)]);
}
