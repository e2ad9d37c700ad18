//! Every command on the real transformer and ResNet dumps (`data/gpt-tiny`,
//! bf16 with a fused qkv, LayerNorms and a 94 %-zero embedding gradient;
//! `data/resnet-tiny`, f32 torch.save with BatchNorm), as a user runs them:
//! exit 0 and no nonsense number (every JSON number finite, nothing worse
//! than sending zeros without a flag).

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn gradrd() -> Command {
    Command::cargo_bin("gradrd").expect("the gradrd binary is built")
}

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
        .display()
        .to_string()
}

/// Runs `gradrd ARGS --format json`, asserts exit 0, returns the JSON.
fn json(args: &[&str]) -> Value {
    let output = gradrd()
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "gradrd {args:?}: {stderr}");
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Every number in `value` is finite and of a sane magnitude (serde_json
/// writes a non-finite float as null, so a null where a number belongs is
/// caught by the callers' field checks).
fn assert_sane_numbers(value: &Value, path: &str) {
    match value {
        Value::Number(n) => {
            let x = n.as_f64().unwrap();
            assert!(x.is_finite() && x.abs() < 1e30, "{path} = {x}");
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                assert_sane_numbers(item, &format!("{path}[{i}]"));
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                assert_sane_numbers(item, &format!("{path}.{key}"));
            }
        }
        _ => {}
    }
}

#[test]
fn inspect_and_fit_read_every_tensor() {
    let out = gradrd()
        .args(["inspect", &data("gpt-tiny")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("BF16") && text.contains("blocks.1.attn.qkv.bias"));
    assert_eq!(text.lines().count(), 1 + 5 * 29, "{text}");
    for dump in ["gpt-tiny", "resnet-tiny"] {
        let fit = json(&["fit", &data(dump), "--steps", "300", "--no-gof"]);
        assert_sane_numbers(&fit, dump);
        let tensors = fit["results"].as_array().unwrap();
        assert_eq!(tensors.len(), if dump == "gpt-tiny" { 29 } else { 20 });
    }
}

#[test]
fn iid_runs_every_size_that_fits_and_pairs_layers_in_model_order() {
    let report = json(&["iid", &data("gpt-tiny"), "--pairs", "layers"]);
    assert_eq!(report["order"], "file", "{report}");
    let first = &report["results"][0];
    assert_eq!(first["tensor"], "tok_emb.weight");
    assert_eq!(first["tensor_b"], "pos_emb.weight");
    let temporal = json(&["iid", &data("gpt-tiny")]);
    assert_sane_numbers(&temporal, "iid");
    assert_eq!(temporal["results"].as_array().unwrap().len(), 29);
    let resnet = json(&["iid", &data("resnet-tiny"), "--pairs", "layers"]);
    assert_eq!(resnet["order"], "file");
    assert_eq!(resnet["results"][0]["tensor"], "conv1.weight");
}

#[test]
fn replays_count_the_stored_width() {
    let report = json(&["ef", &data("gpt-tiny"), "--tensor", "weight$"]);
    assert_sane_numbers(&report, "ef");
    assert_eq!(report["full_precision_bits_per_entry"], 16.0, "{report}");
}

/// Designs a codebook on one tensor of gpt-tiny at step 300 and measures it
/// on that tensor at every step; returns the evaluation's rows.
fn design_and_eval(tensor: &str, bits: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let codebook: PathBuf = dir.path().join("codebook.json");
    let design = gradrd()
        .args(["quantize", "design", "--from", &data("gpt-tiny")])
        .args(["--tensor", tensor, "--step", "300", "--bits", bits, "-o"])
        .arg(&codebook)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&design.stderr);
    assert_eq!(design.status.code(), Some(0), "design {tensor}: {stderr}");
    let eval = json(&[
        "quantize",
        "eval",
        codebook.to_str().unwrap(),
        &data("gpt-tiny"),
        "--tensor",
        tensor,
    ]);
    assert_sane_numbers(&eval, "eval");
    eval["results"].as_array().unwrap().clone()
}

#[test]
fn quantizer_design_and_rd_on_a_transformer() {
    // the untied head, the 94 %-zero embedding gradient and the fused qkv
    // bias whose k third is float noise (its gennorm fit lands on the shape
    // bound, so the design falls back to the values): each codebook is
    // better than sending zeros on the tensor as sent, at every step
    for tensor in [
        "^head.weight$",
        "^tok_emb.weight$",
        "^blocks.0.attn.qkv.bias$",
    ] {
        for row in design_and_eval(tensor, "3") {
            assert!(row["nmse"].as_f64().unwrap() < 1.0, "{row}");
        }
    }
    let rd = json(&[
        "rd",
        "--from",
        &data("gpt-tiny"),
        "--tensor",
        "^blocks.0.mlp.fc.weight$",
        "--step",
        "300",
    ]);
    assert_sane_numbers(&rd, "rd");
}

#[test]
fn a_report_on_small_transformer_tensors_notes_the_rates_they_cannot_pay_for() {
    // a 20-entry LayerNorm bias and the 60-entry fused qkv bias: at 1–2
    // bits/entry top-k cannot pay for its 32-bit scale and positions, and
    // the qkv bias has fewer distinct values than 2^6 levels — points that do
    // not exist, said in the report's text, not failures (exit 0)
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("small.toml");
    std::fs::write(
        &spec,
        format!(
            "name = \"small\"\ntitle = \"small\"\ndump = {:?}\n\
             tensor = '^blocks\\.0\\.(ln1\\.bias|attn\\.qkv\\.bias)$'\n\
             [[analysis]]\nkind = \"quantize\"\nstep = 300\nrates = [1, 2, 6]\n\
             quantizers = [\"m22\", \"topk-fp4\"]\n\
             [[analysis]]\nkind = \"rd\"\nstep = 300\ncells = 64\nbits = [1, 2]\n\
             quantizers = [\"m22\", \"topk-fp4\"]\n",
            data("gpt-tiny")
        ),
    )
    .unwrap();
    let output = gradrd()
        .arg("run")
        .arg(&spec)
        .arg("--reports")
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("failed"), "{stderr}");
    let page = std::fs::read_to_string(dir.path().join("small/report.md")).unwrap();
    for expected in [
        "blocks.0.ln1.bias: not run, the rate cannot pay for the side information (scale, positions) on this tensor: topk-fp4 at 1 bits, topk-fp4 at 2 bits.",
        "blocks.0.attn.qkv.bias: not run, fewer distinct values than the levels: m22 at 6 bits.",
    ] {
        assert!(page.contains(expected), "{expected:?} not in\n{page}");
    }
    // the rd section says the same of the top-k points it could not place
    let rd_note = page
        .lines()
        .filter(|l| l.starts_with("blocks.0.ln1.bias: not run"))
        .count();
    assert_eq!(rd_note, 2, "{page}");
}
