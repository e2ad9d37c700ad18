//! Legacy (pre-1.6, non-zip) `torch.save` files, as torch still writes them
//! with `_use_new_zipfile_serialization=False` (`torch/serialization.py`,
//! `_legacy_save`): five pickles, then the raw storages.
//!
//! ```text
//! pickle  MAGIC_NUMBER            0x1950a86a20f9469cfc6c (LONG1 of 10 bytes)
//! pickle  PROTOCOL_VERSION        1001
//! pickle  sys_info                {"protocol_version", "little_endian", "type_sizes"}
//! pickle  the object              storages as BINPERSID
//!                                 ('storage', torch.FloatStorage, key, location, numel, None)
//! pickle  storage keys            sorted list of the keys
//! per key, in that order:         i64 LE element count, then count × element size bytes
//!                                 (little-endian on every writer, `THPStorage_writeFileRaw`)
//! ```
//! The pickles run in the same bounded VM as the zip reader's `data.pkl`
//! (nothing is executed); the storages are memory-mapped in place, so a
//! tensor is read like a safetensors one.

use std::collections::HashMap;
use std::io::Read;

use super::input::Input;
use super::layout::Source;
use super::pickle::{self, Value};
use super::torch::{pickled_step, tensor_calls, Storage, TensorSpec};
use super::{DumpError, Found};

/// `torch.serialization.MAGIC_NUMBER`, little-endian.
const MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/// `torch.serialization.PROTOCOL_VERSION`.
const PROTOCOL_VERSION: i64 = 1001;

/// Whether `input` starts like a pickle (a legacy file, not a zip).
pub(crate) fn is_legacy(input: Input) -> Result<bool, DumpError> {
    let mut head = Vec::with_capacity(2);
    input
        .reader()?
        .take(2)
        .read_to_end(&mut head)
        .map_err(|e| DumpError::io(input.path, e))?;
    Ok(matches!(head[..], [0x80, 2..=5]))
}

/// Headers of all tensors of a legacy `torch.save` file.
pub(crate) fn scan(input: Input) -> Result<Vec<Found>, DumpError> {
    let path = input.path;
    let contents = input.contents()?;
    let bytes: &[u8] = &contents;
    let malformed = |what: String| DumpError::malformed(path, format!("legacy torch file: {what}"));
    // PROTO p, LONG1 10 <magic>, STOP
    let magic_ok = bytes.len() >= 15
        && bytes[0] == 0x80
        && bytes[2..4] == [0x8a, 10]
        && bytes[4..14] == MAGIC
        && bytes[14] == b'.';
    if !magic_ok {
        return Err(malformed(
            "no torch magic number (a pickle, but not one torch.save wrote)".into(),
        ));
    }
    let mut at = 15usize;
    let mut next = |what: &str| -> Result<(Value, usize), DumpError> {
        let (value, used) = pickle::load_prefix(&bytes[at..]).map_err(|e| DumpError::Pickle {
            file: path.to_path_buf(),
            entry: what.to_string(),
            offset: at as u64 + e.offset,
            what: e.what,
        })?;
        at += used;
        Ok((value, used))
    };
    let (version, _) = next("protocol version")?;
    if version != Value::Int(PROTOCOL_VERSION) {
        return Err(malformed(format!(
            "protocol version {version:?}, expected {PROTOCOL_VERSION}"
        )));
    }
    // the storages are little-endian whatever the writer's byte order
    next("sys_info")?;
    let (object, object_len) = next("object")?;
    let (keys, _) = next("storage keys")?;
    let data_start = at;

    let calls = tensor_calls(&object, path, "object", object_len)?;
    let step = pickled_step(&object);
    let mut specs = Vec::with_capacity(calls.len());
    for (name, call) in calls {
        let spec = TensorSpec::parse(call)
            .map_err(|(field, what)| DumpError::bad_field(path, &name, field, what))?;
        specs.push((name, spec));
    }
    let storages = storage_offsets(&keys, &specs, &bytes[data_start..]).map_err(malformed)?;
    specs
        .into_iter()
        .map(|(name, spec)| {
            let (start, available) = storages[spec.storage_key.as_str()];
            let storage = Storage {
                source: Source::Mapped,
                data_start: (data_start + start) as u64,
                available,
                big_endian: false,
            };
            spec.into_found(path, name, storage, step)
        })
        .collect()
}

/// Byte offset (after the pickles) and byte length of each storage, walked
/// in the order of the `keys` pickle: an 8-byte count, then the data.
fn storage_offsets<'k>(
    keys: &'k Value,
    specs: &[(String, TensorSpec)],
    data: &[u8],
) -> Result<HashMap<&'k str, (usize, u64)>, String> {
    let Value::List(keys) = keys else {
        return Err("the storage key pickle is not a list".into());
    };
    let element_size: HashMap<&str, Option<u64>> = specs
        .iter()
        .map(|(_, s)| (s.storage_key.as_str(), s.storage_element_size))
        .collect();
    let mut offsets = HashMap::with_capacity(keys.item.len());
    let mut at = 0usize;
    for key in &keys.item {
        let key = key.as_str().ok_or("a storage key is not a string")?;
        let size = element_size
            .get(key)
            .copied()
            .flatten()
            .ok_or_else(|| format!("storage `{key}` has no tensor of a known element type"))?;
        let count_bytes: [u8; 8] = data
            .get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("storage `{key}`: the file ends before its size"))?;
        let count = u64::from_le_bytes(count_bytes);
        let len = count
            .checked_mul(size)
            .filter(|&len| len <= (data.len() - at - 8) as u64)
            .ok_or_else(|| {
                format!(
                    "storage `{key}`: {count} elements of {size} bytes, but {} bytes remain",
                    data.len() - at - 8
                )
            })?;
        offsets.insert(key, (at + 8, len));
        at += 8 + len as usize;
    }
    if let Some((_, spec)) = specs
        .iter()
        .find(|(_, s)| !offsets.contains_key(s.storage_key.as_str()))
    {
        return Err(format!(
            "storage `{}` is not in the storage key list",
            spec.storage_key
        ));
    }
    Ok(offsets)
}
