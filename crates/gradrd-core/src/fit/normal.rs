//! Maximum likelihood for `norm(loc, scale)`, in closed form:
//!
//! ```text
//! loc   = mean(x)
//! scale = √(mean (x − loc)²)        (the MLE, divisor n — as scipy.stats.norm.fit)
//! ln L  = −n ln(√(2π) σ) − Σ(x − μ)²/(2σ²)
//! ```
//!
//! Standard errors from the observed information
//!
//! ```text
//! −H_μμ = n/σ²,   −H_μσ = 2Σr/σ³,   −H_σσ = −n/σ² + 3Σr²/σ⁴
//! ```

use super::sums::{chunked_sums, sum_by};

/// `ln L(μ, σ)` over `y`.
pub(super) fn loglik(y: &[f64], mu: f64, sigma: f64) -> f64 {
    let n = y.len() as f64;
    let sum_sq = sum_by(y, |v| (v - mu) * (v - mu));
    -n * (0.5 * (2.0 * std::f64::consts::PI).ln() + sigma.ln()) - sum_sq / (2.0 * sigma * sigma)
}

/// The mean of `y` (two-pass corrected, deterministic).
pub(super) fn mean(y: &[f64]) -> f64 {
    let n = y.len() as f64;
    let first = sum_by(y, |v| v) / n;
    first + sum_by(y, |v| v - first) / n
}

/// The scale MLE for location `μ`: `√mean (y − μ)²`.
pub(super) fn scale(y: &[f64], mu: f64) -> f64 {
    (sum_by(y, |v| (v - mu) * (v - mu)) / y.len() as f64).sqrt()
}

/// Observed information in the order `(μ, σ)`.
pub(super) fn observed_information(y: &[f64], mu: f64, sigma: f64) -> [[f64; 2]; 2] {
    let n = y.len() as f64;
    let [sum_r, sum_sq] = chunked_sums::<2, _>(y, |chunk| {
        chunk.iter().fold([0.0, 0.0], |[s, q], &v| {
            let r = v - mu;
            [s + r, q + r * r]
        })
    });
    let s2 = sigma * sigma;
    let mm = n / s2;
    let ms = 2.0 * sum_r / (s2 * sigma);
    let ss = -n / s2 + 3.0 * sum_sq / (s2 * s2);
    [[mm, ms], [ms, ss]]
}
