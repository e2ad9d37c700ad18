//! Bad input: every failure is a `DumpError` naming the file (and the tensor
//! or field where there is one); nothing panics and nothing is allocated from
//! an untrusted size.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::{fixture, npy_bytes, safetensors_bytes};
use gradrd_io::dump::{Dump, DumpError};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Opens `path` expecting an error; returns its message after checking that
/// it names the file.
fn open_error(path: &Path) -> (DumpError, String) {
    let error = Dump::open(path).expect_err(&format!("{} opened", path.display()));
    let message = error.to_string();
    let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        message.contains(&file_name),
        "message `{message}` does not name {file_name}"
    );
    (error, message)
}

/// Opens and reads every tensor; any error is fine, a panic is not.
fn open_and_read_all(path: &Path) -> Result<(), DumpError> {
    let dump = Dump::open(path)?;
    for t in dump.tensors() {
        dump.read(t)?;
        dump.summarize(t)?;
    }
    Ok(())
}

#[test]
fn empty_files_of_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "e.safetensors",
        "e.npy",
        "e.npz",
        "e.pt",
        "e.parquet",
        "e.csv",
    ] {
        let (error, _) = open_error(&write(dir.path(), name, b""));
        assert!(
            matches!(error, DumpError::EmptyFile { .. }),
            "{name}: {error}"
        );
    }
}

#[test]
fn missing_path_and_unsupported_extension() {
    let (error, _) = open_error(Path::new("/nonexistent/grads.npy"));
    assert!(matches!(error, DumpError::Io { .. }));
    let dir = tempfile::tempdir().unwrap();
    let (error, _) = open_error(&write(dir.path(), "grads.h5", b"data"));
    assert!(matches!(error, DumpError::UnsupportedFile { .. }));
}

#[test]
fn unsupported_dtypes_name_tensor_and_dtype() {
    let (error, message) = open_error(&fixture("st_int64.safetensors"));
    assert!(matches!(error, DumpError::UnsupportedDtype { .. }));
    assert!(
        message.contains("`counts`") && message.contains("I64"),
        "{message}"
    );
    let (_, message) = open_error(&fixture("np_int32.npy"));
    assert!(message.contains("<i4"), "{message}");
    let (_, message) = open_error(&fixture("np_object.npy"));
    assert!(message.contains("|O"), "{message}");
    let dir = tempfile::tempdir().unwrap();
    let f1 = npy_bytes(
        "{'descr': '|f1', 'fortran_order': False, 'shape': (2,), }",
        &[0, 0],
    );
    let (_, message) = open_error(&write(dir.path(), "f1.npy", &f1));
    assert!(message.contains("|f1"), "{message}");
}

#[test]
fn wrong_magic() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(fixture("np_le_f4.npy")).unwrap();
    bytes[1] = b'X';
    let (_, message) = open_error(&write(dir.path(), "magic.npy", &bytes));
    assert!(message.contains("magic"), "{message}");
    let (error, _) = open_error(&write(
        dir.path(),
        "notzip.npz",
        b"this is not a zip archive at all",
    ));
    assert!(matches!(error, DumpError::Zip { .. }), "{error}");
    let (error, _) = open_error(&write(
        dir.path(),
        "notzip.pt",
        b"this is not a zip archive at all",
    ));
    assert!(matches!(error, DumpError::Zip { .. }), "{error}");
    let (error, _) = open_error(&write(
        dir.path(),
        "text.safetensors",
        b"{\"a\": 1} plain json",
    ));
    assert!(matches!(error, DumpError::Malformed { .. }), "{error}");
}

#[test]
fn huge_declared_shapes_are_rejected_before_allocation() {
    let dir = tempfile::tempdir().unwrap();
    // 10^12 float32 elements declared in a ~200-byte file
    let npy = npy_bytes(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 1000000), }",
        &[0; 64],
    );
    let (error, message) = open_error(&write(dir.path(), "huge.npy", &npy));
    assert!(
        matches!(error, DumpError::Truncated { needed, .. } if needed > 4_000_000_000_000),
        "{message}"
    );
    assert!(message.contains("`huge`"), "{message}");
    // overflowing shape
    let npy = npy_bytes(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 3), }",
        &[],
    );
    let (_, message) = open_error(&write(dir.path(), "overflow.npy", &npy));
    assert!(message.contains("shape"), "{message}");
    // safetensors whose offsets match the huge shape but the file is tiny
    let header =
        r#"{"g":{"dtype":"F32","shape":[1000000,1000000],"data_offsets":[0,4000000000000]}}"#;
    let (error, message) = open_error(&write(
        dir.path(),
        "huge.safetensors",
        &safetensors_bytes(header, &[0; 16]),
    ));
    assert!(matches!(error, DumpError::Truncated { .. }), "{message}");
    assert!(message.contains("`g`"), "{message}");
    // header length larger than the file
    let mut bytes = u64::MAX.to_le_bytes().to_vec();
    bytes.extend(b"{}");
    let (_, message) = open_error(&write(dir.path(), "hdr.safetensors", &bytes));
    assert!(message.contains("header length"), "{message}");
}

