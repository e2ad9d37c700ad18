//! What an analysis reads: the selected tensors of a dump (`gradrd-io`
//! implements [`Source`] for a dump and a selection) or arrays held in
//! memory ([`InMemory`], what the Python package passes).

use crate::analysis::depth::DepthOrder;
use crate::dtype::DType;

use super::Failure;

/// One tensor at one step, as a source lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub step: Option<u64>,
    /// The width it was stored in (fits of bf16/f16 values add the
    /// interval-censored likelihood of their rounding).
    pub dtype: DType,
    pub shape: Vec<u64>,
    /// Where it came from (a file path), as results and errors name it.
    pub origin: String,
}

impl TensorInfo {
    /// Entries of the tensor.
    pub fn len(&self) -> u64 {
        self.shape.iter().product()
    }

    /// Whether the tensor has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Tensors an analysis can read, in `(step, name)` order.
pub trait Source: Sync {
    /// What the source is called in outputs and messages (a dump's path).
    fn label(&self) -> &str;
    /// The tensors, sorted by `(step, name)` (tensors without a step first).
    fn tensors(&self) -> &[TensorInfo];
    /// The values of `tensors()[index]` in C order; `Err` is a one-line
    /// reason naming the file and tensor.
    fn read(&self, index: usize) -> Result<Vec<f64>, String>;
    /// Files that could not be opened (they may have held selected tensors).
    fn unreadable(&self) -> &[Failure] {
        &[]
    }
    /// The model's tensor order where the source knows it.
    fn depth_order(&self) -> DepthOrder {
        DepthOrder::by_name()
    }
}

/// Tensors held in memory.
#[derive(Debug, Clone, Default)]
pub struct InMemory {
    label: String,
    tensors: Vec<TensorInfo>,
    values: Vec<Vec<f64>>,
}

impl InMemory {
    /// An empty source called `label`.
    pub fn new(label: impl Into<String>) -> Self {
        InMemory {
            label: label.into(),
            ..InMemory::default()
        }
    }

    /// Adds a tensor (`values` in C order of `shape`), keeping `(step, name)`
    /// order.
    ///
    /// # Panics
    /// When `values` does not hold `shape`'s number of entries.
    pub fn push(
        &mut self,
        name: impl Into<String>,
        step: Option<u64>,
        dtype: DType,
        shape: Vec<u64>,
        values: Vec<f64>,
    ) {
        let origin = self.label.clone();
        self.push_from(origin, name, step, dtype, shape, values);
    }

    /// [`InMemory::push`] of a tensor that results and errors name as coming
    /// from `origin` (a file path) rather than the source's label.
    ///
    /// # Panics
    /// When `values` does not hold `shape`'s number of entries.
    pub fn push_from(
        &mut self,
        origin: impl Into<String>,
        name: impl Into<String>,
        step: Option<u64>,
        dtype: DType,
        shape: Vec<u64>,
        values: Vec<f64>,
    ) {
        let info = TensorInfo {
            name: name.into(),
            step,
            dtype,
            shape,
            origin: origin.into(),
        };
        assert_eq!(
            info.len(),
            values.len() as u64,
            "tensor `{}`: shape {:?} does not hold {} values",
            info.name,
            info.shape,
            values.len()
        );
        let at = self
            .tensors
            .partition_point(|t| (t.step, t.name.as_str()) <= (info.step, info.name.as_str()));
        self.tensors.insert(at, info);
        self.values.insert(at, values);
    }
}

impl Source for InMemory {
    fn label(&self) -> &str {
        &self.label
    }

    fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    fn read(&self, index: usize) -> Result<Vec<f64>, String> {
        Ok(self.values[index].clone())
    }
}
