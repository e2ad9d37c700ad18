//! Directory dumps: recursive discovery, steps from file and directory names,
//! skipped files, selection.

mod common;

use common::{assert_close, fixture};
use gradrd_io::dump::{Collisions, Dump, DumpError, OpenOptions, Selection, StepRange};

#[test]
fn directory_steps_from_names_and_skipped_files() {
    let dump = Dump::open(fixture("dir")).unwrap();
    let keys: Vec<(String, Option<u64>)> = dump
        .tensors()
        .iter()
        .map(|t| (t.name.clone(), t.step))
        .collect();
    // step100/grads.safetensors, step200/grads.safetensors (step from the directory),
    // grads_300.npz (step from the stem); notes.txt is ignored
    assert_eq!(
        keys,
        [
            ("w".to_string(), Some(100)),
            ("w".to_string(), Some(200)),
            ("w".to_string(), Some(300))
        ]
    );
    // torch.arange(4) + step for the safetensors files; np.arange(4) * 2 for the npz
    for t in dump.tensors() {
        let values = dump.read(t).unwrap();
        let step = t.step.unwrap() as f64;
        for (i, v) in values.iter().enumerate() {
            let expected = if t.step == Some(300) {
                i as f64 * 2.0
            } else {
                step + i as f64
            };
            assert_close(*v, expected, 0.0, 0.0);
        }
    }
    // broken_400.npy (cut by 8 bytes) is skipped, not fatal
    assert_eq!(dump.skipped().len(), 1);
    let (path, error) = &dump.skipped()[0];
    assert!(path.ends_with("broken_400.npy"));
    assert!(matches!(error, DumpError::Truncated { .. }), "{error}");
}

#[test]
fn selection_by_regex_and_step_range() {
    let dump = Dump::open(fixture("dir")).unwrap();
    let steps =
        |sel: &Selection| -> Vec<Option<u64>> { dump.select(sel).iter().map(|t| t.step).collect() };
    let range = |text: &str| Selection {
        tensor: None,
        steps: Some(text.parse::<StepRange>().unwrap()),
    };
    assert_eq!(steps(&range("200")), [Some(200)]);
    assert_eq!(steps(&range("100..300")), [Some(100), Some(200), Some(300)]);
    assert_eq!(steps(&range("101..299")), [Some(200)]);
    assert_eq!(steps(&range("..=200")), [Some(100), Some(200)]);
    assert_eq!(steps(&range("150..")), [Some(200), Some(300)]);
    let by_name = |re: &str| Selection {
        tensor: Some(regex::Regex::new(re).unwrap()),
        steps: None,
    };
    assert_eq!(dump.select(&by_name("^w$")).len(), 3);
    assert!(dump.select(&by_name("bias")).is_empty());
    assert_eq!(dump.select(&Selection::default()).len(), 3);
}

#[test]
fn same_name_and_step_in_two_files_is_qualified_by_path_when_asked() {
    // OLMo-style per-layer files that all store the key `gradient`
    let dir = tempfile::tempdir().unwrap();
    let step_dir = dir.path().join("step5");
    std::fs::create_dir(&step_dir).unwrap();
    let source = std::fs::read(fixture("dir/step100/grads.safetensors")).unwrap();
    std::fs::write(step_dir.join("attn.safetensors"), &source).unwrap();
    std::fs::write(step_dir.join("mlp.safetensors"), &source).unwrap();
    // by default the collision is reported, naming both files
    let error = Dump::open(dir.path()).unwrap_err().to_string();
    assert!(
        error.contains(
            "no readable dump files (1 unreadable; first: tensor `w` at step 5 is in both"
        ),
        "{error}"
    );
    let options = OpenOptions {
        collisions: Collisions::Prefix,
    };
    let dump = Dump::open_with(dir.path(), options).unwrap();
    let keys: Vec<(String, Option<u64>)> = dump
        .tensors()
        .iter()
        .map(|t| (t.name.clone(), t.step))
        .collect();
    assert_eq!(
        keys,
        [
            ("step5/attn/w".to_string(), Some(5)),
            ("step5/mlp/w".to_string(), Some(5))
        ]
    );
    let [note] = dump.notes() else {
        panic!("{:?}", dump.notes())
    };
    assert!(note.what.contains("collision rule `prefix`"), "{note}");
}

#[test]
fn tensors_without_step_sort_first_and_never_match_a_range() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture("grads_compressed.npz"),
        dir.path().join("grads.npz"),
    )
    .unwrap();
    std::fs::copy(fixture("bare_tensor.pt"), dir.path().join("bare_2.pt")).unwrap();
    let dump = Dump::open(dir.path()).unwrap();
    let steps: Vec<Option<u64>> = dump.tensors().iter().map(|t| t.step).collect();
    assert_eq!(steps, [None, None, Some(2)]);
    let sel = Selection {
        tensor: None,
        steps: Some("0..".parse().unwrap()),
    };
    assert_eq!(dump.select(&sel).len(), 1);
}

#[test]
fn hive_partitioned_parquet_names_tensors_and_steps_from_directories() {
    // pq.write_to_dataset(table, "hive", partition_cols=["tensor", "step"]): files hold only `value`
    let dump = Dump::open(fixture("hive")).unwrap();
    let keys: Vec<(String, Option<u64>)> = dump
        .tensors()
        .iter()
        .map(|t| (t.name.clone(), t.step))
        .collect();
    let expected = [
        ("fc.bias", 3),
        ("fc.weight", 3),
        ("fc.bias", 12),
        ("fc.weight", 12),
    ]
    .map(|(n, s)| (n.to_string(), Some(s)));
    assert_eq!(keys, expected);
    for t in dump.tensors() {
        let step = t.step.unwrap() as f64;
        let values = dump.read(t).unwrap();
        // fc.weight: step * 10 + i (3 values); fc.bias: -step
        let expected: Vec<f64> = if t.name == "fc.weight" {
            (0..3).map(|i| step * 10.0 + i as f64).collect()
        } else {
            vec![-step]
        };
        assert_eq!(values.len(), expected.len());
        for (v, e) in values.iter().zip(expected) {
            assert_close(*v, e, 0.0, 0.0);
        }
    }
}

#[test]
fn a_folder_of_10_000_bare_step_files_is_one_tensor_over_10_000_steps() {
    // step_00001.npy … step_10000.npy, each a bare array: the tensor is the
    // folder's name, the steps the files' numbers (on the binary).
    const STEPS: u64 = 10_000;
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("fc.weight");
    std::fs::create_dir(&folder).unwrap();
    for step in 1..=STEPS {
        let value = step as f32;
        let data: Vec<u8> = [value, -value]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let npy = common::npy_bytes(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
            &data,
        );
        std::fs::write(folder.join(format!("step_{step:05}.npy")), npy).unwrap();
    }
    let out = assert_cmd::Command::cargo_bin("gradrd")
        .unwrap()
        .args(["inspect", "--format", "json", folder.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tensors = json["tensors"].as_array().unwrap();
    assert_eq!(tensors.len() as u64, STEPS);
    for (t, step) in tensors.iter().zip(1..=STEPS) {
        assert_eq!(t["tensor"], "fc.weight", "{t}");
        assert_eq!(t["step"].as_u64(), Some(step), "{t}");
        assert_eq!(t["max"].as_f64(), Some(step as f64), "{t}");
    }
}
