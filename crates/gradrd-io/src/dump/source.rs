//! A dump's selected tensors as the [`Source`] every registry analysis
//! reads.

use gradrd_core::analysis::depth::DepthOrder;
use gradrd_core::registry::{Failure, Source, TensorInfo};

use super::{Dump, TensorMeta};

/// The tensors of `dump` chosen by a selection, in `(step, name)` order.
///
/// ```
/// use gradrd_core::registry::fit::{Fit, FitOptions};
/// use gradrd_core::registry::{Analysis, Silent};
/// use gradrd_io::dump::{Dump, Selected, Selection};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/digits-mlp");
/// let dump = Dump::open(path)?;
/// let selection = Selection { tensor: Some(regex::Regex::new(r"^fc3\.weight$")?), ..Selection::default() };
/// let source = Selected::new(&dump, "data/digits-mlp", dump.select(&selection));
/// let output = Fit::run(&FitOptions::default(), &source, &mut Silent)?;
/// assert_eq!(output.schema, "gradrd.fit/1");
/// assert_eq!(output.results.len(), 18, "fc3.weight at each of the 18 recorded steps");
/// # Ok(())
/// # }
/// ```
pub struct Selected<'d> {
    dump: &'d Dump,
    label: String,
    metas: Vec<&'d TensorMeta>,
    infos: Vec<TensorInfo>,
    unreadable: Vec<Failure>,
}

impl<'d> Selected<'d> {
    /// `metas` of `dump` (as [`Dump::select`] returns them), called `label`
    /// in outputs and messages (the dump's path as the user wrote it).
    pub fn new(dump: &'d Dump, label: impl Into<String>, metas: Vec<&'d TensorMeta>) -> Self {
        let infos = metas
            .iter()
            .map(|meta| TensorInfo {
                name: meta.name.clone(),
                step: meta.step,
                dtype: meta.dtype,
                shape: meta.shape.clone(),
                origin: meta.file.display().to_string(),
            })
            .collect();
        Selected {
            dump,
            label: label.into(),
            metas,
            infos,
            unreadable: unreadable(dump),
        }
    }

    /// The selected tensors' metadata, in the order of [`Source::tensors`].
    pub fn metas(&self) -> &[&'d TensorMeta] {
        &self.metas
    }
}

/// The files of a dump directory that could not be opened (the other files
/// were read).
pub fn unreadable(dump: &Dump) -> Vec<Failure> {
    dump.skipped()
        .iter()
        .map(|(file, error)| Failure {
            file: Some(file.display().to_string()),
            tensor: None,
            step: None,
            error: error.to_string(),
        })
        .collect()
}

impl Source for Selected<'_> {
    fn label(&self) -> &str {
        &self.label
    }

    fn tensors(&self) -> &[TensorInfo] {
        &self.infos
    }

    fn read(&self, index: usize) -> Result<Vec<f64>, String> {
        self.dump.read(self.metas[index]).map_err(|e| e.to_string())
    }

    fn unreadable(&self) -> &[Failure] {
        &self.unreadable
    }

    fn depth_order(&self) -> DepthOrder {
        self.dump.depth_order()
    }
}
