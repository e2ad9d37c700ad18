//! NumPy `.npz` reader: a zip archive (stored or deflated, usually zip64) of
//! `name.npy` entries; the tensor name is the entry name without `.npy`.
//! Only each entry's `.npy` header is read at open time, and each entry
//! must declare no more than its header and data (`zipped.rs`).

use std::path::Path;

use super::input::{Archive, Input};
use super::layout::Source;
use super::zipped::ZipEntry;
use super::{npy, zipped, DumpError, Found};

/// Headers of all `.npy` entries of an `.npz` file (other entries are ignored).
pub(crate) fn scan(input: Input) -> Result<Vec<Found>, DumpError> {
    scan_archive(input.path, input.archive()?)
}

/// [`scan`] of the archive of `path`, already open.
pub(crate) fn scan_archive(path: &Path, mut archive: Archive) -> Result<Vec<Found>, DumpError> {
    let shared = archive.clone(); // what the tensors keep (same directory)
    let mut found = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| DumpError::zip(path, e))?;
        let entry_name = entry
            .name()
            .map_err(|e| DumpError::zip(path, e))?
            .into_owned();
        let Some(tensor) = entry_name.strip_suffix(".npy") else {
            continue;
        };
        let tensor = tensor.to_string();
        let declared_size = entry.size();
        let header = npy::read_header(&mut entry, path, &tensor)?;
        let found_here = header.into_found(
            path,
            &tensor,
            Source::ZipEntry(ZipEntry::new(&shared, index, entry_name.clone())),
            declared_size,
        )?;
        let needed = found_here
            .locator
            .byte_len()
            .map(|len| len.saturating_add(found_here.locator.data_start));
        zipped::declared_size_fits(&entry_name, declared_size, needed.unwrap_or(u64::MAX))
            .map_err(|what| DumpError::bad_field(path, &tensor, "shape", what))?;
        found.push(found_here);
    }
    if found.is_empty() {
        return Err(DumpError::malformed(
            path,
            "npz archive holds no .npy entries",
        ));
    }
    Ok(found)
}
