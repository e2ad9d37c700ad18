//! `gradrd ef` on the real binary: the JSON contract on data/digits-mlp
//! (totals from the numpy reference scripts/ref_ef.py) and every bad input
//! of issue 5 as a one-line error with exit code 2.

mod common;

use std::collections::HashMap;
use std::path::Path;

use assert_cmd::Command;
use common::{assert_close, fails_with_2};
use safetensors::tensor::{Dtype, TensorView};
use serde_json::Value;

fn gradrd() -> Command {
    Command::cargo_bin("gradrd").expect("the gradrd binary is built")
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn digits() -> String {
    root().join("data/digits-mlp").display().to_string()
}

fn fixture(name: &str) -> String {
    root()
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

/// Writes named f32 tensors with the given shapes to a safetensors file.
fn write_safetensors(path: &Path, tensors: &[(&str, Vec<usize>, Vec<f32>)]) {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, shape, values)| {
            let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name.to_string(), shape.clone(), raw)
        })
        .collect();
    let views: HashMap<String, TensorView<'_>> = bytes
        .iter()
        .map(|(name, shape, raw)| {
            (
                name.clone(),
                TensorView::new(Dtype::F32, shape.clone(), raw).expect("valid view"),
            )
        })
        .collect();
    safetensors::serialize_to_file(&views, None, path).expect("fixture written");
}

fn ramp(n: usize, offset: f32) -> Vec<f32> {
    (0..n).map(|i| (i as f32 - 3.5) * 0.1 + offset).collect()
}

#[test]
fn json_has_the_contract_fields_and_the_reference_totals() {
    let out = gradrd()
        .args(["ef", &digits(), "--k", "0.01", "--feedback", "full"])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schema"], "gradrd.ef/1");
    assert_eq!(report["compressor"], "topk");
    assert_eq!(report["feedback"], "full");
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 18);
    for step in steps {
        for field in ["step", "sent", "bits", "error_sq", "residual_norm"] {
            assert!(step[field].is_number(), "{field} in {step}");
        }
    }
    assert_eq!(report["tensors"].as_array().unwrap().len(), 6);
    // python3 scripts/ref_ef.py -> topk_full: sent=3150 bits=140868.0
    //   total_error=34.78040510294346 residual_sq=1.3296303170636308
    assert_eq!(report["total_sent"], 3150);
    assert_close(report["total_bits"].as_f64().unwrap(), 140868.0, 1e-12, 0.0);
    assert_close(
        report["total_error"].as_f64().unwrap(),
        34.78040510294346,
        1e-9,
        0.0,
    );
    assert_close(
        report["final_residual_norm"].as_f64().unwrap(),
        1.3296303170636308f64.sqrt(),
        1e-9,
        0.0,
    );
    let per_step: f64 = steps.iter().map(|s| s["error_sq"].as_f64().unwrap()).sum();
    assert_close(per_step, 34.78040510294346, 1e-9, 0.0);
}

#[test]
fn cwmp_and_codebook_runs_match_the_reference() {
    let cwmp = gradrd()
        .args([
            "ef",
            &digits(),
            "--compressor",
            "cwmp",
            "--k",
            "0.05",
            "--global",
        ])
        .args(["--costs", &fixture("ef_costs.json"), "--feedback", "none"])
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        cwmp.status.success(),
        "{}",
        String::from_utf8_lossy(&cwmp.stderr)
    );
    let report: Value = serde_json::from_slice(&cwmp.stdout).unwrap();
    // python3 scripts/ref_ef.py -> cwmp_global_none: sent=22169 bits=1018069.0 total_error=2.3860379722562737
    assert_eq!(report["total_sent"], 22169);
    assert_close(
        report["total_error"].as_f64().unwrap(),
        2.3860379722562737,
        1e-9,
        0.0,
    );
    let codebook = gradrd()
        .args([
            "ef",
            &digits(),
            "--compressor",
            "topk-codebook",
            "--k",
            "0.05",
        ])
        .args(["--codebook", &fixture("ef_codebook.json")])
        .args(["--feedback", "decay", "--gamma", "0.5", "--format", "json"])
        .output()
        .unwrap();
    assert!(codebook.status.success());
    let report: Value = serde_json::from_slice(&codebook.stdout).unwrap();
    // python3 scripts/ref_ef.py -> topk_codebook_decay: sent=15552 bits=245682.0 total_error=4.113899720087898
    assert_close(report["total_bits"].as_f64().unwrap(), 245682.0, 1e-12, 0.0);
    assert_close(
        report["total_error"].as_f64().unwrap(),
        4.113899720087898,
        1e-9,
        0.0,
    );
}

