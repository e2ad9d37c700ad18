//! Uniform scalar quantizers with `L = 2^b` levels.
//!
//! **Min-max** (`uniform-minmax`): levels spanning the sample range,
//!
//! ```text
//! Δ = (max − min)/(L − 1),  i = clamp(round_half_even((x − min)/Δ), 0, L − 1),  x̂ = min + iΔ
//! ```
//!
//! (min and max sent as f32; a constant tensor has Δ = 0 and sends index 0).
//! On a uniform source the error is uniform on `[−Δ/2, Δ/2]` (also in the two
//! half-width end cells), so MSE → Δ²/12.
//!
//! **Optimal step** (`uniform-opt`): the symmetric mid-rise quantizer
//!
//! ```text
//! i = clamp(⌊x/Δ⌋ + L/2, 0, L − 1),  x̂ = (i − L/2 + ½) Δ
//! ```
//!
//! (no zero level; the outer cells take the overload) with the step Δ that
//! minimizes the M-weighted distortion on the samples. `d_M(Δ)` is piecewise
//! smooth and not unimodal in general, so Δ is first scanned on a
//! log-spaced grid of [`GRID_POINTS`] values in `[Δ₀/1000, Δ₀]`,
//! `Δ₀ = 2·absmax/L` (the step with no overload), then refined by
//! golden-section search between the grid neighbours of the best point
//! (relative width 1e-6). Only Δ (as f32) is side information. Each trial
//! step costs O(L log n), not O(n): the samples are sorted once with the
//! prefix sums `S_k = Σ |x|^M x^k` (k = 0, 1, 2, accumulated outward from 0 as
//! in [`crate::quant::empirical`]), a cell's boundaries are found by binary
//! search with the quantizer's own test `x/Δ < b`, and its distortion is
//! `S_2 − 2 c S_1 + c² S_0` (a direct pass is used when `L log2 n ≥ n`).

use super::{absmax, as_sent, BaselineError, Coded, SIDE_FLOAT_BITS};

/// Grid points of the step scan of `uniform-opt`.
pub const GRID_POINTS: usize = 64;

/// The min-max uniform quantizer with `2^bits` levels.
pub(crate) fn min_max(samples: &[f64], bits: u32) -> Result<Coded, BaselineError> {
    let levels = 1u32 << bits;
    let (lo, hi) = samples
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    let (lo, hi) = (as_sent(lo), as_sent(hi));
    let step = (hi - lo) / f64::from(levels - 1);
    let mut symbols = Vec::with_capacity(samples.len());
    let mut decoded = Vec::with_capacity(samples.len());
    for &x in samples {
        let index = if step > 0.0 {
            ((x - lo) / step)
                .round_ties_even()
                .clamp(0.0, f64::from(levels - 1)) as u32
        } else {
            0
        };
        symbols.push(index);
        decoded.push(lo + f64::from(index) * step);
    }
    Coded::dense(
        decoded,
        &symbols,
        levels,
        f64::from(bits),
        2 * SIDE_FLOAT_BITS,
    )
}

/// Index of `x` in the mid-rise quantizer of step `step` with `levels` levels.
fn mid_rise_index(x: f64, step: f64, levels: u32) -> u32 {
    let half = f64::from(levels / 2);
    ((x / step).floor() + half).clamp(0.0, f64::from(levels - 1)) as u32
}

fn mid_rise_value(index: u32, step: f64, levels: u32) -> f64 {
    (f64::from(index) - f64::from(levels / 2) + 0.5) * step
}

/// `(1/n) Σ |x|^M (x − Q_Δ(x))²` of the mid-rise quantizer, by a direct pass.
fn mid_rise_distortion(samples: &[f64], weights: &[f64], step: f64, levels: u32) -> f64 {
    samples
        .iter()
        .zip(weights)
        .map(|(&x, &w)| {
            let e = x - mid_rise_value(mid_rise_index(x, step, levels), step, levels);
            w * e * e
        })
        .sum::<f64>()
        / samples.len() as f64
}

/// The same distortion from sorted samples and their prefix sums.
struct SortedSamples {
    sorted: Vec<f64>,
    sums: Vec<[f64; 3]>,
}

impl SortedSamples {
    fn new(samples: &[f64], m: f64) -> Self {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable_by(f64::total_cmp);
        let sums = crate::quant::empirical::origin_sums(&sorted, m);
        Self { sorted, sums }
    }

