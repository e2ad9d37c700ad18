//! PyTorch `torch.save` reader, both serializations:
//!
//! ```text
//! zip (torch >= 1.6, the default):
//!   <stem>/data.pkl        pickle program (protocol 2) describing the object
//!   <stem>/data/<key>      raw little-endian storage bytes
//!   <stem>/byteorder       "little" | "big" (absent in old files: little)
//! legacy (`_use_new_zipfile_serialization=False`, every file before 1.6): `legacy_torch.rs`
//! tensor = torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)
//! storage = BINPERSID ('storage', torch.FloatStorage, key, location, numel)
//! ```
//! Tensors are found in a bare tensor (named by the file stem), in dicts
//! (state dicts, `OrderedDict`, nested dicts → dotted names) and in lists and
//! tuples (items named `0`, `1`, …, or `<key>.0` inside a dict); other values
//! are ignored. `nn.Parameter` (`_rebuild_parameter`) and the dtype-tagged
//! `_rebuild_tensor_v3` form are unwrapped. Storage types: Float, Double,
//! Half, BFloat16. Tensors keep the object's order (a state dict's is the
//! model's `named_parameters()` order). An integer `step` (or `global_step`)
//! entry of a pickled dict gives the step. A zip without `data.pkl` but with
//! `.npy` entries is an `.npz` under another name and is read as one.

use std::io::Read;
use std::path::Path;

use super::elements::Encoding;
use super::input::{Archive, Input};
use super::layout::{self, Layout, Locator, Source};
use super::pickle::{self, Value};
use super::zipped::ZipEntry;
use super::{legacy_torch, npz, zipped, DType, DumpError, Found, InnerStep};

/// Largest `data.pkl` read (a state dict of 10^5 tensors is a few MB).
const MAX_PICKLE_BYTES: u64 = 256 << 20;

/// Headers of all tensors of a PyTorch zip file.
pub(crate) fn scan(input: Input) -> Result<Vec<Found>, DumpError> {
    if legacy_torch::is_legacy(input)? {
        return legacy_torch::scan(input);
    }
    let path = input.path;
    let mut archive = input.archive()?;
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|e| DumpError::zip(path, e))?;
    let Some(pickle_entry) = names
        .iter()
        .filter(|n| n.ends_with("/data.pkl") || n.as_str() == "data.pkl")
        .min_by_key(|n| n.len())
        .cloned()
    else {
        if names.iter().any(|n| n.ends_with(".npy")) {
            return npz::scan_archive(path, archive);
        }
        return Err(DumpError::malformed(
            path,
            "zip archive has no data.pkl (not a torch.save file)",
        ));
    };
    let prefix = pickle_entry
        .strip_suffix("data.pkl")
        .unwrap_or_default()
        .to_string();
    let big_endian = read_small_entry(&mut archive, path, &format!("{prefix}byteorder"))?
        .is_some_and(|order| order.trim_ascii() == b"big");

    let mut program = Vec::new();
    archive
        .by_name(&pickle_entry)
        .map_err(|e| DumpError::zip(path, e))?
        .take(MAX_PICKLE_BYTES)
        .read_to_end(&mut program)
        .map_err(|e| DumpError::malformed(path, format!("`{pickle_entry}`: {e}")))?;
    let root = pickle::load(&program).map_err(|e| DumpError::Pickle {
        file: path.to_path_buf(),
        entry: pickle_entry.clone(),
        offset: e.offset,
        what: e.what,
    })?;

    let tensors = tensor_calls(&root, path, &pickle_entry, program.len())?;
    let step = pickled_step(&root);
    tensors
        .into_iter()
        .map(|(name, call)| {
            let spec = TensorSpec::parse(call)
                .map_err(|(field, what)| DumpError::bad_field(path, &name, field, what))?;
            let entry = format!("{prefix}data/{}", spec.storage_key);
            let missing = |e: zip::result::ZipError| {
                DumpError::bad_field(
                    path,
                    &name,
                    "storage",
                    format!("storage entry `{entry}`: {e}"),
                )
            };
            let index = archive
                .index_for_name(&entry)
                .ok_or_else(|| missing(zip::result::ZipError::FileNotFound))?;
            let available = archive.by_index(index).map_err(missing)?.size();
            let element_size = spec.storage_element_size.unwrap_or(0);
            let storage_bytes = spec.storage_numel.saturating_mul(element_size);
            if element_size > 0 {
                zipped::declared_size_fits(&entry, available, storage_bytes)
                    .map_err(|what| DumpError::bad_field(path, &name, "storage", what))?;
            }
            let storage = Storage {
                source: Source::ZipEntry(ZipEntry::new(&archive, index, entry)),
                data_start: 0,
                available,
                big_endian,
            };
            spec.into_found(path, name, storage, step)
        })
        .collect()
}