#[test]
fn header_fields_that_disagree_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let header = r#"{"g":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#;
    let (_, message) = open_error(&write(
        dir.path(),
        "span.safetensors",
        &safetensors_bytes(header, &[0; 12]),
    ));
    assert!(
        message.contains("`g`") && message.contains("data_offsets"),
        "{message}"
    );
    let header = r#"{"g":{"dtype":"F32","shape":"oops","data_offsets":[0,4]}}"#;
    let (_, message) = open_error(&write(
        dir.path(),
        "shape.safetensors",
        &safetensors_bytes(header, &[0; 4]),
    ));
    assert!(
        message.contains("`g`") && message.contains("shape"),
        "{message}"
    );
    let header =
        r#"{"__metadata__":{"step":"soon"},"g":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    let (_, message) = open_error(&write(
        dir.path(),
        "step.safetensors",
        &safetensors_bytes(header, &[0; 4]),
    ));
    assert!(
        message.contains("step") && message.contains("soon"),
        "{message}"
    );
    let npy = npy_bytes("{'descr': '<f4', 'shape': (2,), }", &[0; 8]);
    let (_, message) = open_error(&write(dir.path(), "nofortran.npy", &npy));
    assert!(message.contains("fortran_order"), "{message}");
}

#[test]
fn truncated_files_error_at_open() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "st_mixed.safetensors",
        "np_le_f4.npy",
        "np_v3.npy",
        "grads_step_000100.npz",
        "grads_compressed.npz",
        "model_state.pt",
        "bare_tensor.pt",
        "long.parquet",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        for cut in [1, 8, bytes.len() / 2, bytes.len() - 9] {
            let path = write(dir.path(), name, &bytes[..cut]);
            let error = Dump::open(&path).expect_err(&format!("{name} cut at {cut} opened"));
            assert!(
                error.to_string().contains(name),
                "{name} cut at {cut}: {error}"
            );
        }
    }
}

#[test]
fn every_truncation_and_byte_flip_is_handled_without_panic() {
    // Exhaustive over prefixes and single-byte corruptions of the fixtures:
    // each must open-and-read fine or fail with an error.
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "st_mixed.safetensors",
        "np_fortran_f4.npy",
        "grads_compressed.npz",
        "grads_step_000100.npz",
        "bare_tensor.pt",
        "model_state.pt",
    ] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        for cut in 0..bytes.len() {
            let _ = open_and_read_all(&write(dir.path(), name, &bytes[..cut]));
        }
        for at in 0..bytes.len() {
            for flip in [0xFFu8, 0x01, 0x80] {
                let mut corrupt = bytes.clone();
                corrupt[at] ^= flip;
                let _ = open_and_read_all(&write(dir.path(), name, &corrupt));
            }
        }
    }
}

#[test]
fn corrupt_csv_is_handled_without_panic() {
    // sampled (each polars CSV read costs ~0.2 s in the dev profile)
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("long.csv")).unwrap();
    for cut in (0..bytes.len()).step_by(5) {
        let _ = open_and_read_all(&write(dir.path(), "cut.csv", &bytes[..cut]));
    }
    for at in (0..bytes.len()).step_by(3) {
        let mut corrupt = bytes.clone();
        corrupt[at] ^= 0x01;
        let _ = open_and_read_all(&write(dir.path(), "flip.csv", &corrupt));
    }
}

#[test]
fn every_parquet_truncation_and_byte_flip_is_handled_without_panic() {
    // Footers and page headers are bounded before polars sees them
    // (src/dump/parquet_footer.rs), so single-byte corruptions are covered too.
    let dir = tempfile::tempdir().unwrap();
    for name in ["long.parquet", "long_category.parquet"] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        for cut in 0..bytes.len() {
            let path = write(dir.path(), "cut.parquet", &bytes[..cut]);
            assert!(Dump::open(&path).is_err(), "{name} cut at {cut} opened");
        }
        for at in 0..bytes.len() {
            for flip in [0xFFu8, 0x01, 0x80] {
                let mut corrupt = bytes.clone();
                corrupt[at] ^= flip;
                let _ = open_and_read_all(&write(dir.path(), "flip.parquet", &corrupt));
            }
        }
    }
}

#[test]
fn corrupt_zip_central_directory() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(fixture("grads_step_000100.npz")).unwrap();
    let eocd = bytes.len() - 22; // end-of-central-directory record (no comment)
    bytes[eocd..eocd + 4].copy_from_slice(b"XXXX");
    let (error, _) = open_error(&write(dir.path(), "cd.npz", &bytes));
    assert!(matches!(error, DumpError::Zip { .. }), "{error}");
}

