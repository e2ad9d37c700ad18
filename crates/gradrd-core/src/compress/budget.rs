//! Total-error budgets.
//!
//! **Hard threshold vs top-k at an equal total budget** (Sahu et al.,
//! "Rethinking gradient sparsification as total error minimization",
//! NeurIPS 2021): find the constant λ whose hard-threshold replay sends at
//! most the budget of entries over the whole run, by a bracketing search on
//! ln λ (Illinois steps on `ln(spend + 1) − ln(budget + 1)`, bisection when
//! a step would leave the bracket; it stops at the exact budget or at a
//! relative width of 1e-10 in λ). The spend falls as λ grows; with error
//! feedback this is not guaranteed step by step, so the returned spend is
//! the measured one, never above the budget. Then compare total errors
//! `Σ_t ‖p_t − C(p_t)‖²`.
//!
//! **Per-tensor bit allocation** under a total bit budget: tensor `i` with
//! `n_i` entries has an operational distortion-rate curve `D_i(R)` (per
//! entry, from Lloyd-Max designs at R = 1..max bits; R = 0 sends nothing and
//! reconstructs the weighted mean). Minimize `Σ n_i D_i(R_i)` subject to
//! `Σ n_i R_i ≤ B` by greedy marginal return on each curve's lower convex
//! hull (Shoham & Gersho, IEEE Trans. ASSP 36 (1988) 1445–1453): repeatedly
//! take the hull segment with the largest `ΔD/ΔR` that still fits. Greedy
//! is optimal only at the budgets it hits exactly (a segment that does not
//! fit is skipped and the rest of the budget goes to lesser segments), so
//! [`allocate_bits_exact`] also solves the multiple-choice knapsack exactly
//! by dynamic programming over the budget in units of `gcd(n_i)` bits, when
//! that table is small enough.

use rayon::prelude::*;
use serde::Serialize;

use super::bits::BitModel;
use super::feedback::Feedback;
use super::run::{replay_totals, RunError, RunTotals, Scope};
use super::sparsify::Compressor;
use super::CompressError;
use crate::quant::empirical::design_from_samples;
use crate::quant::{DesignSpec, LloydOptions, QuantError};

/// Search steps at most.
const MAX_BISECTIONS: usize = 200;

/// The search starts `2^-80` below the bound on every |p| (below it, every
/// non-zero entry is sent) ...
const LN_LAMBDA_RANGE: f64 = 80.0 * std::f64::consts::LN_2;

/// ... and stops when the bracket on λ is narrower than this relative width
/// (far below the resolution of any stored gradient: f32 is 6e-8).
const LN_LAMBDA_TOLERANCE: f64 = 1e-10;

/// The constant hard threshold that spends a total budget.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ThresholdSearch {
    pub lambda: f64,
    pub totals: RunTotals,
    /// Replays run by the bisection.
    pub evaluations: usize,
}

/// A total budget over a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Budget {
    /// Entries sent.
    Entries(u64),
    /// Bits sent (values + positions, under the replay's [`BitModel`]).
    Bits(f64),
}

impl Budget {
    fn exceeded_by(&self, totals: &RunTotals) -> bool {
        match *self {
            Budget::Entries(b) => totals.sent > b,
            Budget::Bits(b) => totals.bits > b,
        }
    }

    /// What `totals` spent in this budget's unit.
    fn spent(&self, totals: &RunTotals) -> f64 {
        match *self {
            Budget::Entries(_) => totals.sent as f64,
            Budget::Bits(_) => totals.bits,
        }
    }

    fn amount(&self) -> f64 {
        match *self {
            Budget::Entries(b) => b as f64,
            Budget::Bits(b) => b,
        }
    }

    fn met_exactly_by(&self, totals: &RunTotals) -> bool {
        match *self {
            Budget::Entries(b) => totals.sent == b,
            Budget::Bits(b) => totals.bits == b,
        }
    }
}

