//! Determinism: every command that writes JSON, run twice on the shipped
//! dump (threads and all), writes byte-identical files.

use std::path::Path;

fn run_to(args: &[&str], out: &Path) {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--format", "json", "-o", out.to_str().unwrap()]);
    let output = assert_cmd::Command::cargo_bin("gradrd")
        .unwrap()
        .args(&all)
        .output()
        .unwrap();
    // 0, or 1 when some tensor is reported as unusable (still written).
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{all:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_json_command_twice_gives_the_same_bytes() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits-mlp");
    let d = data.to_str().unwrap();
    let a = data.join("step_000050.safetensors:fc1.weight");
    let b = data.join("step_000100.safetensors:fc1.weight");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let commands: Vec<Vec<&str>> = vec![
        vec!["inspect", d],
        vec!["fit", d],
        vec!["compare", a, b],
        vec!["iid", d],
        vec!["evolve", d, "--tensor", "weight"],
        vec![
            "quantize", "design", "--from", d, "--steps", "0", "--bits", "3", "--m", "1",
        ],
        vec![
            "quantize",
            "design",
            "--from",
            d,
            "--steps",
            "0",
            "--empirical",
            "--bits",
            "3",
        ],
        vec![
            "rd", "--family", "gennorm", "--param", "beta=0.7", "--bits", "1,2", "--cells", "128",
        ],
        vec!["ef", d, "--compressor", "topk", "--k", "0.05"],
        vec![
            "ef",
            d,
            "--compressor",
            "randk",
            "--k",
            "0.05",
            "--seed",
            "3",
        ],
        vec!["budget", d],
        vec!["dp", d],
        vec!["stale", d, "--absent", "50"],
        vec!["cost", "--dump", d],
        vec![
            "simulate",
            "fl",
            "--rounds",
            "3",
            "--topk",
            "0.05",
            "--quantizer",
            "m22",
        ],
    ];
    let dir = tempfile::tempdir().unwrap();
    for args in commands {
        let first = dir.path().join("first.json");
        let second = dir.path().join("second.json");
        run_to(&args, &first);
        run_to(&args, &second);
        let (x, y) = (
            std::fs::read(&first).unwrap(),
            std::fs::read(&second).unwrap(),
        );
        assert!(!x.is_empty(), "{args:?} wrote nothing");
        assert!(x == y, "{args:?}: the two runs differ");
    }
}
