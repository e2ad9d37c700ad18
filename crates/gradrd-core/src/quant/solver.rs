//! What the Lloyd-Max iterations share: options and the result. The
//! iterations themselves are state machines in argmin's style (`next_iter`
//! over a state; stopping carries a [`TerminationReason`], not an error):
//! [`super::lloyd::DensityLloyd`] and [`super::empirical::SampleLloyd`].
//! They stop with [`TerminationReason::SolverConverged`] when the largest
//! center move of the last step was at most `tolerance · max_i |c_i|`, or
//! (samples) no sample changed cell, and with
//! [`TerminationReason::MaxItersReached`] after `max_iterations` steps.

use super::{Codebook, QuantError};
use crate::solver::TerminationReason;
use serde::Serialize;

/// Controls of a Lloyd-Max design.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LloydOptions {
    /// Stop after this many steps (the result says so).
    pub max_iterations: usize,
    /// Relative center move that counts as converged.
    pub tolerance: f64,
    /// Newton steps on the threshold equations (density designs only);
    /// `false` runs plain Lloyd iterations.
    pub accelerate: bool,
}

impl Default for LloydOptions {
    fn default() -> Self {
        Self {
            max_iterations: 100_000,
            tolerance: 1e-10,
            accelerate: true,
        }
    }
}

impl LloydOptions {
    pub(crate) fn validate(&self) -> Result<(), QuantError> {
        if self.tolerance.is_finite() && self.tolerance > 0.0 {
            Ok(())
        } else {
            Err(QuantError::Tolerance(self.tolerance))
        }
    }
}

/// A designed quantizer and how the design went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Design {
    pub codebook: Codebook,
    pub stop_reason: TerminationReason,
    /// Steps taken (Newton + plain Lloyd).
    pub iterations: usize,
    /// Accepted Newton steps (0 for plain Lloyd and for samples).
    pub newton_steps: usize,
    /// M-weighted distortion `E[|X|^M (X − Q(X))²]` (for samples: the mean).
    pub distortion: f64,
    /// Mean squared error `E[(X − Q(X))²]`.
    pub mse: f64,
    /// Entropy of the cell index in bits: `−Σ p_i log2 p_i`.
    pub entropy_bits: f64,
    /// Probability of each cell.
    pub probabilities: Vec<f64>,
}

/// `max_i |new_i − old_i| ≤ tolerance · max_i |new_i|`.
pub(crate) fn centers_settled(old: &[f64], new: &[f64], tolerance: f64) -> bool {
    let size = new.iter().fold(0.0f64, |m, c| m.max(c.abs()));
    let moved = old
        .iter()
        .zip(new)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    moved <= tolerance * size
}

/// Thresholds halfway between consecutive centers.
pub(crate) fn midpoints(centers: &[f64]) -> Vec<f64> {
    centers.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect()
}
