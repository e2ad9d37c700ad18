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
//! (relative width 1e-6). Only Δ (as f32) is side information.

use super::{absmax, as_sent, BaselineError, Coded, FLOAT_BITS};

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
    Coded::dense(decoded, &symbols, levels, f64::from(bits), 2 * FLOAT_BITS)
}

/// Index of `x` in the mid-rise quantizer of step `step` with `levels` levels.
fn mid_rise_index(x: f64, step: f64, levels: u32) -> u32 {
    let half = f64::from(levels / 2);
    ((x / step).floor() + half).clamp(0.0, f64::from(levels - 1)) as u32
}

fn mid_rise_value(index: u32, step: f64, levels: u32) -> f64 {
    (f64::from(index) - f64::from(levels / 2) + 0.5) * step
}

/// `(1/n) Σ |x|^M (x − Q_Δ(x))²` of the mid-rise quantizer.
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

/// The step minimizing the M-weighted distortion (see the module docs);
/// `None` for an all-zero tensor.
pub fn optimal_mid_rise_step(samples: &[f64], bits: u32, m: f64) -> Option<f64> {
    let levels = 1u32 << bits;
    let top = 2.0 * absmax(samples) / f64::from(levels);
    if top <= 0.0 || !top.is_finite() {
        return None;
    }
    let weights: Vec<f64> = samples.iter().map(|x| x.abs().powf(m)).collect();
    let objective = |step: f64| mid_rise_distortion(samples, &weights, step, levels);
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
    Some(if refined_value <= values[best] {
        refined
    } else {
        grid[best]
    })
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
    Coded::dense(decoded, &symbols, levels, f64::from(bits), FLOAT_BITS)
}

/// An all-zero tensor: the step is sent as the smallest positive f32
/// subnormal; every entry decodes to ±Δ/2 = ±7e−46 ≈ 0 (index L/2).
fn zero_tensor(n: usize, levels: u32, bits: u32) -> Result<Coded, BaselineError> {
    let step = f64::from(f32::from_bits(1));
    let index = levels / 2;
    let symbols = vec![index; n];
    let decoded = vec![mid_rise_value(index, step, levels); n];
    Coded::dense(decoded, &symbols, levels, f64::from(bits), FLOAT_BITS)
}
