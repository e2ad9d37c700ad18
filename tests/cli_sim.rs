//! `gradrd generate teacher-student` and `gradrd simulate fl` on the real
//! binary: dumps that the other commands read, the JSON/CSV contracts,
//! determinism with --seed, and bad input as a one-line error with exit 2.

mod common;

use assert_cmd::Command;
use common::fails_with_2;
use serde_json::Value;

fn gradrd() -> Command {
    Command::cargo_bin("gradrd").expect("the gradrd binary is built")
}

fn succeeds(args: &[&str]) -> Vec<u8> {
    let out = gradrd().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "args {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

const SMALL_TS: [&str; 10] = [
    "--input-dim",
    "50",
    "--student-hidden",
    "3",
    "--steps",
    "300",
    "--record-every",
    "100",
    "--format",
    "json",
];

#[test]
fn teacher_student_dump_is_read_by_inspect_and_fit() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ts");
    let out_s = out.to_str().unwrap();
    let report: Value = serde_json::from_slice(&succeeds(
        &[
            &["generate", "teacher-student", "--out", out_s][..],
            &SMALL_TS,
        ]
        .concat(),
    ))
    .unwrap();
    assert_eq!(report["schema"], "gradrd.generate/1");
    assert_eq!(report["entries_per_file"], 153);
    let records = report["records"].as_array().unwrap();
    let steps: Vec<u64> = records
        .iter()
        .map(|r| r["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, vec![0, 100, 200]);
    assert!(records
        .iter()
        .all(|r| r["generalisation_error"].is_number()));
    assert!(out.join("step_000200.safetensors").is_file());

    let inspect: Value =
        serde_json::from_slice(&succeeds(&["inspect", out_s, "--format", "json"])).unwrap();
    let text = inspect.to_string();
    assert!(text.contains("\"w1\"") && text.contains("\"v\""), "{text}");
    let fit: Value = serde_json::from_slice(&succeeds(&[
        "fit", out_s, "--tensor", "w1", "--format", "json",
    ]))
    .unwrap();
    let results = fit["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| r["n"] == 150));
}

#[test]
fn teacher_student_is_deterministic_with_its_seed() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: &str| {
        let out = dir.path().join(name);
        let report = succeeds(
            &[
                &["generate", "teacher-student", "--activation", "tanh"][..],
                &["--seed", seed, "--out", out.to_str().unwrap()],
                &SMALL_TS,
            ]
            .concat(),
        );
        let file = std::fs::read(out.join("step_000100.safetensors")).unwrap();
        (report, file)
    };
    let (report_a, file_a) = run("a", "3");
    let (report_b, file_b) = run("b", "3");
    let (_, file_c) = run("c", "4");
    assert_eq!(file_a, file_b);
    assert_ne!(file_a, file_c);
    let strip = |r: Vec<u8>| {
        let mut v: Value = serde_json::from_slice(&r).unwrap();
        v["out"] = Value::Null;
        v
    };
    assert_eq!(strip(report_a), strip(report_b));
}

#[test]
fn teacher_student_bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ts");
    let out_s = out.to_str().unwrap();
    let stderr = fails_with_2(&[
        "generate",
        "teacher-student",
        "--out",
        out_s,
        "--input-dim",
        "0",
    ]);
    assert!(stderr.contains("input-dim"), "{stderr}");
    let stderr = fails_with_2(&["generate", "teacher-student", "--out", out_s, "--lr", "-1"]);
    assert!(stderr.contains("lr"), "{stderr}");
    let stderr = fails_with_2(&[
        "generate",
        "teacher-student",
        "--out",
        out_s,
        "--record-every",
        "0",
    ]);
    assert!(stderr.contains("record-every"), "{stderr}");
    assert!(!out.exists(), "nothing is written on bad input");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("other.txt"), b"x").unwrap();
    let stderr = fails_with_2(&[
        "generate",
        "teacher-student",
        "--out",
        out_s,
        "--steps",
        "5",
    ]);
    assert!(stderr.contains("not empty"), "{stderr}");
    fails_with_2(&[
        "generate",
        "teacher-student",
        "--out",
        out_s,
        "--activation",
        "gelu",
    ]);
}

