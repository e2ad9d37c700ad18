//! `Dump::from_bytes` (the entry point of the fuzz targets) goes through the
//! same readers as `Dump::open`: for every fixture file, both give the same
//! tensors, the same values bit for bit, and the same error message.

mod common;

use std::path::Path;

use common::fixture;
use gradrd_io::dump::{Dump, DumpError};

/// Everything observable about a dump: per tensor its metadata, values (as
/// bits, so NaN compares) and summary, or the error of reading it.
fn observe(dump: Result<Dump, DumpError>) -> Result<Vec<String>, String> {
    let dump = dump.map_err(|e| e.to_string())?;
    Ok(dump
        .tensors()
        .iter()
        .map(|t| {
            let values = dump
                .read(t)
                .map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
            let summary = dump.summarize(t).map(|s| format!("{s:?}"));
            format!(
                "{} {:?} {} {:?} {} {:?} {:?}",
                t.name,
                t.step,
                t.dtype,
                t.shape,
                t.file.display(),
                values.map_err(|e| e.to_string()),
                summary.map_err(|e| e.to_string()),
            )
        })
        .collect())
}

fn same_as_open(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let from_file = observe(Dump::open(path));
    let from_bytes = observe(Dump::from_bytes(path, bytes));
    assert_eq!(from_bytes, from_file, "{}", path.display());
}

#[test]
fn every_fixture_reads_the_same_from_bytes_as_from_the_file() {
    let mut checked = 0;
    for entry in std::fs::read_dir(fixture("")).unwrap() {
        let path = entry.unwrap().path();
        let readable = ["safetensors", "npy", "npz", "pt", "parquet", "csv"]
            .contains(&path.extension().and_then(|e| e.to_str()).unwrap_or(""));
        if path.is_file() && readable {
            same_as_open(&path);
            checked += 1;
        }
    }
    // 3 safetensors, 10 npy, 2 npz, 3 pt, 3 parquet, 4 csv
    assert_eq!(checked, 25);
}

#[test]
fn empty_bytes_and_unknown_extensions_are_errors() {
    let empty = Dump::from_bytes("g.npz", Vec::new()).unwrap_err();
    assert_eq!(empty.to_string(), "g.npz: empty file");
    let unknown = Dump::from_bytes("g.txt", vec![1u8]).unwrap_err();
    assert!(
        unknown
            .to_string()
            .starts_with("g.txt: unsupported file type"),
        "{unknown}"
    );
}

#[test]
fn the_name_gives_the_step() {
    let bytes = std::fs::read(fixture("grads_step_000100.npz")).unwrap();
    let dump = Dump::from_bytes("renamed_step_42.npz", bytes).unwrap();
    assert!(dump.tensors().iter().all(|t| t.step == Some(42)));
}
