//! Per-rank shards of one tensor, as `gradrd.torch.GradientRecorder` writes
//! DTensor / FSDP2 gradients: every rank writes its local piece to its own
//! safetensors file of the step, and the file's metadata says where each
//! piece sits in the whole tensor:
//!
//! ```text
//! step_000100/rank00000.safetensors   fc.weight [3, 4]   (rows 0..3 of [5, 4])
//! step_000100/rank00001.safetensors   fc.weight [2, 4]   (rows 3..5)
//! __metadata__["shards"] = '{"fc.weight": {"shape": [5, 4], "offset": [0, 0]}}'
//! ```
//!
//! Opening the dump joins the pieces of one `(step, name)` into the whole
//! tensor when they tile it exactly (the check a DCP tensor's chunks pass,
//! `layout::check_tiling`) and agree on dtype; the pieces are read and placed
//! only when the tensor is. Pieces that do not tile it (a rank's file
//! missing, two files holding the same rows) leave the tensor out with an
//! error naming the files and what is covered — never a partial tensor read
//! as if it were whole.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::discover::Opened;
use super::layout::{self, Layout, Locator, Region, Source};
use super::{DumpError, TensorMeta};

/// The `__metadata__` key holding the placements.
pub(crate) const METADATA_KEY: &str = "shards";

/// Most pieces one tensor may have (their tiling is checked pairwise).
const MAX_PIECES: usize = 4096;

/// Where a file's piece sits in the whole tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placement {
    /// Shape of the whole tensor.
    pub shape: Vec<u64>,
    /// Index of the piece's first element in the whole tensor.
    pub offset: Vec<u64>,
}

/// One rank's piece: the tensor as its file holds it, and where it goes.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub meta: TensorMeta,
    pub offset: Vec<u64>,
}

impl Piece {
    fn region(&self) -> Region<'_> {
        Region {
            offsets: &self.offset,
            sizes: &self.meta.shape,
        }
    }
}

/// The placements in a safetensors file's `__metadata__`, by tensor name
/// (none when the key is absent). A value that is not the recorder's shape
/// is an error naming the file and the key.
pub(crate) fn placements(
    path: &Path,
    metadata: Option<&Value>,
) -> Result<BTreeMap<String, Placement>, DumpError> {
    let Some(text) = metadata.and_then(|m| m.get(METADATA_KEY)) else {
        return Ok(BTreeMap::new());
    };
    let bad = |what: String| DumpError::bad_field(path, "__metadata__", METADATA_KEY, what);
    let text = text
        .as_str()
        .ok_or_else(|| bad(format!("expected a JSON string, found {text}")))?;
    let table: BTreeMap<String, Value> =
        serde_json::from_str(text).map_err(|e| bad(format!("not a JSON object: {e}")))?;
    table
        .into_iter()
        .map(|(name, entry)| {
            let dims = |key: &str| -> Option<Vec<u64>> {
                entry
                    .get(key)?
                    .as_array()?
                    .iter()
                    .map(Value::as_u64)
                    .collect()
            };
            match (dims("shape"), dims("offset")) {
                (Some(shape), Some(offset)) if shape.len() == offset.len() => {
                    Ok((name, Placement { shape, offset }))
                }
                _ => Err(bad(format!(
                    "`{name}`: expected {{\"shape\": [..], \"offset\": [..]}} of equal length"
                ))),
            }
        })
        .collect()
}

/// Joins every `(step, name)` whose tensors carry placements into one whole
/// tensor, or leaves it out (into `opened.skipped`) when its pieces do not
/// tile it. Tensors without a placement are untouched.
pub(crate) fn assemble(opened: &mut Opened) {
    let mut groups: BTreeMap<(Option<u64>, String), Vec<TensorMeta>> = BTreeMap::new();
    let mut whole = Vec::with_capacity(opened.tensors.len());
    for t in std::mem::take(&mut opened.tensors) {
        if t.placement.is_some() {
            groups.entry((t.step, t.name.clone())).or_default().push(t);
        } else {
            whole.push(t);
        }
    }
    for ((step, name), pieces) in groups {
        match join(pieces) {
            Ok(t) => whole.push(t),
            Err((file, what)) => {
                let at = step.map_or_else(|| "no step".to_string(), |s| format!("step {s}"));
                opened.skipped.push((
                    file.clone(),
                    DumpError::bad_field(&file, &name, METADATA_KEY, format!("at {at}: {what}")),
                ))
            }
        }
    }
    opened.tensors = whole;
}

/// The whole tensor of `pieces` (one `(step, name)`), or the first file and
/// why the pieces do not make it.
fn join(mut pieces: Vec<TensorMeta>) -> Result<TensorMeta, (std::path::PathBuf, String)> {
    pieces.sort_by(|a, b| a.file.cmp(&b.file));
    let first_file = pieces[0].file.clone();
    let fail = |what: String| Err((first_file.clone(), what));
    if pieces.len() > MAX_PIECES {
        return fail(format!(
            "{} pieces (at most {MAX_PIECES} are joined)",
            pieces.len()
        ));
    }
    let placement = pieces[0].placement.clone().expect("grouped by placement");
    let dtype = pieces[0].dtype;
    for p in &pieces {
        let here = p.placement.as_ref().expect("grouped by placement");
        if here.shape != placement.shape {
            return fail(format!(
                "{} says the whole tensor is {:?}, {} says {:?}",
                pieces[0].file.display(),
                placement.shape,
                p.file.display(),
                here.shape
            ));
        }
        if p.dtype != dtype {
            return fail(format!(
                "the pieces mix {dtype} ({}) and {} ({})",
                pieces[0].file.display(),
                p.dtype,
                p.file.display()
            ));
        }
    }
    let pieces: Vec<Piece> = pieces
        .into_iter()
        .map(|mut meta| {
            let offset = meta.placement.take().expect("grouped by placement").offset;
            Piece { meta, offset }
        })
        .collect();
    let regions: Vec<Region<'_>> = pieces.iter().map(Piece::region).collect();
    if let Err(what) = layout::check_tiling(&placement.shape, &regions) {
        let names: Vec<String> = pieces
            .iter()
            .map(|p| p.meta.file.display().to_string())
            .collect();
        return fail(format!(
            "the pieces in {} do not make the whole {:?} tensor: {what} (a rank's file missing?)",
            names.join(", "),
            placement.shape
        ));
    }
    let head = pieces[0].meta.clone();
    let extent = layout::element_count(&placement.shape).unwrap_or(0);
    Ok(TensorMeta {
        name: head.name,
        step: head.step,
        dtype,
        shape: placement.shape,
        file: head.file,
        position: head.position,
        memory: None,
        placement: None,
        locator: Locator {
            source: Source::Shards(Arc::from(pieces)),
            data_start: 0,
            extent,
            encoding: head.locator.encoding,
            layout: Layout::C,
        },
    })
}

/// The values of a joined tensor in C order: each piece read from its file
/// and placed.
pub(crate) fn read(t: &TensorMeta, pieces: &[Piece]) -> Result<Vec<f64>, DumpError> {
    let total = usize::try_from(t.len()).map_err(|_| {
        DumpError::bad_field(&t.file, &t.name, "size", "too large for this machine")
    })?;
    let mut out = vec![0.0; total];
    for piece in pieces {
        let values = super::read_values(&piece.meta)?;
        layout::place(&mut out, &t.shape, piece.region(), &values);
    }
    Ok(out)
}
