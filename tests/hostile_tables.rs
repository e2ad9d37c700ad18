//! Hostile tables, npy and safetensors headers on the real binary: every one
//! is refused in one line with exit 2 (or read exactly as the reference
//! reader reads it), fast and in bounded memory. Each file is built here.

mod common;

use std::path::{Path, PathBuf};

use common::fails_with_2;
use polars::prelude::*;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `gradrd inspect FILE` must fail with exit 2 and one line; returns it.
#[track_caller]
fn refused(path: &Path) -> String {
    let start = std::time::Instant::now();
    let stderr = fails_with_2(&["inspect", path.to_str().unwrap()]);
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr.trim_end().to_string()
}

/// `gradrd inspect --format json FILE` must succeed; returns stdout.
#[track_caller]
fn inspected(path: &Path) -> String {
    let out = assert_cmd::Command::cargo_bin("gradrd")
        .unwrap()
        .args(["inspect", "--format", "json", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

// ---------------------------------------------------------------- Parquet

/// A wide Parquet table of one float64 column `w` of `rows` values,
/// uncompressed, written by polars.
fn small_parquet(rows: usize) -> Vec<u8> {
    let values: Vec<f64> = (0..rows).map(|i| i as f64 * 0.25 - 3.0).collect();
    let mut frame = df!("w" => values).unwrap();
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes)
        .with_compression(ParquetCompression::Uncompressed)
        .with_statistics(StatisticsOptions::empty())
        .finish(&mut frame)
        .unwrap();
    bytes
}

/// An integer field of a Thrift compact struct: its path of field ids and
/// list indices (`"4/0/1/0/3/5"`: field 4, element 0, field 1, element 0,
/// field 3, field 5), where its varint lies, and its value.
#[derive(Debug, Clone)]
struct IntField {
    path: String,
    start: usize,
    end: usize,
    value: i64,
}

fn varint(bytes: &[u8], at: &mut usize) -> u64 {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let b = bytes[*at];
        *at += 1;
        value |= u64::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return value;
        }
    }
}

fn zigzag(v: u64) -> i64 {
    (v >> 1) as i64 ^ -((v & 1) as i64)
}

