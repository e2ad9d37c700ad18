//! A replay over a whole dump: one [`ErrorFeedback`] unit per tensor, or one
//! unit over all tensors concatenated in their given order (global
//! compression, e.g. global top-k). Steps are fed in order, each with the
//! gradients of every tensor.

use serde::Serialize;

use super::bits::BitModel;
use super::feedback::{ErrorFeedback, Feedback, StepOutcome};
use super::rng::SplitMix64;
use super::sparsify::Compressor;
use super::CompressError;

/// How the tensors are grouped into units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// One unit per tensor.
    PerTensor,
    /// One unit over all tensors, concatenated.
    Global,
}

/// A failure inside a run: which tensor (for a global run, the first tensor
/// involved in the failure if known, else 0) and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("tensor #{tensor}: {error}")]
pub struct RunError {
    pub tensor: usize,
    pub error: CompressError,
}

/// The totals of one step over all units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStep {
    pub sent: u64,
    pub bits: f64,
    pub error_sq: f64,
    /// `‖e‖²` summed over units after the step.
    pub residual_sq: f64,
    /// The outcome of every unit (one per tensor, or one for a global run).
    pub units: Vec<StepOutcome>,
}

/// Totals over a run.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct RunTotals {
    pub steps: usize,
    pub sent: u64,
    pub bits: f64,
    pub total_error: f64,
    /// `‖e_T‖²` after the last step.
    pub residual_sq: f64,
}

/// The replay state of a run.
#[derive(Debug, Clone)]
pub struct Run {
    sizes: Vec<usize>,
    scope: Scope,
    units: Vec<ErrorFeedback>,
    concatenated: Vec<f64>,
    totals: RunTotals,
}

impl Run {
    /// `sizes[i]` entries in tensor `i`; `compressor(u, n)` makes the
    /// compressor of unit `u` with `n` entries (for a global run `u = 0`,
    /// `n = Σ sizes`). Unit `u` draws from `SplitMix64::for_unit(seed, u)`.
    pub fn new(
        sizes: &[usize],
        scope: Scope,
        mut compressor: impl FnMut(usize, usize) -> Compressor,
        feedback: Feedback,
        bits: BitModel,
        seed: u64,
    ) -> Result<Self, RunError> {
        let unit_sizes: Vec<usize> = match scope {
            Scope::PerTensor => sizes.to_vec(),
            Scope::Global => vec![sizes.iter().sum()],
        };
        let units = unit_sizes
            .iter()
            .enumerate()
            .map(|(u, &n)| {
                ErrorFeedback::new(
                    n,
                    compressor(u, n),
                    feedback,
                    bits,
                    SplitMix64::for_unit(seed, u as u64),
                )
                .map_err(|error| RunError { tensor: u, error })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            sizes: sizes.to_vec(),
            scope,
            units,
            concatenated: Vec::new(),
            totals: RunTotals::default(),
        })
    }

    /// One step: `gradients[i]` is tensor `i`'s gradient at this step.
    pub fn step<G: AsRef<[f64]>>(&mut self, gradients: &[G]) -> Result<RunStep, RunError> {
        if gradients.len() != self.sizes.len() {
            return Err(RunError {
                tensor: gradients.len().min(self.sizes.len()),
                error: CompressError::Length {
                    got: gradients.len(),
                    expected: self.sizes.len(),
                },
            });
        }
        for (i, (g, &n)) in gradients.iter().zip(&self.sizes).enumerate() {
            let got = g.as_ref().len();
            if got != n {
                return Err(RunError {
                    tensor: i,
                    error: CompressError::Length { got, expected: n },
                });
            }
        }
        let outcomes = match self.scope {
            Scope::PerTensor => self
                .units
                .iter_mut()
                .zip(gradients)
                .enumerate()
                .map(|(i, (unit, g))| {
                    unit.step(g.as_ref())
                        .map_err(|error| RunError { tensor: i, error })
                })
                .collect::<Result<Vec<_>, _>>()?,
            Scope::Global => {
                self.concatenated.clear();
                for g in gradients {
                    self.concatenated.extend_from_slice(g.as_ref());
                }
                let outcome = self.units[0].step(&self.concatenated).map_err(|error| {
                    let tensor = match &error {
                        CompressError::NonFinite { index, .. } => self.tensor_of(*index),
                        _ => 0,
                    };
                    RunError { tensor, error }
                })?;
                vec![outcome]
            }
        };
        let step = RunStep {
            sent: outcomes.iter().map(|o| o.sent as u64).sum(),
            bits: outcomes.iter().map(|o| o.bits).sum(),
            error_sq: outcomes.iter().map(|o| o.error_sq).sum(),
            residual_sq: outcomes.iter().map(|o| o.residual_sq).sum(),
            units: outcomes,
        };
        self.totals.steps += 1;
        self.totals.sent += step.sent;
        self.totals.bits += step.bits;
        self.totals.total_error += step.error_sq;
        self.totals.residual_sq = step.residual_sq;
        Ok(step)
    }

