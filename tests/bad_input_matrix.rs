//! The bad-input matrix on the real binary: every corrupt file through every
//! command that reads dumps, every unusable tensor, every corrupt codebook,
//! every absurd flag. Each must end with exit code 2 (1 for a batch where
//! something still worked), one line on standard error naming the file and
//! the tensor or field, no panic, and no output file created or half-written.

mod common;

use std::path::{Path, PathBuf};

use common::{fixture, npy_bytes, safetensors_bytes};
use gradrd_io::dump::f64_npy_bytes;

/// What one run of the binary gave.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn gradrd(args: &[&str]) -> Run {
    let out = assert_cmd::Command::cargo_bin("gradrd")
        .expect("the gradrd binary is built")
        .args(args)
        .output()
        .expect("gradrd runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Exit 2, nothing on stdout, exactly one stderr line holding every
/// `needle`, no panic, and `output` not created.
#[track_caller]
fn assert_clean_failure(run: &Run, what: &str, needles: &[&str], output: &Path) {
    let context = format!("{what}\nstderr: {}", run.stderr);
    assert_eq!(run.code, Some(2), "{context}");
    assert!(run.stdout.is_empty(), "{context}\nstdout: {}", run.stdout);
    assert!(!run.stderr.contains("panicked"), "{context}");
    assert_eq!(run.stderr.lines().count(), 1, "{context}");
    for needle in needles {
        assert!(run.stderr.contains(needle), "{context}\nmissing `{needle}`");
    }
    assert!(
        !output.exists(),
        "{context}\n{} was written",
        output.display()
    );
}

fn f32_safetensors(tensors: &[(&str, Vec<f32>)]) -> Vec<u8> {
    let mut header = Vec::new();
    let mut data = Vec::new();
    for (name, values) in tensors {
        let start = data.len();
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        header.push(format!(
            "\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{start},{}]}}",
            values.len(),
            data.len()
        ));
    }
    safetensors_bytes(&format!("{{{}}}", header.join(",")), &data)
}

fn truncated(name: &str) -> Vec<u8> {
    let bytes = std::fs::read(fixture(name)).unwrap();
    bytes[..bytes.len() * 3 / 5].to_vec()
}

fn with_prefix(name: &str, prefix: &[u8]) -> Vec<u8> {
    let mut bytes = std::fs::read(fixture(name)).unwrap();
    bytes[..prefix.len()].copy_from_slice(prefix);
    bytes
}

fn fuzz_input(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("fuzz/{name}"))).unwrap()
}

fn with_suffix(name: &str, suffix: &[u8]) -> Vec<u8> {
    let mut bytes = std::fs::read(fixture(name)).unwrap();
    let start = bytes.len() - suffix.len();
    bytes[start..].copy_from_slice(suffix);
    bytes
}