/// The smallest constant λ found whose hard-threshold replay of `steps`
/// (each: one gradient per tensor) sends at most `budget` entries in total.
pub fn threshold_for_budget<G: AsRef<[f64]>>(
    steps: &[Vec<G>],
    feedback: Feedback,
    bits: BitModel,
    budget: u64,
) -> Result<ThresholdSearch, RunError> {
    threshold_for(steps, feedback, bits, Budget::Entries(budget))
}

/// The smallest constant λ found whose hard-threshold replay of `steps`
/// spends at most `budget` (entries or bits) in total.
pub fn threshold_for<G: AsRef<[f64]>>(
    steps: &[Vec<G>],
    feedback: Feedback,
    bits: BitModel,
    budget: Budget,
) -> Result<ThresholdSearch, RunError> {
    let replay = |lambda: f64| {
        replay_totals(
            steps,
            Scope::PerTensor,
            |_, _| Compressor::Threshold { lambda },
            feedback,
            bits,
            0,
        )
    };
    let mut evaluations = 1;
    let everything = replay(0.0)?;
    if !budget.exceeded_by(&everything) {
        return Ok(ThresholdSearch {
            lambda: 0.0,
            totals: everything,
            evaluations,
        });
    }
    // |p_t| ≤ Σ_t max|g_t| for every feedback rule with γ ≤ 1, so above it
    // nothing is sent.
    let bound: f64 = steps
        .iter()
        .map(|step| {
            step.iter()
                .flat_map(|g| g.as_ref().iter())
                .fold(0.0f64, |m, x| m.max(x.abs()))
        })
        .sum();
    let high = 2.0 * bound + f64::MIN_POSITIVE;
    let mut best = ThresholdSearch {
        lambda: high,
        totals: replay(high)?,
        evaluations: 0,
    };
    evaluations += 1;
    // Illinois steps on ln λ against the misfit ln(spend + 1) − ln(budget + 1):
    // `lower` overspends, `upper` (the best so far) does not. The lower end
    // starts where λ is below every entry's resolution (spend as at λ = 0).
    let misfit = |totals: &RunTotals| budget.spent(totals).ln_1p() - budget.amount().ln_1p();
    let mut lower = (high.ln() - LN_LAMBDA_RANGE, misfit(&everything));
    let mut upper = (high.ln(), misfit(&best.totals));
    let mut last_side = None;
    for _ in 0..MAX_BISECTIONS {
        if upper.0 - lower.0 <= LN_LAMBDA_TOLERANCE {
            break;
        }
        let secant = upper.0 - upper.1 * (upper.0 - lower.0) / (upper.1 - lower.1);
        let margin = 1e-3 * (upper.0 - lower.0);
        let u = if secant.is_finite() && secant > lower.0 + margin && secant < upper.0 - margin {
            secant
        } else {
            0.5 * (lower.0 + upper.0)
        };
        let lambda = u.exp();
        let totals = replay(lambda)?;
        evaluations += 1;
        let point = (u, misfit(&totals));
        if budget.exceeded_by(&totals) {
            lower = point;
            if last_side == Some(false) {
                upper.1 *= 0.5;
            }
            last_side = Some(false);
        } else {
            upper = point;
            best = ThresholdSearch {
                lambda,
                totals,
                evaluations: 0,
            };
            if budget.met_exactly_by(&totals) {
                break;
            }
            if last_side == Some(true) {
                lower.1 *= 0.5;
            }
            last_side = Some(true);
        }
    }
    best.evaluations = evaluations;
    Ok(best)
}

/// One point of an operational distortion-rate curve (per entry).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RatePoint {
    pub bits: u32,
    pub distortion: f64,
}

