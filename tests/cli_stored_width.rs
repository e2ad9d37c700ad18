//! Full precision is the width a tensor is stored in: `ef`, `budget`, `cost`
//! and `dp` on bf16 and f16 dumps count FedAvg and every value sent at full
//! precision at 16 bits, not 32, and say so in their JSON.

mod common;

use std::collections::HashMap;
use std::path::Path;

use assert_cmd::Command;
use common::assert_close;
use safetensors::tensor::{Dtype, TensorView};
use serde_json::Value;

fn gradrd() -> Command {
    Command::cargo_bin("gradrd").expect("the gradrd binary is built")
}

/// The bytes of `values` stored as `dtype` (BF16, F16 or F32).
fn encode(dtype: Dtype, values: &[f32]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|&v| match dtype {
            Dtype::BF16 => half::bf16::from_f32(v).to_le_bytes().to_vec(),
            Dtype::F16 => half::f16::from_f32(v).to_le_bytes().to_vec(),
            _ => v.to_le_bytes().to_vec(),
        })
        .collect()
}

/// Two steps of `a.weight` (10 × 10) and `b.bias` (28), stored as the given
/// dtypes, in `dir/step_000000.safetensors` and `dir/step_000001.safetensors`.
fn write_dump(dir: &Path, a: Dtype, b: Dtype) {
    for step in 0..2 {
        let value = |i: usize| ((i * 7 + step * 3) % 23) as f32 * 1e-3 - 0.011;
        let a_values: Vec<f32> = (0..100).map(value).collect();
        let b_values: Vec<f32> = (0..28).map(|i| value(i + 5) * 2.0).collect();
        let raw = [
            ("a.weight", a, vec![10, 10], encode(a, &a_values)),
            ("b.bias", b, vec![28], encode(b, &b_values)),
        ];
        let views: HashMap<String, TensorView<'_>> = raw
            .iter()
            .map(|(name, dtype, shape, bytes)| {
                let view = TensorView::new(*dtype, shape.clone(), bytes).expect("valid view");
                (name.to_string(), view)
            })
            .collect();
        let path = dir.join(format!("step_{step:06}.safetensors"));
        safetensors::serialize_to_file(&views, None, &path).expect("fixture written");
    }
}

fn json(args: &[&str]) -> Value {
    let out = gradrd().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{value} is not a number"))
}

/// Top-1 % per tensor sends one value of each tensor per step: a.weight
/// 16 + ⌈log2 100⌉ = 23 bits, b.bias 16 + ⌈log2 28⌉ = 21 bits, so 88 bits
/// over two steps against FedAvg's 2 · 128 · 16 = 4096 (at 32 bits the
/// report said 8192 / 152 = 53.9x).
#[test]
fn ef_counts_bf16_and_f16_at_16_bits_per_entry() {
    for dtype in [Dtype::BF16, Dtype::F16] {
        let dir = tempfile::tempdir().unwrap();
        write_dump(dir.path(), dtype, dtype);
        let dump = dir.path().display().to_string();
        let report = json(&["ef", &dump, "--k", "0.01", "--format", "json"]);
        assert_close(number(&report["value_bits"]), 16.0, 0.0, 0.0);
        assert_close(number(&report["total_bits"]), 88.0, 0.0, 0.0);
        assert_close(number(&report["full_precision_bits"]), 4096.0, 0.0, 0.0);
        assert_close(
            number(&report["full_precision_bits_per_entry"]),
            16.0,
            0.0,
            0.0,
        );
        // python3 -c "print(4096/88)" -> 46.54545454545455
        assert_close(number(&report["reduction"]), 46.54545454545455, 1e-15, 0.0);
        for tensor in report["tensors"].as_array().unwrap() {
            assert_close(number(&tensor["stored_bits"]), 16.0, 0.0, 0.0);
        }
    }
}

