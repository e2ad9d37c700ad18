//! Every convention in which PyTorch users save gradients, on real
//! transformer and ResNet gradients (`tests/fixtures/real/`, written by
//! `scripts/record_real_models.py`): zip and legacy `torch.save` of dicts,
//! lists, tuples and views into one flat buffer, `pytorch_model.bin`,
//! safetensors, NumPy `.npz`/`.npy`, Hugging Face sharded checkpoints,
//! torch.distributed.checkpoint folders (one and two ranks), in f32, bf16
//! and fp16. Each tensor is checked against the statistics torch computed
//! from the same file (`manifest.json`: `torch.load(path)[name].double()`,
//! then `math.fsum` of the values and of their squares, the count of exact
//! zeros, min, max, the first three and the last value in C order).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gradrd_core::analysis::depth::OrderSource;
use gradrd_io::dump::{Collisions, Dump, DumpError, OpenOptions, TensorMeta};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(root().join("tests/fixtures/real/manifest.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The dump path a user would give for a manifest entry: the file itself,
/// or for files in a step folder the folder above the step folders.
fn dump_path(file: &str) -> PathBuf {
    let path = root().join(file);
    let in_step_folder = path.parent().and_then(Path::file_name).is_some_and(|d| {
        let d = d.to_string_lossy();
        d.starts_with("step_") || d.starts_with("checkpoint-")
    });
    if in_step_folder {
        path.parent().unwrap().parent().unwrap().to_path_buf()
    } else {
        path
    }
}

/// Exact sum by compensated (Neumaier) summation: on these few-thousand-value
/// tensors it agrees with `math.fsum` to the last bit or one ulp.
fn fsum(values: impl Iterator<Item = f64>) -> f64 {
    let (mut sum, mut compensation) = (0.0f64, 0.0f64);
    for v in values {
        let t = sum + v;
        compensation += if sum.abs() >= v.abs() {
            (sum - t) + v
        } else {
            (v - t) + sum
        };
        sum = t;
    }
    sum + compensation
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

fn check_tensor(dump: &Dump, meta: &TensorMeta, expected: &Value, file: &str) {
    let name = &meta.name;
    let want = |key: &str| expected[key].as_f64().unwrap();
    assert_eq!(meta.dtype.to_string(), expected["dtype"], "{file} {name}");
    let shape: Vec<u64> = serde_json::from_value(expected["shape"].clone()).unwrap();
    assert_eq!(meta.shape, shape, "{file} {name}");
    let values = dump.read(meta).unwrap();
    assert_eq!(values.len() as u64, expected["count"].as_u64().unwrap());
    assert!(
        close(fsum(values.iter().copied()), want("sum")),
        "{file} {name} sum"
    );
    assert!(
        close(fsum(values.iter().map(|v| v * v)), want("sum_squares")),
        "{file} {name} sum of squares"
    );
    let zeros = values.iter().filter(|v| **v == 0.0).count() as u64;
    assert_eq!(
        zeros,
        expected["zeros"].as_u64().unwrap(),
        "{file} {name} zeros"
    );
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(
        (min, max),
        (want("min"), want("max")),
        "{file} {name} range"
    );
    let first: Vec<f64> = serde_json::from_value(expected["first"].clone()).unwrap();
    assert_eq!(
        values[..first.len()],
        first[..],
        "{file} {name} first values"
    );
    assert_eq!(
        *values.last().unwrap(),
        want("last"),
        "{file} {name} last value"
    );
    // the streamed summary agrees with the values
    let summary = dump.summarize(meta).unwrap();
    assert_eq!(summary.zeros, zeros, "{file} {name} summary zeros");
}

/// Every file of the manifest opens, every tensor is where the manifest
/// says, with its values, and at the step the path or the file gives.
#[test]
fn every_convention_reads_as_torch_does() {
    let manifest = manifest();
    let mut dumps: BTreeMap<PathBuf, Dump> = BTreeMap::new();
    let mut checked = 0;
    for entry in manifest["files"].as_array().unwrap() {
        let file = entry["path"].as_str().unwrap();
        if file.contains("/collide/") {
            continue; // `collisions_are_reported_never_renamed_silently`
        }
        let path = dump_path(file);
        let dump = dumps
            .entry(path.clone())
            .or_insert_with(|| Dump::open(&path).unwrap_or_else(|e| panic!("{file}: {e}")));
        assert!(dump.skipped().is_empty(), "{file}: {:?}", dump.skipped());
        let step = match entry["step_source"].as_str().unwrap() {
            "none" => None,
            _ => entry["step"].as_u64(),
        };
        for expected in entry["tensors"].as_array().unwrap() {
            let name = expected["name"].as_str().unwrap();
            let matches: Vec<&TensorMeta> = dump
                .tensors()
                .iter()
                .filter(|t| t.name == name && t.step == step)
                .collect();
            let [meta] = matches[..] else {
                panic!(
                    "{file}: {} tensors named {name} at step {step:?}; the dump has {:?}",
                    matches.len(),
                    dump.tensors()
                        .iter()
                        .map(|t| (&t.name, t.step))
                        .take(5)
                        .collect::<Vec<_>>()
                )
            };
            check_tensor(dump, meta, expected, file);
            checked += 1;
        }
    }
    // 23 files and folders of gpt-tiny (29 tensors each) and resnet-tiny (20)
    assert_eq!(checked, 678, "tensors checked");
}

/// The step is the folder's, never a shard counter (`model-00002-of-00003`
/// is not step 2), and a Hugging Face index maps every tensor to its shard.
#[test]
fn sharded_checkpoints_are_one_step_per_folder() {
    let dump = Dump::open(root().join("tests/fixtures/real/hf-sharded")).unwrap();
    let steps: std::collections::BTreeSet<Option<u64>> =
        dump.tensors().iter().map(|t| t.step).collect();
    assert_eq!(steps, [Some(100), Some(300)].into_iter().collect());
    assert_eq!(dump.tensors().len(), 58);
    assert!(dump.notes().is_empty(), "{:?}", dump.notes());
    // the index given as the file opens its shards
    let one = Dump::open(
        root().join("tests/fixtures/real/hf-sharded/checkpoint-300/model.safetensors.index.json"),
    )
    .unwrap();
    assert_eq!(one.tensors().len(), 29);
    assert!(one.tensors().iter().all(|t| t.step == Some(300)));
}

/// A shard the index names but that is missing, and a tensor mapped to the
/// wrong shard, are reported; the rest still loads.
#[test]
fn an_index_is_checked_against_its_shards() {
    let dir = tempfile::tempdir().unwrap();
    let step = dir.path().join("checkpoint-7");
    std::fs::create_dir(&step).unwrap();
    let source = root().join("tests/fixtures/real/hf-sharded/checkpoint-300");
    let index_text = std::fs::read_to_string(source.join("model.safetensors.index.json")).unwrap();
    let mut index: Value = serde_json::from_str(&index_text).unwrap();
    let shards: Vec<String> = {
        let mut s: Vec<String> = index["weight_map"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        s.sort();
        s.dedup();
        s
    };
    // copy all shards but the last; point one tensor of shard 1 at shard 2
    for shard in &shards[..shards.len() - 1] {
        std::fs::copy(source.join(shard), step.join(shard)).unwrap();
    }
    let moved = index["weight_map"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(_, v)| v.as_str() == Some(&shards[0]))
        .map(|(k, _)| k.clone())
        .unwrap();
    index["weight_map"][&moved] = Value::String(shards[1].clone());
    std::fs::write(
        step.join("model.safetensors.index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    let dump = Dump::open(dir.path()).unwrap();
    let messages: Vec<String> = dump.skipped().iter().map(|(_, e)| e.to_string()).collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains("which is missing") && m.contains(&shards[2])),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains(&format!("`{moved}`")) && m.contains("does not hold it")),
        "{messages:?}"
    );
    assert!(dump.tensors().iter().all(|t| t.step == Some(7)));
}

/// Two files of one step holding the same names: left out and reported
/// by default (both files named), or settled by the rule the user chose,
/// with a note; names the files do not share are untouched.
#[test]
fn collisions_are_reported_never_renamed_silently() {
    let path = root().join("tests/fixtures/real/collide");
    let open = |collisions| Dump::open_with(&path, OpenOptions { collisions });
    // both files hold exactly the same three names: by default all three
    // are left out, so nothing is readable, and the error says why
    let error = open(Collisions::Report).unwrap_err();
    let DumpError::NothingReadable {
        skipped: 3, first, ..
    } = &error
    else {
        panic!("{error}")
    };
    assert!(
        first.contains("a.safetensors") && first.contains("b.safetensors"),
        "{first}"
    );
    assert!(!error.to_string().contains('\n'));
    // with another tensor beside them, the rest loads and each collision is
    // reported
    let dir = tempfile::tempdir().unwrap();
    let step = dir.path().join("step_000300");
    std::fs::create_dir(&step).unwrap();
    for file in ["a.safetensors", "b.safetensors"] {
        std::fs::copy(path.join("step_000300").join(file), step.join(file)).unwrap();
    }
    std::fs::copy(
        root().join("tests/fixtures/real/npy-folder/step_000300/tok_emb.weight.npy"),
        step.join("tok_emb.weight.npy"),
    )
    .unwrap();
    let dump = Dump::open(dir.path()).unwrap();
    assert_eq!(dump.tensors().len(), 1);
    let reports: Vec<String> = dump
        .skipped()
        .iter()
        .map(|(_, e)| {
            assert!(matches!(e, DumpError::Collision { .. }));
            e.to_string()
        })
        .collect();
    assert_eq!(reports.len(), 3, "{reports:?}");
    let prefixed = open(Collisions::Prefix).unwrap();
    let mut names: Vec<&str> = prefixed.tensors().iter().map(|t| t.name.as_str()).collect();
    names.sort();
    assert_eq!(names[0], "step_000300/a/head.weight");
    assert_eq!(prefixed.tensors().len(), 6);
    assert_eq!(prefixed.notes().len(), 3);
    let first = open(Collisions::First).unwrap();
    assert_eq!(first.tensors().len(), 3);
    assert!(first
        .tensors()
        .iter()
        .all(|t| t.file.ends_with("step_000300/a.safetensors")));
    // disjoint names at one step are one step, nothing to settle
    let shards = Dump::open(root().join("tests/fixtures/real/shards-disjoint")).unwrap();
    assert_eq!(shards.tensors().len(), 29);
    assert!(shards.skipped().is_empty() && shards.notes().is_empty());
}

/// Formats that keep the writer's order give the model's order
/// (`named_parameters()`); a safetensors file without the recorder's order
/// falls back to name order and says so.
#[test]
fn the_model_order_comes_from_the_file_where_it_is_kept() {
    let manifest = manifest();
    for entry in manifest["files"].as_array().unwrap() {
        let file = entry["path"].as_str().unwrap();
        let keeps_order = [".pt", ".npz", ".bin", ".metadata", "index.json"]
            .iter()
            .any(|ext| file.ends_with(ext))
            && !file.contains("hf-sharded/");
        if !keeps_order || file.contains("/collide/") {
            continue;
        }
        let dump = Dump::open(dump_path(file)).unwrap();
        let names: Vec<&str> = dump.tensors().iter().map(|t| t.name.as_str()).collect();
        let (order, source) = dump.depth_order().sort(names);
        let expected: Vec<&str> = entry["tensors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(source, OrderSource::File, "{file}");
        assert_eq!(order, expected, "{file}");
    }
    let sorted = Dump::open(root().join("tests/fixtures/real/gpt_bf16.safetensors")).unwrap();
    let (order, source) = sorted
        .depth_order()
        .sort(sorted.tensors().iter().map(|t| t.name.as_str()));
    assert_eq!(source, OrderSource::Names);
    assert_eq!(order[0], "blocks.0.attn.proj.bias");
    // the recorder writes the model's order into the safetensors metadata
    let recorded = Dump::open(root().join("data/gpt-tiny")).unwrap();
    let (order, source) = recorded
        .depth_order()
        .sort(recorded.tensors().iter().map(|t| t.name.as_str()));
    assert_eq!(source, OrderSource::File);
    assert_eq!(
        order[..3],
        ["tok_emb.weight", "pos_emb.weight", "blocks.0.ln1.weight"]
    );
}

/// Files in a dump folder that are not read are listed with the reason:
/// a `.bin` that is a torch.save is read (by its bytes), a text file is not.
#[test]
fn entries_not_read_are_listed_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let step = dir.path().join("step_5");
    std::fs::create_dir(&step).unwrap();
    std::fs::copy(
        root().join("tests/fixtures/real/bin-folder/step_000300/pytorch_model.bin"),
        step.join("pytorch_model.bin"),
    )
    .unwrap();
    std::fs::copy(
        root().join("tests/fixtures/real/gpt_f32.npz"),
        step.join("grads_without_extension"),
    )
    .unwrap();
    std::fs::write(step.join("config.json"), b"{}").unwrap();
    std::fs::write(dir.path().join(".hidden"), b"x").unwrap();
    std::os::unix::fs::symlink("/nonexistent/target", dir.path().join("dangling")).unwrap();
    let dump = Dump::open_with(
        dir.path(),
        OpenOptions {
            collisions: Collisions::Prefix,
        },
    )
    .unwrap();
    let files: std::collections::BTreeSet<String> = dump
        .tensors()
        .iter()
        .map(|t| t.file.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        ["grads_without_extension", "pytorch_model.bin"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert!(dump.tensors().iter().all(|t| t.step == Some(5)));
    let notes: Vec<String> = dump.notes().iter().map(ToString::to_string).collect();
    let noted = |name: &str, why: &str| notes.iter().any(|n| n.contains(name) && n.contains(why));
    assert!(noted("config.json", "not a dump file"), "{notes:?}");
    assert!(noted(".hidden", "hidden"), "{notes:?}");
    assert!(noted("dangling", "broken link"), "{notes:?}");
}
