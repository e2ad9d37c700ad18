//! Kolmogorov–Smirnov tests, two-sided, as `scipy.stats.ks_1samp` /
//! `kstest(x, cdf)` and `scipy.stats.ks_2samp(a, b)` with `method="auto"`.
//!
//! One sample (sorted `x_(1) ≤ … ≤ x_(n)`, continuous cdf F):
//!
//! ```text
//! D⁺ = max_i (i/n − F(x_(i)))     D⁻ = max_i (F(x_(i)) − (i − 1)/n)     D = max(D⁺, D⁻)
//! p  = P(D_n ≥ D)   (exact Kolmogorov distribution, `kstwo.sf(D, n)`)
//! ```
//!
//! Two samples (sizes n₁, n₂, empirical cdfs F₁, F₂ evaluated at every data
//! point, so ties are handled as scipy's `searchsorted(side="right")`):
//!
//! ```text
//! D = max_x |F₁(x) − F₂(x)|
//! exact (max(n₁, n₂) ≤ 10 000):  lattice-path counts of Hodges (1958); D is snapped to h/lcm(n₁, n₂)
//!     n₁ = n₂: 2 Σ_k (−1)^{k+1} C(2n, n − kh)/C(2n, n) by a Horner scheme
//!     otherwise: Viehmann's (2021) inside recursion for 1 − p
//! asymptotic:  kstwo.sf(D, round(n₁n₂/(n₁ + n₂)))
//! ```

use super::kolmogorov::kolmogorov_sf;
use super::{check_finite, check_non_empty, sorted_copy, StatsError};
use rayon::prelude::*;
use serde::Serialize;

/// How a p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KsMethod {
    Exact,
    Asymptotic,
}

/// A two-sided KS statistic and its p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KsResult {
    pub statistic: f64,
    pub p_value: f64,
    pub method: KsMethod,
}

/// Largest sample size for which `ks_2samp`'s auto mode is exact.
const MAX_EXACT_TWO_SAMPLE_N: usize = 10_000;

/// Two-sided one-sample KS test of sorted data against a continuous cdf.
/// The cdf is evaluated in parallel over chunks of the data (the statistic,
/// a maximum, does not depend on how they are split).
///
/// Errors: empty or non-finite data, data not sorted ascending, a cdf value
/// outside `[0, 1]`.
pub fn ks_one_sample(
    sorted: &[f64],
    cdf: impl Fn(f64) -> f64 + Sync,
) -> Result<KsResult, StatsError> {
    check_non_empty("sample", sorted)?;
    check_finite("sample", sorted)?;
    if let Some(index) = sorted.windows(2).position(|w| w[1] < w[0]) {
        return Err(StatsError::NotSorted {
            sample: "sample",
            index: index + 1,
        });
    }
    let n = sorted.len() as f64;
    // Per chunk: (D+, D−) or the first invalid cdf value.
    let partials: Vec<Result<(f64, f64), StatsError>> = sorted
        .par_chunks(KS_CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let mut d_plus = f64::NEG_INFINITY;
            let mut d_minus = f64::NEG_INFINITY;
            for (j, &x) in chunk.iter().enumerate() {
                let i = c * KS_CHUNK + j;
                let f = cdf(x);
                if !(0.0..=1.0).contains(&f) {
                    return Err(StatsError::InvalidCdf { x, value: f });
                }
                d_plus = d_plus.max((i + 1) as f64 / n - f);
                d_minus = d_minus.max(f - i as f64 / n);
            }
            Ok((d_plus, d_minus))
        })
        .collect();
    let mut statistic = f64::NEG_INFINITY;
    for partial in partials {
        let (d_plus, d_minus) = partial?;
        statistic = statistic.max(d_plus).max(d_minus);
    }
    Ok(KsResult {
        statistic,
        p_value: kolmogorov_sf(sorted.len() as u64, statistic),
        method: KsMethod::Exact,
    })
}

/// Values per parallel chunk of [`ks_one_sample`].
const KS_CHUNK: usize = 4096;

/// Two-sided two-sample KS test (`scipy.stats.ks_2samp(a, b)`).
///
/// Errors: an empty sample, non-finite values.
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> Result<KsResult, StatsError> {
    let (a, b) = rayon::join(
        || sorted_copy("first sample", a),
        || sorted_copy("second sample", b),
    );
    let (a, b) = (a?, b?);
    let (n1, n2) = (a.len(), b.len());
    let statistic = two_sample_statistic(&a, &b);
    if n1.max(n2) <= MAX_EXACT_TWO_SAMPLE_N {
        if let Some((snapped, p_value)) = exact_two_sample(n1 as u64, n2 as u64, statistic) {
            return Ok(KsResult {
                statistic: snapped,
                p_value,
                method: KsMethod::Exact,
            });
        }
    }
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let effective_n = (m * n / (m + n)).round_ties_even() as u64;
    Ok(KsResult {
        statistic,
        p_value: kolmogorov_sf(effective_n, statistic),
        method: KsMethod::Asymptotic,
    })
}

