//! One test per input the fuzz targets (fuzz/, `cargo fuzz`) or a review of
//! their code paths found to crash, hang or allocate without bound. Each feeds the input
//! through `Dump::from_bytes` (the fuzz targets' entry point) and expects a clear
//! error naming the file; minimized crash inputs live in tests/fixtures/fuzz/.

use std::io::Write;

use gradrd_io::dump::Dump;

/// A torch zip (`archive/data.pkl` + storages), stored uncompressed.
fn torch_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (entry, bytes) in entries {
        writer.start_file(*entry, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Opens `bytes` as `name` and reads every tensor; returns the first error.
fn first_error(name: &str, bytes: Vec<u8>) -> String {
    let dump = match Dump::from_bytes(name, bytes) {
        Ok(dump) => dump,
        Err(e) => return e.to_string(),
    };
    for t in dump.tensors() {
        if let Err(e) = dump.read(t).and_then(|_| dump.summarize(t)) {
            return e.to_string();
        }
    }
    panic!("{name} read without error");
}

#[test]
fn pickle_sharing_one_dict_along_2_to_the_64_paths_is_rejected() {
    // d_0 = {}, d_k = {'a': d_{k-1}, 'b': d_{k-1}} through the memo (BINGET):
    // 64 levels are ~1 kB of pickle and 2^64 paths for the tensor walk.
    let mut pickle = b"\x80\x02}q\x00".to_vec(); // PROTO 2, EMPTY_DICT, BINPUT 0
    for k in 1..=64u8 {
        pickle.extend(b"}("); // EMPTY_DICT, MARK
        for key in [b'a', b'b'] {
            pickle.extend([b'X', 1, 0, 0, 0, key]); // BINUNICODE key
            pickle.extend([b'h', k - 1]); // BINGET d_{k-1}
        }
        pickle.extend([b'u', b'q', k]); // SETITEMS, BINPUT k
    }
    pickle.push(b'.'); // STOP
    let message = first_error("laughs.pt", torch_zip(&[("archive/data.pkl", &pickle)]));
    assert!(
        message
            .starts_with("laughs.pt: `archive/data.pkl`: the pickled object reuses its containers"),
        "{message}"
    );
}

/// Bytes of a minimized (or found) crash input under tests/fixtures/fuzz/.
fn crash_input(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    std::fs::read(path.join(name)).unwrap()
}

#[test]
fn parquet_with_a_corrupt_thrift_bool_field_is_rejected() {
    // fuzz target `parquet`, 2026-11-27: polars-parquet 0.55.2 panicked at
    // file_metadata_thrift.rs:388 `expect("thrift bool field")` (SortingColumn).
    // The footer check now rejects it before polars runs, at its first field
    // whose compact type is not the one parquet.thrift declares.
    let message = first_error(
        "g.parquet",
        crash_input("parquet_thrift_bool_field.parquet"),
    );
    assert_eq!(
        message,
        "g.parquet: Parquet: corrupt footer at byte 279: field `row_groups` (4) of `FileMetaData` has compact type 1, parquet.thrift declares a list (polars would read the bytes after it as one)"
    );
}

#[test]
fn parquet_footer_list_declaring_gigabytes_is_rejected_before_polars() {
    // fuzz target `parquet`, 2026-11-27: polars-parquet 0.55.2 read_list
    // reserved Vec::with_capacity(2^31 − 1 row groups) (malloc of 2 GiB,
    // over the fuzzer's -malloc_limit_mb=512) from a 603-byte file.
    let message = first_error("g.parquet", crash_input("parquet_footer_list_2gb.parquet"));
    assert!(
        message.starts_with("g.parquet: Parquet: corrupt footer at byte "),
        "{message}"
    );
}

#[test]
fn a_footer_polars_panics_on_is_refused_before_polars() {
    // fuzz target `parquet`, 2026-11-27: a footer that passed the bounds
    // check but holds a non-bool SortingColumn.descending; polars-parquet
    // 0.55.2 panics at file_metadata_thrift.rs:388 `expect("thrift bool field")`
    // (a 300 s run hit 19 distinct panic sites in polars, all caught). The
    // footer's fields are now read with their types before polars runs, and
    // this one (the row groups, a bool instead of a list) is refused there.
    let message = first_error(
        "g.parquet",
        crash_input("parquet_polars_panics_thrift_bool_field.parquet"),
    );
    assert_eq!(
        message,
        "g.parquet: Parquet: corrupt footer at byte 25: field `row_groups` (4) of `FileMetaData` has compact type 1, parquet.thrift declares a list (polars would read the bytes after it as one)"
    );
}
