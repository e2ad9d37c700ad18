//! Preparing a tensor's values for a continuous model.
//!
//! Real gradients hold exact zeros (dead ReLUs: 10–30 % of a layer) and
//! sparsified dumps hold far more. A point mass breaks continuous maximum
//! likelihood (scipy's `gennorm.fit` collapses to β ≈ 0.19 on such a layer),
//! so by default zeros are modelled as a point mass: the zero fraction is
//! reported and the continuous part is fitted on the non-zeros.
//!
//! Non-finite values are an error that names their count unless the caller
//! asks to omit them; they are never dropped silently.

use serde::{Deserialize, Serialize};

/// What to do with exact zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ZeroPolicy {
    /// Zero-inflated model: report the zero fraction `π`, fit the non-zeros,
    /// and report the mixture's log-likelihood
    /// `z·ln π + (n − z)·ln(1 − π) + loglik(non-zeros)` beside the fit's.
    Auto,
    /// Fit every value, zeros included.
    Keep,
    /// Fit the non-zeros and report nothing about the point mass.
    Drop,
}

/// What to do with NaN and ±∞.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NanPolicy {
    /// A tensor with non-finite values fails with their count.
    Error,
    /// Non-finite values are removed (and counted in the output).
    Omit,
}

/// The values a model is fitted on, with what was set aside.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The values to fit, in their original order.
    pub values: Vec<f64>,
    /// Entries in the tensor.
    pub total: usize,
    /// Exact zeros in the tensor (whether or not they were kept).
    pub zeros: usize,
    /// NaN and ±∞ entries (only non-zero under [`NanPolicy::Omit`]).
    pub nonfinite: usize,
    /// Whether the zeros were removed from `values`.
    pub zeros_removed: bool,
}

impl Prepared {
    /// Fraction of exact zeros among the finite entries.
    pub fn zero_fraction(&self) -> f64 {
        let finite = self.total - self.nonfinite;
        if finite == 0 {
            0.0
        } else {
            self.zeros as f64 / finite as f64
        }
    }
}

/// Why a tensor cannot be modelled.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrepareError {
    #[error("{nan} NaN and {inf} infinite values (nan = omit leaves them out)")]
    NonFinite { nan: usize, inf: usize },
    #[error("empty tensor: no values to fit")]
    Empty,
    #[error("only {available} {what} value(s); a fit needs at least {needed}")]
    TooFew {
        available: usize,
        needed: usize,
        what: &'static str,
    },
    #[error("{0}")]
    Statistics(String),
    #[error(
        "all {count} {what} values equal {value:e}: a constant tensor has no continuous model"
    )]
    Constant {
        count: usize,
        value: f64,
        what: &'static str,
    },
}

/// The fewest values a two- or three-parameter fit is attempted on.
pub const MIN_VALUES: usize = 3;

/// Applies the zero and non-finite policies to a tensor's values.
pub fn prepare(
    mut values: Vec<f64>,
    zeros: ZeroPolicy,
    nan: NanPolicy,
) -> Result<Prepared, PrepareError> {
    let total = values.len();
    if total == 0 {
        return Err(PrepareError::Empty);
    }
    let nan_count = values.iter().filter(|v| v.is_nan()).count();
    let inf_count = values.iter().filter(|v| v.is_infinite()).count();
    let nonfinite = nan_count + inf_count;
    if nonfinite > 0 {
        match nan {
            NanPolicy::Error => {
                return Err(PrepareError::NonFinite {
                    nan: nan_count,
                    inf: inf_count,
                })
            }
            NanPolicy::Omit => values.retain(|v| v.is_finite()),
        }
    }
    let zero_count = values.iter().filter(|v| **v == 0.0).count();
    let zeros_removed = zeros != ZeroPolicy::Keep && zero_count > 0;
    if zeros_removed {
        values.retain(|v| *v != 0.0);
    }
    let what = if zeros_removed {
        "non-zero finite"
    } else {
        "finite"
    };
    if values.len() < MIN_VALUES {
        return Err(PrepareError::TooFew {
            available: values.len(),
            needed: MIN_VALUES,
            what,
        });
    }
    let first = values[0];
    if values.iter().all(|v| *v == first) {
        return Err(PrepareError::Constant {
            count: values.len(),
            value: first,
            what,
        });
    }
    Ok(Prepared {
        values,
        total,
        zeros: zero_count,
        nonfinite,
        zeros_removed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_removes_zeros_and_counts_them() {
        let p = prepare(
            vec![0.0, 1.0, -2.0, 0.0, 3.0],
            ZeroPolicy::Auto,
            NanPolicy::Error,
        )
        .unwrap();
        assert_eq!(p.values, vec![1.0, -2.0, 3.0]);
        assert_eq!((p.total, p.zeros, p.nonfinite), (5, 2, 0));
        assert!(p.zeros_removed);
        gradrd_testkit::assert_close(p.zero_fraction(), 0.4, 0.0, 1e-15);
    }

    #[test]
    fn keep_fits_zeros_too() {
        let p = prepare(vec![0.0, 1.0, -2.0], ZeroPolicy::Keep, NanPolicy::Error).unwrap();
        assert_eq!(p.values, vec![0.0, 1.0, -2.0]);
        assert!(!p.zeros_removed);
    }

    #[test]
    fn non_finite_is_an_error_with_counts_unless_omitted() {
        let v = vec![1.0, f64::NAN, f64::INFINITY, 2.0, -3.0, f64::NEG_INFINITY];
        assert_eq!(
            prepare(v.clone(), ZeroPolicy::Auto, NanPolicy::Error),
            Err(PrepareError::NonFinite { nan: 1, inf: 2 })
        );
        let p = prepare(v, ZeroPolicy::Auto, NanPolicy::Omit).unwrap();
        assert_eq!(p.values, vec![1.0, 2.0, -3.0]);
        assert_eq!(p.nonfinite, 3);
    }

    #[test]
    fn empty_constant_and_tiny_tensors_are_errors() {
        assert_eq!(
            prepare(vec![], ZeroPolicy::Auto, NanPolicy::Error),
            Err(PrepareError::Empty)
        );
        assert!(matches!(
            prepare(vec![0.5; 10], ZeroPolicy::Auto, NanPolicy::Error),
            Err(PrepareError::Constant { count: 10, .. })
        ));
        assert!(matches!(
            prepare(vec![0.0, 0.0, 1.0], ZeroPolicy::Auto, NanPolicy::Error),
            Err(PrepareError::TooFew { available: 1, .. })
        ));
        assert!(matches!(
            prepare(vec![0.0; 100], ZeroPolicy::Auto, NanPolicy::Error),
            Err(PrepareError::TooFew { available: 0, .. })
        ));
    }
}