const SMALL_FL: [&str; 8] = [
    "--rounds",
    "4",
    "--clients",
    "5",
    "--hidden",
    "8",
    "--local-steps",
    "2",
];

#[test]
fn simulate_json_has_the_contract_fields_and_is_byte_identical_per_seed() {
    let args = |seed| {
        [
            &["simulate", "fl", "--format", "json", "--seed", seed][..],
            &[
                "--quantizer",
                "m22",
                "--topk",
                "0.3",
                "--participation",
                "0.6",
            ],
            &SMALL_FL,
        ]
        .concat()
    };
    let first = succeeds(&args("9"));
    assert_eq!(first, succeeds(&args("9")));
    let report: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!(report["schema"], "gradrd.simulate/1");
    let rounds = report["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 4);
    for (i, r) in rounds.iter().enumerate() {
        assert_eq!(r["round"], i + 1);
        for field in ["uplink_bits", "loss", "accuracy"] {
            assert!(r[field].is_number(), "{field} in {r}");
        }
    }
    assert_eq!(report["total_uplink_bits"], rounds[3]["uplink_bits"]);
    assert_eq!(report["final_accuracy"], rounds[3]["accuracy"]);
    assert!(report["central_accuracy"].is_number());
    let other = succeeds(&args("10"));
    assert_ne!(first, other);
}

#[test]
fn simulate_csv_has_one_row_per_round() {
    let out = succeeds(&[&["simulate", "fl", "--format", "csv"][..], &SMALL_FL].concat());
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "round,uplink_bits,loss,accuracy");
    assert_eq!(lines.len(), 5);
}