/// A `step` (or `global_step`) integer beside the tensors of a pickled
/// dict (`torch.save({"step": 300, "grads": …})`): a step source ranked like
/// safetensors metadata (`discover.rs`).
pub(super) fn pickled_step(root: &Value) -> InnerStep {
    ["step", "global_step"]
        .iter()
        .find_map(|key| root.get(key)?.as_int())
        .and_then(|step| u64::try_from(step).ok())
        .map_or(InnerStep::Absent, InnerStep::Metadata)
}

/// The tensors of a loaded pickle, named as the module doc says; an error
/// when there are none or the object is a "billion laughs" structure.
pub(super) fn tensor_calls<'v>(
    root: &'v Value,
    path: &Path,
    entry: &str,
    program_len: usize,
) -> Result<Vec<(String, &'v Value)>, DumpError> {
    let mut tensors = Vec::new();
    let stem = path
        .file_stem()
        .map(super::file_name::os_text)
        .unwrap_or_default();
    let mut budget = WALK_BUDGET_PER_BYTE.saturating_mul(program_len as u64);
    collect(root, &stem, true, &mut tensors, &mut budget).map_err(|()| {
        DumpError::malformed(
            path,
            format!(
                "`{entry}`: the pickled object reuses its containers far more often than its {program_len} bytes can describe (a \"billion laughs\" structure)"
            ),
        )
    })?;
    if tensors.is_empty() {
        return Err(DumpError::malformed(
            path,
            format!("`{entry}`: no tensors found in the pickled object (a dict, list or tuple of tensors, or one tensor)"),
        ));
    }
    Ok(tensors)
}

/// Contents of a small metadata entry (at most 64 bytes), if present.
fn read_small_entry(
    archive: &mut Archive,
    path: &Path,
    name: &str,
) -> Result<Option<Vec<u8>>, DumpError> {
    let Ok(entry) = archive.by_name(name) else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    entry
        .take(64)
        .read_to_end(&mut bytes)
        .map_err(|e| DumpError::malformed(path, format!("`{name}`: {e}")))?;
    Ok(Some(bytes))
}

/// Walk budget per byte of `data.pkl`: values visited plus name bytes built.
/// A pickled tree costs at least one byte per value, and torch state dicts
/// have flat dotted keys, so real files stay far below it.
const WALK_BUDGET_PER_BYTE: u64 = 16;

