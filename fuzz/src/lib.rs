//! Shared body of the dump-reader fuzz targets: open the bytes as a dump
//! file through the library's readers and read every tensor it lists.
//!
//! The only property checked is the one libFuzzer checks: no panic, no
//! abort, no allocation beyond the limits given on the command line
//! (`-rss_limit_mb`, `-malloc_limit_mb`). Errors are the expected outcome
//! for most inputs and are ignored.

use gradrd_io::dump::Dump;

/// Opens `bytes` as the dump file `name` (its extension picks the reader)
/// and reads and summarizes every tensor.
pub fn read_every_tensor(name: &str, bytes: &[u8]) {
    let Ok(dump) = Dump::from_bytes(name, bytes) else {
        return;
    };
    for tensor in dump.tensors() {
        let _ = tensor.len();
        let _ = dump.read(tensor);
        let _ = dump.summarize(tensor);
    }
}

/// For the table targets: `gradrd_io::dump` catches the panics polars raises on
/// some corrupt files and reports them as errors, but libfuzzer-sys's panic
/// hook aborts on every panic, caught or not. This hook (installed after
/// libfuzzer-sys's, from the target's `init`) lets panics raised inside a
/// polars crate unwind to the library's `catch_unwind`; every other panic
/// still aborts. A polars panic the library does not catch reaches
/// libfuzzer-sys's own `catch_unwind`, which aborts too.
pub fn let_the_library_catch_polars_panics() {
    let abort_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_polars = info
            .location()
            .is_some_and(|at| at.file().contains("/polars-"));
        if in_polars {
            // one line, so a run's log shows how often the library caught one
            eprintln!("polars panic (gradrd catches it): {info}");
        } else {
            abort_hook(info);
        }
    }));
}
