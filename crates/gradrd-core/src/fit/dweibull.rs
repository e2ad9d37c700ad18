//! Maximum likelihood for `dweibull(c, loc, scale)`.
//!
//! For fixed `μ`, `|y − μ|` is Weibull(c, α). With `w = (|r|/α)^c`,
//! `ℓ = ln(|r|/α)`, `L = ln|r|`:
//!
//! ```text
//! ln L = n (ln c − ln 2 − ln α) + Σ [(c − 1) ℓ − w]
//! ```
//!
//! The scale MLE is `α^c = mean|r|^c`, and the profile log-likelihood per
//! value gives the classic Weibull shape equation (Cohen, Technometrics 7
//! (1965) 579–588):
//!
//! ```text
//! ℓ_p(c) = ln c − ln 2 − ln T + (c − 1) mean L − 1,     T = mean|r|^c
//! g = 1/c − T'/T + mean L = 0,      h = −1/c² − V < 0   (concave: one root)
//! ```
//!
//! # Unbounded likelihood
//!
//! For `c < 1` the density is infinite at `μ`, so the likelihood is unbounded
//! whenever `μ` equals a data value. gradrd's rule:
//!
//! * **free location**: the location is the best point of a bounded Brent
//!   search of the profile likelihood (started at the sample median) among
//!   points that are **not** data values — a candidate `μ` equal to a value
//!   is rejected (cost `+∞`). The reported log-likelihood is that of the
//!   returned parameters, always finite; when `c < 1` it is a local, not a
//!   global, supremum and `Fit::note` says so.
//! * **fixed location**: values equal to the fixed `loc` (e.g. exact zeros
//!   kept with `--zeros keep` and `--loc zero`) make the likelihood unbounded
//!   for every `c < 1` and zero for `c > 1`; the fit returns
//!   `FitError::ValuesAtFixedLoc` instead of a meaningless number.

use super::kernels;
use super::profile::{newton_bracketed, LocationSums, LogAbs, ShapeFamily};
use super::sums::chunked_sums;
use super::FitOptions;
use crate::dist::special::gamma;

/// The dweibull profile likelihood for the generic shape-family fit.
pub(super) struct DWeibullProfile;

impl ShapeFamily for DWeibullProfile {
    /// c = 1 (Laplace).
    const INITIAL_SHAPE: f64 = 1.0;
    const GAP_SCAN_ABOVE_SHAPE_ONE: bool = true;
    const POLISH_AT_DATA_VALUES: bool = false;

    /// Values at `μ` are left out of `mean L` (they only occur in warm-start
    /// levels; the final location never equals a value).
    fn profile_derivatives(logs: &LogAbs, c: f64) -> (f64, f64) {
        let m = logs.moments(c);
        let mean_log = logs.sum / (logs.n - logs.at_loc) as f64;
        let g = 1.0 / c - m.weighted_log + mean_log;
        let h = -1.0 / (c * c) - m.weighted_log_variance;
        (g, h)
    }

    /// `ln T − (c − 1) mean L`: minus the profile log-likelihood per value up
    /// to a constant; `+∞` when `μ` equals a data value.
    fn location_cost(y: &[f64], mu: f64, c: f64) -> f64 {
        let sums = LocationSums::new(y, mu, c);
        if sums.at_loc > 0 {
            return f64::INFINITY;
        }
        sums.ln_mean_power - (c - 1.0) * sums.mean_log
    }

    /// The closed-form scale for fixed `c` and `μ`: `α = (mean|r|^c)^{1/c}`.
    fn profile_scale(logs: &LogAbs, c: f64) -> f64 {
        (logs.moments(c).ln_mean_power / c).exp()
    }

    /// `ln c − ln 2 − 1`.
    fn shape_term(c: f64) -> f64 {
        c.ln() - std::f64::consts::LN_2 - 1.0
    }
}

