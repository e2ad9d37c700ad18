//! Sample moments: mean, standard deviation (ddof = 0), skewness and excess
//! kurtosis with the biased (population) estimators of
//! `scipy.stats.skew(x, bias=True)` and
//! `scipy.stats.kurtosis(x, fisher=True, bias=True)`.
//!
//! ```text
//! m_k = (1/n) Σ (x_i − x̄)^k
//! std = √m₂        skewness = m₃ / m₂^{3/2}        excess kurtosis = m₄ / m₂² − 3
//! ```
//!
//! Computed in two passes in f64 (mean with a compensated sum and one
//! correction pass, then the central sums), so the ratios are scale
//! invariant: gradients of magnitude 1e-8 give the same kurtosis as the same
//! values times 1e6.

use super::{check_finite, check_non_empty, CompensatedSum, StatsError};
use serde::Serialize;

/// Moments of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Moments {
    pub n: usize,
    pub mean: f64,
    /// Population standard deviation `√m₂` (ddof = 0, as `numpy.std`).
    pub std: f64,
    /// `m₃ / m₂^{3/2}`; `None` when the sample is constant (scipy gives nan).
    pub skewness: Option<f64>,
    /// `m₄ / m₂² − 3`; `None` when the sample is constant (scipy gives nan).
    pub excess_kurtosis: Option<f64>,
}

/// scipy treats the variance as zero when `m₂ ≤ (resolution · mean)²`
/// with `numpy.finfo(float64).resolution = 1e-15`.
const FLOAT64_RESOLUTION: f64 = 1e-15;

/// Mean, population std, skewness and excess kurtosis of `x`.
///
/// Errors: empty input, non-finite values.
pub fn moments(x: &[f64]) -> Result<Moments, StatsError> {
    check_non_empty("sample", x)?;
    check_finite("sample", x)?;
    let n = x.len() as f64;
    let rough_mean = x.iter().copied().collect::<CompensatedSum>().value() / n;
    let correction = x
        .iter()
        .map(|v| v - rough_mean)
        .collect::<CompensatedSum>()
        .value()
        / n;
    let mean = rough_mean + correction;

    let (mut s2, mut s3, mut s4) = (
        CompensatedSum::default(),
        CompensatedSum::default(),
        CompensatedSum::default(),
    );
    for v in x {
        let d = v - mean;
        let d2 = d * d;
        s2.add(d2);
        s3.add(d2 * d);
        s4.add(d2 * d2);
    }
    let (m2, m3, m4) = (s2.value() / n, s3.value() / n, s4.value() / n);
    let constant = m2 <= (FLOAT64_RESOLUTION * mean).powi(2);
    let (skewness, excess_kurtosis) = if constant {
        (None, None)
    } else {
        (Some(m3 / m2.powf(1.5)), Some(m4 / (m2 * m2) - 3.0))
    };
    Ok(Moments {
        n: x.len(),
        mean,
        std: m2.sqrt(),
        skewness,
        excess_kurtosis,
    })
}