/// Files no reader can use: (file name, bytes, a word the message must hold
/// besides the file name).
fn corrupt_files() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    vec![
        // Truncated.
        ("trunc.safetensors", truncated("st_mixed.safetensors"), ""),
        ("trunc.npy", truncated("np_le_f4.npy"), ""),
        ("trunc.npz", truncated("grads_step_000100.npz"), ""),
        ("trunc.pt", truncated("model_state.pt"), ""),
        ("trunc.parquet", truncated("long.parquet"), ""),
        // Empty.
        ("empty.safetensors", Vec::new(), "empty"),
        ("empty.npy", Vec::new(), "empty"),
        ("empty.npz", Vec::new(), "empty"),
        ("empty.pt", Vec::new(), "empty"),
        ("empty.parquet", Vec::new(), "empty"),
        ("empty.csv", Vec::new(), "empty"),
        // Wrong magic.
        ("magic.npy", with_prefix("np_le_f4.npy", b"\x93NUMPX"), ""),
        ("magic.npz", with_prefix("grads_step_000100.npz", b"XK"), ""),
        ("magic.pt", with_prefix("model_state.pt", b"XK"), ""),
        // Parquet is read from its footer: the magic that counts is the last.
        ("magic.parquet", with_suffix("long.parquet", b"XXXX"), ""),
        (
            "magic.safetensors",
            b"\xff\xff\xff\xff\xff\xff\xff\x7f{}".to_vec(),
            "",
        ),
        // Header and data disagree.
        (
            "short.safetensors",
            safetensors_bytes(
                r#"{"w":{"dtype":"F32","shape":[1000],"data_offsets":[0,4000]}}"#,
                &[0; 16],
            ),
            "w",
        ),
        (
            "offsets.safetensors",
            safetensors_bytes(
                r#"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#,
                &[0; 16],
            ),
            "w",
        ),
        (
            "short.npy",
            npy_bytes(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (100,), }",
                &[0; 8],
            ),
            "",
        ),
        // Shapes of 10^12 elements.
        (
            "huge.npy",
            npy_bytes(
                "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }",
                &[0; 64],
            ),
            "",
        ),
        (
            "huge.safetensors",
            safetensors_bytes(
                r#"{"w":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4000000000000]}}"#,
                &[0; 64],
            ),
            "w",
        ),
        // Unsupported dtypes.
        (
            "int32.npy",
            std::fs::read(fixture("np_int32.npy")).unwrap(),
            "dtype",
        ),
        (
            "object.npy",
            std::fs::read(fixture("np_object.npy")).unwrap(),
            "",
        ),
        (
            "int64.safetensors",
            std::fs::read(fixture("st_int64.safetensors")).unwrap(),
            "dtype",
        ),
        // Parquet files found by fuzzing: polars panics on the first (caught),
        // and the second's footer declares a 2 GiB list (rejected before polars).
        (
            "polars.parquet",
            fuzz_input("parquet_polars_panics_thrift_bool_field.parquet"),
            "corrupt",
        ),
        (
            "footer.parquet",
            fuzz_input("parquet_footer_list_2gb.parquet"),
            "footer",
        ),
        // A CSV whose value column is not numeric.
        (
            "badvalue.csv",
            std::fs::read(fixture("long_badvalue.csv")).unwrap(),
            "",
        ),
    ]
}

/// Every command that reads a dump, with `DUMP` and `OUT` to fill in.
const DUMP_COMMANDS: &[&[&str]] = &[
    &["inspect", "DUMP", "--format", "json", "-o", "OUT"],
    &["fit", "DUMP", "--format", "json", "-o", "OUT"],
    &["evolve", "DUMP", "--format", "json", "-o", "OUT"],
    &[
        "quantize", "design", "--from", "DUMP", "--bits", "2", "-o", "OUT",
    ],
    &["ef", "DUMP", "--format", "json", "-o", "OUT"],
    &["budget", "DUMP", "--format", "json", "-o", "OUT"],
    &["dp", "DUMP", "--format", "json", "-o", "OUT"],
];

fn fill(template: &[&str], dump: &Path, out: &Path) -> Vec<String> {
    template
        .iter()
        .map(|a| match *a {
            "DUMP" => dump.display().to_string(),
            "OUT" => out.display().to_string(),
            other => other.to_string(),
        })
        .collect()
}

#[test]
fn every_corrupt_file_through_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    for (name, bytes, word) in corrupt_files() {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        for template in DUMP_COMMANDS {
            let args = fill(template, &path, &out);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let needles: Vec<&str> = [name, word].into_iter().filter(|w| !w.is_empty()).collect();
            assert_clean_failure(&gradrd(&args), &format!("{args:?}"), &needles, &out);
        }
    }
}

/// Tensors that read fine but cannot be fitted: (name, values).
fn unusable_tensors() -> Vec<(&'static str, Vec<f64>, &'static str)> {
    vec![
        ("nan", vec![0.5, f64::NAN, -0.25, 1.0, 2.0], "NaN"),
        ("inf", vec![0.5, f64::INFINITY, -0.25, 1.0, 2.0], "infinite"),
        ("zeros", vec![0.0; 64], "zero"),
        ("constant", vec![0.125; 64], "constant"),
        ("single", vec![0.5], ""),
        ("empty", Vec::new(), ""),
    ]
}