/// A location within float resolution of a data value (four units in the
/// last place of the value above it) whose profile log-likelihood per value,
/// with `c` solved there, exceeds `per_value` (a regular fit's): the value
/// and that `c`, the nearest such value to the median first; `None` when
/// no value does. With `c < 1` the likelihood rises without bound as the
/// location nears a value, and this is where scipy's Nelder–Mead ends (within
/// 1e-16 scale units of a value). `y` is sorted; one shape solve per
/// distinct value.
pub(super) fn pole_above(y: &[f64], per_value: f64, opts: &FitOptions) -> Option<(f64, f64)> {
    let mut values: Vec<f64> = y.to_vec();
    values.dedup();
    values.sort_by(|a, b| a.abs().total_cmp(&b.abs()));
    values.into_iter().find_map(|value| {
        let mu = value + 4.0 * value.abs().max(f64::MIN_POSITIVE) * f64::EPSILON;
        let logs = LogAbs::new(y, mu);
        let solved = newton_bracketed(
            |c| DWeibullProfile::profile_derivatives(&logs, c),
            0.5,
            opts.tol,
            opts.max_iter,
        );
        let loglik = DWeibullProfile::profile_loglik(y, mu, solved.value);
        (solved.value < 1.0 && loglik > per_value).then_some((value, solved.value))
    })
}

/// `ln L(c, μ, α)` over `y` (`−∞`/`+∞` if a value equals `μ`).
#[cfg(test)]
pub(super) fn loglik(y: &[f64], c: f64, mu: f64, alpha: f64) -> f64 {
    loglik_and_information(y, c, mu, alpha).0
}

/// `ln L(c, μ, α)` and the observed information from one pass over `y`; the
/// observed information `−∇² ln L` of `(c, α)` at fixed `μ` is
///
/// ```text
/// −H_cc = n/c² + Σ w ℓ²
/// −H_αα = −n c/α² + (c + c²)/α² Σ w
/// −H_cα = n/α − (1/α) Σ w − (c/α) Σ w ℓ
/// ```
pub(super) fn loglik_and_information(
    y: &[f64],
    c: f64,
    mu: f64,
    alpha: f64,
) -> (f64, [[f64; 2]; 2]) {
    let n = y.len() as f64;
    let [sum_l, sw, swl, swll] = weibull_sums(y, c, mu, alpha);
    let loglik = n * (c.ln() - std::f64::consts::LN_2 - alpha.ln()) + (c - 1.0) * sum_l - sw;
    let a2 = alpha * alpha;
    let cc = n / (c * c) + swll;
    let aa = -n * c / a2 + (c + c * c) / a2 * sw;
    let ca = n / alpha - sw / alpha - c / alpha * swl;
    (loglik, [[cc, ca], [ca, aa]])
}

/// `[Σ ℓ, Σ w, Σ w ℓ, Σ w ℓ²]` with `ℓ = ln(|r|/α)`, `w = e^{cℓ}`.
fn weibull_sums(y: &[f64], c: f64, mu: f64, alpha: f64) -> [f64; 4] {
    chunked_sums::<4, _>(y, |chunk| kernels::weibull_sums(chunk, mu, alpha, c))
}

/// The observed information of `(c, α)` at fixed `μ` (see
/// [`loglik_and_information`]).
#[cfg(test)]
pub(super) fn observed_information(y: &[f64], c: f64, mu: f64, alpha: f64) -> [[f64; 2]; 2] {
    loglik_and_information(y, c, mu, alpha).1
}

/// Expected (Fisher) information of one value about `μ`:
///
/// ```text
/// I_μμ = E[((c − 1)/|z| − c |z|^{c−1})²] / α² = (c − 1)² Γ(1 − 2/c) / α²
/// ```
///
/// using `E|z|^k = Γ(1 + k/c)`; finite only for `c > 2` (`None` otherwise;
/// at exactly `c = 1` it would be `1/α²`).
pub(super) fn expected_location_information(c: f64, alpha: f64) -> Option<f64> {
    (c > 2.0).then(|| (c - 1.0).powi(2) * gamma(1.0 - 2.0 / c) / (alpha * alpha))
}
