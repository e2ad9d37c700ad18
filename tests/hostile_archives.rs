//! Hostile `.pt` and `.npz` archives on the real binary: pickle programs
//! that grow without bound under copy-on-write or a naive stack, deflate
//! bombs, lying zip sizes, flipped data bits, and archives of thousands of
//! entries. Each must end in one line naming the file and the zip entry,
//! exit 2, fast and in bounded memory (the binary runs under a 1 GiB address
//! space limit, so an allocation the size of the bomb aborts it instead).
//! Every input is built here.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

/// A zip of `entries`, each stored or deflated.
fn zip_of(entries: &[(&str, &[u8], CompressionMethod)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes, method) in entries {
        let options = SimpleFileOptions::default()
            .compression_method(*method)
            .large_file(bytes.len() > u32::MAX as usize / 2);
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `gradrd inspect FILE` fails with exit 2, one line holding every needle,
/// within `seconds`.
#[track_caller]
fn refused(file: &Path, needles: &[&str], seconds: f64) -> String {
    let run = common::gradrd_limited(&["inspect", file.to_str().unwrap()]);
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    assert!(run.stdout.is_empty(), "stdout: {}", run.stdout);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.starts_with("gradrd: error: "), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "{needle:?} not in {}",
            run.stderr
        );
    }
    assert!(
        run.took.as_secs_f64() < seconds,
        "took {:?}: {}",
        run.took,
        run.stderr
    );
    run.stderr
}

/// A `.pt` holding only `archive/data.pkl`.
fn pickle_pt(dir: &Path, name: &str, pickle: &[u8], method: CompressionMethod) -> PathBuf {
    write(dir, name, &zip_of(&[("archive/data.pkl", pickle, method)]))
}

// ---------------------------------------------------------------- pickles

#[test]
fn pickle_dup_append_growth_is_linear_not_copy_on_write() {
    // [] then 150 000 × (DUP, BININT1 1, APPEND): CPython appends to one
    // list; a copy-on-write VM copies it at every DUP (≈ 270 GB from 450 kB).
    let mut pickle = b"\x80\x02]".to_vec();
    for _ in 0..150_000 {
        pickle.extend(b"2K\x01a");
    }
    pickle.push(b'.');
    let dir = tempfile::tempdir().unwrap();
    let file = pickle_pt(dir.path(), "dup.pt", &pickle, CompressionMethod::Stored);
    refused(
        &file,
        &["dup.pt: `archive/data.pkl`: no tensors found"],
        5.0,
    );
}

#[test]
fn pickle_memoized_list_appends_take_linear_time() {
    // [] then 200 000 × (MEMOIZE, BININT1 1, APPEND): every memo entry is
    // the same list (quadratic time, and memory, when each append copies).
    let mut pickle = b"\x80\x04]".to_vec();
    for _ in 0..200_000 {
        pickle.extend(b"\x94K\x01a");
    }
    pickle.push(b'.');
    let dir = tempfile::tempdir().unwrap();
    let file = pickle_pt(dir.path(), "memo.pt", &pickle, CompressionMethod::Stored);
    refused(
        &file,
        &["memo.pt: `archive/data.pkl`: no tensors found"],
        5.0,
    );
}

#[test]
fn pickle_of_two_hundred_million_nones_stops_at_the_value_limit() {
    // 2·10^8 NONE opcodes, deflated to ~200 kB: 6.4 GB of stack unbounded.
    let mut pickle = vec![b'N'; 200_000_000];
    pickle[..2].copy_from_slice(b"\x80\x02");
    pickle.push(b'.');
    let dir = tempfile::tempdir().unwrap();
    let file = pickle_pt(dir.path(), "nones.pt", &pickle, CompressionMethod::Deflated);
    drop(pickle);
    assert!(std::fs::metadata(&file).unwrap().len() < 1 << 20);
    refused(
        &file,
        &[
            "nones.pt: `archive/data.pkl` at byte ",
            "holds more than 4194304 values at once",
        ],
        5.0,
    );
}

#[test]
fn pickle_list_holding_itself_is_cut_not_walked_forever() {
    // L = []; L.append(L)  — a cycle CPython builds; the walk must end.
    let pickle = b"\x80\x02]q\x00h\x00a.";
    let dir = tempfile::tempdir().unwrap();
    let file = pickle_pt(dir.path(), "cycle.pt", pickle, CompressionMethod::Stored);
    refused(
        &file,
        &["cycle.pt: `archive/data.pkl`: no tensors found"],
        5.0,
    );
}

