//! `gradrd iid` on a transformer-shaped dump: a LayerNorm vector too small
//! for the default m = 3000 is a note at that size, its m = 100 rows run,
//! and the command exits 0.

use std::collections::HashMap;
use std::path::Path;

use assert_cmd::Command;
use safetensors::tensor::{Dtype, TensorView};
use serde_json::Value;

/// Three steps of `ln.weight` (256 entries) and `fc.weight` (8000 entries).
fn write_dump(dir: &Path) {
    for step in 0..3u64 {
        let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ step;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) as f32
        };
        let raw: Vec<(&str, Vec<u8>, usize)> = [("ln.weight", 256usize), ("fc.weight", 8000)]
            .into_iter()
            .map(|(name, n)| {
                let bytes = (0..n).flat_map(|_| next().to_le_bytes()).collect();
                (name, bytes, n)
            })
            .collect();
        let views: HashMap<String, TensorView<'_>> = raw
            .iter()
            .map(|(name, bytes, n)| {
                let view = TensorView::new(Dtype::F32, vec![*n], bytes).expect("valid view");
                (name.to_string(), view)
            })
            .collect();
        let path = dir.join(format!("step_{step:06}.safetensors"));
        safetensors::serialize_to_file(&views, None, &path).expect("fixture written");
    }
}

fn iid(dump: &Path, extra: &[&str]) -> (Option<i32>, Value) {
    let out = Command::cargo_bin("gradrd")
        .unwrap()
        .arg("iid")
        .arg(dump)
        .args(["--trials", "7", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), report)
}

fn cells<'a>(report: &'a Value, tensor: &str, m: u64) -> Vec<&'a Value> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["tensor"] == tensor)
        .flat_map(|r| r["cells"].as_array().unwrap())
        .filter(|c| c["sample_size"] == m)
        .collect()
}

#[test]
fn a_tensor_too_small_for_one_size_keeps_the_others_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    write_dump(dir.path());
    for pairs in ["temporal", "spatial"] {
        let (code, report) = iid(dir.path(), &["--pairs", pairs]);
        assert_eq!(code, Some(0), "{pairs}: {report}");
        assert!(report["errors"].as_array().unwrap().is_empty(), "{report}");
        for cell in cells(&report, "ln.weight", 3000) {
            assert_eq!(cell["trials"], 0);
            assert!(cell["pass_ratio"].is_null());
            let note = cell["note"].as_str().unwrap();
            assert!(
                note.contains("sample size 3000") && note.contains("256"),
                "{note}"
            );
        }
        for cell in cells(&report, "ln.weight", 100) {
            assert_eq!(cell["trials"], 7, "{pairs}: {cell}");
            assert!(cell.get("note").is_none());
        }
        // every size stands alone: m = 3000 of fc.weight alone is the same
        let (_, alone) = iid(dir.path(), &["--pairs", pairs, "--sample-size", "3000"]);
        assert_eq!(
            cells(&report, "fc.weight", 3000),
            cells(&alone, "fc.weight", 3000),
            "{pairs}"
        );
    }
}
