//! `gradrd quantize design` and `gradrd quantize eval` on the real binary,
//! and the lookup convention shared with PyTorch (`torch.bucketize`).

mod common;

use assert_cmd::Command;
use common::{assert_close, fixture};
use gradrd_core::quant::export::parse_codebooks;
use gradrd_io::dump::Dump;
use serde_json::Value;

fn gradrd() -> Command {
    Command::cargo_bin("gradrd").expect("the gradrd binary is built")
}

fn data(path: &str) -> String {
    format!("{}/data/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn json_of(output: &[u8]) -> Value {
    serde_json::from_slice(output).expect("stdout is JSON")
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_f64().expect("number"))
        .collect()
}

/// Our encoder and decoder agree with `numpy.searchsorted(thresholds, x /
/// scale, side="left")` — `torch.bucketize(..., right=False)` — on a real
/// tensor and on values exactly on, and one ulp beside, every threshold
/// (reference: scripts/make_bucketize_fixture.py).
#[test]
fn encoder_matches_the_pytorch_bucketize_convention() {
    let text = std::fs::read_to_string(fixture("codebook_fc2.json")).unwrap();
    let codebooks = parse_codebooks(&text).unwrap();
    let codebook = &codebooks[0].1;
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("bucketize_reference.json")).unwrap(),
    )
    .unwrap();
    let dump = Dump::open(data("digits-mlp/step_000000.safetensors")).unwrap();
    let meta = dump
        .tensors()
        .iter()
        .find(|t| t.name == "fc2.weight")
        .unwrap();
    let mut x = dump.read(meta).unwrap();
    x.extend(floats(&reference["edges"]));
    let expected_index: Vec<usize> = reference["index"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    let expected_decoded = floats(&reference["decoded"]);
    assert_eq!(x.len(), expected_index.len());
    for (i, &v) in x.iter().enumerate() {
        assert_eq!(codebook.encode(v), expected_index[i], "value {v:e} (#{i})");
        assert_eq!(
            codebook.quantize(v).to_bits(),
            expected_decoded[i].to_bits(),
            "value {v:e} (#{i})"
        );
    }
}