#[test]
fn unusable_tensors_are_exit_2_naming_file_and_tensor_and_inspect_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    for (name, values, word) in unusable_tensors() {
        let path = dir.path().join(format!("{name}.npy"));
        std::fs::write(&path, f64_npy_bytes(&values)).unwrap();
        for template in [DUMP_COMMANDS[1], DUMP_COMMANDS[2], DUMP_COMMANDS[3]] {
            let args = fill(template, &path, &out);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let file = format!("{name}.npy");
            let needles: Vec<&str> = [file.as_str(), word]
                .into_iter()
                .filter(|w| !w.is_empty())
                .collect();
            assert_clean_failure(&gradrd(&args), &format!("{args:?}"), &needles, &out);
        }
        // The file itself is valid: inspect describes it.
        let run = gradrd(&["inspect", path.to_str().unwrap(), "--format", "json"]);
        assert_eq!(run.code, Some(0), "inspect {name}: {}", run.stderr);
        assert!(run.stdout.contains("\"n\""), "{}", run.stdout);
    }
}

#[test]
fn non_finite_values_can_be_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nan.safetensors");
    let mut values: Vec<f32> = (0..200)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
        .collect();
    values[3] = f32::NAN;
    values[9] = f32::NEG_INFINITY;
    std::fs::write(&path, f32_safetensors(&[("w", values)])).unwrap();
    let run = gradrd(&["fit", path.to_str().unwrap(), "--format", "json"]);
    assert!(
        run.stderr.contains("'w'") && run.stderr.contains("NaN"),
        "{}",
        run.stderr
    );
    assert_eq!(run.code, Some(2));
    let run = gradrd(&[
        "fit",
        path.to_str().unwrap(),
        "--nan",
        "omit",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("\"nonfinite\": 2"), "{}", run.stdout);
}

#[test]
fn one_bad_tensor_or_file_in_a_batch_is_exit_1_and_the_rest_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump");
    std::fs::create_dir(&dump).unwrap();
    let good: Vec<f32> = (0..500)
        .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 97.0)
        .collect();
    std::fs::write(
        dump.join("step_1.safetensors"),
        f32_safetensors(&[("w", good.clone()), ("flat", vec![0.25; 50])]),
    )
    .unwrap();
    std::fs::write(
        dump.join("step_2.safetensors"),
        truncated("st_mixed.safetensors"),
    )
    .unwrap();
    std::fs::write(
        dump.join("step_3.safetensors"),
        f32_safetensors(&[("w", good), ("flat", vec![0.25; 50])]),
    )
    .unwrap();
    let out = dir.path().join("fit.json");
    let run = gradrd(&[
        "fit",
        dump.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stderr);
    assert!(
        lines.iter().any(|l| l.contains("step_2.safetensors")),
        "{}",
        run.stderr
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("step_1.safetensors") && l.contains("'flat'")),
        "{}",
        run.stderr
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let fitted: Vec<(&str, u64)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["tensor"].as_str().unwrap(), r["step"].as_u64().unwrap()))
        .collect();
    assert_eq!(fitted, [("w", 1), ("w", 3)]);
    assert_eq!(report["errors"].as_array().unwrap().len(), 3);

    // Every other dump command reports the unreadable step file and goes on.
    for template in DUMP_COMMANDS {
        let args = fill(template, &dump, &out);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = gradrd(&args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("step_2.safetensors"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
}

fn codebook_with(edit: impl Fn(&mut serde_json::Value)) -> String {
    let text = std::fs::read_to_string(fixture("codebook_fc2.json")).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut value);
    value.to_string()
}

#[test]
fn corrupt_codebooks_are_exit_2_naming_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("eval.json");
    let dump = fixture("grads_step_000100.npz");
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unsorted.json",
            codebook_with(|v| v["thresholds"].as_array_mut().unwrap().swap(2, 3)),
            "thresholds",
        ),
        (
            "count.json",
            codebook_with(|v| {
                v["centers"].as_array_mut().unwrap().pop();
            }),
            "centers",
        ),
        (
            "nan.json",
            codebook_with(|v| v["centers"][0] = serde_json::json!("NaN")),
            "centers",
        ),
        (
            "scale.json",
            codebook_with(|v| v["scale"] = serde_json::json!(-1.0)),
            "scale",
        ),
        (
            "schema.json",
            codebook_with(|v| v["schema"] = serde_json::json!("gradrd.codebook/9")),
            "schema",
        ),
        ("text.json", "not json at all".to_string(), ""),
        (
            "truncated.json",
            codebook_with(|_| {})[..200].to_string(),
            "",
        ),
        ("empty.json", String::new(), ""),
    ];
    for (name, text, field) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let args = [
            "quantize",
            "eval",
            path.to_str().unwrap(),
            dump.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ];
        let needles: Vec<&str> = [name, field]
            .into_iter()
            .filter(|w| !w.is_empty())
            .collect();
        assert_clean_failure(&gradrd(&args), name, &needles, &out);
    }
}

