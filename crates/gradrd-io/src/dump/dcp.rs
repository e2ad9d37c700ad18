//! torch.distributed.checkpoint (DCP) folders, as `dcp.save` writes them
//! with the file-system writer (`torch/distributed/checkpoint/metadata.py`,
//! `filesystem.py`):
//!
//! ```text
//! step_000300/.metadata      pickle of Metadata(
//!     state_dict_metadata = {fqn: TensorStorageMetadata(
//!         properties = TensorProperties(dtype, …), size = torch.Size,
//!         chunks = [ChunkStorageMetadata(offsets = torch.Size, sizes = torch.Size), …])},
//!     storage_data = {MetadataIndex(fqn, offset = torch.Size, index): _StorageInfo(
//!         relative_path = "__0_0.distcp", offset, length, transform_descriptors)})
//! step_000300/__R_C.distcp   each chunk a torch.save of the chunk tensor, at
//!                            [offset, offset + length) of its file
//! ```
//! The `.metadata` pickle runs in the same bounded VM as a `.pt` file's
//! (nothing is executed). At open time only it is read, and every chunk is
//! checked to lie inside the tensor and inside its file, and the chunks to
//! tile the tensor exactly; a tensor's chunks are read (and assembled in C
//! order) only when the tensor is. Non-tensor entries (bytes, such as an
//! optimizer's step counter) are left out. Each chunk keeps memory per
//! tensor: the chunk's bytes are read from their file range, decoded, and
//! placed.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::elements::Encoding;
use super::input::Input;
use super::layout::{self, Layout, Locator, Source};
use super::pickle::{self, Value};
use super::{is_plain_file_name, torch, DType, DumpError, Found, InnerStep, TensorMeta};

/// The metadata file that makes a folder a DCP checkpoint.
pub(crate) const METADATA: &str = ".metadata";

/// Largest `.metadata` read.
const MAX_METADATA_BYTES: u64 = 256 << 20;

/// Most chunks one tensor may have (their tiling is checked pairwise).
const MAX_CHUNKS: usize = 4096;

/// One stored piece of a tensor.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    pub file: PathBuf,
    /// Byte range of the chunk's `torch.save` blob inside `file`.
    pub byte_offset: u64,
    pub byte_len: u64,
    /// Where the chunk sits in the tensor, and its shape.
    pub offsets: Vec<u64>,
    pub sizes: Vec<u64>,
}

impl Chunk {
    fn region(&self) -> layout::Region<'_> {
        layout::Region {
            offsets: &self.offsets,
            sizes: &self.sizes,
        }
    }
}

/// The tensors of the DCP checkpoint in `dir`, in the metadata's order.
pub(crate) fn scan(dir: &Path) -> Result<Vec<Found>, DumpError> {
    let path = dir.join(METADATA);
    let mut program = Vec::new();
    crate::files::open_regular(&path)
        .map_err(|e| DumpError::io(&path, e))?
        .take(MAX_METADATA_BYTES)
        .read_to_end(&mut program)
        .map_err(|e| DumpError::io(&path, e))?;
    let root = pickle::load(&program).map_err(|e| DumpError::Pickle {
        file: path.clone(),
        entry: METADATA.to_string(),
        offset: e.offset,
        what: e.what,
    })?;
    let malformed = |what: String| DumpError::malformed(&path, format!("DCP metadata: {what}"));
    let (class, state) = root
        .as_object()
        .ok_or_else(|| malformed("not a pickled Metadata object".into()))?;
    if class.1 != "Metadata" {
        return Err(malformed(format!(
            "a {}.{}, not a Metadata",
            class.0, class.1
        )));
    }
    let Some(Value::Dict(tensors)) = state.get("state_dict_metadata") else {
        return Err(malformed("no state_dict_metadata dict".into()));
    };
    let Some(Value::Dict(storage)) = state.get("storage_data") else {
        return Err(malformed("no storage_data dict".into()));
    };
    let storage = storage_index(&storage.item).map_err(malformed)?;
    let mut found = Vec::new();
    for (fqn, entry) in &tensors.item {
        let Some(fqn) = fqn.as_str() else {
            return Err(malformed(
                "a state_dict_metadata key is not a string".into(),
            ));
        };
        let Some((class, meta)) = entry.as_object() else {
            return Err(DumpError::bad_field(
                &path,
                fqn,
                "state_dict_metadata",
                "not a storage metadata object",
            ));
        };
        if class.1 != "TensorStorageMetadata" {
            continue; // BytesStorageMetadata: not a tensor
        }
        found.push(tensor(dir, &path, fqn, meta, &storage)?);
    }
    if found.is_empty() {
        return Err(malformed("no tensors in state_dict_metadata".into()));
    }
    Ok(found)
}

