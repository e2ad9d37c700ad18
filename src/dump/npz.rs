//! NumPy `.npz` reader: a zip archive (stored or deflated, usually zip64) of
//! `name.npy` entries; the tensor name is the entry name without `.npy`.
//! Only each entry's `.npy` header is read at open time.

use super::input::Input;
use super::layout::Source;
use super::{npy, DumpError, Found};

/// Headers of all `.npy` entries of an `.npz` file (other entries are ignored).
pub(crate) fn scan(input: Input) -> Result<Vec<Found>, DumpError> {
    let path = input.path;
    let mut archive = input.archive()?;
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
        found.push(header.into_found(
            path,
            &tensor,
            Source::ZipEntry(entry_name),
            declared_size,
        )?);
    }
    if found.is_empty() {
        return Err(DumpError::malformed(
            path,
            "npz archive holds no .npy entries",
        ));
    }
    Ok(found)
}
