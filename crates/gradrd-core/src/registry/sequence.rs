//! The step sequence of a source for the replays (`ef`, `budget`, `dp`,
//! `stale`): the tensors at each step, in step order, with the same tensors
//! and shapes at every step. Steps are read one at a time.

use std::collections::BTreeMap;

use super::{Source, TensorInfo};
use crate::compress::bits::stored_bits;

/// Why the selection is not a usable sequence, or a step cannot be read;
/// the message names the dump, tensor and step.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SequenceError(String);

macro_rules! fail {
    ($($arg:tt)*) => {
        return Err(SequenceError(format!($($arg)*)))
    };
}

/// The tensors of a source as a sequence of steps.
pub struct Sequence<'s> {
    source: &'s dyn Source,
    /// Tensor names in name order.
    pub names: Vec<String>,
    /// Shapes (the first step's).
    pub shapes: Vec<Vec<u64>>,
    /// Entries per tensor.
    pub sizes: Vec<usize>,
    /// `(step, indices of the source's tensors in name order)`, ascending
    /// step.
    pub steps: Vec<(u64, Vec<usize>)>,
}

impl<'s> Sequence<'s> {
    /// The name of tensor `index` (`?` when out of range).
    pub fn name(&self, index: usize) -> &str {
        self.names.get(index).map_or("?", String::as_str)
    }

    /// The stored width of each tensor, in bits per entry
    /// ([`crate::compress::bits::stored_bits`]; the widest over its
    /// steps, should a tensor change dtype between steps).
    pub fn stored_bits(&self) -> Vec<f64> {
        let mut widths = vec![0.0f64; self.names.len()];
        let tensors = self.source.tensors();
        for (_, indices) in &self.steps {
            for (width, &i) in widths.iter_mut().zip(indices) {
                *width = width.max(stored_bits(tensors[i].dtype));
            }
        }
        widths
    }

    /// Groups the tensors of `source` by step and checks that every step
    /// holds the same tensors with the same shapes, and that there are at
    /// least two steps; messages call the source `what`.
    pub fn new(source: &'s dyn Source, what: &str) -> Result<Self, SequenceError> {
        let selected = source.tensors();
        if selected.is_empty() {
            fail!("{what}: no tensor matches the selection");
        }
        let mut by_step: BTreeMap<u64, BTreeMap<&str, (usize, &TensorInfo)>> = BTreeMap::new();
        for (index, meta) in selected.iter().enumerate() {
            let step = meta.step.ok_or_else(|| {
                SequenceError(format!(
                    "{}: tensor '{}' has no step number; a replay needs a folder of per-step files",
                    meta.origin, meta.name
                ))
            })?;
            by_step
                .entry(step)
                .or_default()
                .insert(&meta.name, (index, meta));
        }
        if by_step.len() < 2 {
            fail!(
                "{what}: only one step ({}) is selected; a replay needs a sequence of at least two steps",
                by_step.keys().next().copied().unwrap_or_default()
            );
        }
        let (first_step, first) = by_step.iter().next().expect("two steps");
        let names: Vec<String> = first.keys().map(|s| s.to_string()).collect();
        let shapes: Vec<Vec<u64>> = first.values().map(|(_, m)| m.shape.clone()).collect();
        let mut steps = Vec::with_capacity(by_step.len());
        for (&step, tensors) in &by_step {
            for name in tensors.keys() {
                if !first.contains_key(name) {
                    fail!("{what}: tensor '{name}' appears at step {step} but not at step {first_step}");
                }
            }
            let mut indices = Vec::with_capacity(names.len());
            for (name, shape) in names.iter().zip(&shapes) {
                let (index, meta) = tensors.get(name.as_str()).ok_or_else(|| {
                    SequenceError(format!(
                        "{what}: tensor '{name}' is missing at step {step} (present at step {first_step})"
                    ))
                })?;
                if &meta.shape != shape {
                    fail!(
                        "{}: tensor '{name}' has shape {:?} at step {step} but {:?} at step {first_step}; shapes must not change between steps",
                        meta.origin,
                        meta.shape,
                        shape
                    );
                }
                indices.push(*index);
            }
            steps.push((step, indices));
        }
        let sizes = shapes
            .iter()
            .map(|s| s.iter().product::<u64>() as usize)
            .collect();
        Ok(Self {
            source,
            names,
            shapes,
            sizes,
            steps,
        })
    }

    /// Reads every tensor of step number `index` (position in `steps`),
    /// rejecting non-finite values with the file, tensor, step and count.
    pub fn read(&self, index: usize) -> Result<Vec<Vec<f64>>, SequenceError> {
        let (step, indices) = &self.steps[index];
        indices
            .iter()
            .map(|&i| {
                let meta = &self.source.tensors()[i];
                let values = self
                    .source
                    .read(i)
                    .map_err(|e| SequenceError(format!("reading step {step}: {e}")))?;
                let bad = values.iter().filter(|v| !v.is_finite()).count();
                if bad > 0 {
                    fail!(
                        "{}: tensor '{}' (step {step}): {bad} non-finite value(s)",
                        meta.origin,
                        meta.name
                    );
                }
                Ok(values)
            })
            .collect()
    }
}