/// `{'x': d, 'y': d}` with `d = {'w': tensor}` pickled once and referenced
/// again through the memo, as `pickle.dumps` writes a shared dict: the memo
/// entry is taken while `d` is still empty and must see its items.
#[test]
fn a_dict_pickled_once_and_referenced_twice_holds_its_tensors_both_times() {
    let mut pickle = b"\x80\x02}q\x00(X\x01\x00\x00\x00x}q\x01X\x01\x00\x00\x00w".to_vec();
    pickle.extend(b"ctorch._utils\n_rebuild_tensor_v2\nq\x02(");
    pickle.extend(b"(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x03tQ");
    pickle.extend(b"K\x00K\x03\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR");
    pickle.extend(b"sX\x01\x00\x00\x00yh\x01u.");
    let data: Vec<u8> = [1.0f32, 2.0, 3.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let bytes = zip_of(&[
        ("archive/data.pkl", &pickle, CompressionMethod::Stored),
        ("archive/data/0", &data, CompressionMethod::Stored),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "shared.pt", &bytes);
    let run = common::gradrd_limited(&["inspect", file.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("x.w "), "{}", run.stdout);
    assert!(run.stdout.contains("y.w "), "{}", run.stdout);
}

// ---------------------------------------------------------- zip entries

/// An `.npy` of float32 `values` (shape `(n,)`).
fn npy_f4(values: &[f32]) -> Vec<u8> {
    let data: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    common::npy_bytes(
        &format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
            values.len()
        ),
        &data,
    )
}

#[test]
fn npz_deflate_bomb_declaring_a_small_tensor_is_refused_before_inflating() {
    // a (4,) tensor, then 100 MB of zeros deflated ~1000:1 in the same entry
    let mut member = npy_f4(&[1.0, 2.0, 3.0, 4.0]);
    member.resize(member.len() + 100_000_000, 0);
    let bytes = zip_of(&[("g.npy", &member, CompressionMethod::Deflated)]);
    assert!(bytes.len() < 1 << 20);
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bomb.npz", &bytes);
    refused(
        &file,
        &[
            "bomb.npz: tensor `g`: field `shape`: zip entry `g.npy` declares 100000144 bytes, its tensor needs only 144 (refused before inflating)",
        ],
        5.0,
    );
}

/// Replaces the uncompressed size of every entry (local header and central
/// directory) of a zip without zip64 records by `size`.
fn lie_about_sizes(bytes: &mut [u8], size: u32) {
    let mut at = 0;
    while at + 30 <= bytes.len() {
        match bytes[at..at + 4] {
            [b'P', b'K', 3, 4] => bytes[at + 22..at + 26].copy_from_slice(&size.to_le_bytes()),
            [b'P', b'K', 1, 2] => bytes[at + 24..at + 28].copy_from_slice(&size.to_le_bytes()),
            _ => {}
        }
        at += 1;
    }
}

#[test]
fn npz_entry_inflating_past_its_declared_size_stops_there() {
    // the header says (4,) and the entry declares 144 bytes, but 10 MB inflate
    let mut member = npy_f4(&[1.0, 2.0, 3.0, 4.0]);
    let declared = member.len() as u32;
    member.resize(member.len() + 10_000_000, 0);
    let mut bytes = zip_of(&[("g.npy", &member, CompressionMethod::Deflated)]);
    lie_about_sizes(&mut bytes, declared);
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "lying.npz", &bytes);
    refused(
        &file,
        &["lying.npz: zip entry `g.npy` of tensor `g`: File is larger than its declared uncompressed size"],
        5.0,
    );
}

#[test]
fn npz_with_one_flipped_data_bit_fails_its_crc() {
    for method in [CompressionMethod::Stored, CompressionMethod::Deflated] {
        let member = npy_f4(&[1.0, 2.0, 3.0, 4.0]);
        let mut bytes = zip_of(&[("g.npy", &member, method)]);
        if method == CompressionMethod::Stored {
            // the last data byte of the entry: 4.0f32 = 00 00 80 40
            let at = bytes
                .windows(4)
                .position(|w| w == 4.0f32.to_le_bytes())
                .unwrap();
            bytes[at + 3] ^= 0x01;
        } else {
            // the CRC field of both headers instead of the deflate stream
            let crc = crc_of(&member);
            let at: Vec<usize> = bytes
                .windows(4)
                .enumerate()
                .filter(|(_, w)| *w == crc.to_le_bytes())
                .map(|(i, _)| i)
                .collect();
            assert_eq!(at.len(), 2);
            for i in at {
                bytes[i] ^= 0x01;
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "flipped.npz", &bytes);
        refused(
            &file,
            &["flipped.npz: zip entry `g.npy` of tensor `g`: bad CRC-32 (the data are corrupt)"],
            5.0,
        );
    }
}

/// CRC-32 (zip's polynomial), bit by bit.
fn crc_of(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

// ------------------------------------------- archives of many entries

/// A tensor's `(name, n, zeros, min, max)` as `gradrd inspect` reports it.
type Row = (String, u64, u64, f64, f64);

/// `gradrd inspect --format json FILE` under the memory limit: the [`Row`]
/// of every tensor, and how long it took.
fn inspect_summaries(file: &Path) -> (Vec<Row>, f64) {
    let run = common::gradrd_limited(&["inspect", "--format", "json", file.to_str().unwrap()]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(json["errors"].as_array().map(Vec::len), Some(0), "{json}");
    let rows = json["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["tensor"].as_str().unwrap().to_string(),
                t["n"].as_u64().unwrap(),
                t["zeros"].as_u64().unwrap(),
                t["min"].as_f64().unwrap(),
                t["max"].as_f64().unwrap(),
            )
        })
        .collect();
    (rows, run.took.as_secs_f64())
}

/// Tensor `k` of the many-entry archives: `[k + 1, −(k + 1), 0]` as float32,
/// so each tensor's summary names the entry it was read from.
fn values_of(k: usize) -> [f32; 3] {
    [(k + 1) as f32, -((k + 1) as f32), 0.0]
}

/// Checks that `rows` are the tensors `name(0) … name(n − 1)`, each once
/// and with the summary of [`values_of`] its own index.
#[track_caller]
fn each_tensor_holds_its_own_values(rows: &[Row], n: usize, name: impl Fn(usize) -> String) {
    let mut index: std::collections::HashMap<String, usize> =
        (0..n).map(|k| (name(k), k)).collect();
    assert_eq!(rows.len(), n);
    for (tensor, count, zeros, min, max) in rows {
        let k = index
            .remove(tensor)
            .unwrap_or_else(|| panic!("{tensor} unexpected or listed twice"));
        let expected = (k + 1) as f64;
        assert_eq!(
            (*count, *zeros, *min, *max),
            (3, 1, -expected, expected),
            "{tensor}"
        );
    }
}

#[test]
fn npz_of_20_000_entries_reads_every_entry_from_one_central_directory() {
    const N: usize = 20_000;
    let members: Vec<(String, Vec<u8>)> = (0..N)
        .map(|k| (format!("layer{k:05}.grad.npy"), npy_f4(&values_of(k))))
        .collect();
    let entries: Vec<(&str, &[u8], CompressionMethod)> = members
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice(), CompressionMethod::Stored))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "many.npz", &zip_of(&entries));
    let (rows, seconds) = inspect_summaries(&file);
    eprintln!("inspect of an .npz of {N} entries: {seconds:.2} s");
    each_tensor_holds_its_own_values(&rows, N, |k| format!("layer{k:05}.grad"));
}