/// `(fqn, chunk offsets) → (relative path, byte offset, byte length)`.
type StorageIndex = Vec<((String, Vec<u64>), (String, u64, u64))>;

fn storage_index(items: &[(Value, Value)]) -> Result<StorageIndex, String> {
    let mut index = Vec::with_capacity(items.len());
    for (key, info) in items {
        let (_, key) = key
            .as_object()
            .ok_or("a storage_data key is not a MetadataIndex")?;
        let fqn = key
            .get("fqn")
            .and_then(Value::as_str)
            .ok_or("a MetadataIndex has no fqn")?;
        let offsets = match key.get("offset") {
            Some(size) => torch_size(size)
                .ok_or_else(|| format!("MetadataIndex `{fqn}`: offset is not a torch.Size"))?,
            None => Vec::new(),
        };
        let (_, info) = info
            .as_object()
            .ok_or_else(|| format!("storage_data of `{fqn}` is not a _StorageInfo"))?;
        if info
            .get("transform_descriptors")
            .and_then(Value::as_list)
            .is_some_and(|t| !t.is_empty())
        {
            return Err(format!(
                "`{fqn}` is stored through transforms (compression or encryption), which gradrd does not read"
            ));
        }
        let text = |field: &str| info.get(field).and_then(Value::as_str).map(str::to_string);
        let number = |field: &str| {
            info.get(field)
                .and_then(Value::as_int)
                .and_then(|i| u64::try_from(i).ok())
        };
        let relative_path = text("relative_path");
        let (Some(relative_path), Some(offset), Some(length)) =
            (relative_path, number("offset"), number("length"))
        else {
            return Err(format!(
                "storage_data of `{fqn}` lacks relative_path, offset or length"
            ));
        };
        index.push(((fqn.to_string(), offsets), (relative_path, offset, length)));
    }
    Ok(index)
}

/// The dims of a pickled `torch.Size((…))`.
fn torch_size(value: &Value) -> Option<Vec<u64>> {
    let dims = match value {
        Value::Call(call) => {
            let args = call.item.1.as_tuple()?;
            args.first()?.as_tuple()?.to_vec()
        }
        Value::Tuple(_) => value.as_tuple()?.to_vec(),
        _ => return None,
    };
    dims.iter()
        .map(|d| d.as_int().and_then(|i| u64::try_from(i).ok()))
        .collect()
}

fn tensor(
    dir: &Path,
    path: &Path,
    fqn: &str,
    meta: &Value,
    storage: &StorageIndex,
) -> Result<Found, DumpError> {
    let field = |f: &str, what: String| DumpError::bad_field(path, fqn, f, what);
    let shape = meta
        .get("size")
        .and_then(torch_size)
        .ok_or_else(|| field("size", "not a torch.Size".into()))?;
    let dtype = dtype_of(meta).map_err(|dtype| DumpError::UnsupportedDtype {
        file: path.to_path_buf(),
        tensor: fqn.to_string(),
        dtype,
    })?;
    let chunk_list = meta
        .get("chunks")
        .and_then(Value::as_list)
        .ok_or_else(|| field("chunks", "not a list".into()))?;
    if chunk_list.len() > MAX_CHUNKS {
        return Err(field(
            "chunks",
            format!(
                "{} chunks (at most {MAX_CHUNKS} are read)",
                chunk_list.len()
            ),
        ));
    }
    let mut chunks = Vec::with_capacity(chunk_list.len());
    for chunk in chunk_list {
        let state = chunk.as_object().map(|(_, s)| s);
        let offsets = state.and_then(|s| s.get("offsets")).and_then(torch_size);
        let sizes = state.and_then(|s| s.get("sizes")).and_then(torch_size);
        let (Some(offsets), Some(sizes)) = (offsets, sizes) else {
            return Err(field("chunks", "a chunk without offsets and sizes".into()));
        };
        let (_, (relative, byte_offset, byte_len)) = storage
            .iter()
            .find(|((name, at), _)| name == fqn && *at == offsets)
            .ok_or_else(|| {
                field(
                    "storage_data",
                    format!("no storage for the chunk at {offsets:?}"),
                )
            })?;
        if !is_plain_file_name(relative) {
            return Err(field(
                "storage_data",
                format!("relative_path `{relative}` leaves the checkpoint folder"),
            ));
        }
        let file = dir.join(relative);
        let file_len = std::fs::metadata(&file)
            .map_err(|e| DumpError::io(&file, e))?
            .len();
        if byte_offset
            .checked_add(*byte_len)
            .is_none_or(|end| end > file_len)
        {
            return Err(DumpError::Truncated {
                file,
                tensor: fqn.to_string(),
                needed: byte_offset.saturating_add(*byte_len),
                available: file_len,
            });
        }
        chunks.push(Chunk {
            file,
            byte_offset: *byte_offset,
            byte_len: *byte_len,
            offsets,
            sizes,
        });
    }
    let regions: Vec<_> = chunks.iter().map(Chunk::region).collect();
    layout::check_tiling(&shape, &regions).map_err(|what| field("chunks", what))?;
    let extent = layout::element_count(&shape)
        .ok_or_else(|| field("size", "element count overflows".into()))?;
    Ok(Found {
        name: fqn.to_string(),
        dtype,
        shape,
        locator: Locator {
            source: Source::Chunks(Arc::from(chunks)),
            data_start: 0,
            extent,
            encoding: Encoding::little(dtype),
            layout: Layout::C,
        },
        inner_step: InnerStep::Absent,
        placement: None,
    })
}

