//! Statistics of gradient samples: moments and excess kurtosis, ranks and
//! Spearman's rho, Kolmogorov–Smirnov tests (one and two samples, with the
//! exact Kolmogorov distribution) and Wasserstein distances (sample–sample
//! and sample–distribution).
//!
//! Every function reproduces the corresponding `scipy.stats` computation
//! (`kurtosis`, `spearmanr`, `kstest`/`ks_1samp`, `ks_2samp`,
//! `wasserstein_distance`) so results can be cross-checked in one line of
//! Python. Inputs are plain slices; non-finite values are an error (the
//! caller decides whether to omit them, see the architecture's `--nan`
//! policy). All algorithms are `O(n log n)` time (one sort) and `O(n)` memory.

mod kolmogorov;
mod ks;
mod moments;
mod ranks;
mod spearman;
mod wasserstein;

pub use kolmogorov::kolmogorov_sf;
pub use ks::{ks_one_sample, ks_two_sample, KsMethod, KsResult};
pub use moments::{moments, Moments};
pub use ranks::average_ranks;
pub use spearman::{spearman, SpearmanResult};
pub use wasserstein::{wasserstein_samples, wasserstein_to_dist, Wasserstein};

use rayon::slice::ParallelSliceMut;

/// Bad input to a statistic. Messages name the sample (`"sample"`,
/// `"first sample"`, `"second sample"`) and the offending index or value;
/// callers add the tensor name.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("{sample} is empty")]
    Empty { sample: &'static str },
    #[error("{sample} has {n} values; {statistic} needs at least {min}")]
    TooSmall {
        sample: &'static str,
        statistic: &'static str,
        n: usize,
        min: usize,
    },
    #[error("{sample} holds a non-finite value {value} at index {index}")]
    NonFinite {
        sample: &'static str,
        index: usize,
        value: f64,
    },
    #[error("{sample} is not sorted ascending (index {index})")]
    NotSorted { sample: &'static str, index: usize },
    #[error("samples have different lengths ({len_a} and {len_b}); {statistic} needs pairs")]
    LengthMismatch {
        statistic: &'static str,
        len_a: usize,
        len_b: usize,
    },
    #[error("constant input: every value of {sample} is equal, so {statistic} is undefined")]
    ConstantInput {
        sample: &'static str,
        statistic: &'static str,
    },
    #[error("the cdf returned {value} (not in [0, 1]) at x = {x}")]
    InvalidCdf { x: f64, value: f64 },
}

/// Above this length sorting is done in parallel (rayon).
const PARALLEL_SORT_MIN_LEN: usize = 1 << 16;

/// Fails on the first non-finite value of `x`, naming `sample` and the index.
pub(crate) fn check_finite(sample: &'static str, x: &[f64]) -> Result<(), StatsError> {
    match x.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(StatsError::NonFinite {
            sample,
            index,
            value: x[index],
        }),
    }
}

/// Fails when `x` is empty.
pub(crate) fn check_non_empty(sample: &'static str, x: &[f64]) -> Result<(), StatsError> {
    if x.is_empty() {
        Err(StatsError::Empty { sample })
    } else {
        Ok(())
    }
}

/// Sorts in place with `f64::total_cmp` (the slice must be finite, so this is
/// the usual order except that `−0.0` precedes `+0.0`; ties are detected
/// with `==` by the callers, which treats both zeros as equal).
pub(crate) fn sort_finite(x: &mut [f64]) {
    if x.len() >= PARALLEL_SORT_MIN_LEN {
        x.par_sort_unstable_by(f64::total_cmp);
    } else {
        x.sort_unstable_by(f64::total_cmp);
    }
}

/// A finite, non-empty, sorted copy of `x`.
pub(crate) fn sorted_copy(sample: &'static str, x: &[f64]) -> Result<Vec<f64>, StatsError> {
    check_non_empty(sample, x)?;
    check_finite(sample, x)?;
    let mut sorted = x.to_vec();
    sort_finite(&mut sorted);
    Ok(sorted)
}

/// Neumaier's compensated sum: the rounding error of a long sum stays
/// `O(ε)` instead of `O(n ε)`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CompensatedSum {
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    pub(crate) fn add(&mut self, value: f64) {
        let total = self.sum + value;
        if self.sum.abs() >= value.abs() {
            self.compensation += (self.sum - total) + value;
        } else {
            self.compensation += (value - total) + self.sum;
        }
        self.sum = total;
    }

    pub(crate) fn value(self) -> f64 {
        self.sum + self.compensation
    }
}

impl std::iter::FromIterator<f64> for CompensatedSum {
    fn from_iter<I: IntoIterator<Item = f64>>(iter: I) -> Self {
        let mut acc = CompensatedSum::default();
        for v in iter {
            acc.add(v);
        }
        acc
    }
}