/// `D(R)` for R = 0..=max_bits of the M-weighted Lloyd-Max quantizers of
/// `samples` (mean weighted distortion per entry). R = 0 reconstructs the
/// weighted mean `Σ|x|^M x / Σ|x|^M`; a rate with at least as many levels as
/// distinct values is lossless (D = 0).
pub fn operational_curve(
    samples: &[f64],
    max_bits: u32,
    m: f64,
) -> Result<Vec<RatePoint>, QuantError> {
    let bad = samples.iter().filter(|x| !x.is_finite()).count();
    if bad > 0 {
        return Err(QuantError::NonFiniteSamples(bad));
    }
    let n = samples.len().max(1) as f64;
    let weight = |x: f64| if m == 0.0 { 1.0 } else { x.abs().powf(m) };
    let w0: f64 = samples.iter().map(|&x| weight(x)).sum();
    let w1: f64 = samples.iter().map(|&x| weight(x) * x).sum();
    let center = if w0 > 0.0 { w1 / w0 } else { 0.0 };
    let d0 = samples
        .iter()
        .map(|&x| weight(x) * (x - center).powi(2))
        .sum::<f64>()
        / n;
    let mut distinct: Vec<f64> = samples.to_vec();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    let mut curve = vec![RatePoint {
        bits: 0,
        distortion: d0,
    }];
    for bits in 1..=max_bits {
        let levels = 1usize << bits;
        let distortion = if distinct.len() <= levels {
            0.0
        } else {
            let spec = DesignSpec::new(levels, m, false)?;
            design_from_samples(samples, &spec, &LloydOptions::default())?.distortion
        };
        curve.push(RatePoint { bits, distortion });
    }
    Ok(curve)
}

/// The [`operational_curve`] of every tensor, on its values pooled over
/// the steps (`steps[t][i]` is tensor `i` at step `t`); an error names the
/// tensor's index. Tensors are designed in parallel.
pub fn pooled_curves(
    steps: &[Vec<Vec<f64>>],
    max_bits: u32,
    m: f64,
) -> Result<Vec<Vec<RatePoint>>, (usize, QuantError)> {
    let tensors = steps.first().map_or(0, Vec::len);
    let curves: Vec<_> = (0..tensors)
        .into_par_iter()
        .map(|i| {
            let pooled: Vec<f64> = steps.iter().flat_map(|s| s[i].iter().copied()).collect();
            operational_curve(&pooled, max_bits, m).map_err(|e| (i, e))
        })
        .collect();
    // the first failing tensor, whichever thread found it
    curves.into_iter().collect()
}

/// Indices of the lower convex hull of `points` (sorted by increasing
/// rate), from the first point to the lowest distortion; only segments with
/// a positive distortion drop are kept.
pub fn lower_convex_hull(points: &[RatePoint]) -> Vec<usize> {
    let mut hull: Vec<usize> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        if let Some(&last) = hull.last() {
            if p.distortion >= points[last].distortion {
                continue; // no drop: never worth its bits
            }
        }
        while hull.len() >= 2 {
            let a = points[hull[hull.len() - 2]];
            let b = points[hull[hull.len() - 1]];
            // b lies on or above the chord a → p: drop it
            let cross = (f64::from(b.bits) - f64::from(a.bits)) * (p.distortion - a.distortion)
                - (b.distortion - a.distortion) * (f64::from(p.bits) - f64::from(a.bits));
            if cross <= 0.0 {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(i);
    }
    hull
}

/// A tensor's share of a bit allocation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TensorAllocation {
    pub bits: u32,
    /// Per-entry distortion at that rate.
    pub distortion: f64,
}

/// A bit allocation over tensors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Allocation {
    pub tensors: Vec<TensorAllocation>,
    /// `Σ n_i R_i`.
    pub spent_bits: f64,
    /// `Σ n_i D_i(R_i)`.
    pub total_distortion: f64,
    /// True when every step took the best remaining segment (no better
    /// segment was passed over for not fitting): the allocation is then
    /// optimal among all allocations spending at most `spent_bits`.
    pub lagrangian_optimal: bool,
}

