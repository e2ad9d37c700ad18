//! The `gradrd fit` and `gradrd inspect` commands on the real binary, with
//! inputs written by the tests (safetensors through the `safetensors` crate).

mod common;

use std::collections::HashMap;
use std::path::Path;

use assert_cmd::Command;
use gradrd_core::dist::{ContinuousDist, GenNorm};
use rand::SeedableRng;
use safetensors::tensor::{Dtype, TensorView};
use serde_json::Value;

fn gradrd() -> Command {
    Command::cargo_bin("gradrd").expect("the gradrd binary is built")
}

/// Writes named f32 tensors (1-D) to a safetensors file.
fn write_safetensors(path: &Path, tensors: &[(&str, Vec<f32>)]) {
    let bytes: Vec<(String, Vec<u8>, usize)> = tensors
        .iter()
        .map(|(name, values)| {
            let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name.to_string(), raw, values.len())
        })
        .collect();
    let views: HashMap<String, TensorView<'_>> = bytes
        .iter()
        .map(|(name, raw, n)| {
            (
                name.clone(),
                TensorView::new(Dtype::F32, vec![*n], raw).expect("valid view"),
            )
        })
        .collect();
    safetensors::serialize_to_file(&views, None, path).expect("fixture written");
}

/// `n` seeded GenNorm(β) draws times `scale`, as f32.
fn gennorm_sample(beta: f64, scale: f64, n: usize, seed: u64) -> Vec<f32> {
    let dist = GenNorm::new(beta, 0.0, scale).expect("valid parameters");
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    dist.sample(&mut rng, n)
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("stdout is JSON")
}

fn gennorm_fit(report: &Value, tensor: &str) -> Value {
    let result = report["results"]
        .as_array()
        .expect("results array")
        .iter()
        .find(|r| r["tensor"] == tensor)
        .expect("tensor in results");
    result["fits"]
        .as_array()
        .expect("fits array")
        .iter()
        .find(|f| f["family"] == "gennorm")
        .expect("gennorm fit")
        .clone()
}

