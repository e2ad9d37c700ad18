//! Zip containers (.npz, .pt): reading a tensor's bytes out of one entry without trusting the sizes the archive declares.

use std::io::Read;

use super::{DumpError, TensorMeta};

/// The bytes of `t` (its locator's `extent` elements after `data_start`)
/// inside zip entry `entry`. Nothing is allocated up front: the buffer grows
/// only with bytes that actually decompress.
pub(crate) fn read_entry(t: &TensorMeta, entry: &str) -> Result<Vec<u8>, DumpError> {
    let mut archive = t.input().archive()?;
    let mut reader = archive
        .by_name(entry)
        .map_err(|e| DumpError::zip(&t.file, e))?;
    let wanted = t.locator.byte_len().unwrap_or(u64::MAX);
    let read_error = |e: std::io::Error| DumpError::Malformed {
        file: t.file.clone(),
        what: format!("zip entry `{entry}` of tensor `{}`: {e}", t.name),
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
    Ok(bytes)
}
