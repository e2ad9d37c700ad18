//! Zip containers (.npz, .pt): reading a tensor's bytes out of one entry
//! without trusting the sizes the archive declares.
//!
//! The readers check, when the file is opened, that an entry declares
//! no more bytes than its tensor needs (an `.npz` member: its `.npy` header,
//! then shape × itemsize bytes; a torch storage: numel × element size), so a
//! deflate bomb is refused before anything is inflated. Reading inflates at
//! most that many bytes: the zip reader fails as soon as an entry inflates
//! past its declared size (a lying central directory), and the entry is read
//! to its end, where its CRC-32 is compared (stored and deflated entries
//! alike, as numpy's `zipfile` does: "Bad CRC-32").
//!
//! The archive is opened once per file: every tensor's [`ZipEntry`] holds a
//! clone of it (the parsed central directory and the memory map are shared),
//! so reading N tensors parses the directory once, not N times.

use std::io::Read;

use super::input::Archive;
use super::{DumpError, TensorMeta};

/// One entry of a file's zip archive: the archive (shared) and the entry's
/// index and name in it.
#[derive(Clone)]
pub(crate) struct ZipEntry {
    archive: Archive,
    index: usize,
    pub name: String,
}

impl ZipEntry {
    pub(crate) fn new(archive: &Archive, index: usize, name: String) -> Self {
        ZipEntry {
            archive: archive.clone(),
            index,
            name,
        }
    }
}

impl std::fmt::Debug for ZipEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZipEntry({:?} #{})", self.name, self.index)
    }
}

/// Whether a zip entry declaring `declared` bytes holds no more than the
/// `needed` ones (fewer is the readers' `Truncated` error, found as before).
pub(crate) fn declared_size_fits(entry: &str, declared: u64, needed: u64) -> Result<(), String> {
    if declared <= needed {
        return Ok(());
    }
    Err(format!(
        "zip entry `{entry}` declares {declared} bytes, its tensor needs only {needed} (refused before inflating)"
    ))
}

/// The bytes of `t` (its locator's `extent` elements after `data_start`)
/// inside zip entry `entry`. Nothing is allocated up front: the buffer grows
/// only with bytes that actually decompress; the rest of the entry is
/// inflated into nothing to check its CRC-32.
pub(crate) fn read_entry(t: &TensorMeta, entry: &ZipEntry) -> Result<Vec<u8>, DumpError> {
    let mut archive = entry.archive.clone();
    let mut reader = archive
        .by_index(entry.index)
        .map_err(|e| DumpError::zip(&t.file, e))?;
    let entry = entry.name.as_str();
    let declared = reader.size();
    let wanted = t.locator.byte_len().unwrap_or(u64::MAX);
    let read_error = |e: std::io::Error| {
        let what = if e.to_string() == "Invalid checksum" {
            "bad CRC-32 (the data are corrupt)".to_string()
        } else {
            e.to_string()
        };
        DumpError::Malformed {
            file: t.file.clone(),
            what: format!("zip entry `{entry}` of tensor `{}`: {what}", t.name),
        }
    };
    std::io::copy(
        &mut (&mut reader).take(t.locator.data_start),
        &mut std::io::sink(),
    )
    .map_err(read_error)?;
    let mut bytes = Vec::new();
    (&mut reader)
        .take(wanted)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if (bytes.len() as u64) < wanted {
        return Err(DumpError::Truncated {
            file: t.file.clone(),
            tensor: t.name.clone(),
            needed: t.locator.data_start.saturating_add(wanted),
            available: t.locator.data_start + bytes.len() as u64,
        });
    }
    // The rest (a view's storage past its extent) up to the declared end,
    // then the end itself, where the CRC is checked.
    let rest = declared.saturating_sub(t.locator.data_start.saturating_add(wanted));
    std::io::copy(&mut (&mut reader).take(rest), &mut std::io::sink()).map_err(read_error)?;
    let mut end = [0u8; 1];
    if reader.read(&mut end).map_err(read_error)? != 0 {
        return Err(read_error(std::io::Error::other(
            "the entry holds more than it declares",
        )));
    }
    Ok(bytes)
}
