//! Maximum likelihood for `gennorm(beta, loc, scale)`.
//!
//! With `r = y − μ`, `w = (|r|/α)^β` and `ℓ = ln(|r|/α)` the log-likelihood is
//!
//! ```text
//! ln L = n (ln β − ln 2 − ln Γ(1/β) − ln α) − Σ w
//! ```
//!
//! For fixed `β, μ` the scale maximizing it is closed form,
//! `α^β = β · mean|r|^β`, and the profile log-likelihood per value is
//!
//! ```text
//! ℓ_p(β) = ln β − ln 2 − ln Γ(1/β) − (ln β + ln T)/β − 1/β,   T = mean|r|^β
//! g = ℓ_p'  = 1/β + ψ(1/β)/β² + (ln β + ln T)/β² − (T'/T)/β
//! h = ℓ_p'' = −1/β² − ψ₁(1/β)/β⁴ − 2ψ(1/β)/β³ + (1/β + T'/T)/β²
//!             − 2(ln β + ln T)/β³ + (T'/T)/β² − V/β
//! ```
//!
//! (`ψ` digamma, `ψ₁` trigamma, `T'/T` and `V` as in [`super::profile`]).
//! For fixed `β` the location minimizes `Σ|r|^β`; for `β ≤ 1` that function
//! has a cusp at every data value, which is why the location is searched by
//! Brent's method rather than Newton (Varanasi & Aazhang, "Parametric
//! generalized Gaussian density estimation", JASA 86 (1989) 1404–1415).

use super::kernels;
use super::profile::{LocationSums, LogAbs, ShapeFamily};
use super::sums::chunked_sums;
use crate::dist::special::{digamma, ln_gamma, trigamma};

/// The gennorm profile likelihood for the generic shape-family fit.
pub(super) struct GenNormProfile;

impl ShapeFamily for GenNormProfile {
    /// β = 1 (Laplace), scipy's starting value as well.
    const INITIAL_SHAPE: f64 = 1.0;
    const POLISH_AT_DATA_VALUES: bool = true;

    fn profile_derivatives(logs: &LogAbs, beta: f64) -> (f64, f64) {
        let m = logs.moments(beta);
        let psi = digamma(1.0 / beta);
        let psi1 = trigamma(1.0 / beta);
        let b2 = beta * beta;
        let b3 = b2 * beta;
        let log_scale_power = beta.ln() + m.ln_mean_power;
        let g = 1.0 / beta + psi / b2 + log_scale_power / b2 - m.weighted_log / beta;
        let h = -1.0 / b2 - psi1 / (b2 * b2) - 2.0 * psi / b3 + (1.0 / beta + m.weighted_log) / b2
            - 2.0 * log_scale_power / b3
            + m.weighted_log / b2
            - m.weighted_log_variance / beta;
        (g, h)
    }

    /// `ln(mean|y − μ|^β)/β` = `ln α − ln β/β`: minus the profile
    /// log-likelihood per value up to a constant.
    fn location_cost(y: &[f64], mu: f64, beta: f64) -> f64 {
        LocationSums::new(y, mu, beta).ln_mean_power / beta
    }

    /// The closed-form scale for fixed `β` and `μ`: `α = (β · mean|r|^β)^{1/β}`.
    fn profile_scale(logs: &LogAbs, beta: f64) -> f64 {
        ((beta.ln() + logs.moments(beta).ln_mean_power) / beta).exp()
    }

    /// `ln β − ln 2 − ln Γ(1/β) − ln β/β − 1/β`.
    fn shape_term(beta: f64) -> f64 {
        beta.ln() - std::f64::consts::LN_2 - ln_gamma(1.0 / beta) - (beta.ln() + 1.0) / beta
    }
}

/// `ln L(β, μ, α)` over `y`.
#[cfg(test)]
pub(super) fn loglik(y: &[f64], beta: f64, mu: f64, alpha: f64) -> f64 {
    loglik_and_information(y, beta, mu, alpha).0
}

