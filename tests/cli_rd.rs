//! `gradrd rd` on the real binary: the limit, the Shannon lower bound and
//! each quantizer's gap, from a model and from a recorded tensor.

use assert_cmd::Command;
use serde_json::Value;

fn gradrd() -> Command {
    Command::cargo_bin("gradrd").expect("the gradrd binary is built")
}

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("stdout is JSON")
}

/// Runs `gradrd rd ARGS --format json`, which must succeed, and parses it.
fn rd_json(args: &[&str]) -> Value {
    let output = gradrd()
        .arg("rd")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    json_of(&output.stdout)
}

fn number(value: &Value, field: &str) -> f64 {
    value[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is a number: {value}"))
}

/// A Gaussian source: the curve is `½ log2(σ²/D)` (the SLB is exact here),
/// and every quantizer sits on or above it.
#[test]
fn gaussian_limit_and_quantizer_gaps() {
    let report = rd_json(&[
        "--family",
        "normal",
        "--param",
        "scale=2",
        "--bits",
        "1,2",
        "--quantizers",
        "m22,uniform-minmax",
        "--samples",
        "20000",
        "--cells",
        "256",
        "--points",
        "8",
    ]);
    assert_eq!(report["schema"], "gradrd.rd/1");
    assert_eq!(report["family"], "normal");
    assert_eq!(report["m"], 0.0);
    let curve = report["curve"].as_array().unwrap();
    let slb = report["slb"].as_array().unwrap();
    assert_eq!(curve.len(), slb.len());
    assert!(curve.len() >= 8);
    for (point, bound) in curve.iter().zip(slb) {
        let (d, r) = (number(point, "distortion"), number(point, "rate"));
        let exact = (0.5 * (4.0 / d).log2()).max(0.0);
        assert!((r - exact).abs() < 0.01, "D {d}: R {r} vs {exact}");
        assert!(r >= number(bound, "rate") - 1e-9);
    }
    let quantizers = report["quantizers"].as_array().unwrap();
    assert_eq!(quantizers.len(), 4);
    for q in quantizers {
        for field in [
            "bits",
            "distortion",
            "entropy_bits",
            "coded_bits",
            "gap_bits",
            "gap_db",
        ] {
            number(q, field);
        }
        // No scalar quantizer beats R(D); the 1-bit Lloyd-Max is 0.27 bit above it.
        assert!(number(q, "gap_bits") > 0.1, "{q}");
    }
}

/// From a recorded tensor's fit, with M = 2 (no Shannon lower bound).
#[test]
fn recorded_tensor_with_weighted_distortion() {
    let dump = format!("{}/data/digits-mlp", env!("CARGO_MANIFEST_DIR"));
    let report = rd_json(&[
        "--from",
        &dump,
        "--tensor",
        "^fc2.weight$",
        "--step",
        "100",
        "--m",
        "2",
        "--bits",
        "2",
        "--quantizers",
        "m22,uniform-opt",
        "--cells",
        "256",
        "--points",
        "6",
    ]);
    assert_eq!(report["tensor"], "fc2.weight");
    assert_eq!(report["step"], 100);
    assert!(report["slb"].is_null());
    let curve = report["curve"].as_array().unwrap();
    for pair in curve.windows(2) {
        assert!(number(&pair[1], "distortion") < number(&pair[0], "distortion"));
        assert!(number(&pair[1], "rate") > number(&pair[0], "rate"));
    }
    assert_eq!(report["quantizers"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_parameters_are_a_clear_error() {
    for args in [
        vec!["--bits", "0"],
        vec!["--m", "-1"],
        vec!["--param", "beta=0"],
        vec!["--param", "scale=-1"],
        vec!["--quantizers", "nonsense"],
        vec!["--cells", "3"],
        vec!["--iterations", "0"],
    ] {
        let output = gradrd().arg("rd").args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with("gradrd: error") || stderr.starts_with("error:"),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}