fn encode(value: i64) -> Vec<u8> {
    let mut v = ((value << 1) ^ (value >> 63)) as u64;
    let mut out = Vec::new();
    loop {
        if v < 0x80 {
            out.push(v as u8);
            return out;
        }
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
}

/// Every integer field of the struct at `at`; returns the offset past it.
fn walk_struct(bytes: &[u8], mut at: usize, path: &str, out: &mut Vec<IntField>) -> usize {
    let mut id = 0i64;
    loop {
        let header = bytes[at];
        at += 1;
        if header == 0 {
            return at;
        }
        id = match header >> 4 {
            0 => zigzag(varint(bytes, &mut at)),
            delta => id + i64::from(delta),
        };
        at = walk_value(bytes, at, header & 0x0f, &format!("{path}{id}"), out, true);
    }
}

fn walk_value(
    bytes: &[u8],
    mut at: usize,
    kind: u8,
    path: &str,
    out: &mut Vec<IntField>,
    field: bool,
) -> usize {
    match kind {
        1 | 2 if field => at,
        1..=3 => at + 1,
        4..=6 => {
            let start = at;
            let value = zigzag(varint(bytes, &mut at));
            out.push(IntField {
                path: path.to_string(),
                start,
                end: at,
                value,
            });
            at
        }
        7 => at + 8,
        8 => {
            let len = varint(bytes, &mut at) as usize;
            at + len
        }
        9 | 10 => {
            let header = bytes[at];
            at += 1;
            let count = match header >> 4 {
                15 => varint(bytes, &mut at),
                n => u64::from(n),
            };
            for i in 0..count {
                at = walk_value(bytes, at, header & 0x0f, &format!("{path}/{i}"), out, false);
            }
            at
        }
        12 => walk_struct(bytes, at, &format!("{path}/"), out),
        other => panic!("compact type {other} in a test file"),
    }
}

/// Where the footer starts.
fn footer_start(file: &[u8]) -> usize {
    let n = file.len();
    let len = u32::from_le_bytes(file[n - 8..n - 4].try_into().unwrap()) as usize;
    n - 8 - len
}

fn footer_fields(file: &[u8]) -> Vec<IntField> {
    let mut out = Vec::new();
    walk_struct(file, footer_start(file), "", &mut out);
    out
}

fn field(fields: &[IntField], path: &str) -> IntField {
    fields
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no field {path} in {fields:?}"))
        .clone()
}

/// Replaces the varint of `f` by `value`; returns the change in length.
fn splice(file: &mut Vec<u8>, f: &IntField, value: i64) -> isize {
    let new = encode(value);
    let delta = new.len() as isize - (f.end - f.start) as isize;
    file.splice(f.start..f.end, new);
    delta
}

/// `file` with the footer field at `path` set to `value` (the footer's
/// length is rewritten).
fn patch_footer(file: &[u8], path: &str, value: i64) -> Vec<u8> {
    let mut file = file.to_vec();
    let start = footer_start(&file);
    let target = field(&footer_fields(&file), path);
    splice(&mut file, &target, value);
    let n = file.len();
    let len = (n - 8 - start) as u32;
    file[n - 8..n - 4].copy_from_slice(&len.to_le_bytes());
    file
}

/// Footer paths of the first column chunk's metadata.
const META: &str = "4/0/1/0/3/";

/// `file` with field `path` of the first page header of the first column
/// chunk set to `value`; the chunk's sizes and the offsets behind the page
/// follow the change in length.
fn patch_first_page(file: &[u8], path: &str, value: i64) -> Vec<u8> {
    let fields = footer_fields(file);
    let data = field(&fields, &format!("{META}9")).value as usize;
    let first = fields
        .iter()
        .find(|f| f.path == format!("{META}11"))
        .map_or(data, |f| f.value as usize);
    let mut page = Vec::new();
    walk_struct(file, first, "", &mut page);
    let mut file = file.to_vec();
    let delta = splice(&mut file, &field(&page, path), value) as i64;
    let mut patched = file.clone();
    // footer fields, back to front so that earlier positions stay valid
    let mut fields = footer_fields(&file);
    fields.reverse();
    for f in &fields {
        let is_size = [
            format!("{META}6"),
            format!("{META}7"),
            "4/0/2".into(),
            "4/0/6".into(),
        ]
        .contains(&f.path);
        let is_offset = f.path.ends_with("/3/9")
            || f.path.ends_with("/3/10")
            || f.path.ends_with("/3/11")
            || f.path == "4/0/5"
            || f.path.starts_with("4/0/1/")
                && f.path.matches('/').count() == 4
                && !f.path.contains("/3/");
        if is_size || (is_offset && f.value as usize > first) {
            splice(&mut patched, f, f.value + delta);
        }
    }
    let start = footer_start(&file);
    let n = patched.len();
    let len = (n - 8 - start) as u32;
    patched[n - 8..n - 4].copy_from_slice(&len.to_le_bytes());
    patched
}

#[test]
fn the_unpatched_parquet_and_the_patching_are_sound() {
    let dir = tempfile::tempdir().unwrap();
    let file = small_parquet(100);
    let json = inspected(&write(dir.path(), "ok.parquet", &file));
    assert!(json.contains("\"w\""), "{json}");
    // setting a field to its own value changes nothing
    let rows = field(&footer_fields(&file), "3").value;
    assert_eq!(rows, 100);
    assert_eq!(patch_footer(&file, "3", rows), file);
    let page = patch_first_page(&file, "2", {
        let fields = footer_fields(&file);
        let at = field(&fields, &format!("{META}9")).value as usize;
        let mut page = Vec::new();
        walk_struct(&file, at, "", &mut page);
        field(&page, "2").value
    });
    assert_eq!(page, file);
}

/// The first page header's integer fields.
fn first_page_fields(file: &[u8]) -> Vec<IntField> {
    let fields = footer_fields(file);
    let at = fields
        .iter()
        .find(|f| f.path == format!("{META}11"))
        .unwrap_or_else(|| {
            fields
                .iter()
                .find(|f| f.path == format!("{META}9"))
                .unwrap()
        })
        .value as usize;
    let mut page = Vec::new();
    walk_struct(file, at, "", &mut page);
    page
}

#[test]
fn parquet_footer_counts_beyond_the_file_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = small_parquet(100);
    let cases: &[(&str, i64, &str)] = &[
        // FileMetaData.num_rows
        ("3", 1 << 40, "field `num_rows`: 1099511627776 declared, its row groups hold 100"),
        ("3", 1 << 62, "field `num_rows`: 4611686018427387904 declared"),
        ("3", -1, "field `num_rows`: -1 declared"),
        // RowGroup.num_rows (more rows than the chunk has values)
        ("4/0/3", 1 << 40, "row group 0: column `w`: field `num_values`: 100 values for 1099511627776 rows"),
        ("4/0/3", -5, "row group 0: field `num_rows`: negative (-5)"),
        ("4/0/2", -5, "row group 0: field `total_byte_size`: negative (-5)"),
        // ColumnMetaData.num_values
        ("4/0/1/0/3/5", 1 << 40, "row group 0: column `w`: field `num_values`: 1099511627776 values decode to 8796093022208 bytes"),
        ("4/0/1/0/3/5", 1 << 62, "row group 0: column `w`: field `num_values`: 4611686018427387904 values decode to"),
        ("4/0/1/0/3/5", 101, "row group 0: column `w`: field `num_values`: 101 declared, its data pages hold 100"),
        // ColumnMetaData sizes and offsets
        ("4/0/1/0/3/7", 1 << 40, "row group 0: column `w`: field `total_compressed_size`: bytes 4..+1099511627776 lie outside"),
        ("4/0/1/0/3/7", -1, "row group 0: column `w`: field `total_compressed_size`: negative (-1)"),
        ("4/0/1/0/3/6", 1 << 40, "row group 0: column `w`: field `total_uncompressed_size`: 1099511627776 bytes from"),
        ("4/0/1/0/3/9", 1 << 40, "row group 0: column `w`: field `total_compressed_size`: bytes 1099511627776..+"),
    ];
    for (path, value, expected) in cases {
        let hostile = patch_footer(&file, path, *value);
        let line = refused(&write(dir.path(), "h.parquet", &hostile));
        assert!(
            line.starts_with("gradrd: error: ")
                && line.contains("h.parquet: Parquet: ")
                && line.contains(expected),
            "{path} = {value}: {line}"
        );
    }
}