#[test]
fn fit_recovers_gennorm_shape_and_reports_the_contract_fields() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grads.safetensors");
    write_safetensors(
        &file,
        &[("layer.weight", gennorm_sample(0.7, 1e-4, 20_000, 1))],
    );
    let out = gradrd()
        .args(["fit", file.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_of(&out.stdout);
    assert_eq!(report["schema"], "gradrd.fit/1");
    let result = &report["results"][0];
    for field in [
        "tensor",
        "step",
        "n",
        "zeros",
        "nonfinite",
        "moments",
        "fits",
    ] {
        assert!(result.get(field).is_some(), "missing field {field}");
    }
    assert_eq!(result["fits"].as_array().unwrap().len(), 4);
    for fit in result["fits"].as_array().unwrap() {
        for field in [
            "family", "params", "loglik", "aic", "bic", "ks", "ks_p", "w1", "w2",
        ] {
            assert!(
                fit[field].is_number() || fit[field].is_object() || fit[field].is_string(),
                "field {field} of {} is {:?}",
                fit["family"],
                fit[field]
            );
        }
    }
    let gennorm = gennorm_fit(&report, "layer.weight");
    let beta = gennorm["params"]["beta"].as_f64().unwrap();
    let se = gennorm["std_errors"]["beta"].as_f64().unwrap();
    assert!(
        (beta - 0.7).abs() < 4.0 * se,
        "beta {beta} ± {se} is not 0.7"
    );
    let scale = gennorm["params"]["scale"].as_f64().unwrap();
    assert!((scale / 1e-4 - 1.0).abs() < 0.05, "scale {scale}");
    // GenNorm is the true model here: it must have the best AIC.
    let best = result["fits"]
        .as_array()
        .unwrap()
        .iter()
        .min_by(|a, b| {
            a["aic"]
                .as_f64()
                .unwrap()
                .total_cmp(&b["aic"].as_f64().unwrap())
        })
        .unwrap();
    assert_eq!(best["family"], "gennorm");
}

#[test]
fn fit_is_invariant_to_the_scale_of_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let base = gennorm_sample(0.5, 1.0, 5_000, 7);
    let tiny: Vec<f32> = base.iter().map(|v| v * 1e-6).collect();
    let file = dir.path().join("g.safetensors");
    write_safetensors(&file, &[("base", base), ("tiny", tiny)]);
    let out = gradrd()
        .args([
            "fit",
            file.to_str().unwrap(),
            "--family",
            "gennorm",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let report = json_of(&out.stdout);
    let base = gennorm_fit(&report, "base");
    let tiny = gennorm_fit(&report, "tiny");
    common::assert_close(
        tiny["params"]["beta"].as_f64().unwrap(),
        base["params"]["beta"].as_f64().unwrap(),
        1e-6,
        0.0,
    );
    common::assert_close(
        tiny["params"]["scale"].as_f64().unwrap(),
        1e-6 * base["params"]["scale"].as_f64().unwrap(),
        1e-5,
        0.0,
    );
}

#[test]
fn exact_zeros_are_a_point_mass_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let mut values = gennorm_sample(1.0, 0.01, 3_000, 3);
    values.extend(std::iter::repeat_n(0.0f32, 1_000));
    let file = dir.path().join("z.safetensors");
    write_safetensors(&file, &[("relu", values)]);
    let out = gradrd()
        .args([
            "fit",
            file.to_str().unwrap(),
            "--family",
            "gennorm",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let result = &json_of(&out.stdout)["results"][0];
    assert_eq!(result["zeros"], 1000);
    assert_eq!(result["n_fit"], 3000);
    common::assert_close(result["zero_fraction"].as_f64().unwrap(), 0.25, 0.0, 1e-12);
    let fit = &result["fits"][0];
    let beta = fit["params"]["beta"].as_f64().unwrap();
    assert!((beta - 1.0).abs() < 0.15, "beta {beta}");
    // z·ln π + (n − z)·ln(1 − π) + ℓ with π = 1/4.
    let expected = 1000.0 * 0.25f64.ln() + 3000.0 * 0.75f64.ln() + fit["loglik"].as_f64().unwrap();
    common::assert_close(
        fit["loglik_mixture"].as_f64().unwrap(),
        expected,
        1e-12,
        0.0,
    );
}

#[test]
fn non_finite_values_fail_the_tensor_but_not_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = gennorm_sample(1.0, 1.0, 500, 4);
    bad[3] = f32::NAN;
    bad[9] = f32::INFINITY;
    let file = dir.path().join("mixed.safetensors");
    write_safetensors(
        &file,
        &[("bad", bad), ("good", gennorm_sample(1.0, 1.0, 500, 5))],
    );
    let out = gradrd()
        .args([
            "fit",
            file.to_str().unwrap(),
            "--family",
            "laplace",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report = json_of(&out.stdout);
    assert_eq!(report["results"].as_array().unwrap().len(), 1);
    assert_eq!(report["results"][0]["tensor"], "good");
    let error = &report["errors"][0];
    assert_eq!(error["tensor"], "bad");
    let message = error["error"].as_str().unwrap();
    assert!(
        message.contains("1 NaN") && message.contains("1 infinite"),
        "{message}"
    );

    let omitted = gradrd()
        .args([
            "fit",
            file.to_str().unwrap(),
            "--family",
            "laplace",
            "--nan",
            "omit",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(omitted.status.success());
    let report = json_of(&omitted.stdout);
    let bad = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["tensor"] == "bad")
        .unwrap();
    assert_eq!(bad["nonfinite"], 2);
    assert_eq!(bad["n_fit"], 498);
}

#[test]
fn a_single_unusable_tensor_is_exit_2_with_one_line_naming_file_and_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("const.safetensors");
    write_safetensors(&file, &[("flat", vec![0.5f32; 100])]);
    let out = gradrd()
        .args(["fit", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("const.safetensors")
            && stderr.contains("'flat'")
            && stderr.contains("constant"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
}

#[test]
fn missing_input_and_unwritable_output_are_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = gradrd()
        .args(["fit", "/nonexistent/dump.safetensors"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/dump.safetensors"));

    let file = dir.path().join("g.safetensors");
    write_safetensors(&file, &[("w", gennorm_sample(1.0, 1.0, 200, 6))]);
    let target = dir.path().join("no-such-folder/out.json");
    let out = gradrd()
        .args([
            "fit",
            file.to_str().unwrap(),
            "-o",
            target.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!target.exists());
}

#[test]
fn absurd_flags_are_usage_errors() {
    for args in [
        vec!["fit", "x.npy", "--family", "cauchy"],
        vec!["fit", "x.npy", "--loc", "nan"],
        vec!["fit", "x.npy", "--zeros", "maybe"],
        vec!["fit", "x.npy", "--steps", "10..2"],
    ] {
        let out = gradrd().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

#[test]
fn the_same_command_twice_gives_byte_identical_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("g.safetensors");
    write_safetensors(&file, &[("w", gennorm_sample(0.8, 0.1, 20_000, 8))]);
    let run = || {
        gradrd()
            .args(["fit", file.to_str().unwrap(), "--format", "json"])
            .output()
            .unwrap()
            .stdout
    };
    assert_eq!(run(), run());
}

#[test]
fn csv_and_table_have_one_row_per_tensor_and_family() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("g.safetensors");
    write_safetensors(
        &file,
        &[
            ("a", gennorm_sample(1.0, 1.0, 300, 9)),
            ("b", gennorm_sample(2.0, 1.0, 300, 10)),
        ],
    );
    let csv = gradrd()
        .args([
            "fit",
            file.to_str().unwrap(),
            "--family",
            "gennorm,normal",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(csv.status.success());
    let text = String::from_utf8(csv.stdout).unwrap();
    let mut lines = text.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("tensor,step,n,n_fit,zero_fraction"));
    assert_eq!(lines.count(), 4);
    let table = gradrd()
        .args(["fit", file.to_str().unwrap(), "--family", "gennorm,normal"])
        .output()
        .unwrap();
    assert!(table.status.success());
    assert_eq!(String::from_utf8(table.stdout).unwrap().lines().count(), 5);
}

#[test]
fn inspect_reports_shape_zeros_and_non_finite_counts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("i.safetensors");
    write_safetensors(
        &file,
        &[("w", vec![0.0, 1.5, -2.0, f32::NAN, 0.0, f32::NEG_INFINITY])],
    );
    let out = gradrd()
        .args(["inspect", file.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let report = json_of(&out.stdout);
    assert_eq!(report["schema"], "gradrd.inspect/1");
    let t = &report["tensors"][0];
    assert_eq!(t["tensor"], "w");
    assert_eq!(t["dtype"], "F32");
    assert_eq!(t["shape"], serde_json::json!([6]));
    assert_eq!(
        (
            t["n"].as_u64(),
            t["zeros"].as_u64(),
            t["nan"].as_u64(),
            t["inf"].as_u64()
        ),
        (Some(6), Some(2), Some(1), Some(1))
    );
    assert_eq!(
        (t["min"].as_f64(), t["max"].as_f64()),
        (Some(-2.0), Some(1.5))
    );
}

/// In the table a failed family reads `failed` and a fit with a note gets a
/// numbered footnote; the footnotes follow the table, naming tensor, step
/// and family. (Exact zeros kept at a fixed zero location: dweibull refuses,
/// gennorm says its likelihood only rises as β falls.)
#[test]
fn the_table_footnotes_errors_and_notes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.safetensors");
    let mut values = gennorm_sample(0.8, 1e-3, 2000, 7);
    for v in values.iter_mut().take(500) {
        *v = 0.0;
    }
    write_safetensors(&path, &[("w", values)]);
    let output = gradrd()
        .args([
            "fit",
            "--family",
            "gennorm,dweibull",
            "--zeros",
            "keep",
            "--loc",
            "zero",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].ends_with("w2  note"), "{text}");
    assert!(
        lines[1].contains("gennorm") && lines[1].ends_with("[1]"),
        "{text}"
    );
    assert!(
        lines[2].contains("dweibull") && lines[2].contains("failed"),
        "{text}"
    );
    assert!(lines[2].ends_with("[2]"), "{text}");
    assert_eq!(lines[3], "");
    assert!(
        lines[4].starts_with("[1] w gennorm: 500 of 2000 values equal the fixed location"),
        "{text}"
    );
    assert!(lines[4].contains("not a maximum"), "{text}");
    assert!(
        lines[5].starts_with("[2] w dweibull: error: dweibull likelihood is unbounded"),
        "{text}"
    );
}
