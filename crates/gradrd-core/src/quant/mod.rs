//! Scalar quantizers for gradient entries: the [`Codebook`] that training code
//! consumes, and the M-weighted Lloyd-Max design that minimizes
//!
//! ```text
//! d_M = E[ |X|^M · (X − Q(X))² ]
//! ```
//!
//! for a fitted density ([`lloyd`]) or for the recorded samples themselves
//! ([`empirical`]). M = 0 is the classical minimum-MSE quantizer of
//! J. Max, "Quantizing for minimum distortion", IRE Trans. Inf. Theory IT-6
//! (1960) 7–12, and S. P. Lloyd, "Least squares quantization in PCM" (1957,
//! IEEE Trans. Inf. Theory IT-28, 1982). For M > 0 the optimality conditions
//! keep their form with the weight `|x|^M` (it depends only on x, so it
//! cancels in the nearest-neighbour test):
//!
//! ```text
//! c_i = E[|X|^M X | t_{i−1} < X ≤ t_i] / E[|X|^M | t_{i−1} < X ≤ t_i]
//! t_i = (c_i + c_{i+1}) / 2
//! ```
//!
//! **Zero level.** With `zero_level` one cell has its center pinned at exactly
//! 0 and the other cells are designed around it (their thresholds are still
//! the midpoints, so the zero cell is `((c_{k−1})/2, c_{k+1}/2]`). The pinned
//! cell is `k = min(⌊L · F(0)⌋, L − 1)`, where `F(0)` is the probability of a
//! negative value (for samples: the fraction of negative values plus half the
//! fraction of exact zeros). A source symmetric about 0 with odd L already has
//! a zero center; with even L the zero cell is `L/2` (L/2 cells below, L/2 − 1
//! above).

pub mod baseline;
pub mod codebook;
pub mod coding;
pub mod empirical;
pub mod evaluate;
pub mod export;
pub mod lloyd;
pub mod minifloat;
mod quadrature;
pub mod rd;
mod solver;
pub mod tensor;

#[cfg(test)]
pub(crate) mod reference_source;

pub use codebook::{Codebook, CodebookError};
pub use minifloat::MiniFloat;
pub use solver::{Design, LloydOptions};

/// Largest bit width a design accepts (`L = 2^bits ≤ 65 536`).
pub const MAX_BITS: u32 = 16;

/// Why a quantizer could not be designed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantError {
    #[error("bits must be between 1 and {MAX_BITS}, got {0}")]
    Bits(u32),
    #[error("levels must be between 2 and {max}, got {levels}", max = 1usize << MAX_BITS)]
    Levels { levels: usize },
    #[error("weight exponent m must be finite and >= 0, got {0}")]
    WeightExponent(f64),
    #[error("tolerance must be finite and > 0, got {0}")]
    Tolerance(f64),
    #[error("entropy coding failed: {0}")]
    Coding(String),
    #[error("samples: none to work on")]
    NoSamples,
    #[error("samples: {0} non-finite value(s); remove them before designing a quantizer")]
    NonFiniteSamples(usize),
    #[error("samples: {distinct} distinct value(s) cannot fill {levels} levels (a zero-level design needs enough negative and positive values on each side)")]
    TooFewDistinct { distinct: usize, levels: usize },
    #[error("source {source_name}: cell {cell} of [{lower}, {upper}] has no weighted probability mass (moments {moments:?})")]
    EmptyCell {
        source_name: String,
        cell: usize,
        lower: f64,
        upper: f64,
        moments: [f64; 3],
    },
    #[error("source {source_name}: the fitted scale {scale} is not a finite positive number")]
    Scale { source_name: String, scale: f64 },
    #[error(transparent)]
    Codebook(#[from] CodebookError),
}

/// What to design: `levels` cells, weight exponent `m`, optional exact zero.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DesignSpec {
    levels: usize,
    m: f64,
    zero_level: bool,
}

impl DesignSpec {
    /// Checks `2 ≤ levels ≤ 2^16` and `m` finite, `m ≥ 0`.
    pub fn new(levels: usize, m: f64, zero_level: bool) -> Result<Self, QuantError> {
        if !(2..=(1usize << MAX_BITS)).contains(&levels) {
            return Err(QuantError::Levels { levels });
        }
        if !(m.is_finite() && m >= 0.0) {
            return Err(QuantError::WeightExponent(m));
        }
        Ok(Self {
            levels,
            m,
            zero_level,
        })
    }

    /// `L = 2^bits` levels, `1 ≤ bits ≤ 16`.
    pub fn from_bits(bits: u32, m: f64, zero_level: bool) -> Result<Self, QuantError> {
        Self::new(levels_from_bits(bits)?, m, zero_level)
    }

    pub fn levels(&self) -> usize {
        self.levels
    }
    pub fn m(&self) -> f64 {
        self.m
    }
    pub fn zero_level(&self) -> bool {
        self.zero_level
    }
}

/// `L = 2^bits` for `1 ≤ bits ≤ 16`.
pub fn levels_from_bits(bits: u32) -> Result<usize, QuantError> {
    if (1..=MAX_BITS).contains(&bits) {
        Ok(1usize << bits)
    } else {
        Err(QuantError::Bits(bits))
    }
}

/// The pinned zero cell for a zero-level design: `min(⌊L · F(0)⌋, L − 1)`.
pub(crate) fn zero_cell_index(levels: usize, probability_below_zero: f64) -> usize {
    let scaled = (levels as f64 * probability_below_zero.clamp(0.0, 1.0)).floor();
    (scaled as usize).min(levels - 1)
}

/// Entropy in bits of a probability vector (zero entries contribute 0).
pub(crate) fn entropy_bits(probabilities: &[f64]) -> f64 {
    probabilities
        .iter()
        .filter(|p| **p > 0.0)
        .map(|p| -p * p.log2())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_outside_1_to_16_are_errors() {
        assert_eq!(levels_from_bits(0), Err(QuantError::Bits(0)));
        assert_eq!(levels_from_bits(17), Err(QuantError::Bits(17)));
        assert_eq!(levels_from_bits(1), Ok(2));
        assert_eq!(levels_from_bits(8), Ok(256));
    }

    #[test]
    fn spec_rejects_bad_levels_and_weights() {
        assert!(matches!(
            DesignSpec::new(1, 0.0, false),
            Err(QuantError::Levels { levels: 1 })
        ));
        assert!(matches!(
            DesignSpec::new(4, -0.5, false),
            Err(QuantError::WeightExponent(_))
        ));
        assert!(matches!(
            DesignSpec::new(4, f64::NAN, false),
            Err(QuantError::WeightExponent(_))
        ));
        assert!(matches!(
            DesignSpec::new(4, f64::INFINITY, false),
            Err(QuantError::WeightExponent(_))
        ));
        assert!(DesignSpec::from_bits(0, 1.0, false).is_err());
        assert!(DesignSpec::new(4, 2.0, true).is_ok());
    }

    #[test]
    fn zero_cell_rule() {
        assert_eq!(zero_cell_index(7, 0.5), 3);
        assert_eq!(zero_cell_index(8, 0.5), 4);
        assert_eq!(zero_cell_index(8, 1.0), 7);
        assert_eq!(zero_cell_index(8, 0.0), 0);
    }

    #[test]
    fn entropy_of_uniform_and_point_mass() {
        gradrd_testkit::assert_close(entropy_bits(&[0.25; 4]), 2.0, 1e-15, 0.0);
        gradrd_testkit::assert_close(entropy_bits(&[1.0, 0.0]), 0.0, 0.0, 1e-300);
    }
}
