//! `gradrd budget` on the real dump data/digits-mlp: the equal-budget
//! threshold against the numpy reference scripts/ref_ef.py, the bit
//! allocation's invariants, and bad input as exit code 2.

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::assert_close;
use serde_json::Value;

fn gradrd() -> Command {
    Command::cargo_bin("gradrd").expect("the gradrd binary is built")
}

fn digits() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/digits-mlp")
        .display()
        .to_string()
}

fn budget_json(extra: &[&str]) -> Value {
    let out = gradrd()
        .args(["budget", &digits(), "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn threshold_at_top_k_budget_matches_the_reference() {
    let report = budget_json(&["--k", "0.01", "--feedback", "full"]);
    assert_eq!(report["schema"], "gradrd.budget/1");
    let s = &report["sparsity"];
    // python3 scripts/ref_ef.py -> budget_k0.01_full: budget=3150 topk_error=34.78040510294346
    //   lambda=0.030955160735175017 threshold_sent=3149 threshold_error=22.15066703814679
    assert_eq!(s["budget_entries"], 3150);
    assert_close(
        s["topk"]["total_error"].as_f64().unwrap(),
        34.78040510294346,
        1e-9,
        0.0,
    );
    assert_close(
        s["threshold"]["lambda"].as_f64().unwrap(),
        0.030955160735175017,
        1e-9,
        0.0,
    );
    assert_eq!(s["threshold"]["sent"], 3149);
    assert_close(
        s["threshold"]["total_error"].as_f64().unwrap(),
        22.15066703814679,
        1e-9,
        0.0,
    );
    assert_eq!(s["winner"], "threshold");
}

#[test]
fn threshold_at_top_k_bit_budget_matches_the_reference() {
    let report = budget_json(&["--k", "0.01", "--budget-unit", "bits"]);
    let s = &report["sparsity"];
    // python3 scripts/ref_ef.py -> budget_bits_k0.01_full: budget_bits=140868.0
    //   lambda=0.03061464946949855 threshold_bits=140855.0 threshold_error=21.795528556238327
    assert_close(s["budget"]["bits"].as_f64().unwrap(), 140868.0, 0.0, 0.0);
    assert_close(
        s["threshold"]["lambda"].as_f64().unwrap(),
        0.03061464946949855,
        1e-9,
        0.0,
    );
    assert_close(s["threshold"]["bits"].as_f64().unwrap(), 140855.0, 0.0, 0.0);
    assert_close(
        s["threshold"]["total_error"].as_f64().unwrap(),
        21.795528556238327,
        1e-9,
        0.0,
    );
}

#[test]
fn the_allocation_spends_at_most_the_budget_and_never_loses_to_equal_bits() {
    for bits in ["1", "2", "4"] {
        let report = budget_json(&["--bits-per-entry", bits]);
        let a = &report["allocation"];
        assert_eq!(a["method"], "exact");
        let spent = a["spent_bits"].as_f64().unwrap();
        let budget = a["budget_bits"].as_f64().unwrap();
        assert!(spent <= budget, "{spent} > {budget}");
        let rows = a["tensors"].as_array().unwrap();
        let recomputed: f64 = rows
            .iter()
            .map(|r| r["n"].as_f64().unwrap() * r["bits"].as_f64().unwrap())
            .sum();
        assert_close(recomputed, spent, 0.0, 0.0);
        let total = a["total_distortion"].as_f64().unwrap();
        let equal = a["equal_total_distortion"].as_f64().unwrap();
        // equal bits is one feasible allocation: the exact optimum is at most it
        assert!(total <= equal * (1.0 + 1e-12), "{total} > {equal}");
        assert!(a["gain_db"].as_f64().unwrap() >= -1e-9);
        // distortion falls with rate on every tensor's curve
        for curve in a["curves"].as_array().unwrap() {
            let d: Vec<f64> = curve
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["distortion"].as_f64().unwrap())
                .collect();
            assert!(d.windows(2).all(|w| w[1] <= w[0] * (1.0 + 1e-9)), "{d:?}");
        }
    }
}

#[test]
fn bad_budget_flags_are_exit_2() {
    for args in [
        vec!["--k", "0"],
        vec!["--k", "2"],
        vec!["--bits-per-entry", "0"],
        vec!["--bits-per-entry", "9"],
        vec!["--max-bits", "13"],
        vec!["--gamma", "-0.5", "--feedback", "decay"],
        vec!["--steps", "850"],
    ] {
        let out = gradrd()
            .args(["budget", &digits()])
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let flag = args[0];
        assert!(
            stderr.contains(flag) || stderr.contains("only one step"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn dp_study_overlap_falls_and_coded_size_grows_with_noise() {
    let out = gradrd()
        .args(["dp", &digits(), "--clip", "0.1", "--sigmas", "0,0.003,0.03"])
        .args(["--format", "json", "--seed", "4"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["schema"], "gradrd.dp/1");
    let rows = report["sigmas"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_close(rows[0]["support_overlap"].as_f64().unwrap(), 1.0, 0.0, 0.0);
    assert_close(rows[0]["growth"].as_f64().unwrap(), 1.0, 0.0, 0.0);
    for w in rows.windows(2) {
        assert!(w[1]["support_overlap"].as_f64() < w[0]["support_overlap"].as_f64());
        assert!(w[1]["coded_bits"].as_f64() > w[0]["coded_bits"].as_f64());
    }
    let again = gradrd()
        .args(["dp", &digits(), "--clip", "0.1", "--sigmas", "0,0.003,0.03"])
        .args(["--format", "json", "--seed", "4"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, again.stdout);
    for args in [
        vec!["--clip", "0"],
        vec!["--sigmas", "0,-1"],
        vec!["--k", "0"],
    ] {
        let bad = gradrd()
            .args(["dp", &digits()])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(bad.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn cost_reproduces_the_resnet18_prediction_space_ratio() {
    let out = gradrd()
        .args([
            "cost",
            "--params",
            "11.2e6",
            "--reference-samples",
            "1000",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let schemes = report["schemes"].as_array().unwrap();
    let prediction = schemes.last().unwrap();
    // python3 -c "print(11.2e6*32/(1000*10*32), 11.2e6*32/(1100*10*32))" -> 1120.0 1018.1818181818181
    assert_close(
        prediction["reduction"].as_f64().unwrap(),
        1120.0,
        1e-12,
        0.0,
    );
    assert_close(
        report["reference_samples_for_1100"].as_f64().unwrap(),
        1018.1818181818181,
        1e-12,
        0.0,
    );
    // top-1 %: 112 000 · (32 + ⌈log2 11.2e6⌉ = 24) bits -> python3 -c "print(358.4e6/(112000*56))" -> 57.142857142857146
    assert_close(
        schemes[1]["reduction"].as_f64().unwrap(),
        57.142857142857146,
        1e-12,
        0.0,
    );
    let bad = gradrd().args(["cost"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
