//! Per-rank shard files (`__metadata__["shards"]`, as the recorder writes a
//! DTensor / FSDP2 gradient) are joined into whole tensors; incomplete or
//! inconsistent shard sets are left out with an error naming the tensor.

mod common;

use common::safetensors_bytes;
use gradrd_io::dump::{Dump, DumpError};
use std::path::Path;

/// A safetensors file holding `name` as an f32 piece of `local` shape placed
/// at `offset` of the whole `global` shape, plus an unsharded `bias`.
fn rank_file(path: &Path, local: [u64; 2], global: [u64; 2], offset: [u64; 2], values: &[f32]) {
    let shards = format!(
        r#"{{\"w\": {{\"shape\": [{}, {}], \"offset\": [{}, {}]}}}}"#,
        global[0], global[1], offset[0], offset[1]
    );
    let bytes = values.len() * 4;
    let header = format!(
        r#"{{"__metadata__": {{"step": "7", "shards": "{shards}"}}, "w": {{"dtype": "F32", "shape": [{}, {}], "data_offsets": [0, {bytes}]}}}}"#,
        local[0], local[1]
    );
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, safetensors_bytes(&header, &data)).unwrap();
}

/// The whole 5x3 tensor, values 0..15 in C order.
fn whole() -> Vec<f64> {
    (0..15).map(f64::from).collect()
}

fn rows(from: u32, to: u32) -> Vec<f32> {
    (from * 3..to * 3).map(|v| v as f32).collect()
}

fn cols(from: u32, to: u32) -> Vec<f32> {
    (0..5u32)
        .flat_map(|r| (from..to).map(move |c| (r * 3 + c) as f32))
        .collect()
}

#[test]
fn uneven_row_shards_join_into_the_whole_tensor() {
    // torch: Shard(0) of a 5-row tensor over 2 ranks gives rows 0..3 and 3..5
    let dir = tempfile::tempdir().unwrap();
    let step = dir.path().join("step_000007");
    rank_file(
        &step.join("rank00000.safetensors"),
        [3, 3],
        [5, 3],
        [0, 0],
        &rows(0, 3),
    );
    rank_file(
        &step.join("rank00001.safetensors"),
        [2, 3],
        [5, 3],
        [3, 0],
        &rows(3, 5),
    );
    let dump = Dump::open(dir.path()).unwrap();
    assert!(dump.skipped().is_empty(), "{:?}", dump.skipped());
    let [t] = dump.tensors() else {
        panic!("one tensor expected: {:?}", dump.tensors());
    };
    assert_eq!(
        (t.name.as_str(), t.step, t.shape.as_slice()),
        ("w", Some(7), &[5u64, 3][..])
    );
    assert_eq!(dump.read(t).unwrap(), whole());
    let summary = dump.summarize(t).unwrap();
    assert_eq!(summary.zeros, 1);
}

#[test]
fn column_shards_join_in_c_order() {
    // Shard(1): columns 0..2 and 2..3
    let dir = tempfile::tempdir().unwrap();
    rank_file(
        &dir.path().join("rank00000.safetensors"),
        [5, 2],
        [5, 3],
        [0, 0],
        &cols(0, 2),
    );
    rank_file(
        &dir.path().join("rank00001.safetensors"),
        [5, 1],
        [5, 3],
        [0, 2],
        &cols(2, 3),
    );
    let dump = Dump::open(dir.path()).unwrap();
    let [t] = dump.tensors() else {
        panic!("one tensor expected");
    };
    assert_eq!(dump.read(t).unwrap(), whole());
}

#[test]
fn a_missing_rank_leaves_the_tensor_out_naming_what_is_covered() {
    let dir = tempfile::tempdir().unwrap();
    let step = dir.path().join("step_000007");
    rank_file(
        &step.join("rank00000.safetensors"),
        [3, 3],
        [5, 3],
        [0, 0],
        &rows(0, 3),
    );
    let error = Dump::open(dir.path()).unwrap_err().to_string();
    assert!(
        error.contains("chunks cover 9 of the 15 elements"),
        "{error}"
    );
    // the rank's file opened alone is not read as if it were the whole tensor
    let dump = Dump::open(step.join("rank00000.safetensors")).unwrap();
    assert!(dump.tensors().is_empty());
    let (file, error) = &dump.skipped()[0];
    assert!(file.ends_with("rank00000.safetensors"));
    assert!(matches!(error, DumpError::BadField { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("`w`") && text.contains("shards") && text.contains("step 7"),
        "{text}"
    );
}

/// The error of opening a folder whose two files hold rows 0..3 of a 5x3
/// `w` and `second` = (local shape, whole shape, offset) of the rest.
fn second_piece_refused(second: ([u64; 2], [u64; 2], [u64; 2])) -> String {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.safetensors");
    rank_file(&first, [3, 3], [5, 3], [0, 0], &rows(0, 3));
    let (local, global, offset) = second;
    let values = rows(5 - local[0] as u32, 5);
    rank_file(
        &dir.path().join("b.safetensors"),
        local,
        global,
        offset,
        &values,
    );
    Dump::open(dir.path()).unwrap_err().to_string()
}

#[test]
fn overlapping_or_disagreeing_shards_are_refused() {
    let overlap = second_piece_refused(([3, 3], [5, 3], [2, 0]));
    assert!(overlap.contains("overlap"), "{overlap}");
    let shapes = second_piece_refused(([2, 3], [6, 3], [3, 0]));
    assert!(
        shapes.contains("says the whole tensor is [5, 3]"),
        "{shapes}"
    );
}

#[test]
fn a_malformed_placement_names_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rank00000.safetensors");
    let header = r#"{"__metadata__": {"shards": "{\"w\": {\"shape\": [5]}}"}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}"#;
    std::fs::write(&path, safetensors_bytes(header, &[0; 4])).unwrap();
    let error = Dump::open(&path).unwrap_err().to_string();
    assert!(
        error.contains("rank00000.safetensors") && error.contains("shards"),
        "{error}"
    );
}
