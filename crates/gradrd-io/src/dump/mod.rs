//! Gradient dumps: the [`Dump`] model (tensors keyed by name and step, with
//! dtype and shape) and its readers.
//!
//! A dump is one file (one step) or a directory of files (a time series), or
//! one file's bytes held in memory ([`Dump::from_bytes`], same readers). The
//! readers take headers only when a dump is opened; values are read on demand
//! and returned in C (row-major) order as `f64`. Each file is read by the
//! format its first bytes announce (`format.rs`), its name only breaking
//! ties. Steps come from a table column, hive `step=N` directories, a step
//! keyword in the file or folder name, recorder metadata, or a bare number in
//! a name that is not a shard, rank or dtype counter, in that order
//! (`discover.rs`, `step_name.rs`).
//!
//! | format | module | notes |
//! |---|---|---|
//! | safetensors | `safetensors.rs` | memory-mapped; `__metadata__["step"]` is a step source, `["order"]` the model's order |
//! | NumPy `.npy` 1.0/2.0/3.0 | `npy.rs` | memory-mapped; `<`/`>` byte order, C or Fortran order |
//! | NumPy `.npz` | `npz.rs` | zip (stored or deflated, zip64) of `.npy` entries |
//! | `torch.save` zip (torch ≥ 1.6; `.pt`, `.pth`, `pytorch_model.bin`) | `torch.rs` | `data.pkl` run by a bounded pickle VM (`pickle.rs`); dicts, lists, tuples |
//! | legacy `torch.save` (pickles, then raw storages) | `legacy_torch.rs` | storages memory-mapped in place |
//! | Hugging Face shard index (`*.index.json`) | `hf_index.rs` | shards checked against `weight_map`; one step per folder |
//! | torch.distributed.checkpoint (`.metadata` + `*.distcp`) | `dcp.rs` | each tensor assembled from its chunks across files on read |
//! | per-rank shards (`__metadata__["shards"]`, DTensor / FSDP2 recorder) | `shards.rs` | the pieces of one step joined into the whole tensor on read |
//! | Parquet / CSV | `table.rs` | long `(tensor, step, value)` or wide (one column per tensor); hive `tensor=…/step=…` directories; Parquet footers bounds-checked first (`parquet_footer.rs`) |
//!
//! Formats follow `design/formats.md`; the .npy layout is NEP 1
//! (<https://numpy.org/neps/nep-0001-npy-format.html>), safetensors is
//! <https://github.com/huggingface/safetensors#format>.
//!
//! Writers that name files after tensors go through [`file_name::file_component`]
//! (one percent-encoded path component, never a way out of the folder).
//!
//! Non-finite values are data here: [`Dump::read`] returns them as stored and
//! [`Dump::summarize`] counts them; the caller decides what to do.

mod dcp;
mod discover;
mod elements;
mod error;
pub mod file_name;
mod format;
mod hf_index;
mod input;
mod layout;
mod legacy_torch;
mod mapped;
mod npy;
mod npz;
mod parquet_footer;
mod parquet_thrift;
mod pickle;
mod safetensors;
mod select;
mod shards;
mod source;
mod step_name;
mod table;
mod torch;
mod zipped;

use gradrd_core::analysis::depth::DepthOrder;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use elements::{DType, Summary};
pub use error::DumpError;
pub(crate) use hf_index::is_plain_file_name;
pub use npy::f64_npy_bytes;
pub use select::{tensor_regex, Selection, StepRange, StepRangeError};
pub use source::{unreadable, Selected};

use input::Input;
use layout::{Locator, Source};

/// One tensor of a dump: where it is and what it holds.
#[derive(Debug, Clone)]
pub struct TensorMeta {
    /// Parameter name (nested dict keys joined with `.`; a bare tensor or a
    /// `.npy` file takes the file stem).
    pub name: String,
    /// Training step, if the file name, a parent directory or the file says.
    pub step: Option<u64>,
    pub dtype: DType,
    /// Shape in C order (`[]` for a scalar).
    pub shape: Vec<u64>,
    /// The file the tensor lives in (for [`Dump::from_bytes`], the name given;
    /// for a torch.distributed.checkpoint, its `.metadata`).
    pub file: PathBuf,
    /// The tensor's position in its file, when the format keeps the
    /// writer's order (a pickled state dict, an .npz, a DCP checkpoint, a
    /// safetensors file whose recorder wrote `__metadata__["order"]`).
    pub position: Option<u32>,
    /// The file's bytes, for a dump read from memory.
    memory: Option<Arc<[u8]>>,
    locator: Locator,
    /// Where this piece sits in a tensor sharded across rank files, until
    /// the dump joins the pieces (`shards.rs`).
    placement: Option<shards::Placement>,
}