/// `max(max_x (F₁ − F₂), max_x (F₂ − F₁))` over all data points, by a merge
/// of the two sorted samples; each difference is formed as scipy does,
/// `count₁/n₁ − count₂/n₂`.
fn two_sample_statistic(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j) = (0, 0);
    let (mut max_diff, mut min_diff) = (f64::NEG_INFINITY, f64::INFINITY);
    while i < a.len() || j < b.len() {
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) => x,
            (None, Some(&y)) => y,
            (None, None) => break,
        };
        while i < a.len() && a[i] <= next {
            i += 1;
        }
        while j < b.len() && b[j] <= next {
            j += 1;
        }
        let diff = i as f64 / n1 - j as f64 / n2;
        max_diff = max_diff.max(diff);
        min_diff = min_diff.min(diff);
    }
    let min_side = (-min_diff).clamp(0.0, 1.0);
    if min_side > max_diff {
        min_side
    } else {
        max_diff
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// scipy's `_attempt_exact_2kssamp` (two-sided): `(snapped D, p)` or `None`
/// when the computation leaves `[0, 1]` (then the asymptotic p is used).
fn exact_two_sample(n1: u64, n2: u64, d: f64) -> Option<(f64, f64)> {
    let g = gcd(n1, n2);
    let lcm = (n1 / g) * n2;
    let h = (d * lcm as f64).round_ties_even() as u64;
    let snapped = h as f64 / lcm as f64;
    if h == 0 {
        return Some((snapped, 1.0));
    }
    let p = if n1 == n2 {
        prob_outside_square(n1, h)
    } else {
        prob_outside_band(n1, n2, g, h)
    };
    (p.is_finite() && (0.0..=1.0).contains(&p)).then_some((snapped, p))
}

/// `P(D_{n,n} ≥ h/n)` (scipy's `_compute_prob_outside_square`):
///
/// ```text
/// P = 2 Σ_{k≥1} (−1)^{k+1} C(2n, n − kh)/C(2n, n) = 2 r₀(1 − r₁(1 − r₂(1 − …)))
/// r_k = Π_{j<h} (n − kh − j)/(n + kh + j + 1) = C(2n, n − (k+1)h)/C(2n, n − kh)
/// ```
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let (n, h) = (n as i64, h as i64);
    let mut p = 0.0;
    let mut k = n / h;
    while k >= 0 {
        let mut ratio = 1.0;
        for j in 0..h {
            ratio = (n - k * h - j) as f64 * ratio / (n + k * h + j + 1) as f64;
        }
        p = ratio * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// `P(max |x/m − y/n| ≥ h/lcm)` over lattice paths from (0, 0) to (m, n)
/// (scipy's `_compute_outer_prob_inside_method`; Viehmann, arXiv:2102.08037):
/// one sliding column of `A(x, y) = (x·A(x − 1, y) + y·A(x, y − 1))/(x + y)`
/// with `A = 0` inside the band, which carries `1 − p` scaled by binomials.
fn prob_outside_band(n1: u64, n2: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if n1 < n2 { (n2, n1) } else { (n1, n2) };
    let (m, n, g, h) = (m as i64, n as i64, g as i64, h as i64);
    let (mg, ng) = (m / g, n / g);
    let ceil_div = |a: i64, b: i64| (a + b - 1).div_euclid(b);
    let mut min_j: i64 = 0;
    let mut max_j = ceil_div(h, mg).min(n + 1);
    let mut current_len = max_j - min_j;
    let column_len = (2 * max_j + 2).min(n + 1) as usize;
    let mut column = vec![1.0_f64; column_len];
    column[min_j as usize..max_j as usize].fill(0.0);
    for i in 1..=m {
        let (last_min_j, last_len) = (min_j, current_len);
        min_j = ((ng * i - h).div_euclid(mg) + 1).clamp(0, n);
        max_j = ceil_div(ng * i + h, mg).min(n + 1);
        if max_j <= min_j {
            return 1.0;
        }
        let mut value = if min_j == 0 { 0.0 } else { 1.0 };
        for jj in 0..(max_j - min_j) {
            let j = jj + min_j;
            let left = column[(jj + min_j - last_min_j) as usize];
            value = (left * i as f64 + value * j as f64) / (i + j) as f64;
            column[jj as usize] = value;
        }
        current_len = max_j - min_j;
        if last_len > current_len {
            let start = (max_j - min_j) as usize;
            let end = (start + (last_len - current_len) as usize).min(column_len);
            column[start..end].fill(1.0);
        }
    }
    column[(max_j - min_j - 1) as usize]
}
