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
//!
//! # Unbounded likelihood
//!
//! The density at `μ` is finite for every `β`, but the likelihood is still
//! unbounded once `k ≥ 1` values equal `μ`. With the closed-form scale, as
//! `β → 0` their terms `ln f(μ) = ln β − ln 2 − ln Γ(1/β) − ln α` grow like
//! `k/β`, while the other `n − k` values lose only about
//! `((n − k)/2) ln(1/β)`. So the likelihood rises without bound below
//! `β ≈ 2k/n`. Values packed much closer to `μ` than the rest act the same
//! way until `β` is tiny. For example, 10 Laplace values with `μ` on one of
//! them give −17.7 nats at `β = 0.2`, 19.6 at 0.02 and 482 at 0.002.
//!
//! This happens with exact zeros kept (`--zeros keep`). It also happens with
//! a free location that settles on a value, most often in tensors of a few
//! values (biases) or with the float noise near 0 of late-training
//! gradients. There it produced fits such as `β = 0.02` (the search bound),
//! scale 1e-90 and W2 1e9. gradrd's rule:
//!
//! * **Polishing.** The polishing of the location at data values
//!   ([`super::profile`]) does not move onto a value where the shape solve
//!   runs to the lower bound. It keeps the location it had.
//! * **Fallback.** A fit that still runs to the lower bound, with values at
//!   its location or with a free location, is replaced by the more likely of
//!   two local maxima:
//!   - the highest interior local maximum of the profile likelihood in `β`
//!     at that location ([`interior_maximum`]);
//!   - with a free location, the regular fit started from the sample mean
//!     with the shape held at ≥ 1 and then freed
//!     ([`super::profile::fit_regular`]), if its `β` is off the bound.
//!
//!   `Fit::note` says which was reported. When there is neither, the fit on
//!   the bound is kept. Its note says that it is the likelihood at the
//!   bound, not a maximum. The log-likelihood is always finite.
//!
//! A fit with `β` above the bound is an interior local maximum and is
//! reported as found. With 10^6 values and one of them at `μ`, the rise
//! begins near `β = 2e-6`, far below the bound. With a few values it begins
//! near `β = 0.1`, and a maximum found there can be a spike. Example: 15
//! non-zero values of `conv1.bias` in the digits CNN at step 50 give
//! `β = 0.026` with W2 = 3.5e7 against a standard deviation of 0.014. No rule makes a
//! three-parameter heavy-tailed fit to so few values meaningful; KS and W2
//! show it.
//!
//! scipy's Nelder–Mead stops somewhere on such a rising slope. For the 128
//! values of `fc1.bias` in `data/digits-mlp/step_000000.safetensors`, with
//! its 16 exact zeros kept, scipy reports `β = 0.2456` at 564.52 nats, while
//! `β = 0.2` at scipy's own location gives 570.34.

use super::kernels;
use super::profile::{
    newton_bracketed_in, LocationSums, LogAbs, ShapeFamily, ShapeFit, SHAPE_BOUNDS,
};
use super::sums::chunked_sums;
use crate::dist::special::{digamma, ln_gamma, trigamma};

/// The gennorm profile likelihood for the generic shape-family fit.
pub(super) struct GenNormProfile;

impl ShapeFamily for GenNormProfile {
    /// β = 1 (Laplace), scipy's starting value as well.
    const INITIAL_SHAPE: f64 = 1.0;
    const GAP_SCAN_ABOVE_SHAPE_ONE: bool = false;
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

/// Shapes in the scan of [`interior_maximum`], geometric over
/// [`SHAPE_BOUNDS`] (neighbours 13 % apart).
const SCAN_SHAPES: usize = 64;

/// The highest interior local maximum over `β` of the profile
/// log-likelihood at the location `logs` was built for (see "Unbounded
/// likelihood" above): the best shape of a geometric scan of
/// [`SHAPE_BOUNDS`] that is at least as high as both its neighbours,
/// refined by Newton between them. `None` when the scan finds none.
pub(super) fn interior_maximum(
    logs: &LogAbs,
    mu: f64,
    tol: f64,
    max_iter: u64,
) -> Option<ShapeFit> {
    let (lo, hi) = SHAPE_BOUNDS;
    let ratio = (hi / lo).powf(1.0 / (SCAN_SHAPES - 1) as f64);
    let shapes: Vec<f64> = (0..SCAN_SHAPES)
        .map(|i| lo * ratio.powi(i as i32))
        .collect();
    let profile: Vec<f64> = shapes
        .iter()
        .map(|&beta| GenNormProfile::shape_term(beta) - logs.moments(beta).ln_mean_power / beta)
        .collect();
    let best = (1..SCAN_SHAPES - 1)
        .filter(|&i| profile[i] >= profile[i - 1] && profile[i] >= profile[i + 1])
        .max_by(|&a, &b| profile[a].total_cmp(&profile[b]))?;
    let solved = newton_bracketed_in(
        |beta| GenNormProfile::profile_derivatives(logs, beta),
        shapes[best],
        (shapes[best - 1], shapes[best + 1]),
        tol,
        max_iter,
    );
    Some(ShapeFit::at::<GenNormProfile>(
        logs,
        solved.value,
        mu,
        solved.iterations,
        solved.termination,
    ))
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
/// [`information_from_sums`] (values equal to `μ` add nothing).
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
