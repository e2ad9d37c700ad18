//! Hostile names and absurd flags on the real binary. Tensor names are data
//! (`"a\nb"`, ANSI escapes, `<script>`, spreadsheet formulas): terminal
//! output and errors stay one line per item with no escape sequence, the
//! Markdown report and every CSV show them as text, JSON keeps them exact.
//! Flags that would make gradrd allocate more than the machine has, clap's
//! usage errors and a spec of 40 000 tables are one-line exit-2 errors.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NEWLINE: &str = "a\nb";
const ANSI: &str = "\u{1b}[31mred\u{1b}[0m";
const SCRIPT: &str = "<script>alert(1)</script>";
const FORMULA: &str = "=HYPERLINK(\"http://x\",\"y\")";

fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("gradrd")
}

fn gradrd(args: &[&str]) -> Output {
    Command::new(binary()).args(args).output().unwrap()
}

/// Runs gradrd under a 2 GiB address-space limit, so a size check that
/// fails to happen shows as an allocation abort rather than a slow machine.
fn gradrd_limited(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" \"$@\"")
        .arg(binary())
        .args(args)
        .output()
        .unwrap()
}

/// Exit 2, nothing on stdout, one stderr line holding every needle.
#[track_caller]
fn refused(out: &Output, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "stdout: {:?}", out.stdout);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("gradrd: error: "), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
    stderr
}

/// A safetensors file of f32 tensors, in the order given.
fn safetensors(path: &Path, tensors: &[(&str, Vec<f32>)]) {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, values) in tensors {
        let start = data.len();
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": "F32", "shape": [values.len()], "data_offsets": [start, data.len()]}),
        );
    }
    let header = serde_json::Value::Object(header).to_string();
    std::fs::write(path, common::safetensors_bytes(&header, &data)).unwrap();
}

fn values(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let x = ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32;
            (x / (1u32 << 24) as f32 - 0.5) * 1e-3
        })
        .collect()
}

fn hostile_dump(dir: &Path) -> PathBuf {
    let path = dir.join("grads_step_3.safetensors");
    safetensors(
        &path,
        &[
            (NEWLINE, values(400, 1)),
            (ANSI, values(400, 2)),
            (SCRIPT, values(400, 3)),
            (FORMULA, values(400, 4)),
        ],
    );
    path
}

#[track_caller]
fn no_raw_control(text: &str) {
    assert!(!text.contains('\u{1b}'), "raw ESC in {text:?}");
}