    /// Totals so far.
    pub fn totals(&self) -> RunTotals {
        self.totals
    }

    /// The units (one per tensor, or one).
    pub fn units(&self) -> &[ErrorFeedback] {
        &self.units
    }

    /// `‖e‖²` over all units.
    pub fn residual_sq(&self) -> f64 {
        self.units
            .iter()
            .flat_map(|u| u.residual().iter())
            .map(|e| e * e)
            .sum()
    }

    /// Multiplies every unit's memory by `factor`.
    pub fn scale_residuals(&mut self, factor: f64) {
        for unit in &mut self.units {
            unit.scale_residual(factor);
        }
    }

    fn tensor_of(&self, mut index: usize) -> usize {
        for (i, &n) in self.sizes.iter().enumerate() {
            if index < n {
                return i;
            }
            index -= n;
        }
        0
    }
}

/// Replays `steps` (each: one gradient per tensor) and returns the totals.
pub fn replay_totals<G: AsRef<[f64]>>(
    steps: &[Vec<G>],
    scope: Scope,
    compressor: impl FnMut(usize, usize) -> Compressor,
    feedback: Feedback,
    bits: BitModel,
    seed: u64,
) -> Result<RunTotals, RunError> {
    let Some(first) = steps.first() else {
        return Ok(RunTotals::default());
    };
    let sizes: Vec<usize> = first.iter().map(|g| g.as_ref().len()).collect();
    let mut run = Run::new(&sizes, scope, compressor, feedback, bits, seed)?;
    for step in steps {
        run.step(step)?;
    }
    Ok(run.totals())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::PositionCoding;
    use gradrd_testkit::assert_close;

    fn bits() -> BitModel {
        BitModel {
            positions: PositionCoding::Index,
            value_bits: 32.0,
        }
    }

    #[test]
    fn global_top_k_selects_across_tensors() {
        // tensors (3, 1) and (0.5): global top-1 of 3 sends only the 3
        let steps = vec![vec![vec![3.0, 1.0], vec![0.5]]];
        let top = |_, _| Compressor::TopK { fraction: 0.34 };
        let global = replay_totals(&steps, Scope::Global, top, Feedback::None, bits(), 0).unwrap();
        assert_eq!(global.sent, 2); // ⌈0.34 · 3⌉ = 2: 3 and 1
        assert_close(global.total_error, 0.25, 0.0, 0.0);
        let per = replay_totals(&steps, Scope::PerTensor, top, Feedback::None, bits(), 0).unwrap();
        assert_eq!(per.sent, 2); // ⌈0.68⌉ + ⌈0.34⌉ = 1 + 1: 3 and 0.5
        assert_close(per.total_error, 1.0, 0.0, 0.0);
    }

    #[test]
    fn a_changed_shape_names_the_tensor() {
        let mut run = Run::new(
            &[2, 3],
            Scope::PerTensor,
            |_, _| Compressor::TopK { fraction: 0.5 },
            Feedback::Full,
            bits(),
            0,
        )
        .unwrap();
        let err = run.step(&[vec![1.0, 2.0], vec![1.0]]).unwrap_err();
        assert_eq!(err.tensor, 1);
        assert!(matches!(
            err.error,
            CompressError::Length {
                got: 1,
                expected: 3
            }
        ));
    }
}
