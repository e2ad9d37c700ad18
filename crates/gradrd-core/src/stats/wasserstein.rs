//! Wasserstein distances W1 and W2 on the real line, through quantile
//! functions:
//!
//! ```text
//! W_p(F, G)^p = ∫₀¹ |F⁻¹(t) − G⁻¹(t)|^p dt
//! ```
//!
//! **Two samples** (sizes n and m): both empirical quantile functions are
//! step functions with jumps at `i/n` and `j/m`, so the integral is an exact
//! finite sum over the merged breakpoints (kept as integers `i·m`, `j·n` so
//! no breakpoint is misplaced by rounding). Equal sizes reduce to the sorted
//! differences, `W_p^p = (1/n) Σ |a_(i) − b_(i)|^p`. W1 equals
//! `scipy.stats.wasserstein_distance(a, b)` (`∫|F − G| dx`, the same
//! integral); scipy has no W2.
//!
//! **Sample against a distribution, exact** (no sampling): with sorted
//! `x_(1..n)` and cells `[q_{i−1}, q_i]`, `q_i = F⁻¹(i/n)` (`q₀ = −∞`,
//! `q_n = +∞`), each cell's mass is transported to `x_(i)`:
//!
//! ```text
//! W2² = Σ_i ∫_{q_{i−1}}^{q_i} (x_(i) − y)² f(y) dy
//!     = Σ_i [ m₀ (x_(i) − μ_i)² + (m₂ − m₁²/m₀) ],   μ_i = m₁/m₀
//! W1  = Σ_i ∫_{q_{i−1}}^{q_i} |x_(i) − y| f(y) dy   (each cell split at y = x_(i))
//! ```
//!
//! where `m_k = ∫_cell (y − loc)^k f(y) dy` are the cell's partial moments
//! about `loc` (the trait's `abs_moment_between` / `signed_moment_between`).
//! The second form of W2² is the stable one: the expanded form
//! `x²m₀ − 2x m₁ + m₂` cancels catastrophically when x is far from 0, while
//! here the first term is a square of a difference of nearby numbers and the
//! second is the cell's own second central moment, clamped at 0 against
//! rounding. Working about `loc` keeps a large `loc` out of the sums.
//! Accuracy is limited by the cell moments themselves: a cell's mass is
//! `1/n` but is a difference of cumulative quantities of size O(1), so each
//! cell carries an absolute error ~ ε·scale and the total ~ n·ε relative to
//! the spread (≈ 1e-10 at n = 10⁶).

use super::{check_finite, check_non_empty, sort_finite, CompensatedSum, StatsError};
use crate::dist::ContinuousDist;
use rayon::prelude::*;

/// Values per parallel chunk of the distance sums (fixed, so that the sum
/// is the same however the work is split).
const SUM_CHUNK: usize = 4096;
use serde::Serialize;

/// W1 and W2 between two distributions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Wasserstein {
    /// `∫₀¹ |F⁻¹ − G⁻¹| dt`.
    pub w1: f64,
    /// `√(∫₀¹ (F⁻¹ − G⁻¹)² dt)`.
    pub w2: f64,
}

/// W1 and W2 between the empirical distributions of `a` and `b` (any sizes).
///
/// Errors: an empty sample, non-finite values.
pub fn wasserstein_samples(a: &[f64], b: &[f64]) -> Result<Wasserstein, StatsError> {
    for (name, x) in [("first sample", a), ("second sample", b)] {
        check_non_empty(name, x)?;
        check_finite(name, x)?;
    }
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    rayon::join(|| sort_finite(&mut a), || sort_finite(&mut b));
    let (n, m) = (a.len() as u128, b.len() as u128);
    // breakpoints in units of 1/(n·m): a's at (i+1)·m, b's at (j+1)·n
    let (mut i, mut j) = (0_usize, 0_usize);
    let mut previous: u128 = 0;
    let (mut abs_sum, mut square_sum) = (CompensatedSum::default(), CompensatedSum::default());
    while i < a.len() && j < b.len() {
        let next_a = (i as u128 + 1) * m;
        let next_b = (j as u128 + 1) * n;
        let boundary = next_a.min(next_b);
        let width = (boundary - previous) as f64;
        let diff = a[i] - b[j];
        abs_sum.add(diff.abs() * width);
        square_sum.add(diff * diff * width);
        previous = boundary;
        if next_a == boundary {
            i += 1;
        }
        if next_b == boundary {
            j += 1;
        }
    }
    let total = (n * m) as f64;
    Ok(Wasserstein {
        w1: abs_sum.value() / total,
        w2: (square_sum.value() / total).max(0.0).sqrt(),
    })
}