/// `TensorProperties` state: a dict with `dtype`, or the tuple its
/// `__getstate__` returns, `(dtype, layout, requires_grad, memory_format, pin_memory)`.
fn dtype_of(meta: &Value) -> Result<DType, String> {
    let properties = meta.get("properties").and_then(Value::as_object);
    let dtype = properties.and_then(|(_, state)| match state {
        Value::Tuple(_) => state.as_tuple()?.first(),
        _ => state.get("dtype"),
    });
    match dtype {
        Some(Value::Global(g)) => torch::tensor_dtype(&g.1),
        _ => Err("unknown (no dtype in the tensor properties)".into()),
    }
}

/// The values of a DCP tensor in C order: each chunk's blob read from its
/// file range, decoded through the torch reader, and placed.
pub(crate) fn read(t: &TensorMeta, chunks: &[Chunk]) -> Result<Vec<f64>, DumpError> {
    let total = usize::try_from(t.len()).map_err(|_| {
        DumpError::bad_field(&t.file, &t.name, "size", "too large for this machine")
    })?;
    let mut out = vec![0.0; total];
    for chunk in chunks {
        let values = read_chunk(t, chunk)?;
        layout::place(&mut out, &t.shape, chunk.region(), &values);
    }
    Ok(out)
}

fn read_chunk(t: &TensorMeta, chunk: &Chunk) -> Result<Vec<f64>, DumpError> {
    let mut file =
        crate::files::open_regular(&chunk.file).map_err(|e| DumpError::io(&chunk.file, e))?;
    file.seek(SeekFrom::Start(chunk.byte_offset))
        .map_err(|e| DumpError::io(&chunk.file, e))?;
    let mut bytes = Vec::new();
    file.take(chunk.byte_len)
        .read_to_end(&mut bytes)
        .map_err(|e| DumpError::io(&chunk.file, e))?;
    if (bytes.len() as u64) < chunk.byte_len {
        return Err(DumpError::Truncated {
            file: chunk.file.clone(),
            tensor: t.name.clone(),
            needed: chunk.byte_offset + chunk.byte_len,
            available: chunk.byte_offset + bytes.len() as u64,
        });
    }
    let label = PathBuf::from(format!("{}@{}", chunk.file.display(), chunk.byte_offset));
    let bytes: Arc<[u8]> = Arc::from(bytes);
    let input = Input {
        path: &label,
        memory: Some(&bytes),
    };
    let found = torch::scan(input)?;
    let [piece] = &found[..] else {
        return Err(DumpError::bad_field(
            &chunk.file,
            &t.name,
            "chunk",
            format!(
                "the blob at byte {} holds {} tensors, not one",
                chunk.byte_offset,
                found.len()
            ),
        ));
    };
    if piece.shape != chunk.sizes || piece.dtype != t.dtype {
        return Err(DumpError::bad_field(
            &chunk.file,
            &t.name,
            "chunk",
            format!(
                "the blob at byte {} is {} {:?}, the metadata says {} {:?}",
                chunk.byte_offset, piece.dtype, piece.shape, t.dtype, chunk.sizes
            ),
        ));
    }
    let meta = TensorMeta {
        name: t.name.clone(),
        step: t.step,
        dtype: piece.dtype,
        shape: piece.shape.clone(),
        file: label.clone(),
        position: None,
        memory: Some(Arc::clone(&bytes)),
        locator: piece.locator.clone(),
        placement: None,
    };
    super::read_values(&meta)
}