/// Greedy marginal-return allocation of `total_bits` over tensors with
/// `sizes[i]` entries and curves `curves[i]` (each starting at R = 0).
pub fn allocate_bits(
    sizes: &[usize],
    curves: &[Vec<RatePoint>],
    total_bits: f64,
) -> Result<Allocation, CompressError> {
    if !(total_bits.is_finite() && total_bits >= 0.0) {
        return Err(CompressError::Budget(total_bits));
    }
    for (i, curve) in curves.iter().enumerate() {
        if curve.is_empty() || curve.iter().any(|p| !p.distortion.is_finite()) {
            return Err(CompressError::Curve(format!("#{i}")));
        }
    }
    let hulls: Vec<Vec<usize>> = curves.iter().map(|c| lower_convex_hull(c)).collect();
    let mut at = vec![0usize; curves.len()];
    let mut spent = sizes
        .iter()
        .zip(curves)
        .map(|(&n, c)| n as f64 * f64::from(c[0].bits))
        .sum::<f64>();
    let mut optimal = true;
    loop {
        let mut best: Option<(usize, f64, f64)> = None; // tensor, slope, cost
        let mut best_overall = f64::NEG_INFINITY;
        for (i, hull) in hulls.iter().enumerate() {
            let Some(&next) = hull.get(at[i] + 1) else {
                continue;
            };
            let here = curves[i][hull[at[i]]];
            let there = curves[i][next];
            let rate = f64::from(there.bits - here.bits);
            let slope = (here.distortion - there.distortion) / rate;
            best_overall = best_overall.max(slope);
            let cost = sizes[i] as f64 * rate;
            if spent + cost <= total_bits && best.is_none_or(|(_, s, _)| slope > s) {
                best = Some((i, slope, cost));
            }
        }
        let Some((i, slope, cost)) = best else {
            break;
        };
        if slope < best_overall {
            optimal = false;
        }
        at[i] += 1;
        spent += cost;
    }
    let tensors: Vec<TensorAllocation> = hulls
        .iter()
        .zip(curves)
        .zip(&at)
        .map(|((hull, curve), &a)| {
            let p = curve[hull[a]];
            TensorAllocation {
                bits: p.bits,
                distortion: p.distortion,
            }
        })
        .collect();
    let total_distortion = tensors
        .iter()
        .zip(sizes)
        .map(|(t, &n)| n as f64 * t.distortion)
        .sum();
    Ok(Allocation {
        tensors,
        spent_bits: spent,
        total_distortion,
        lagrangian_optimal: optimal,
    })
}

/// Largest `tensors × budget units × rates` that [`allocate_bits_exact`]
/// tabulates.
pub const MAX_EXACT_WORK: usize = 100_000_000;