/// `ln L(β, μ, α)` and the observed information ([`information_from_sums`])
/// from one pass over `y`.
pub(super) fn loglik_and_information(
    y: &[f64],
    beta: f64,
    mu: f64,
    alpha: f64,
) -> (f64, [[f64; 3]; 3]) {
    let n = y.len() as f64;
    let sums = information_sums(y, beta, mu, alpha);
    let loglik =
        n * (beta.ln() - std::f64::consts::LN_2 - ln_gamma(1.0 / beta) - alpha.ln()) - sums[0];
    (loglik, information_from_sums(n, sums, beta, alpha))
}

/// `[Σ w, Σ w ℓ, Σ w ℓ², Σ v, Σ v ℓ, Σ (|r|/α)^{β−2}]` of
/// [`observed_information`] (values equal to `μ` add nothing).
fn information_sums(y: &[f64], beta: f64, mu: f64, alpha: f64) -> [f64; 6] {
    chunked_sums::<6, _>(y, |chunk| {
        kernels::gennorm_information(chunk, mu, alpha, beta)
    })
}

/// The observed information at `(β, μ, α)` (see [`information_from_sums`]).
#[cfg(test)]
pub(super) fn observed_information(y: &[f64], beta: f64, mu: f64, alpha: f64) -> [[f64; 3]; 3] {
    loglik_and_information(y, beta, mu, alpha).1
}

/// The observed information `−∇² ln L` in the order `(β, μ, α)`, from the
/// sums of [`information_sums`]:
///
/// ```text
/// −H_ββ = n/β² + n (2ψ(1/β)/β³ + ψ₁(1/β)/β⁴) + Σ w ℓ²
/// −H_αα = −n/α² + (β + β²)/α² Σ w
/// −H_βα = −(1/α) Σ w − (β/α) Σ w ℓ
/// −H_μμ = β(β − 1)/α² Σ (|r|/α)^{β−2}
/// −H_μβ = −(1/α) Σ v − (β/α) Σ v ℓ,     v = sign(r) (|r|/α)^{β−1}
/// −H_μα = (β²/α²) Σ v
/// ```
///
/// The `μ` entries exist only for `β > 2` (for `β ≤ 2` the density has a
/// cusp or an unbounded second derivative at `μ`); values equal to `μ` are
/// skipped (their terms vanish in the limit for `β > 2`).
fn information_from_sums(n: f64, sums: [f64; 6], beta: f64, alpha: f64) -> [[f64; 3]; 3] {
    let [sw, swl, swll, sv, svl, sq] = sums;
    let psi = digamma(1.0 / beta);
    let psi1 = trigamma(1.0 / beta);
    let (b2, a2) = (beta * beta, alpha * alpha);
    let bb = n / b2 + n * (2.0 * psi / (b2 * beta) + psi1 / (b2 * b2)) + swll;
    let aa = -n / a2 + (beta + b2) / a2 * sw;
    let ba = -sw / alpha - beta / alpha * swl;
    let mm = beta * (beta - 1.0) / a2 * sq;
    let mb = -sv / alpha - beta / alpha * svl;
    let ma = b2 / a2 * sv;
    [[bb, mb, ba], [mb, mm, ma], [ba, ma, aa]]
}

/// Expected (Fisher) information of one value about `μ`:
///
/// ```text
/// I_μμ = β² Γ(2 − 1/β) / (α² Γ(1/β))      (β > 1/2; infinite otherwise)
/// ```
///
/// from `E|z|^k = Γ((k+1)/β)/Γ(1/β)` with `k = 2β − 2`. `None` for `β ≤ 1/2`.
pub(super) fn expected_location_information(beta: f64, alpha: f64) -> Option<f64> {
    (beta > 0.5).then(|| {
        let log_ratio = ln_gamma(2.0 - 1.0 / beta) - ln_gamma(1.0 / beta);
        beta * beta * log_ratio.exp() / (alpha * alpha)
    })
}
