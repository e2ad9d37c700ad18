//! safetensors reader (<https://github.com/huggingface/safetensors#format>):
//!
//! ```text
//! [u64 LE: n] [n bytes: JSON header] [data]
//! header = { "<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//!            "__metadata__": {"step": "100", ...} }        (offsets relative to the data)
//! ```
//! Only the header is parsed at open time (from a memory map); data is
//! decoded on demand. The header sorts tensors by name; when the recorder
//! wrote the model's order as `__metadata__["order"]` (a JSON list of the
//! names, `scripts/record_gradients.py`), the tensors keep that order.
//! Accepted dtypes: F16, BF16, F32, F64 (anything else is an error naming the
//! tensor and its dtype).
//!
//! The header is checked as the `safetensors` crate 0.8 checks it
//! (`Metadata::validate`, `SafeTensors::read_metadata`), so gradrd never reads
//! a file the reference reader refuses: the tensors' byte ranges, sorted by
//! `(begin, end)`, must tile the data exactly — each begins where the previous
//! ends (no overlap, no hole; "invalid offset for tensor") and the last ends
//! at the end of the file ("incomplete metadata, file not fully covered").
//! A name the JSON object holds twice is refused (serde would keep one of the
//! two silently).

use std::path::Path;

use serde_json::Value;

use super::elements::Encoding;
use super::input::Input;
use super::layout::{self, Layout, Locator, Source};
use super::{DType, DumpError, Found, InnerStep};

/// Largest header accepted (the reference implementation's limit, 100 MB).
const MAX_HEADER_BYTES: u64 = 100_000_000;

/// Headers of all tensors in a safetensors file, and whether they are in
/// the recorded model order.
pub(crate) fn scan(input: Input) -> Result<(Vec<Found>, bool), DumpError> {
    let path = input.path;
    let contents = input.contents()?;
    let file_len = contents.len() as u64;
    let len_bytes: [u8; 8] = contents
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            DumpError::malformed(
                path,
                format!("safetensors: {file_len} bytes, shorter than the 8-byte header length"),
            )
        })?;
    let header_len = u64::from_le_bytes(len_bytes);
    if header_len > MAX_HEADER_BYTES || header_len > file_len - 8 {
        return Err(DumpError::malformed(
            path,
            format!("safetensors: header length {header_len} exceeds the file size {file_len} (not a safetensors file, or truncated)"),
        ));
    }
    let header = &contents[8..8 + header_len as usize];
    let Entries(entries) = serde_json::from_slice(header).map_err(|e| {
        DumpError::malformed(
            path,
            format!("safetensors: header is not a JSON object: {e}"),
        )
    })?;
    let mut header = serde_json::Map::new();
    for (name, value) in entries {
        if header.contains_key(&name) {
            return Err(DumpError::malformed(
                path,
                format!("safetensors: tensor `{name}` appears twice in the header"),
            ));
        }
        header.insert(name, value);
    }
    let data_start = 8 + header_len;
    let step = metadata_step(path, header.get("__metadata__"))?;
    let mut found = header
        .iter()
        .filter(|(name, _)| name.as_str() != "__metadata__")
        .map(|(name, info)| tensor(path, name, info, data_start, file_len, step))
        .collect::<Result<Vec<_>, _>>()?;
    check_tiling(path, &found, data_start, file_len)?;
    let mut placements = super::shards::placements(path, header.get("__metadata__"))?;
    for f in &mut found {
        f.placement = placements.remove(&f.name);
    }
    if let Some(name) = placements.keys().next() {
        return Err(DumpError::bad_field(
            path,
            name,
            super::shards::METADATA_KEY,
            "placed by `__metadata__[\"shards\"]` but not in the file",
        ));
    }
    let order = recorded_order(header.get("__metadata__"));
    if let Some(order) = &order {
        let rank: std::collections::HashMap<&str, usize> = order
            .iter()
            .enumerate()
            .map(|(i, name)| (name.as_str(), i))
            .collect();
        // stable: names the list does not hold stay in name order, last
        found.sort_by_key(|f| rank.get(f.name.as_str()).copied().unwrap_or(usize::MAX));
    }
    Ok((found, order.is_some()))
}

/// `__metadata__["order"]` as a list of names, if it is one (anything else
/// there is not gradrd's and is ignored).
fn recorded_order(metadata: Option<&Value>) -> Option<Vec<String>> {
    let text = metadata?.get("order")?.as_str()?;
    serde_json::from_str(text).ok()
}