#[test]
fn simulate_teacher_student_reports_the_generalisation_error_and_no_accuracy() {
    let out = succeeds(&[
        "simulate",
        "fl",
        "--model",
        "teacher-student",
        "--input-dim",
        "40",
        "--student-hidden",
        "3",
        "--quantizer",
        "m22",
        "--topk",
        "0.5",
        "--rounds",
        "3",
        "--lr",
        "0.5",
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["model"]["kind"], "teacher-student");
    assert_eq!(report["parameters"], 123);
    assert_eq!(report["settings"]["split"]["kind"], "iid");
    let rounds = report["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 3);
    assert!(rounds
        .iter()
        .all(|r| r["loss"].is_number() && r["accuracy"].is_null()));
    assert!(report["final_accuracy"].is_null());
    let stderr = fails_with_2(&[
        "simulate",
        "fl",
        "--model",
        "teacher-student",
        "--split",
        "label-skew",
    ]);
    assert!(stderr.contains("--split iid"), "{stderr}");
    fails_with_2(&[
        "simulate",
        "fl",
        "--model",
        "teacher-student",
        "--student-hidden",
        "0",
    ]);
}

#[test]
fn simulate_bad_input_exits_2() {
    let cases: [(&[&str], &str); 11] = [
        (&["--clients", "0"], "clients"),
        (&["--participation", "0"], "participation"),
        (&["--participation", "1.5"], "participation"),
        (&["--quantizer", "m22", "--bits", "20"], "bits"),
        (&["--quantizer", "countsketch"], "countsketch"),
        (&["--quantizer", "gzip"], "gzip"),
        (&["--dataset", "mnist"], "mnist"),
        (&["--model", "cnn"], "cnn"),
        (&["--threshold", "-1"], "threshold"),
        (&["--randk", "0"], "randk"),
        (
            &["--randk", "0.1", "--threshold", "1"],
            "cannot be used with",
        ),
    ];
    for (extra, needle) in cases {
        let stderr = fails_with_2(&[&["simulate", "fl", "--rounds", "2"][..], extra].concat());
        assert!(stderr.contains(needle), "{extra:?}: {stderr}");
    }
}

/// The other sparsifiers of the replay run in the loop too: rand-k sends a
/// seed instead of positions, the hard threshold a varying number of entries.
#[test]
fn rand_k_and_hard_threshold_uplinks_run() {
    for (flag, value) in [("--randk", "0.05"), ("--threshold", "0.01")] {
        let output = gradrd()
            .args([
                "simulate", "fl", "--rounds", "3", "--format", "json", flag, value,
            ])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let rounds = report["rounds"].as_array().unwrap();
        assert_eq!(rounds.len(), 3);
        let bits = rounds[2]["uplink_bits"].as_u64().unwrap();
        assert!(
            bits > 0 && bits < 3 * 10 * 32 * 2_410,
            "{flag}: {bits} bits"
        );
    }
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn total_bits(args: &[&str]) -> u64 {
    let base = ["simulate", "fl", "--rounds", "3", "--format", "json"];
    let report: Value = serde_json::from_slice(&succeeds(&[&base[..], args].concat())).unwrap();
    report["total_uplink_bits"].as_u64().unwrap()
}

/// Cost-weighted magnitude pruning across the layers of the update.
#[test]
fn cwmp_uplink_runs_with_a_costs_file() {
    let dir = tempfile::tempdir().unwrap();
    let equal = write(&dir, "equal.json", r#"{"fc1": 1.0, "fc2": 1.0}"#);
    let out = succeeds(&[
        "simulate", "fl", "--rounds", "3", "--format", "json", "--cwmp", "0.05", "--costs", &equal,
    ]);
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(report["settings"]["uplink"]["keep"]["kind"], "cwmp");
    assert_eq!(report["settings"]["uplink"]["keep"]["fraction"], 0.05);
    assert_eq!(report["costs"], equal.as_str());
    let sparse = report["total_uplink_bits"].as_u64().unwrap();
    assert!(sparse < total_bits(&[]) / 10, "{sparse}");
    // per-entry costs of one layer as a list are accepted as well
    let listed = write(
        &dir,
        "listed.json",
        &format!(r#"{{"fc1": 2.0, "fc2": [{}1.0]}}"#, "1.0, ".repeat(329)),
    );
    total_bits(&["--cwmp", "0.05", "--costs", &listed]);
}

#[test]
fn cwmp_bad_costs_files_exit_2_naming_the_file_and_layer() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "missing.json",
            r#"{"fc1": 1.0}"#,
            "no cost for tensor 'fc2'",
        ),
        (
            "length.json",
            r#"{"fc1": 1.0, "fc2": [1, 2]}"#,
            "tensor 'fc2' has 2 costs for 330 entries",
        ),
        (
            "negative.json",
            r#"{"fc1": -1.0, "fc2": 1.0}"#,
            "tensor 'fc1' cost[0] = -1",
        ),
        ("garbage.json", "[1, 2", "expected a JSON object"),
    ];
    for (name, text, needle) in cases {
        let path = write(&dir, name, text);
        let stderr = fails_with_2(&[
            "simulate", "fl", "--rounds", "2", "--cwmp", "0.1", "--costs", &path,
        ]);
        assert!(
            stderr.contains(&path) && stderr.contains(needle),
            "{name}: {stderr}"
        );
    }
    let stderr = fails_with_2(&["simulate", "fl", "--rounds", "2", "--cwmp", "0.1"]);
    assert!(stderr.contains("--costs"), "{stderr}");
    let equal = write(&dir, "equal.json", r#"{"fc1": 1.0, "fc2": 1.0}"#);
    for extra in [
        &["--cwmp", "0", "--costs", &equal][..],
        &["--cwmp", "0.1", "--costs", &equal, "--topk", "0.5"],
    ] {
        fails_with_2(&[&["simulate", "fl", "--rounds", "2"][..], extra].concat());
    }
}

/// A codebook exported by `quantize design` from a fitted layer of a real
/// dump: one for every layer, or a manifest matched to the layers by name.
#[test]
fn fixed_codebook_from_quantize_design_runs_in_the_uplink() {
    let dir = tempfile::tempdir().unwrap();
    let dump = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/digits-mlp/step_000200.safetensors"
    );
    let single = dir.path().join("single.json").display().to_string();
    succeeds(&[
        "quantize",
        "design",
        "--from",
        dump,
        "--tensor",
        "fc2.weight",
        "--bits",
        "2",
        "-o",
        &single,
    ]);
    let none = total_bits(&[]);
    let out = succeeds(&[
        "simulate",
        "fl",
        "--rounds",
        "3",
        "--format",
        "json",
        "--codebook",
        &single,
    ]);
    let report: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        report["settings"]["uplink"]["quantizer"]["kind"],
        "codebook"
    );
    assert_eq!(report["settings"]["uplink"]["quantizer"]["rescale"], "none");
    assert_eq!(report["codebook"], single.as_str());
    let coded = report["total_uplink_bits"].as_u64().unwrap();
    // 2-bit indices, ANS-coded, against 32-bit floats
    assert!(coded < none / 10, "{coded} vs {none}");
    let rescaled = total_bits(&["--codebook", &single, "--codebook-rescale", "rms"]);
    // the same indices plus one 32-bit scale per layer and message
    assert!(rescaled > 0 && rescaled < none / 10, "{rescaled}");

    // a manifest of two layers, renamed to the simulator's layer names
    let manifest_out = succeeds(&[
        "quantize",
        "design",
        "--from",
        dump,
        "--tensor",
        "fc[12].weight",
        "--bits",
        "2",
    ]);
    let mut manifest: Value = serde_json::from_slice(&manifest_out).unwrap();
    assert_eq!(manifest["schema"], "gradrd.codebooks/1");
    let named = |manifest: &Value| write(&dir, "manifest.json", &manifest.to_string());
    let path = named(&manifest);
    let stderr = fails_with_2(&["simulate", "fl", "--rounds", "2", "--codebook", &path]);
    assert!(
        stderr.contains(&path)
            && stderr.contains("no codebook for layer 'fc1'")
            && stderr.contains("'fc1.weight'"),
        "{stderr}"
    );
    for book in manifest["codebooks"].as_array_mut().unwrap() {
        let tensor = book["tensor"]
            .as_str()
            .unwrap()
            .trim_end_matches(".weight")
            .to_string();
        book["tensor"] = Value::from(tensor);
    }
    let path = named(&manifest);
    let per_layer = total_bits(&["--codebook", &path]);
    assert!(per_layer < none / 10, "{per_layer}");
}

#[test]
fn corrupt_codebook_files_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let unsorted = write(
        &dir,
        "unsorted.json",
        r#"{"schema": "gradrd.codebook/1", "family": "empirical", "m": 0, "levels": 3,
            "scale": 1.0, "thresholds": [1.0, -1.0], "centers": [-2, 0, 2],
            "zero_level": false, "distortion": 0, "mse": 0, "entropy_bits": 1}"#,
    );
    let garbage = write(&dir, "garbage.json", "{\"schema\": ");
    let missing = dir.path().join("absent.json").display().to_string();
    for (path, needle) in [
        (&unsorted, "strictly increasing"),
        (&garbage, "not JSON"),
        (&missing, "cannot read"),
    ] {
        let stderr = fails_with_2(&["simulate", "fl", "--rounds", "2", "--codebook", path]);
        assert!(
            stderr.contains(path.as_str()) && stderr.contains(needle),
            "{stderr}"
        );
    }
    // a codebook of no known model cannot be rescaled to the RMS
    let histogram = write(
        &dir,
        "histogram.json",
        r#"{"schema": "gradrd.codebook/1", "family": "histogram", "m": 0, "levels": 2,
            "scale": 0.01, "thresholds": [0.0], "centers": [-1, 1],
            "zero_level": false, "distortion": 0, "mse": 0, "entropy_bits": 1}"#,
    );
    total_bits(&["--codebook", &histogram]);
    let stderr = fails_with_2(&[
        "simulate",
        "fl",
        "--rounds",
        "2",
        "--codebook",
        &histogram,
        "--codebook-rescale",
        "rms",
    ]);
    assert!(
        stderr.contains(&histogram) && stderr.contains("layer 'fc1' has no design model"),
        "{stderr}"
    );
    // a fixed codebook replaces --quantizer
    let stderr = fails_with_2(&[
        "simulate",
        "fl",
        "--rounds",
        "2",
        "--codebook",
        &unsorted,
        "--quantizer",
        "m22",
    ]);
    assert!(stderr.contains("cannot be used with"), "{stderr}");
}