/// Absurd flags: clap's usage errors and the commands' own checks. Each is
/// exit 2 with the flag named on the first line, and writes nothing.
#[test]
fn absurd_flags_are_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let o = out.to_str().unwrap();
    let dump = fixture("grads_step_000100.npz");
    let d = dump.to_str().unwrap();
    // A GenNorm design with one setting made absurd (the last one given wins).
    let design = |absurd: &[&'static str]| -> Vec<&str> {
        let mut args = vec![
            "quantize", "design", "--family", "gennorm", "--param", "beta=1",
        ];
        args.extend(["--bits", "2", "-o", o]);
        args.extend(absurd);
        args
    };
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["fit", d, "--family", "cauchy", "-o", o], "--family"),
        (vec!["fit", d, "--steps", "10..2", "-o", o], "10..2"),
        (vec!["fit", d, "--tensor", "(", "-o", o], "("),
        (design(&["--param", "beta=-1"]), "beta"),
        (design(&["--param", "beta=nan"]), "beta"),
        (design(&["--bits", "0"]), "bits"),
        (design(&["--bits", "40"]), "bits"),
        (design(&["--m", "-1"]), "m"),
        (
            vec![
                "rd", "--family", "normal", "--bits", "2", "--cells", "3", "-o", o,
            ],
            "cells",
        ),
        (
            vec!["ef", d, "--compressor", "topk", "--k", "1.5", "-o", o],
            "1.5",
        ),
        (
            vec!["ef", d, "--compressor", "topk", "--k", "0", "-o", o],
            "0",
        ),
        (vec!["simulate", "fl", "--clients", "0", "-o", o], "clients"),
        (
            vec!["simulate", "fl", "--participation", "1.5", "-o", o],
            "participation",
        ),
        (
            vec!["simulate", "fl", "--participation", "0", "-o", o],
            "participation",
        ),
        (
            vec!["simulate", "fl", "--model", "resnet", "-o", o],
            "resnet",
        ),
        (
            vec![
                "generate",
                "teacher-student",
                "--input-dim",
                "0",
                "--out",
                o,
            ],
            "input-dim",
        ),
        (vec!["cost", "--params=-5", "-o", o], "params"),
    ];
    for (args, flag) in cases {
        let run = gradrd(&args);
        let context = format!("{args:?}\nstderr: {}", run.stderr);
        assert_eq!(run.code, Some(2), "{context}");
        assert!(!run.stderr.contains("panicked"), "{context}");
        let first = run.stderr.lines().next().unwrap_or_default();
        assert!(
            first.contains(flag),
            "{context}\nfirst line does not name `{flag}`"
        );
        assert!(!out.exists(), "{context}\nwrote {o}");
    }
}

/// Paths that are not dumps at all.
#[test]
fn missing_paths_and_directories_without_dumps() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let nothing: PathBuf = dir.path().join("nothing-here");
    std::fs::create_dir(&nothing).unwrap();
    std::fs::write(nothing.join("notes.txt"), "hello").unwrap();
    for path in [dir.path().join("missing.safetensors"), nothing] {
        for template in DUMP_COMMANDS {
            let args = fill(template, &path, &out);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            assert_clean_failure(&gradrd(&args), &format!("{args:?}"), &[&name], &out);
        }
    }
}