#[test]
fn designs_a_normal_codebook_matching_max_1960() {
    let out = gradrd()
        .args(["quantize", "design", "--family", "normal", "--bits", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json_of(&out.stdout);
    assert_eq!(doc["schema"], "gradrd.codebook/1");
    assert_eq!(doc["levels"], 8);
    assert_eq!(doc["bits"], 3);
    let thresholds = floats(&doc["thresholds"]);
    let centers = floats(&doc["centers"]);
    assert_eq!((thresholds.len(), centers.len()), (7, 8));
    // Max (1960), N = 8 (references.md): thresholds 0, ±0.500550, ±1.049957, ±1.747927
    for (t, expected) in thresholds[4..].iter().zip([0.500550, 1.049957, 1.747927]) {
        assert_close(*t, expected, 0.0, 1e-6);
    }
    assert_close(thresholds[3], 0.0, 0.0, 0.0);
    assert_close(doc["mse"].as_f64().unwrap(), 0.03454776, 1e-6, 0.0);
    for (c, mirror) in centers.iter().zip(centers.iter().rev()) {
        assert_close(*c, -mirror, 0.0, 0.0);
    }
}

#[test]
fn m_sweep_writes_a_manifest_and_npy_arrays_that_eval_reads() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("codebooks.json");
    let npy = dir.path().join("arrays");
    let out = gradrd()
        .args([
            "quantize",
            "design",
            "--from",
            &data("digits-mlp"),
            "--tensor",
            r"fc[12]\.weight",
        ])
        .args(["--step", "100", "--bits", "3", "--m", "0,2", "-o"])
        .arg(&manifest)
        .arg("--npy")
        .arg(&npy)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let doc: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(doc["schema"], "gradrd.codebooks/1");
    let codebooks = doc["codebooks"].as_array().unwrap();
    assert_eq!(codebooks.len(), 4);
    for cb in codebooks {
        assert_eq!(cb["step"], 100);
        // the gennorm maxima of both tensors at step 100 (β 0.30-0.31) are
        // 1.1-1.2 standard deviations from the data in W2, farther than a
        // point mass at their mean: no model of them, so at every M the
        // design falls back to the values and says why
        assert_eq!(cb["family"], "empirical", "{cb}");
        assert!(
            cb["note"]
                .as_str()
                .unwrap()
                .starts_with("the gennorm fit's W2 to the data is 1."),
            "{cb}"
        );
        let thresholds = floats(&cb["thresholds"]);
        assert!(thresholds.windows(2).all(|w| w[0] < w[1]));
        // the .npy arrays hold exactly the JSON arrays
        let stem = format!(
            "{}.step100.m{}.",
            cb["tensor"].as_str().unwrap(),
            cb["m"].as_f64().unwrap()
        );
        let path = npy.join(format!("{stem}thresholds.npy"));
        let arrays = Dump::open(&path).unwrap();
        let read = arrays.read(&arrays.tensors()[0]).unwrap();
        assert_eq!(read, thresholds, "{}", path.display());
    }
    let out = gradrd()
        .args(["quantize", "eval"])
        .arg(&manifest)
        .args([
            &data("digits-mlp"),
            "--tensor",
            r"fc[12]\.weight",
            "--steps",
            "100",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    // two codebooks (M = 0 and 2) per tensor at this step: a row each
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json_of(&out.stdout);
    let rows = report["results"].as_array().unwrap();
    assert_eq!(rows.len(), 4);
    let ms: Vec<f64> = rows.iter().map(|r| r["m"].as_f64().unwrap()).collect();
    assert_eq!(ms, vec![0.0, 2.0, 0.0, 2.0]);
}

/// An empirical design measured by `quantize eval` on the same values gives
/// back the design's own MSE and index entropy.
#[test]
fn eval_of_an_empirical_design_reproduces_its_distortion() {
    let dir = tempfile::tempdir().unwrap();
    let codebook = dir.path().join("cb.json");
    let selection = ["--tensor", r"fc3\.weight", "--steps", "850"];
    let out = gradrd()
        .args([
            "quantize",
            "design",
            "--from",
            &data("digits-mlp"),
            "--empirical",
            "--bits",
            "4",
            "--m",
            "1.5",
            "-o",
        ])
        .arg(&codebook)
        .args(selection)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let design: Value = serde_json::from_slice(&std::fs::read(&codebook).unwrap()).unwrap();
    let out = gradrd()
        .args(["quantize", "eval"])
        .arg(&codebook)
        .arg(data("digits-mlp"))
        .args(selection)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = &json_of(&out.stdout)["results"][0];
    assert_eq!(row["n"], 640);
    for field in ["mse", "distortion", "entropy_bits"] {
        assert_close(
            row[field].as_f64().unwrap(),
            design[field].as_f64().unwrap(),
            1e-9,
            0.0,
        );
    }
}

#[test]
fn the_same_design_twice_is_byte_identical() {
    let run = || {
        gradrd()
            .args([
                "quantize",
                "design",
                "--from",
                &data("digits-mlp"),
                "--steps",
                "200",
                "--m",
                "0,1",
            ])
            .output()
            .unwrap()
            .stdout
    };
    let first = run();
    assert!(!first.is_empty());
    assert_eq!(first, run());
}

#[test]
fn bad_flags_and_parameters_exit_2_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("cb.json");
    let cases: &[&[&str]] = &[
        &["--bits", "0"],
        &["--bits", "17"],
        &["--levels", "1"],
        &["--m=-1"],
        &["--m", "nan"],
        &["--param", "beta=0"],
        &["--param", "beta=-2"],
        &["--param", "beta=inf"],
        &["--param", "beta=1", "--param", "scale=0"],
        &["--param", "beta=1", "--param", "c=2"],
        &["--param", "beta"],
        &["--tolerance", "0"],
        &["--from", "/nonexistent/dump"],
        &["--from", "data/digits-mlp", "--param", "beta=1"],
    ];
    for args in cases {
        let out = gradrd()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["quantize", "design"])
            .args(*args)
            .arg("-o")
            .arg(&target)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!target.exists(), "{args:?} wrote a file");
    }
}