impl TensorMeta {
    /// Number of elements, `Π shape` (1 for a scalar).
    pub fn len(&self) -> u64 {
        layout::element_count(&self.shape).unwrap_or(0)
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn input(&self) -> Input<'_> {
        Input {
            path: &self.file,
            memory: self.memory.as_ref(),
        }
    }
}

/// Where a tensor's step comes from inside its file (precedence: `discover.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InnerStep {
    /// The file says nothing.
    Absent,
    /// safetensors `__metadata__["step"]`: used when the path has no number.
    Metadata(u64),
    /// A table's `step` column: always wins.
    Column(u64),
}

/// A tensor found by a reader, before the dump assigns its step.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<u64>,
    pub locator: Locator,
    pub inner_step: InnerStep,
    /// Where the tensor sits in a whole tensor sharded across files.
    pub placement: Option<shards::Placement>,
}

/// How tensors that several files of one step hold under one name are
/// settled when a directory is opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Collisions {
    /// Leave them out and report each (naming both files).
    #[default]
    Report,
    /// Name each `<file path below the dump, no extension>/<name>`.
    Prefix,
    /// Keep the one in the first file (path order).
    First,
}

/// Options of [`Dump::open_with`].
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    pub collisions: Collisions,
}

/// Something the opening of a dump left out or settled, with the reason: a
/// directory entry not read, or names settled by the collision rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpNote {
    pub path: PathBuf,
    pub what: String,
}

impl std::fmt::Display for DumpNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.what)
    }
}

/// A gradient dump: the tensors of one file or of a directory of files.
#[derive(Debug)]
pub struct Dump {
    tensors: Vec<TensorMeta>,
    skipped: Vec<(PathBuf, DumpError)>,
    notes: Vec<DumpNote>,
}

impl Dump {
    /// Opens a dump file or directory, reading headers only, with the
    /// default [`OpenOptions`].
    ///
    /// A directory is searched recursively (`discover.rs`): every file is
    /// read by the format its bytes announce; entries that are not read are
    /// listed in [`Dump::notes`]; files that fail to open are listed in
    /// [`Dump::skipped`] and the rest still load. A directory without any
    /// readable tensor is an error.
    pub fn open(path: impl AsRef<Path>) -> Result<Dump, DumpError> {
        Dump::open_with(path, OpenOptions::default())
    }

    /// [`Dump::open`] with options.
    pub fn open_with(path: impl AsRef<Path>, options: OpenOptions) -> Result<Dump, DumpError> {
        let path = path.as_ref();
        let metadata = std::fs::metadata(path).map_err(|e| DumpError::io(path, e))?;
        let opened = if metadata.is_dir() {
            discover::open_directory(path, options.collisions)?
        } else if !metadata.is_file() {
            return Err(DumpError::malformed(
                path,
                format!(
                    "not a regular file or folder but {}, not read",
                    crate::files::special_kind(&metadata.file_type())
                ),
            ));
        } else {
            discover::open_file(Input::file(path))?
        };
        Ok(Dump::sorted(opened))
    }

    /// Reads a dump file held in memory, through the same readers as
    /// [`Dump::open`]: `name` is the file name, which names the file in
    /// errors, may give the step, and picks the format when the bytes do not.
    pub fn from_bytes(
        name: impl AsRef<Path>,
        bytes: impl Into<Arc<[u8]>>,
    ) -> Result<Dump, DumpError> {
        let bytes = bytes.into();
        let input = Input {
            path: name.as_ref(),
            memory: Some(&bytes),
        };
        Ok(Dump::sorted(discover::open_file(input)?))
    }

    fn sorted(opened: discover::Opened) -> Dump {
        let mut tensors = opened.tensors;
        tensors.sort_by(|a, b| (a.step, &a.name).cmp(&(b.step, &b.name)));
        Dump {
            tensors,
            skipped: opened.skipped,
            notes: opened.notes,
        }
    }

    /// All tensors, sorted by `(step, name)` (tensors without a step first).
    pub fn tensors(&self) -> &[TensorMeta] {
        &self.tensors
    }

    /// The model's tensor order as this dump's writer kept it
    /// ([`DepthOrder::from_positions`]), names where it kept none.
    pub fn depth_order(&self) -> DepthOrder {
        DepthOrder::from_positions(
            self.tensors
                .iter()
                .map(|t| (t.step, t.file.as_path(), t.name.as_str(), t.position)),
        )
    }

    /// Files of a directory dump that could not be opened (and tensors left
    /// out by the collision rule), with the reason.
    pub fn skipped(&self) -> &[(PathBuf, DumpError)] {
        &self.skipped
    }