fn torch_zip(dir: &Path, name: &str, entries: &[(&str, &[u8])]) -> PathBuf {
    let path = dir.join(name);
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (entry, bytes) in entries {
        writer.start_file(*entry, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap();
    path
}

/// The pickle torch writes for `{'a': <float32 tensor of 6 elements, shape (2, 3)>}`.
const STATE_PICKLE: &[u8] = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01ctorch._utils\n_rebuild_tensor_v2\nq\x02((X\x07\x00\x00\x00storageq\x03ctorch\nFloatStorage\nq\x04X\x01\x00\x00\x000q\x05X\x03\x00\x00\x00cpuq\x06K\x06tq\x07QK\x00K\x02K\x03\x86q\x08K\x03K\x01\x86q\t\x89ccollections\nOrderedDict\nq\n)Rq\x0btq\x0cRq\ru.";

#[test]
fn torch_zip_written_here_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let path = torch_zip(
        dir.path(),
        "state.pt",
        &[("state/data.pkl", STATE_PICKLE), ("state/data/0", &data)],
    );
    let dump = Dump::open(&path).unwrap();
    let values = dump.read(&dump.tensors()[0]).unwrap();
    assert_eq!(values, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
}

#[test]
fn corrupt_pickle_names_entry_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut pickle = STATE_PICKLE.to_vec();
    pickle.truncate(40);
    let path = torch_zip(
        dir.path(),
        "cut.pt",
        &[("cut/data.pkl", &pickle), ("cut/data/0", &[0; 24])],
    );
    let (error, message) = open_error(&path);
    assert!(matches!(error, DumpError::Pickle { .. }), "{message}");
    assert!(message.contains("cut/data.pkl"), "{message}");
    let path = torch_zip(
        dir.path(),
        "op.pt",
        &[("op/data.pkl", b"\x80\x02\xfe."), ("op/data/0", &[0; 24])],
    );
    let (_, message) = open_error(&path);
    assert!(
        message.contains("opcode 0xfe") && message.contains("byte 2"),
        "{message}"
    );
}

#[test]
fn torch_missing_or_short_storage() {
    let dir = tempfile::tempdir().unwrap();
    let path = torch_zip(
        dir.path(),
        "nostorage.pt",
        &[("nostorage/data.pkl", STATE_PICKLE)],
    );
    let (_, message) = open_error(&path);
    assert!(
        message.contains("`a`") && message.contains("storage"),
        "{message}"
    );
    let path = torch_zip(
        dir.path(),
        "short.pt",
        &[("short/data.pkl", STATE_PICKLE), ("short/data/0", &[0; 20])],
    );
    let (error, message) = open_error(&path);
    assert!(
        matches!(
            error,
            DumpError::Truncated {
                needed: 24,
                available: 20,
                ..
            }
        ),
        "{message}"
    );
    let path = torch_zip(dir.path(), "nopickle.pt", &[("x/other", b"")]);
    let (_, message) = open_error(&path);
    assert!(message.contains("data.pkl"), "{message}");
}

#[test]
fn legacy_torch_files_are_read() {
    // torch.save(torch.zeros(2), "legacy.pt", _use_new_zipfile_serialization=False)
    let dump = Dump::open(fixture("legacy.pt")).unwrap();
    let [t] = dump.tensors() else {
        panic!("{:?}", dump.tensors())
    };
    assert_eq!(
        (t.name.as_str(), t.shape.as_slice()),
        ("legacy", &[2u64][..])
    );
    assert_eq!(dump.read(t).unwrap(), vec![0.0, 0.0]);
    // a pickle that is not one torch wrote
    let dir = tempfile::tempdir().unwrap();
    let (_, message) = open_error(&write(dir.path(), "p.pt", b"\x80\x02K\x01."));
    assert!(message.contains("no torch magic number"), "{message}");
    // cut inside the storages
    let bytes = std::fs::read(fixture("legacy.pt")).unwrap();
    let cut = write(dir.path(), "cut.pt", &bytes[..bytes.len() - 3]);
    let (_, message) = open_error(&cut);
    assert!(message.contains("legacy torch file: storage"), "{message}");
}

#[test]
fn table_columns_missing_or_of_wrong_type() {
    let (_, message) = open_error(&fixture("long_badvalue.csv"));
    assert!(message.contains("column `value`"), "{message}");
    let dir = tempfile::tempdir().unwrap();
    let (_, message) = open_error(&write(dir.path(), "novalue.csv", b"tensor,step\na,1\n"));
    assert!(
        message.contains("column `value`") && message.contains("missing"),
        "{message}"
    );
    let (_, message) = open_error(&write(
        dir.path(),
        "badstep.csv",
        b"tensor,step,value\na,x,1.0\n",
    ));
    assert!(message.contains("column `step`"), "{message}");
    let (_, message) = open_error(&write(
        dir.path(),
        "negstep.csv",
        b"tensor,step,value\na,-3,1.0\n",
    ));
    assert!(
        message.contains("column `step`") && message.contains("-3"),
        "{message}"
    );
    let (_, message) = open_error(&write(dir.path(), "wide.csv", b"w,label\n1.0,x\n"));
    assert!(message.contains("column `label`"), "{message}");
}

#[test]
fn directory_with_nothing_readable() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.npy", b"garbage");
    write(dir.path(), "notes.txt", b"text");
    let (error, _) = open_error(dir.path());
    assert!(
        matches!(error, DumpError::NothingReadable { skipped: 1, .. }),
        "{error}"
    );
}