#[test]
fn invalid_codebooks_are_named_errors() {
    let dir = tempfile::tempdir().unwrap();
    let base = r#""schema":"gradrd.codebook/1","family":"x","m":0,"scale":1,"zero_level":false,"distortion":0,"mse":0,"entropy_bits":0"#;
    let cases = [
        (
            format!(r#"{{{base},"levels":3,"thresholds":[1,0],"centers":[0,1,2]}}"#),
            "strictly increasing",
        ),
        (
            format!(r#"{{{base},"levels":3,"thresholds":[0],"centers":[0,1,2]}}"#),
            "3 centers need 2 thresholds",
        ),
        (
            format!(r#"{{{base},"levels":4,"thresholds":[0,1],"centers":[0,1,2]}}"#),
            "levels is 4",
        ),
        (r#"{"schema":"gradrd.fit/1"}"#.to_string(), "schema"),
        ("not json".to_string(), "not JSON"),
    ];
    for (text, message) in cases {
        let path = dir.path().join("cb.json");
        std::fs::write(&path, &text).unwrap();
        let out = gradrd()
            .args(["quantize", "eval"])
            .arg(&path)
            .arg(data("digits-mlp"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert!(stderr.contains(message), "{text}: {stderr}");
        assert!(stderr.contains("cb.json"), "{text}: {stderr}");
        assert!(!stderr.contains("panicked"));
    }
}

/// Tensor names are data: `--npy` files named after them stay inside the
/// folder (`dump::file_name`), whatever the names hold.
#[test]
fn npy_files_named_after_hostile_tensor_names_stay_in_their_folder() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<u8> = (0..64)
        .flat_map(|i| ((i as f32 - 31.5) * 0.01).to_le_bytes())
        .collect();
    let names = ["../escape/a", "/tmp/gradrd-absolute", "..", "a\nb"];
    let mut header = String::from("{");
    let mut data = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let start = data.len();
        data.extend(&values);
        if i > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            "{}:{{\"dtype\":\"F32\",\"shape\":[64],\"data_offsets\":[{start},{}]}}",
            serde_json::to_string(name).unwrap(),
            data.len()
        ));
    }
    header.push('}');
    let dump = dir.path().join("hostile.safetensors");
    std::fs::write(&dump, common::safetensors_bytes(&header, &data)).unwrap();
    let npy = dir.path().join("deep").join("arrays");
    let out = gradrd()
        .args(["quantize", "design", "--from"])
        .arg(&dump)
        .args(["--bits", "2", "-o"])
        .arg(dir.path().join("codebooks.json"))
        .arg("--npy")
        .arg(&npy)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut written: Vec<String> = std::fs::read_dir(&npy)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(
        written,
        [
            "%2E.%2Fescape%2Fa.centers.npy",
            "%2E.%2Fescape%2Fa.thresholds.npy",
            "%2E..centers.npy",
            "%2E..thresholds.npy",
            "%2Ftmp%2Fgradrd-absolute.centers.npy",
            "%2Ftmp%2Fgradrd-absolute.thresholds.npy",
            "a%0Ab.centers.npy",
            "a%0Ab.thresholds.npy",
        ]
    );
    // nothing next to the folder, nothing at the absolute path
    let beside: Vec<_> = std::fs::read_dir(dir.path().join("deep"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(beside, ["arrays"]);
    assert!(!std::path::Path::new("/tmp/gradrd-absolute.centers.npy").exists());
}