/// `__metadata__["step"]` as a number, if present.
fn metadata_step(path: &Path, metadata: Option<&Value>) -> Result<InnerStep, DumpError> {
    let Some(metadata) = metadata else {
        return Ok(InnerStep::Absent);
    };
    let bad = |what: &str| DumpError::bad_field(path, "__metadata__", "step", what);
    match metadata
        .as_object()
        .ok_or_else(|| bad("`__metadata__` is not an object"))?
        .get("step")
    {
        None => Ok(InnerStep::Absent),
        Some(Value::String(text)) => text
            .trim()
            .parse()
            .map(InnerStep::Metadata)
            .map_err(|_| bad(&format!("`{text}` is not a non-negative integer"))),
        Some(other) => Err(bad(&format!("expected a string, found {other}"))),
    }
}

fn tensor(
    path: &Path,
    name: &str,
    info: &Value,
    data_start: u64,
    file_len: u64,
    inner_step: InnerStep,
) -> Result<Found, DumpError> {
    let field = |field: &str, what: &str| DumpError::bad_field(path, name, field, what);
    let dtype_name = info
        .get("dtype")
        .and_then(Value::as_str)
        .ok_or_else(|| field("dtype", "missing or not a string"))?;
    let dtype = match dtype_name {
        "F16" => DType::F16,
        "BF16" => DType::BF16,
        "F32" => DType::F32,
        "F64" => DType::F64,
        other => {
            return Err(DumpError::UnsupportedDtype {
                file: path.to_path_buf(),
                tensor: name.to_string(),
                dtype: other.to_string(),
            })
        }
    };
    let shape = u64_array(info.get("shape"))
        .ok_or_else(|| field("shape", "missing or not a list of non-negative integers"))?;
    let offsets = u64_array(info.get("data_offsets"))
        .filter(|o| o.len() == 2 && o[0] <= o[1])
        .ok_or_else(|| field("data_offsets", "expected [begin, end] with begin <= end"))?;
    let needed = layout::element_count(&shape)
        .and_then(|n| n.checked_mul(dtype.size_in_bytes() as u64))
        .ok_or_else(|| field("shape", "element count overflows"))?;
    if offsets[1] - offsets[0] != needed {
        return Err(field(
            "data_offsets",
            &format!(
                "span {} bytes but shape {shape:?} of {dtype} needs {needed}",
                offsets[1] - offsets[0]
            ),
        ));
    }
    let end = data_start
        .checked_add(offsets[1])
        .ok_or_else(|| field("data_offsets", "offset overflows"))?;
    if end > file_len {
        return Err(DumpError::Truncated {
            file: path.to_path_buf(),
            tensor: name.to_string(),
            needed: end,
            available: file_len,
        });
    }
    Ok(Found {
        name: name.to_string(),
        dtype,
        locator: Locator {
            source: Source::Mapped,
            data_start: data_start + offsets[0],
            extent: needed / dtype.size_in_bytes() as u64,
            encoding: Encoding::little(dtype),
            layout: Layout::C,
        },
        shape,
        inner_step,
        placement: None,
    })
}

/// The `safetensors` crate's rule: sorted by `(begin, end)`, each tensor's
/// bytes begin where the previous tensor's end, and the last ends at the end
/// of the file.
fn check_tiling(
    path: &Path,
    found: &[Found],
    data_start: u64,
    file_len: u64,
) -> Result<(), DumpError> {
    let mut ranges: Vec<(u64, u64, &str)> = found
        .iter()
        .map(|f| {
            let begin = f.locator.data_start - data_start;
            let bytes = f.locator.extent * f.dtype.size_in_bytes() as u64;
            (begin, begin + bytes, f.name.as_str())
        })
        .collect();
    ranges.sort_unstable();
    let mut end = 0;
    for &(begin, next_end, name) in &ranges {
        if begin != end {
            let what = if begin < end {
                format!("[{begin}, {next_end}] overlaps the tensor before it, which ends at {end}")
            } else {
                format!("[{begin}, {next_end}] leaves bytes {end}..{begin} of the data unused")
            };
            return Err(DumpError::bad_field(
                path,
                name,
                "data_offsets",
                format!("{what} (the safetensors library refuses this: invalid offset)"),
            ));
        }
        end = next_end;
    }
    let data_len = file_len - data_start;
    if end != data_len {
        let what = format!(
            "the tensors end at data byte {end} but the file holds {data_len} bytes of data (the safetensors library refuses this: incomplete metadata, file not fully covered)"
        );
        return Err(match ranges.last() {
            Some(&(_, _, name)) => DumpError::bad_field(path, name, "data_offsets", what),
            None => DumpError::malformed(path, format!("safetensors: {what}")),
        });
    }
    Ok(())
}

/// The header's entries in file order, repeated names included.
struct Entries(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

fn u64_array(value: Option<&Value>) -> Option<Vec<u64>> {
    value?.as_array()?.iter().map(Value::as_u64).collect()
}
