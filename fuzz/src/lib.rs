//! Shared body of the dump-reader fuzz targets: open the bytes as a dump
//! file through the library's readers and read every tensor it lists.
//!
//! The only property checked is the one libFuzzer checks: no panic, no
//! abort, no allocation beyond the limits given on the command line
//! (`-rss_limit_mb`, `-malloc_limit_mb`). Errors are the expected outcome
//! for most inputs and are ignored.

use gradrd::dump::Dump;

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