    fn distortion(&self, step: f64, levels: u32) -> f64 {
        let half = f64::from(levels / 2);
        let n = self.sorted.len();
        let mut total = 0.0;
        let mut start = 0;
        for i in 0..levels {
            // x is in a cell above i iff floor(x/Δ) + L/2 ≥ i + 1
            let end = if i + 1 == levels {
                n
            } else {
                let bound = f64::from(i + 1) - half;
                start + self.sorted[start..].partition_point(|&x| x / step < bound)
            };
            if end > start {
                let (lo, hi) = (self.sums[start], self.sums[end]);
                let [w0, w1, w2] = [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
                let c = mid_rise_value(i, step, levels);
                total += (w2 - 2.0 * c * w1 + c * c * w0).max(0.0);
            }
            start = end;
        }
        total / n as f64
    }
}

/// The step minimizing the M-weighted distortion (see the module docs);
/// `None` for an all-zero tensor.
pub fn optimal_mid_rise_step(samples: &[f64], bits: u32, m: f64) -> Option<f64> {
    let levels = 1u32 << bits;
    let largest = absmax(samples);
    if largest <= 0.0 || !largest.is_finite() {
        return None;
    }
    // Q is unchanged by a common power-of-2 scale (exact), so the search runs
    // on x / 2^⌊log2 absmax⌋: |x|^M (x − c)² stays inside the f64 range, and
    // d_M only changes by a constant factor
    let unit = 2f64.powi(largest.log2().floor() as i32);
    let scaled: Vec<f64> = samples.iter().map(|x| x / unit).collect();
    let samples = &scaled[..];
    let top = 2.0 * absmax(samples) / f64::from(levels);
    let n = samples.len() as f64;
    let direct = f64::from(levels) * (n.log2() + 1.0) >= n;
    let weights: Vec<f64> = if direct {
        samples.iter().map(|x| x.abs().powf(m)).collect()
    } else {
        Vec::new()
    };
    let sorted = (!direct).then(|| SortedSamples::new(samples, m));
    let objective = |step: f64| match &sorted {
        Some(sorted) => sorted.distortion(step, levels),
        None => mid_rise_distortion(samples, &weights, step, levels),
    };
    let ratio = 1000f64.powf(1.0 / (GRID_POINTS - 1) as f64);
    let grid: Vec<f64> = (0..GRID_POINTS)
        .map(|i| top / 1000.0 * ratio.powi(i as i32))
        .collect();
    let values: Vec<f64> = grid.iter().map(|&s| objective(s)).collect();
    let best = (0..GRID_POINTS)
        .min_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap_or(GRID_POINTS - 1);
    let (mut a, mut b) = (
        grid[best.saturating_sub(1)],
        grid[(best + 1).min(GRID_POINTS - 1)],
    );
    // golden-section search on [a, b], keeping the grid point as a candidate
    let inverse_phi = (5f64.sqrt() - 1.0) / 2.0;
    let mut c = b - inverse_phi * (b - a);
    let mut d = a + inverse_phi * (b - a);
    let (mut fc, mut fd) = (objective(c), objective(d));
    while (b - a) > 1e-6 * b {
        if fc <= fd {
            b = d;
            d = c;
            fd = fc;
            c = b - inverse_phi * (b - a);
            fc = objective(c);
        } else {
            a = c;
            c = d;
            fc = fd;
            d = a + inverse_phi * (b - a);
            fd = objective(d);
        }
    }
    let (refined, refined_value) = if fc <= fd { (c, fc) } else { (d, fd) };
    Some(
        unit * if refined_value <= values[best] {
            refined
        } else {
            grid[best]
        },
    )
}

/// The mid-rise uniform quantizer with the optimal step.
pub(crate) fn optimal_step(samples: &[f64], bits: u32, m: f64) -> Result<Coded, BaselineError> {
    let levels = 1u32 << bits;
    let Some(step) = optimal_mid_rise_step(samples, bits, m) else {
        // all zeros: any step; the decoded values ±Δ/2 → take Δ as small as sent
        return zero_tensor(samples.len(), levels, bits);
    };
    let step = as_sent(step);
    let mut symbols = Vec::with_capacity(samples.len());
    let mut decoded = Vec::with_capacity(samples.len());
    for &x in samples {
        let index = mid_rise_index(x, step, levels);
        symbols.push(index);
        decoded.push(mid_rise_value(index, step, levels));
    }
    Coded::dense(decoded, &symbols, levels, f64::from(bits), SIDE_FLOAT_BITS)
}

/// An all-zero tensor: the step is sent as the smallest positive f32
/// subnormal; every entry decodes to ±Δ/2 = ±7e−46 ≈ 0 (index L/2).
fn zero_tensor(n: usize, levels: u32, bits: u32) -> Result<Coded, BaselineError> {
    let step = f64::from(f32::from_bits(1));
    let index = levels / 2;
    let symbols = vec![index; n];
    let decoded = vec![mid_rise_value(index, step, levels); n];
    Coded::dense(decoded, &symbols, levels, f64::from(bits), SIDE_FLOAT_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradrd_testkit::assert_close;

    #[test]
    fn prefix_sum_objective_equals_the_direct_pass() {
        // a heavy-tailed, zero-inflated deterministic sample
        let samples: Vec<f64> = (0..5000)
            .map(|i| {
                let u = (i as f64 * 0.618_033_988_749_895).fract() - 0.5;
                if i % 7 == 0 {
                    0.0
                } else {
                    u.signum() * u.abs().powi(3) * 8.0
                }
            })
            .collect();
        for m in [0.0, 0.5, 2.0] {
            let weights: Vec<f64> = samples.iter().map(|x| x.abs().powf(m)).collect();
            let sorted = SortedSamples::new(&samples, m);
            for bits in [1u32, 3, 6] {
                let levels = 1u32 << bits;
                for step in [1e-3, 0.01, 0.137, 0.5, 2.0] {
                    let direct = mid_rise_distortion(&samples, &weights, step, levels);
                    assert_close(sorted.distortion(step, levels), direct, 1e-9, 1e-300);
                }
            }
        }
    }
}
