//! Read-only memory maps of dump files (the crate's one `unsafe` block).

use std::fs::File;
use std::path::Path;

use super::DumpError;

/// Memory-maps `path` read-only. An empty file is an error (there is no
/// header to read), reported as such rather than as a zero-length map.
pub(crate) fn map_file(path: &Path) -> Result<memmap2::Mmap, DumpError> {
    let file = File::open(path).map_err(|e| DumpError::io(path, e))?;
    let len = file.metadata().map_err(|e| DumpError::io(path, e))?.len();
    if len == 0 {
        return Err(DumpError::EmptyFile {
            file: path.to_path_buf(),
        });
    }
    // SAFETY: the map is read-only and private to this process; gradrd never
    // writes to dump files. The remaining hazard is another process truncating
    // or rewriting the file while it is mapped (SIGBUS / changing bytes); dumps
    // are finished recordings, and every access goes through bounds-checked
    // slices of the map, so a changed file yields wrong numbers or a
    // `Truncated` error, never out-of-bounds reads. Mapping (instead of
    // reading) is what lets `summarize` stream a 1 GiB dump at > 1 GB/s
    // without an f64 copy (benches/dump.rs).
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(&file) };
    map.map_err(|e| DumpError::io(path, e))
}