#[test]
fn parquet_page_header_sizes_beyond_the_chunk_are_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = small_parquet(100);
    let page = first_page_fields(&file);
    let values_path = page
        .iter()
        .find(|f| f.path.ends_with("/1") && f.path.len() == 3)
        .map(|f| f.path.clone())
        .expect("a data or dictionary page header with num_values");
    let cases: Vec<(String, i64, &str)> = vec![
        (
            "2".into(),
            i32::MAX as i64,
            "field `uncompressed_page_size`: 2147483647 bytes from",
        ),
        (
            "2".into(),
            -1,
            "field `uncompressed_page_size`: negative (-1)",
        ),
        (
            "3".into(),
            i32::MAX as i64,
            "field `compressed_page_size`: 2147483647 bytes,",
        ),
        (values_path.clone(), i32::MAX as i64, "2147483647"),
        (values_path, -7, "field `num_values`: negative (-7)"),
    ];
    for (path, value, expected) in cases {
        let hostile = patch_first_page(&file, &path, value);
        let line = refused(&write(dir.path(), "p.parquet", &hostile));
        assert!(
            line.contains("p.parquet: Parquet: row group 0: column `w`: page at byte ")
                && line.contains(expected),
            "{path} = {value}: {line}"
        );
    }
}

#[test]
fn parquet_footer_field_read_as_another_type_is_refused_in_bounded_memory() {
    // fuzz target `parquet`, 2026-12-03: FileMetaData field 5
    // (`key_value_metadata`) declared a boolean, after which polars-parquet
    // 0.55.2 read_file_metadata, decoding by field id, took the next bytes
    // for a list header and reserved 591 777 292 KeyValues (28 GB) from a
    // 1 058-byte file. Under the address-space limit that allocation aborts.
    let file = common::fixture("fuzz/parquet_oom_in_polars_read_file_metadata.parquet");
    let run = common::gradrd_limited(&["inspect", file.to_str().unwrap()]);
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "parquet_oom_in_polars_read_file_metadata.parquet: Parquet: corrupt footer at byte 319: field `key_value_metadata` (5) of `FileMetaData` has compact type 2, parquet.thrift declares a list"
        ),
        "{}",
        run.stderr
    );
}