/// The allocation of at most `total_bits` with the smallest
/// `Σ n_i D_i(R_i)` over every choice of rates (not only hull points), by
/// dynamic programming over the budget in units of `g = gcd(n_i)` bits;
/// `None` when `tensors × (B/g) × rates` exceeds [`MAX_EXACT_WORK`].
pub fn allocate_bits_exact(
    sizes: &[usize],
    curves: &[Vec<RatePoint>],
    total_bits: f64,
) -> Result<Option<Allocation>, CompressError> {
    if !(total_bits.is_finite() && total_bits >= 0.0) {
        return Err(CompressError::Budget(total_bits));
    }
    for (i, curve) in curves.iter().enumerate() {
        if curve.is_empty() || curve.iter().any(|p| !p.distortion.is_finite()) {
            return Err(CompressError::Curve(format!("#{i}")));
        }
    }
    let unit = sizes.iter().fold(0usize, |g, &n| gcd(g, n)).max(1);
    let units = (total_bits / unit as f64).floor();
    let rates = curves.iter().map(Vec::len).max().unwrap_or(0);
    let work = (sizes.len() as f64) * (units + 1.0) * rates as f64;
    if work > MAX_EXACT_WORK as f64 {
        return Ok(None);
    }
    let units = units as usize;
    // best[c] = least distortion of the tensors so far at cost exactly c
    let mut best = vec![f64::INFINITY; units + 1];
    best[0] = 0.0;
    let mut choice: Vec<Vec<u8>> = Vec::with_capacity(sizes.len());
    for (&n, curve) in sizes.iter().zip(curves) {
        let mut next = vec![f64::INFINITY; units + 1];
        let mut pick = vec![0u8; units + 1];
        for (r, point) in curve.iter().enumerate() {
            let cost = (n / unit) * point.bits as usize;
            if cost > units {
                continue;
            }
            let d = n as f64 * point.distortion;
            for c in cost..=units {
                let candidate = best[c - cost] + d;
                if candidate < next[c] {
                    next[c] = candidate;
                    pick[c] = r as u8;
                }
            }
        }
        best = next;
        choice.push(pick);
    }
    let Some((mut c, &total)) = best
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_finite())
        .min_by(|a, b| a.1.total_cmp(b.1).then(a.0.cmp(&b.0)))
    else {
        return Ok(None);
    };
    let mut tensors = vec![
        TensorAllocation {
            bits: 0,
            distortion: 0.0
        };
        sizes.len()
    ];
    for i in (0..sizes.len()).rev() {
        let point = curves[i][choice[i][c] as usize];
        tensors[i] = TensorAllocation {
            bits: point.bits,
            distortion: point.distortion,
        };
        c -= (sizes[i] / unit) * point.bits as usize;
    }
    let spent_bits = tensors
        .iter()
        .zip(sizes)
        .map(|(t, &n)| (n * t.bits as usize) as f64)
        .sum();
    Ok(Some(Allocation {
        tensors,
        spent_bits,
        total_distortion: total,
        lagrangian_optimal: true,
    }))
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::PositionCoding;
    use gradrd_testkit::assert_close;
    use proptest::prelude::*;

    fn curve(d: &[f64]) -> Vec<RatePoint> {
        d.iter()
            .enumerate()
            .map(|(b, &distortion)| RatePoint {
                bits: b as u32,
                distortion,
            })
            .collect()
    }

    #[test]
    fn hull_drops_points_above_the_chord_and_flat_tails() {
        // (1, 6) lies above the chord from (0, 10) to (2, 1); (4, 1) is no drop
        let c = curve(&[10.0, 6.0, 1.0, 0.5, 0.5]);
        assert_eq!(lower_convex_hull(&c), vec![0, 2, 3]);
    }

    #[test]
    fn allocation_gives_bits_where_they_buy_most() {
        // tensor 0 (n = 10): D = 8, 2, 1; tensor 1 (n = 10): D = 1, 0.5, 0.25
        // budget 20 bits: first bit of t0 (slope 6), then its second (1) vs
        // t1's first (0.5): t0 gets 2 bits, t1 none: 10·1 + 10·1 = 20
        let a = allocate_bits(
            &[10, 10],
            &[curve(&[8.0, 2.0, 1.0]), curve(&[1.0, 0.5, 0.25])],
            20.0,
        )
        .unwrap();
        assert_eq!(a.tensors[0].bits, 2);
        assert_eq!(a.tensors[1].bits, 0);
        assert_close(a.total_distortion, 20.0, 0.0, 0.0);
        assert_close(a.spent_bits, 20.0, 0.0, 0.0);
        assert!(a.lagrangian_optimal);
    }

    #[test]
    fn operational_curve_is_lossless_with_enough_levels() {
        // four distinct values: 2 bits reproduce them exactly; R = 0 is the variance
        let x = [1.0, 2.0, 3.0, 4.0, 1.0, 2.0];
        let c = operational_curve(&x, 3, 0.0).unwrap();
        // python3 -c "import numpy as np; print(np.var([1,2,3,4,1,2]))" -> 1.1388888888888888
        assert_close(c[0].distortion, 1.1388888888888888, 1e-14, 0.0);
        assert_close(c[2].distortion, 0.0, 0.0, 0.0);
        assert_close(c[3].distortion, 0.0, 0.0, 0.0);
        assert!(c[1].distortion > 0.0 && c[1].distortion < c[0].distortion);
    }

    #[test]
    fn threshold_search_spends_the_budget_without_exceeding_it() {
        let steps: Vec<Vec<Vec<f64>>> = (0..5)
            .map(|t| {
                vec![
                    (0..40)
                        .map(|i| ((i * 7 + t * 3) % 11) as f64 - 5.0)
                        .collect(),
                    (0..9).map(|i| 0.1 * (i as f64 - t as f64)).collect(),
                ]
            })
            .collect();
        let bits = BitModel {
            positions: PositionCoding::Index,
            value_bits: 32.0,
        };
        for budget in [0u64, 10, 37, 100, 245] {
            let s = threshold_for_budget(&steps, Feedback::Full, bits, budget).unwrap();
            assert!(s.totals.sent <= budget, "{} > {budget}", s.totals.sent);
            let by_bits = threshold_for(
                &steps,
                Feedback::Full,
                bits,
                Budget::Bits(40.0 * budget as f64),
            )
            .unwrap();
            assert!(by_bits.totals.bits <= 40.0 * budget as f64);
            // a slightly smaller λ would overspend (or λ is 0)
            if s.lambda > 0.0 {
                let below = replay_totals(
                    &steps,
                    Scope::PerTensor,
                    |_, _| Compressor::Threshold {
                        lambda: s.lambda * (1.0 - 1e-9),
                    },
                    Feedback::Full,
                    bits,
                    0,
                )
                .unwrap();
                assert!(below.sent >= s.totals.sent);
            }
        }
    }

    proptest! {
        /// The exact allocation equals brute force over all rate choices.
        #[test]
        fn exact_allocation_matches_brute_force(
            levels in proptest::collection::vec(proptest::collection::vec(0.0f64..10.0, 5), 3),
            sizes in proptest::collection::vec(1usize..5, 3),
            budget in 0.0f64..40.0,
        ) {
            let curves: Vec<Vec<RatePoint>> = levels.iter().map(|d| curve(d)).collect();
            let a = allocate_bits_exact(&sizes, &curves, budget).unwrap().unwrap();
            prop_assert!(a.spent_bits <= budget);
            let mut best = f64::INFINITY;
            for r0 in 0..5 { for r1 in 0..5 { for r2 in 0..5 {
                let r = [r0, r1, r2];
                let spent: f64 = (0..3).map(|i| (sizes[i] * r[i]) as f64).sum();
                if spent <= budget {
                    let d: f64 = (0..3).map(|i| sizes[i] as f64 * curves[i][r[i]].distortion).sum();
                    best = best.min(d);
                }
            }}}
            prop_assert!((a.total_distortion - best).abs() <= 1e-12 * best.abs(),
                "exact {} vs brute force {}", a.total_distortion, best);
        }

        /// Greedy on the hull is optimal (Shoham–Gersho) when it never passed
        /// over a better segment: no allocation spending at most as much
        /// does better (brute force over all rate choices of 3 tensors).
        #[test]
        fn greedy_matches_brute_force_when_lagrangian(
            drops in proptest::collection::vec(proptest::collection::vec(0.0f64..1.0, 4), 3),
            sizes in proptest::collection::vec(1usize..5, 3),
            budget in 0.0f64..40.0,
        ) {
            let curves: Vec<Vec<RatePoint>> = drops.iter().map(|d| {
                let mut level = 10.0;
                let mut points = vec![RatePoint { bits: 0, distortion: level }];
                for (b, x) in d.iter().enumerate() {
                    level *= x;
                    points.push(RatePoint { bits: b as u32 + 1, distortion: level });
                }
                points
            }).collect();
            let a = allocate_bits(&sizes, &curves, budget).unwrap();
            prop_assert!(a.spent_bits <= budget);
            if a.lagrangian_optimal {
                let mut best = f64::INFINITY;
                for r0 in 0..5 { for r1 in 0..5 { for r2 in 0..5 {
                    let r = [r0, r1, r2];
                    let spent: f64 = (0..3).map(|i| (sizes[i] * r[i]) as f64).sum();
                    if spent <= a.spent_bits {
                        let d: f64 = (0..3).map(|i| sizes[i] as f64 * curves[i][r[i]].distortion).sum();
                        best = best.min(d);
                    }
                }}}
                prop_assert!(a.total_distortion <= best * (1.0 + 1e-12) + 1e-300,
                    "greedy {} vs brute force {}", a.total_distortion, best);
            }
        }
    }
}