    /// Directory entries not read and names settled, with the reason.
    pub fn notes(&self) -> &[DumpNote] {
        &self.notes
    }

    /// The tensors that `sel` selects, in `(step, name)` order.
    pub fn select(&self, sel: &Selection) -> Vec<&TensorMeta> {
        self.tensors.iter().filter(|t| sel.matches(t)).collect()
    }

    /// All values of `t` as `f64` in C (row-major) order, non-finite values
    /// included. An empty tensor gives an empty vector.
    pub fn read(&self, t: &TensorMeta) -> Result<Vec<f64>, DumpError> {
        read_values(t)
    }

    /// [`Dump::read`] of each of `metas`, in order.
    pub fn read_each(&self, metas: &[&TensorMeta]) -> Result<Vec<Vec<f64>>, DumpError> {
        metas.iter().map(|t| self.read(t)).collect()
    }

    /// Counts of zeros and non-finite values and the finite range of `t`,
    /// streamed over the raw bytes (memory-mapped formats never hold an f64
    /// copy; chunks are summarized in parallel).
    pub fn summarize(&self, t: &TensorMeta) -> Result<Summary, DumpError> {
        let loc = &t.locator;
        // Summary is order-free, so C and Fortran data need no reordering.
        let order_free = !matches!(loc.layout, layout::Layout::Strided { .. });
        match &loc.source {
            Source::Memory(values) => Ok(Summary::of_values(values)),
            Source::Mapped if order_free => {
                let contents = t.input().contents()?;
                Ok(Summary::of_bytes(mapped_bytes(&contents, t)?, loc.encoding))
            }
            Source::ZipEntry(entry) if order_free => Ok(Summary::of_bytes(
                &zipped::read_entry(t, entry)?,
                loc.encoding,
            )),
            _ => Ok(Summary::of_values(&self.read(t)?)),
        }
    }
}

/// [`Dump::read`]: the values of `t` wherever they are stored.
fn read_values(t: &TensorMeta) -> Result<Vec<f64>, DumpError> {
    let loc = &t.locator;
    let data = match &loc.source {
        Source::Memory(values) => return Ok(values.to_vec()),
        Source::Chunks(chunks) => return dcp::read(t, chunks),
        Source::Shards(pieces) => return shards::read(t, pieces),
        Source::Mapped => {
            let contents = t.input().contents()?;
            loc.encoding.decode(mapped_bytes(&contents, t)?)
        }
        Source::ZipEntry(entry) => loc.encoding.decode(&zipped::read_entry(t, entry)?),
    };
    layout::to_c_order(data, &t.shape, &loc.layout).ok_or_else(|| {
        DumpError::bad_field(
            &t.file,
            &t.name,
            "layout",
            "strided view reaches past its data",
        )
    })
}

/// The bytes of `t` inside the mapped file, bounds-checked (the file may
/// have changed since it was opened).
fn mapped_bytes<'m>(map: &'m [u8], t: &TensorMeta) -> Result<&'m [u8], DumpError> {
    let loc = &t.locator;
    let truncated = |needed: u64| DumpError::Truncated {
        file: t.file.clone(),
        tensor: t.name.clone(),
        needed,
        available: map.len() as u64,
    };
    let len = loc.byte_len().ok_or_else(|| truncated(u64::MAX))?;
    let end = loc
        .data_start
        .checked_add(len)
        .ok_or_else(|| truncated(u64::MAX))?;
    let range = usize::try_from(loc.data_start)
        .ok()
        .zip(usize::try_from(end).ok());
    range
        .and_then(|(start, end)| map.get(start..end))
        .ok_or_else(|| truncated(end))
}

/// Two tensors were recorded at no common step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the two tensors share no recorded step")]
pub struct NoCommonStep;

/// The entries of two tensors' step lists at the steps both have, paired in
/// `a`'s order.
pub fn common_steps<'a>(
    a: &[&'a TensorMeta],
    b: &[&'a TensorMeta],
) -> Result<(Vec<&'a TensorMeta>, Vec<&'a TensorMeta>), NoCommonStep> {
    let (left, right): (Vec<_>, Vec<_>) = a
        .iter()
        .filter_map(|ma| b.iter().find(|mb| mb.step == ma.step).map(|mb| (*ma, *mb)))
        .unzip();
    if left.is_empty() {
        return Err(NoCommonStep);
    }
    Ok((left, right))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CLI summarizes tensors from rayon threads and wraps errors in
    /// `anyhow`; this fails to compile if either stops being thread-safe.
    #[test]
    fn dump_and_errors_are_send_and_sync() {
        fn thread_safe<T: Send + Sync + 'static>() {}
        thread_safe::<Dump>();
        thread_safe::<DumpError>();
        thread_safe::<TensorMeta>();
    }
}