#[test]
fn rand_k_is_deterministic_for_a_seed_and_varies_with_it() {
    let run = |seed: &str| {
        gradrd()
            .args(["ef", &digits(), "--compressor", "randk", "--k", "0.05"])
            .args(["--seed", seed, "--format", "json"])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(run("5"), run("5"));
    assert_ne!(run("5"), run("6"));
}

#[test]
fn output_file_is_written_and_csv_has_one_row_per_step() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("ef.csv");
    gradrd()
        .args(["ef", &digits(), "--format", "csv", "-o"])
        .arg(&target)
        .assert()
        .success();
    let text = std::fs::read_to_string(&target).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("step,sent,bits,error_sq,residual_norm"));
    assert_eq!(lines.count(), 18);
}

#[test]
fn fractions_outside_0_1_and_negative_lambda_are_exit_2() {
    for k in ["0", "-0.1", "1.5", "NaN"] {
        let err = fails_with_2(&["ef", &digits(), "--k", k]);
        assert!(err.contains("--k: must be a fraction in (0, 1]"), "{err}");
    }
    let err = fails_with_2(&[
        "ef",
        &digits(),
        "--compressor",
        "threshold",
        "--lambda",
        "-1",
    ]);
    assert!(err.contains("--lambda: must be finite and >= 0"), "{err}");
    let err = fails_with_2(&["ef", &digits(), "--feedback", "decay", "--gamma", "2"]);
    assert!(err.contains("--gamma"), "{err}");
}

#[test]
fn costs_that_do_not_cover_every_tensor_or_have_the_wrong_length_are_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let costs = dir.path().join("costs.json");
    std::fs::write(&costs, r#"{"fc1.weight": 1.0, "fc1.bias": [1.0, 2.0]}"#).unwrap();
    let c = costs.display().to_string();
    let err = fails_with_2(&["ef", &digits(), "--compressor", "cwmp", "--costs", &c]);
    assert!(
        err.contains("fc1.bias") && err.contains("2 costs for 128 entries"),
        "{err}"
    );
    std::fs::write(&costs, r#"{"fc1.weight": 1.0, "fc1.bias": 0.5}"#).unwrap();
    let err = fails_with_2(&["ef", &digits(), "--compressor", "cwmp", "--costs", &c]);
    assert!(err.contains("no cost for tensor 'fc2.bias'"), "{err}");
    std::fs::write(&costs, r#"{"fc1.weight": 1.0, "fc1.bias": -0.5}"#).unwrap();
    let err = fails_with_2(&[
        "ef",
        &digits(),
        "--compressor",
        "cwmp",
        "--costs",
        &c,
        "--tensor",
        "fc1",
    ]);
    assert!(
        err.contains("fc1.bias") && err.contains("not a finite positive number"),
        "{err}"
    );
}

#[test]
fn a_dump_with_one_step_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write_safetensors(
        &dir.path().join("step_000010.safetensors"),
        &[("w", vec![8], ramp(8, 0.0))],
    );
    let err = fails_with_2(&["ef", dir.path().to_str().unwrap()]);
    assert!(err.contains("only one step (10)"), "{err}");
    let err = fails_with_2(&["ef", &digits(), "--steps", "100"]);
    assert!(err.contains("only one step (100)"), "{err}");
}

#[test]
fn a_shape_that_changes_between_steps_names_file_and_tensor() {
    let dir = tempfile::tempdir().unwrap();
    write_safetensors(
        &dir.path().join("step_000001.safetensors"),
        &[
            ("w", vec![2, 4], ramp(8, 0.0)),
            ("b", vec![2], ramp(2, 0.0)),
        ],
    );
    write_safetensors(
        &dir.path().join("step_000002.safetensors"),
        &[
            ("w", vec![4, 2], ramp(8, 0.1)),
            ("b", vec![2], ramp(2, 0.0)),
        ],
    );
    let err = fails_with_2(&["ef", dir.path().to_str().unwrap()]);
    assert!(
        err.contains("step_000002.safetensors")
            && err.contains("tensor 'w'")
            && err.contains("[4, 2]")
            && err.contains("[2, 4]"),
        "{err}"
    );
}

#[test]
fn a_non_finite_gradient_names_the_tensor_and_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = ramp(8, 0.0);
    bad[3] = f32::NAN;
    write_safetensors(
        &dir.path().join("step_000001.safetensors"),
        &[("w", vec![8], ramp(8, 0.0))],
    );
    write_safetensors(
        &dir.path().join("step_000002.safetensors"),
        &[("w", vec![8], bad)],
    );
    let err = fails_with_2(&["ef", dir.path().to_str().unwrap()]);
    assert!(err.contains("tensor 'w' (step 2): 1 non-finite"), "{err}");
}