#[test]
fn terminal_tables_show_each_name_on_its_own_line_without_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let dump = hostile_dump(dir.path());
    let out = gradrd(&["inspect", &dump.display().to_string()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    no_raw_control(&stdout);
    // Header + four tensors, each one line.
    assert_eq!(stdout.lines().count(), 5, "{stdout}");
    assert!(stdout.contains("a\\nb"), "{stdout}");
    assert!(stdout.contains("\\u{1b}[31mred"), "{stdout}");
}

#[test]
fn csv_names_are_inert_and_json_names_exact() {
    let dir = tempfile::tempdir().unwrap();
    let dump = hostile_dump(dir.path());
    let dump = dump.display().to_string();
    let out = gradrd(&["inspect", &dump, "--format", "csv"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let csv = String::from_utf8(out.stdout).unwrap();
    no_raw_control(&csv);
    assert!(!csv.contains("a\nb"), "{csv}");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let names: Vec<String> = reader
        .records()
        .map(|r| r.unwrap().get(0).unwrap().to_string())
        .collect();
    assert!(names.contains(&"a\\nb".to_string()), "{names:?}");
    assert!(names.contains(&format!("'{FORMULA}")), "{names:?}");
    assert!(names.contains(&SCRIPT.to_string()), "{names:?}");

    let out = gradrd(&["inspect", &dump, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = json.to_string();
    for name in [NEWLINE, ANSI, SCRIPT, FORMULA] {
        assert!(
            text.contains(&serde_json::Value::from(name).to_string()),
            "{name:?} exact in JSON"
        );
    }
}

#[test]
fn an_error_naming_a_hostile_tensor_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    // A constant tensor cannot be fitted: the failure names the tensor.
    safetensors(&path, &[("x\ny\u{1b}[2J", vec![1.0; 50])]);
    let out = gradrd(&["fit", &path.display().to_string()]);
    let stderr = refused(&out, &["x\\ny\\u{1b}[2J"]);
    no_raw_control(&stderr);
}

#[test]
fn the_markdown_report_shows_hostile_names_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let dump = hostile_dump(dir.path());
    let spec = dir.path().join("h.toml");
    std::fs::write(
        &spec,
        format!(
            "name = \"h\"\ndump = \"{}\"\n[[analysis]]\nkind = \"fit\"\nfamilies = [\"normal\", \"laplace\"]\nbins = 10\n",
            dump.display()
        ),
    )
    .unwrap();
    let reports = dir.path().join("reports");
    let out = gradrd(&[
        "run",
        &spec.display().to_string(),
        "--reports",
        &reports.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let markdown = std::fs::read_to_string(reports.join("h/report.md")).unwrap();
    let html = std::fs::read_to_string(reports.join("h/index.html")).unwrap();
    for page in [&markdown, &html] {
        assert!(!page.contains("<script>"), "raw script tag");
        assert!(page.contains("&lt;script&gt;"), "escaped script tag");
        no_raw_control(page);
    }
    for entry in std::fs::read_dir(reports.join("h")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "csv") {
            let csv = std::fs::read_to_string(&path).unwrap();
            no_raw_control(&csv);
            assert!(!csv.contains(&format!(",{FORMULA}")), "{csv}");
            assert!(!csv.starts_with(FORMULA) && !csv.contains(&format!("\n{FORMULA}")));
        }
    }
}

#[test]
fn usage_errors_are_one_line_with_the_help_to_try() {
    let out = gradrd(&["fit", "--no-such-flag", "x"]);
    refused(
        &out,
        &[
            "unexpected argument '--no-such-flag'",
            "try 'gradrd fit --help'",
        ],
    );
    let out = gradrd(&["cost", "--classes", "abc"]);
    refused(&out, &["'abc'", "--classes", "try 'gradrd cost --help'"]);
    let out = gradrd(&["no-such-command"]);
    refused(&out, &["'no-such-command'"]);
    // Help is not an error.
    let out = gradrd(&["fit", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage: gradrd fit"));
}

#[test]
fn counts_from_flags_are_checked_before_anything_is_allocated() {
    refused(
        &gradrd(&["cost", "--params", "1e6", "--classes", "0"]),
        &["--classes: must be between 1 and 1e12, got 0"],
    );
    refused(
        &gradrd_limited(&["simulate", "fl", "--clients", "1000000000", "--rounds", "1"]),
        &["clients 1000000000", "needs", "available"],
    );
    refused(
        &gradrd_limited(&["simulate", "fl", "--hidden", "1000000000", "--rounds", "1"]),
        &["hidden 1000000000", "needs", "available"],
    );
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("ts");
    refused(
        &gradrd_limited(&[
            "generate",
            "teacher-student",
            "--input-dim",
            "1000000000",
            "--out",
            &out_dir.display().to_string(),
        ]),
        &["input-dim 1000000000", "needs", "available"],
    );
    assert!(!out_dir.exists(), "nothing written");
}

#[test]
fn a_spec_of_forty_thousand_tables_is_refused_by_count() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("many.toml");
    let mut text = String::from("name = \"many\"\ndump = \"d\"\n");
    for _ in 0..40_000 {
        text.push_str("[[analysis]]\nkind = \"fit\"\n");
    }
    std::fs::write(&spec, text).unwrap();
    let out = gradrd(&["run", &spec.display().to_string()]);
    refused(&out, &["40000 [[analysis]] tables, at most 1000"]);
}