/// Walks the pickled object: a tensor is recorded under `name`; a dict's
/// entries are walked with `name.key`, a list's or tuple's items with
/// `name.0`, `name.1`, … (a root container adds no prefix).
///
/// `BINGET` shares containers, so a dict reached along many paths is walked
/// once per path: `d_k = {a: d_{k−1}, b: d_{k−1}}` is 2^k paths from O(k)
/// bytes. Each visit and each name byte is paid from `budget`; `Err` when it
/// runs out.
fn collect<'v>(
    value: &'v Value,
    name: &str,
    is_root: bool,
    out: &mut Vec<(String, &'v Value)>,
    budget: &mut u64,
) -> Result<(), ()> {
    *budget = budget.checked_sub(1 + name.len() as u64).ok_or(())?;
    match value {
        Value::Call(_) if tensor_call(value).is_some() => out.push((name.to_string(), value)),
        Value::Dict(dict) => {
            for (key, item) in &dict.item {
                let key = match key {
                    Value::Str(s) => s.to_string(),
                    Value::Int(i) => i.to_string(),
                    _ => continue,
                };
                let child = if is_root {
                    key
                } else {
                    format!("{name}.{key}")
                };
                collect(item, &child, false, out, budget)?;
            }
        }
        Value::List(items) | Value::Tuple(items) => {
            for (index, item) in items.item.iter().enumerate() {
                let child = if is_root {
                    index.to_string()
                } else {
                    format!("{name}.{index}")
                };
                collect(item, &child, false, out, budget)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The `_rebuild_tensor*` call behind `value` (unwrapping `nn.Parameter`).
fn tensor_call(value: &Value) -> Option<(&str, &[Value])> {
    let Value::Call(call) = value else {
        return None;
    };
    let Value::Global(global) = &call.item.0 else {
        return None;
    };
    let args = call.item.1.as_tuple()?;
    match (global.0.as_str(), global.1.as_str()) {
        ("torch._utils", "_rebuild_parameter" | "_rebuild_parameter_with_state") => {
            tensor_call(args.first()?)
        }
        ("torch._utils", f @ ("_rebuild_tensor_v2" | "_rebuild_tensor_v3" | "_rebuild_tensor")) => {
            Some((f, args))
        }
        _ => None,
    }
}

/// Where a tensor's storage bytes are, and how many there are.
pub(super) struct Storage {
    pub source: Source,
    /// Byte offset of the storage's element 0 inside `source`.
    pub data_start: u64,
    /// Bytes of the storage present in the file.
    pub available: u64,
    pub big_endian: bool,
}

/// What `_rebuild_tensor_v2(storage, offset, size, stride, …)` says.
pub(super) struct TensorSpec {
    pub storage_key: String,
    /// `Err`: the name of a dtype torch stores but gradrd does not read.
    pub dtype: Result<DType, String>,
    /// Bytes per element of the storage type, whatever its dtype (a legacy
    /// file's storages are walked by size, integer ones included).
    pub storage_element_size: Option<u64>,
    pub storage_numel: u64,
    offset: u64,
    shape: Vec<u64>,
    strides: Vec<u64>,
}

type FieldError = (&'static str, String);

impl TensorSpec {
    pub(super) fn parse(value: &Value) -> Result<TensorSpec, FieldError> {
        let (function, args) = tensor_call(value).ok_or(("storage", "not a tensor".to_string()))?;
        let arg = |i: usize, field: &'static str| {
            args.get(i)
                .ok_or((field, format!("missing argument of {function}")))
        };
        let Value::Persistent(pid) = arg(0, "storage")? else {
            return Err(("storage", "not a persistent storage reference".into()));
        };
        let pid = pid
            .item
            .as_tuple()
            .ok_or(("storage", "persistent id is not a tuple".to_string()))?;
        if pid.first().and_then(Value::as_str) != Some("storage") || pid.len() < 5 {
            return Err((
                "storage",
                "persistent id is not ('storage', type, key, location, numel)".into(),
            ));
        }
        let storage_key = pid[2]
            .as_str()
            .ok_or(("storage", "storage key is not a string".to_string()))?
            .to_string();
        let storage_numel = non_negative(&pid[4]).ok_or((
            "storage",
            "storage size is not a non-negative integer".to_string(),
        ))?;
        let mut dtype = storage_dtype(&pid[1]);
        let storage_element_size = storage_element_size(&pid[1]);
        if function == "_rebuild_tensor_v3" {
            // (storage, offset, size, stride, requires_grad, hooks, dtype, …) with an untyped storage
            if let Some(Value::Global(g)) = args.get(6) {
                dtype = tensor_dtype(&g.1);
            }
        }
        let offset = non_negative(arg(1, "storage_offset")?)
            .ok_or(("storage_offset", "not a non-negative integer".to_string()))?;
        let shape = int_tuple(arg(2, "size")?)
            .ok_or(("size", "not a tuple of non-negative integers".to_string()))?;
        let strides = int_tuple(arg(3, "stride")?)
            .ok_or(("stride", "not a tuple of non-negative integers".to_string()))?;
        if strides.len() != shape.len() {
            return Err((
                "stride",
                format!("{} strides for {} dimensions", strides.len(), shape.len()),
            ));
        }
        Ok(TensorSpec {
            storage_key,
            dtype,
            storage_element_size,
            storage_numel,
            offset,
            shape,
            strides,
        })
    }

    pub(super) fn into_found(
        self,
        path: &Path,
        name: String,
        storage: Storage,
        inner_step: InnerStep,
    ) -> Result<Found, DumpError> {
        let field = |f: &str, what: String| DumpError::bad_field(path, &name, f, what);
        let dtype = self.dtype.map_err(|dtype| DumpError::UnsupportedDtype {
            file: path.to_path_buf(),
            tensor: name.clone(),
            dtype,
        })?;
        let len = layout::element_count(&self.shape)
            .ok_or_else(|| field("size", "element count overflows".into()))?;
        let extent = layout::strided_extent(&self.shape, self.offset, &self.strides)
            .ok_or_else(|| field("stride", "view extent overflows".into()))?;
        if len > extent {
            return Err(field(
                "stride",
                "overlapping strides (an expanded view); save `t.contiguous()` instead".into(),
            ));
        }
        if extent > self.storage_numel {
            return Err(field(
                "stride",
                format!(
                    "view reaches element {extent} of a storage of {}",
                    self.storage_numel
                ),
            ));
        }
        let needed = extent.saturating_mul(dtype.size_in_bytes() as u64);
        if needed > storage.available {
            return Err(DumpError::Truncated {
                file: path.to_path_buf(),
                tensor: name,
                needed,
                available: storage.available,
            });
        }
        let contiguous = self.offset == 0 && is_c_contiguous(&self.shape, &self.strides);
        Ok(Found {
            name,
            dtype,
            shape: self.shape,
            locator: Locator {
                source: storage.source,
                data_start: storage.data_start,
                extent,
                encoding: Encoding {
                    dtype,
                    big_endian: storage.big_endian,
                },
                layout: if contiguous {
                    Layout::C
                } else {
                    Layout::Strided {
                        offset: self.offset,
                        strides: self.strides,
                    }
                },
            },
            inner_step,
            placement: None,
        })
    }
}

fn non_negative(value: &Value) -> Option<u64> {
    match value {
        Value::Int(i) => u64::try_from(*i).ok(),
        _ => None,
    }
}

fn int_tuple(value: &Value) -> Option<Vec<u64>> {
    value.as_tuple()?.iter().map(non_negative).collect()
}

/// Whether `strides` are the C-contiguous strides of `shape` (dimensions of
/// size 1 may have any stride).
fn is_c_contiguous(shape: &[u64], strides: &[u64]) -> bool {
    let mut expected = 1u64;
    for (&d, &s) in shape.iter().zip(strides).rev() {
        if d != 1 && s != expected {
            return false;
        }
        expected = expected.saturating_mul(d);
    }
    true
}

/// `torch.FloatStorage` etc. → dtype; other storages → their name for the error.
pub(super) fn storage_dtype(storage_type: &Value) -> Result<DType, String> {
    let Value::Global(g) = storage_type else {
        return Err("unknown storage type".into());
    };
    match g.1.as_str() {
        "FloatStorage" => Ok(DType::F32),
        "DoubleStorage" => Ok(DType::F64),
        "HalfStorage" => Ok(DType::F16),
        "BFloat16Storage" => Ok(DType::BF16),
        other => Err(format!("{}.{other}", g.0)),
    }
}

/// Bytes per element of a typed storage class (`torch.LongStorage` → 8).
fn storage_element_size(storage_type: &Value) -> Option<u64> {
    let Value::Global(g) = storage_type else {
        return None;
    };
    Some(match g.1.as_str() {
        "ByteStorage" | "CharStorage" | "BoolStorage" | "QUInt8Storage" | "QInt8Storage" => 1,
        "ShortStorage" | "HalfStorage" | "BFloat16Storage" => 2,
        "IntStorage" | "FloatStorage" | "QInt32Storage" => 4,
        "LongStorage" | "DoubleStorage" | "ComplexFloatStorage" => 8,
        "ComplexDoubleStorage" => 16,
        _ => return None,
    })
}

/// `torch.float32` etc. (the dtype argument of `_rebuild_tensor_v3`).
pub(super) fn tensor_dtype(name: &str) -> Result<DType, String> {
    match name {
        "float32" | "float" => Ok(DType::F32),
        "float64" | "double" => Ok(DType::F64),
        "float16" | "half" => Ok(DType::F16),
        "bfloat16" => Ok(DType::BF16),
        other => Err(format!("torch.{other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguity() {
        assert!(is_c_contiguous(&[2, 3], &[3, 1]));
        assert!(is_c_contiguous(&[1, 3], &[99, 1]));
        assert!(!is_c_contiguous(&[3, 3], &[1, 4]));
        assert!(is_c_contiguous(&[], &[]));
    }
}