#[test]
fn missing_codebook_and_costs_flags_are_exit_2() {
    let err = fails_with_2(&["ef", &digits(), "--compressor", "codebook"]);
    assert!(err.contains("--codebook"), "{err}");
    let err = fails_with_2(&["ef", &digits(), "--compressor", "cwmp"]);
    assert!(err.contains("--costs"), "{err}");
    let costs = fixture("ef_costs.json");
    let err = fails_with_2(&[
        "ef",
        &digits(),
        "--compressor",
        "codebook",
        "--codebook",
        &costs,
    ]);
    assert!(err.contains("not a valid codebook"), "{err}");
}

#[test]
fn stale_policies_match_the_reference_and_name_the_best() {
    let out = gradrd()
        .args([
            "stale",
            &digits(),
            "--absent",
            "150..250,500",
            "--k",
            "0.01",
        ])
        .args(["--stale-gamma", "0.5", "--max-age", "2", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schema"], "gradrd.stale/1");
    // python3 scripts/ref_ef.py -> stale_<policy> (rounds 3, 4, 5, 10 = steps 150, 200, 250, 500)
    let expected = [
        ("keep", 25.626989978938536, 0.0),
        ("reset", 7.896577877967757, 3.7744211543938464),
        ("decay", 9.671424825222525, 1.8611372527071741),
        ("reset-if-older", 15.019569086687556, 1.7851801269434457),
    ];
    let rows = report["policies"].as_array().unwrap();
    for ((policy, compression, discarded), row) in expected.iter().zip(rows) {
        assert_eq!(row["policy"], *policy);
        assert_close(
            row["compression_error"].as_f64().unwrap(),
            *compression,
            1e-9,
            0.0,
        );
        assert_close(
            row["discarded_error"].as_f64().unwrap(),
            *discarded,
            1e-9,
            1e-300,
        );
    }
    assert_eq!(report["best"], "decay");
    let err = fails_with_2(&["stale", &digits(), "--absent", "7"]);
    assert!(err.contains("--absent: matches none"), "{err}");
}

#[test]
fn top_k_then_fp4_through_the_binary_matches_the_reference() {
    let out = gradrd()
        .args([
            "ef",
            &digits(),
            "--compressor",
            "topk-float",
            "--float",
            "fp4-e2m1",
        ])
        .args(["--k", "0.05", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["parameters"]["float"], "fp4_e2m1");
    // python3 scripts/ref_ef.py -> topk_fp4_e2m1_full: sent=15552 bits=264690.0 total_error=8.79674382648058
    assert_close(report["total_bits"].as_f64().unwrap(), 264690.0, 1e-12, 0.0);
    assert_close(
        report["total_error"].as_f64().unwrap(),
        8.79674382648058,
        1e-9,
        0.0,
    );
}