/// A `torch.save` dict `{"w0": t0, …}` of `n` float32 tensors, tensor `k`
/// on its own storage `archive/data/k` holding [`values_of`] `k`.
fn torch_dict_of(n: usize) -> Vec<u8> {
    let mut pickle = b"\x80\x02}q\x00(".to_vec();
    let mut storages = Vec::new();
    for k in 0..n {
        let name = format!("w{k}");
        let key = k.to_string();
        pickle.push(b'X');
        pickle.extend((name.len() as u32).to_le_bytes());
        pickle.extend(name.as_bytes());
        pickle.extend(
            b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX",
        );
        pickle.extend((key.len() as u32).to_le_bytes());
        pickle.extend(key.as_bytes());
        pickle.extend(b"X\x03\x00\x00\x00cpuK\x03tQK\x00K\x03\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR");
        let data: Vec<u8> = values_of(k).iter().flat_map(|v| v.to_le_bytes()).collect();
        storages.push((format!("archive/data/{k}"), data));
    }
    pickle.extend(b"u.");
    let mut entries = vec![(
        "archive/data.pkl",
        pickle.as_slice(),
        CompressionMethod::Stored,
    )];
    entries.extend(
        storages
            .iter()
            .map(|(name, data)| (name.as_str(), data.as_slice(), CompressionMethod::Stored)),
    );
    zip_of(&entries)
}

#[test]
fn torch_zip_of_5_000_storages_reads_every_storage_from_one_central_directory() {
    const N: usize = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "many.pt", &torch_dict_of(N));
    let (rows, seconds) = inspect_summaries(&file);
    eprintln!("inspect of a .pt of {N} storages: {seconds:.2} s");
    each_tensor_holds_its_own_values(&rows, N, |k| format!("w{k}"));
}
