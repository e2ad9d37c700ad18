//! Maximum likelihood for `laplace(loc, scale)`, in closed form:
//!
//! ```text
//! loc   = median(x)                (midpoint of the central order statistics for even n)
//! scale = mean |x − loc|
//! ln L  = −n ln(2 scale) − Σ|x − loc|/scale
//! ```
//!
//! Standard errors: the scale from the observed information
//! `−∂²ln L/∂b² = −n/b² + 2Σ|r|/b³` (`= n/b²` at the MLE); the location, where
//! the density has a cusp, from the expected information `n/b²`.

use super::sums::sum_by;

/// `ln L(μ, b)` over `y`.
pub(super) fn loglik(y: &[f64], mu: f64, b: f64) -> f64 {
    let n = y.len() as f64;
    -n * (2.0 * b).ln() - sum_by(y, |v| (v - mu).abs()) / b
}

/// The scale MLE for location `μ`: `mean|y − μ|`.
pub(super) fn scale(y: &[f64], mu: f64) -> f64 {
    sum_by(y, |v| (v - mu).abs()) / y.len() as f64
}

/// Observed information of the scale, `−n/b² + 2Σ|r|/b³`.
pub(super) fn observed_scale_information(y: &[f64], mu: f64, b: f64) -> f64 {
    let n = y.len() as f64;
    -n / (b * b) + 2.0 * sum_by(y, |v| (v - mu).abs()) / (b * b * b)
}