#[test]
fn parquet_with_very_compressible_columns_is_still_read() {
    // a 10^6-row constant long table, polars' default compression (zstd):
    // its chunks expand up to 26 700× (3 333 values per byte), within the
    // 2^18 limit.
    let dir = tempfile::tempdir().unwrap();
    let mut frame = df!(
        "tensor" => vec!["a"; 1_000_000],
        "step" => vec![3i64; 1_000_000],
        "value" => vec![0f64; 1_000_000],
    )
    .unwrap();
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(&mut frame).unwrap();
    let json = inspected(&write(dir.path(), "zeros.parquet", &bytes));
    assert!(json.contains("1000000"), "{json}");
    eprintln!("10^6 constant rows: {} bytes", bytes.len());
}

// ---------------------------------------------------------------- CSV

/// The `(n, nan, inf, min, max)` of the one tensor `gradrd inspect` finds.
fn only_summary(json: &str) -> (u64, u64, u64, f64, f64) {
    let json: serde_json::Value = serde_json::from_str(json).unwrap();
    let tensors = json["tensors"].as_array().unwrap();
    assert_eq!(tensors.len(), 1, "{json}");
    let t = &tensors[0];
    let number = |key: &str| t[key].as_f64().unwrap_or_else(|| panic!("{key}: {t}"));
    (
        t["n"].as_u64().unwrap(),
        t["nan"].as_u64().unwrap(),
        t["inf"].as_u64().unwrap(),
        number("min"),
        number("max"),
    )
}

#[test]
fn csv_non_finite_values_as_python_and_pandas_write_them_are_read() {
    // pandas' to_csv writes nan, inf and -inf; polars' schema inference
    // knows only NaN and inf, so such a column arrives as text.
    let dir = tempfile::tempdir().unwrap();
    for (name, cells) in [
        ("pandas.csv", ["nan", "inf", "-inf", "1.5", "-2.0"]),
        ("polars.csv", ["NaN", "inf", "-inf", "1.5", "-2.0"]),
        ("mixed.csv", ["Infinity", "-INF", "nan", "1.5", "-2.0"]),
    ] {
        let mut text = String::from("tensor,step,value\n");
        for cell in cells {
            text.push_str(&format!("w,3,{cell}\n"));
        }
        let json = inspected(&write(dir.path(), name, text.as_bytes()));
        assert_eq!(only_summary(&json), (5, 1, 2, -2.0, 1.5), "{name}: {json}");
    }
    let bad = write(dir.path(), "bad.csv", b"tensor,value\nw,nan\nw,abc\n");
    assert_eq!(
        refused(&bad),
        format!(
            "gradrd: error: {}: column `value`: \"abc\" at row 1 is not a number",
            bad.display()
        )
    );
}

#[test]
fn a_bad_cell_deep_in_a_csv_is_one_line_naming_its_row_and_column() {
    // polars infers `value` as float from the first rows and fails at the
    // bad one with a multi-line message (a byte offset, hints).
    const ROWS: usize = 200_000;
    const BAD: usize = 150_000;
    let mut text = String::from("tensor,step,value\n");
    for row in 0..ROWS {
        let cell = if row == BAD {
            "abc".to_string()
        } else {
            format!("{}.5", row % 7)
        };
        text.push_str(&format!("w,3,{cell}\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "deep.csv", text.as_bytes());
    let line = refused(&file);
    eprintln!("{line}");
    assert!(
        line.starts_with(&format!("gradrd: error: {}: ", file.display())),
        "{line}"
    );
    assert!(line.contains("`abc`"), "{line}");
    assert!(line.contains("column 'value'"), "{line}");
    assert!(line.contains(&format!("row {BAD}")), "{line}");
}