/// W1 and W2 between the empirical distribution of `sample` and `dist`,
/// exactly (see the module docs for the formulas).
///
/// Errors: an empty sample, non-finite values.
pub fn wasserstein_to_dist(
    sample: &[f64],
    dist: &(dyn ContinuousDist + Sync),
) -> Result<Wasserstein, StatsError> {
    check_non_empty("sample", sample)?;
    check_finite("sample", sample)?;
    // A sorted sample (as `gradrd fit` passes) is used in place; only an
    // unsorted one is copied. Nothing else of size n is allocated.
    let sorted: std::borrow::Cow<[f64]> = if sample.is_sorted() {
        std::borrow::Cow::Borrowed(sample)
    } else {
        let mut copy = sample.to_vec();
        sort_finite(&mut copy);
        std::borrow::Cow::Owned(copy)
    };
    let n = sorted.len();
    let loc = dist.loc();
    // q_i = F⁻¹(i/n) with q_0 = −∞ and q_n = +∞ exactly.
    let bounds_of = |first: usize, last: usize| {
        let ps: Vec<f64> = (first..=last).map(|i| i as f64 / n as f64).collect();
        let mut bounds = dist.quantiles(&ps);
        for (i, bound) in (first..=last).zip(bounds.iter_mut()) {
            if i == 0 {
                *bound = f64::NEG_INFINITY;
            } else if i == n {
                *bound = f64::INFINITY;
            }
        }
        bounds
    };
    // Fixed-size chunks, each summed in order, then the chunk sums in
    // order: the result does not depend on how rayon splits the work.
    let chunk_sums: Vec<(f64, f64)> = sorted
        .par_chunks(SUM_CHUNK)
        .enumerate()
        .map(|(chunk, values)| {
            let first = chunk * SUM_CHUNK;
            let bounds = bounds_of(first, first + values.len());
            let moments = dist.cell_moments(&bounds);
            let mut w1 = CompensatedSum::default();
            let mut w2 = CompensatedSum::default();
            for (offset, &x) in values.iter().enumerate() {
                let [mass, first, second] = moments[offset];
                let cell = Cell {
                    dist,
                    lower: bounds[offset],
                    upper: bounds[offset + 1],
                    moments: CellMoments {
                        mass,
                        first,
                        second,
                    },
                };
                w1.add(cell.abs_cost(x));
                w2.add(cell.square_cost(x - loc));
            }
            (w1.value(), w2.value())
        })
        .collect();
    let abs_sum: CompensatedSum = chunk_sums.iter().map(|c| c.0).collect();
    let square_sum: CompensatedSum = chunk_sums.iter().map(|c| c.1).collect();
    Ok(Wasserstein {
        w1: abs_sum.value(),
        w2: square_sum.value().max(0.0).sqrt(),
    })
}

/// One quantile cell `[lower, upper]` of a distribution, with its partial
/// moments (from [`ContinuousDist::cell_moments`]).
struct Cell<'a> {
    dist: &'a (dyn ContinuousDist + Sync),
    lower: f64,
    upper: f64,
    moments: CellMoments,
}

/// The partial moments `m₀, m₁, m₂` of an interval about `loc`.
struct CellMoments {
    mass: f64,
    first: f64,
    second: f64,
}

impl Cell<'_> {
    /// `∫_cell (r − y)² f dy` with `r = x − loc`, as `m₀(r − μ)² + (m₂ − m₁²/m₀)`.
    fn square_cost(&self, r: f64) -> f64 {
        let m = &self.moments;
        if m.mass <= 0.0 {
            return 0.0;
        }
        let centre = m.first / m.mass;
        let spread = (m.second - m.first * centre).max(0.0);
        m.mass * (r - centre).powi(2) + spread
    }

    /// `∫_cell |x − y| f dy`, split at `y = x` when x lies inside the cell
    /// (rarely: a cell is 1/n of the mass, while `x_(i)` strays from it by
    /// about `1/√n`).
    fn abs_cost(&self, x: f64) -> f64 {
        let r = x - self.dist.loc();
        let m = &self.moments;
        if x <= self.lower {
            return (m.first - r * m.mass).max(0.0);
        }
        if x >= self.upper {
            return (r * m.mass - m.first).max(0.0);
        }
        let above = |lower: f64| {
            let m0 = self.dist.abs_moment_between(0.0, lower, self.upper);
            let m1 = self.dist.signed_moment_between(1.0, lower, self.upper);
            (m1 - r * m0).max(0.0)
        };
        let below = |upper: f64| {
            let m0 = self.dist.abs_moment_between(0.0, self.lower, upper);
            let m1 = self.dist.signed_moment_between(1.0, self.lower, upper);
            (r * m0 - m1).max(0.0)
        };
        below(x) + above(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// W1 ≤ W2 (Jensen), both symmetric, and equal sizes reduce to sorted differences.
        #[test]
        fn w1_le_w2_and_symmetric(
            a in proptest::collection::vec(-1.0f64..1.0, 1..100),
            b in proptest::collection::vec(-1.0f64..1.0, 1..100),
        ) {
            let ab = wasserstein_samples(&a, &b).unwrap();
            let ba = wasserstein_samples(&b, &a).unwrap();
            prop_assert!(ab.w1 <= ab.w2 * (1.0 + 1e-12) + 1e-300);
            gradrd_testkit::assert_close(ab.w1, ba.w1, 1e-12, 1e-300);
            gradrd_testkit::assert_close(ab.w2, ba.w2, 1e-12, 1e-300);
            let n = a.len().min(b.len());
            let (mut sa, mut sb) = (a[..n].to_vec(), b[..n].to_vec());
            sort_finite(&mut sa);
            sort_finite(&mut sb);
            let mean_sq = sa.iter().zip(&sb).map(|(x, y)| (x - y).powi(2)).sum::<f64>() / n as f64;
            let equal = wasserstein_samples(&a[..n], &b[..n]).unwrap();
            gradrd_testkit::assert_close(equal.w2, mean_sq.sqrt(), 1e-12, 1e-300);
        }
    }
}