/// bf16 a.weight beside an f32 b.bias: FedAvg counts each at its own width
/// (2 · (100 · 16 + 28 · 32) = 4992 bits, 19.5 per entry), the values go in
/// one format wide enough for both (32 bits): (32 + 7) + (32 + 5) = 76 bits
/// a step.
#[test]
fn a_mixed_dump_counts_each_tensor_at_its_width_and_values_at_the_widest() {
    let dir = tempfile::tempdir().unwrap();
    write_dump(dir.path(), Dtype::BF16, Dtype::F32);
    let dump = dir.path().display().to_string();
    let report = json(&["ef", &dump, "--k", "0.01", "--format", "json"]);
    assert_close(number(&report["value_bits"]), 32.0, 0.0, 0.0);
    assert_close(number(&report["total_bits"]), 152.0, 0.0, 0.0);
    assert_close(number(&report["full_precision_bits"]), 4992.0, 0.0, 0.0);
    assert_close(
        number(&report["full_precision_bits_per_entry"]),
        19.5,
        0.0,
        0.0,
    );
    let widths: Vec<f64> = report["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| number(&t["stored_bits"]))
        .collect();
    assert_eq!(widths, vec![16.0, 32.0]);
}

#[test]
fn the_table_names_the_width_of_full_precision() {
    let dir = tempfile::tempdir().unwrap();
    write_dump(dir.path(), Dtype::BF16, Dtype::BF16);
    let out = gradrd()
        .args(["ef", &dir.path().display().to_string(), "--k", "0.01"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("46.55x fewer than full precision at 16 bits/entry as stored"),
        "{text}"
    );
}

/// cost --dump: d = 128 bf16 parameters, FedAvg 2048 bits; top-1 % keeps
/// ⌈1.28⌉ = 2 values: 2 · 16 + 2 · ⌈log2 128⌉ = 46 bits.
#[test]
fn cost_budget_and_dp_use_the_stored_width() {
    let dir = tempfile::tempdir().unwrap();
    write_dump(dir.path(), Dtype::BF16, Dtype::BF16);
    let dump = dir.path().display().to_string();
    let cost = json(&["cost", "--dump", &dump, "--format", "json"]);
    assert_close(
        number(&cost["full_precision_bits_per_entry"]),
        16.0,
        0.0,
        0.0,
    );
    let schemes = cost["schemes"].as_array().unwrap();
    assert_close(number(&schemes[0]["bits_per_client"]), 2048.0, 0.0, 0.0);
    assert_close(number(&schemes[1]["bits_per_client"]), 46.0, 0.0, 0.0);
    // python3 -c "print(2048/46)" -> 44.52173913043478
    assert_close(
        number(&schemes[1]["reduction"]),
        44.52173913043478,
        1e-15,
        0.0,
    );

    let budget = json(&[
        "budget",
        &dump,
        "--max-bits",
        "2",
        "--bits-per-entry",
        "1",
        "--format",
        "json",
    ]);
    assert_close(number(&budget["value_bits"]), 16.0, 0.0, 0.0);
    assert_close(
        number(&budget["full_precision_bits_per_entry"]),
        16.0,
        0.0,
        0.0,
    );
    // 1 bit per entry against 16 as stored
    assert_close(number(&budget["allocation"]["reduction"]), 16.0, 1e-15, 0.0);
    // top-k per tensor spends the same 88 bits as `ef` above
    assert_close(number(&budget["sparsity"]["topk"]["bits"]), 88.0, 0.0, 0.0);

    let dp = json(&["dp", &dump, "--sigmas", "0.1", "--format", "json"]);
    assert_close(number(&dp["full_precision_bits_per_entry"]), 16.0, 0.0, 0.0);
    for row in dp["sigmas"].as_array().unwrap() {
        let expected = 16.0 * 256.0 / number(&row["coded_bits"]);
        assert_close(number(&row["reduction"]), expected, 1e-12, 0.0);
    }
}
