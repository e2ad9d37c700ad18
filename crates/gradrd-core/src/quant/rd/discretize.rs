//! The discretized source for Blahut–Arimoto, in standardized units
//! `z = x / scale`.
//!
//! **Cells.** The bounds are the union of an even grid of `cells/2` steps over
//! `[F⁻¹(τ), F⁻¹(1 − τ)]` (resolution over the whole range, which is where the
//! distortion of a heavy tail lives) and `cells/2` equal-probability quantile
//! bounds (resolution where the mass is), plus `0` and `loc` (kinks of
//! `|x|^M` and of the density), and two unbounded end cells. Probabilities are
//! `cdf` differences below the median and `sf` differences above it, so tail
//! cells keep their relative accuracy.
//!
//! **Cell statistics.** Each cell carries its exact conditional M-weighted
//! statistics, from adaptive Gauss–Kronrod quadrature of `|x|^M f(x) (x − c)^k`
//! (`k = 0, 1, 2`, `c` the cell's finite bound or midpoint, relative accuracy
//! [`CELL_QUADRATURE_TOLERANCE`]):
//!
//! ```text
//! a = W0 / P,   μ = c + W1 / W0,   V = (W2 − W1²/W0) / P
//! E[|X|^M (X − y)² | cell] = a (y − μ)² + V
//! ```
//!
//! so the expected distortion of every reproduction point is exact; the only
//! approximation is that the encoder sees the cell, not `x` (which can only
//! raise the rate: the discrete R(D) is an upper bound on the continuous one
//! up to the accuracy of the iteration).
//!
//! **Reproduction alphabet.** The cell centroids `μ_i` and the rate-0 point
//! `y* = E[|X|^M X] / E[|X|^M]`, so `D_max` is exact.

use super::blahut::DiscreteProblem;
use super::RdError;
use crate::dist::ContinuousDist;
use crate::quant::quadrature;

/// Relative accuracy of the cell statistics.
pub const CELL_QUADRATURE_TOLERANCE: f64 = 1e-11;

/// The discretized source in standardized units.
pub(crate) fn discretize<D: ContinuousDist + ?Sized>(
    source: &D,
    m: f64,
    cells: usize,
    tail_probability: f64,
) -> Result<DiscreteProblem, RdError> {
    let scale = source.scale();
    let loc = source.loc();
    let lower = source.quantile(tail_probability);
    let upper = source.quantile(1.0 - tail_probability);
    if !(lower.is_finite() && upper.is_finite() && lower < upper) {
        return Err(RdError::Source(format!(
            "the {tail_probability} and 1 − {tail_probability} quantiles ({lower}, {upper}) are not a finite range"
        )));
    }
    let even = (cells / 2).max(1);
    let by_quantile = cells - even;
    let mut bounds: Vec<f64> = (0..=even)
        .map(|k| lower + (upper - lower) * k as f64 / even as f64)
        .collect();
    bounds.extend((1..by_quantile).map(|k| source.quantile(k as f64 / by_quantile as f64)));
    bounds.extend([0.0, loc].into_iter().filter(|b| *b > lower && *b < upper));
    bounds.retain(|b| b.is_finite());
    bounds.sort_by(f64::total_cmp);
    let min_gap = 1e-12 * (upper - lower);
    bounds.dedup_by(|b, a| *b - *a <= min_gap);

    let mut edges = Vec::with_capacity(bounds.len() + 2);
    edges.push(f64::NEG_INFINITY);
    edges.extend(bounds);
    edges.push(f64::INFINITY);

    let n = edges.len() - 1;
    let (mut probabilities, mut weights, mut centroids, mut within) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    // Totals for y*: Σ W0 and Σ W0·μ (in x units).
    let (mut total_w0, mut total_w1) = (0.0, 0.0);
    let weight_scale = scale.powf(m);
    for cell in edges.windows(2) {
        let (a, b) = (cell[0], cell[1]);
        let probability = if b <= loc {
            source.cdf(b) - source.cdf(a)
        } else if a >= loc {
            source.sf(a) - source.sf(b)
        } else {
            1.0 - source.cdf(a) - source.sf(b)
        };
        if probability.is_nan() || probability <= 0.0 {
            continue;
        }
        let centre = match (a.is_finite(), b.is_finite()) {
            (true, true) => 0.5 * (a + b),
            (true, false) => a,
            (false, true) => b,
            (false, false) => loc,
        };
        let integrand = |x: f64| {
            let w = if m == 0.0 { 1.0 } else { x.abs().powf(m) } * source.pdf(x);
            let e = x - centre;
            [w, w * e, w * e * e]
        };
        let [w0, w1, w2] = quadrature::integrate(
            &integrand,
            a,
            b,
            &[0.0, loc],
            scale,
            CELL_QUADRATURE_TOLERANCE,
        );
        if !(w0 > 0.0 && w0.is_finite() && w1.is_finite() && w2.is_finite()) {
            // A cell whose weighted mass underflows (e.g. |x|^M f at a far
            // tail) carries no distortion information; its probability is
            // still accounted for by its neighbours' renormalization only if
            // it is negligible.
            if probability > 1e-12 {
                return Err(RdError::Source(format!(
                    "cell [{a}, {b}] has probability {probability} but weighted moments {w0}, {w1}, {w2}"
                )));
            }
            continue;
        }
        let mu = centre + w1 / w0;
        let variance = ((w2 - w1 * w1 / w0) / probability).max(0.0);
        total_w0 += w0;
        total_w1 += w0 * mu;
        probabilities.push(probability);
        weights.push(w0 / probability / weight_scale);
        centroids.push(mu / scale);
        within.push(variance / (weight_scale * scale * scale));
    }
    let total: f64 = probabilities.iter().sum();
    if total.is_nan() || total <= 0.0 {
        return Err(RdError::Source("no cell has positive probability".into()));
    }
    for p in &mut probabilities {
        *p /= total;
    }
    let mut reproduction = centroids.clone();
    let rate_zero_point = total_w1 / total_w0 / scale;
    if rate_zero_point.is_finite() {
        reproduction.push(rate_zero_point);
    }
    reproduction.sort_by(f64::total_cmp);
    let min_step = 1e-12 * (upper - lower) / scale;
    reproduction.dedup_by(|b, a| *b - *a <= min_step);
    DiscreteProblem::new(probabilities, weights, centroids, within, reproduction)
}
