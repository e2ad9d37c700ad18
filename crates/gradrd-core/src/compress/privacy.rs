//! Differential privacy against compression: clip the update to L2 norm C,
//! add Gaussian noise of standard deviation σ·C (the noise multiplier σ of
//! DP-SGD; Abadi et al., CCS 2016), then ask what happens to compression:
//!
//! ```text
//! clipped  g_c = g · min(1, C / ‖g‖)
//! noisy    g_σ = g_c + N(0, (σ C)² I)
//! overlap  |topk(g_σ) ∩ topk(g_c)| / k          (1 at σ = 0; k/n for a random support)
//! coded    n · H(q(g_σ)),  q(x) = round(x / Δ)  (empirical entropy of a uniform
//!          mid-tread quantizer with step Δ: the size an ideal entropy coder reaches)
//! ```
//!
//! As σ grows the top-k support becomes random and the quantized symbols
//! spread out; for σC ≫ Δ the entropy approaches that of a quantized
//! Gaussian, `log2(σ C √(2πe) / Δ)` bits per entry.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;

use super::sparsify::{fraction_to_count, top_k_indices};
use super::CompressError;

/// One point of the curve over σ.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DpPoint {
    pub sigma: f64,
    /// Fraction of the noiseless top-k support kept by the noisy top-k.
    pub support_overlap: f64,
    /// Empirical entropy of the quantized noisy update, bits per entry.
    pub entropy_bits: f64,
    /// `n · entropy_bits`.
    pub coded_bits: f64,
}

/// `g · min(1, C / ‖g‖)`.
pub fn clip(g: &[f64], c: f64) -> Vec<f64> {
    let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    let factor = if norm > c { c / norm } else { 1.0 };
    g.iter().map(|x| x * factor).collect()
}

/// Empirical entropy (bits per entry) of `round(x / step)`.
pub fn quantized_entropy(x: &[f64], step: f64) -> f64 {
    // ordered, so the sum (and the output) is the same run to run
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for &v in x {
        *counts.entry((v / step).round() as i64).or_default() += 1;
    }
    let n = x.len() as f64;
    counts
        .values()
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// The curve over `sigmas` for one gradient `g`: clip to `c`, add noise
/// (seeded: the same seed gives the same curve), compare top-k supports at
/// `fraction`, and measure the quantized entropy at step `step`.
pub fn dp_noise_curve(
    g: &[f64],
    c: f64,
    sigmas: &[f64],
    fraction: f64,
    step: f64,
    seed: u64,
) -> Result<Vec<DpPoint>, CompressError> {
    if !(fraction > 0.0 && fraction <= 1.0) {
        return Err(CompressError::Fraction {
            field: "k",
            value: fraction,
        });
    }
    if !(c.is_finite() && c > 0.0) {
        return Err(CompressError::Parameter {
            field: "clip",
            value: c,
        });
    }
    if !(step.is_finite() && step > 0.0) {
        return Err(CompressError::Parameter {
            field: "quantizer step",
            value: step,
        });
    }
    if let Some(&s) = sigmas.iter().find(|s| !(s.is_finite() && **s >= 0.0)) {
        return Err(CompressError::Parameter {
            field: "sigma",
            value: s,
        });
    }
    let clipped = clip(g, c);
    let n = g.len();
    let k = fraction_to_count(fraction, n);
    let reference = top_k_indices(&clipped, k);
    let mut in_reference = vec![false; n];
    for &i in &reference {
        in_reference[i] = true;
    }
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let standard = Normal::new(0.0, 1.0).expect("unit normal");
    sigmas
        .iter()
        .map(|&sigma| {
            let noisy: Vec<f64> = clipped
                .iter()
                .map(|x| x + sigma * c * standard.sample(&mut rng))
                .collect();
            let kept = top_k_indices(&noisy, k);
            let common = kept.iter().filter(|&&i| in_reference[i]).count();
            let entropy_bits = quantized_entropy(&noisy, step);
            Ok(DpPoint {
                sigma,
                support_overlap: if k == 0 {
                    1.0
                } else {
                    common as f64 / k as f64
                },
                entropy_bits,
                coded_bits: n as f64 * entropy_bits,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradrd_testkit::assert_close;

    fn gradient(n: usize) -> Vec<f64> {
        let mut rng = super::super::SplitMix64::new(3);
        (0..n)
            .map(|_| ((rng.next_u64() >> 11) as f64 / 9.007_199_254_740_992e15 - 0.5).powi(3))
            .collect()
    }

    #[test]
    fn clipping_scales_to_the_norm_only_when_above_it() {
        let g = [3.0, 4.0];
        let c = clip(&g, 1.0);
        assert_close(c[0], 0.6, 1e-15, 0.0);
        assert_close(c[1], 0.8, 1e-15, 0.0);
        let same = clip(&g, 10.0);
        assert_close(same[1], 4.0, 0.0, 0.0);
    }

    #[test]
    fn quantized_entropy_matches_numpy() {
        // python3 -c "import numpy as np; x=np.array([0.1,0.2,0.26,-0.3,0.0,0.04]); \
        //   _,c=np.unique(np.round(x/0.1),return_counts=True); p=c/c.sum(); print(-(p*np.log2(p)).sum())"
        // -> 2.2516291673878226   (symbols 1, 2, 3, -3, 0, 0)
        let x = [0.1, 0.2, 0.26, -0.3, 0.0, 0.04];
        assert_close(quantized_entropy(&x, 0.1), 2.2516291673878226, 1e-14, 0.0);
    }

    #[test]
    fn noise_randomizes_the_support_and_grows_the_entropy() {
        let g = gradient(20_000);
        let c = 1.0;
        let step = 1e-4;
        let curve = dp_noise_curve(&g, c, &[0.0, 0.001, 0.1, 10.0], 0.01, step, 1).unwrap();
        assert_close(curve[0].support_overlap, 1.0, 0.0, 0.0);
        for w in curve.windows(2) {
            assert!(w[1].entropy_bits > w[0].entropy_bits, "{curve:?}");
        }
        // σ = 10: the support is random, overlap ≈ k/n = 0.01 (binomial sd ≈ 0.007)
        assert!(curve[3].support_overlap < 0.01 + 4.0 * 0.007, "{curve:?}");
        // σC ≫ Δ: entropy of a quantized Gaussian, log2(σ C √(2πe) / Δ)
        // python3 -c "import math; print(math.log2(10*1*math.sqrt(2*math.pi*math.e)/1e-4))" -> 18.65673605961745
        // (with 20 000 samples of ~2^18.7 cells the plug-in estimate saturates at
        //  log2(20 000) = 14.29: the empirical entropy is bounded by log2 n)
        assert!(curve[3].entropy_bits <= (20_000f64).log2() + 1e-9);
        let wide = dp_noise_curve(&g, c, &[1.0], 0.01, 0.5, 2).unwrap();
        // python3 -c "import math; print(math.log2(1*math.sqrt(2*math.pi*math.e)/0.5))" -> 3.047095585180641
        assert_close(wide[0].entropy_bits, 3.047095585180641, 0.01, 0.0);
    }

    #[test]
    fn bad_parameters_are_errors() {
        let g = gradient(10);
        assert!(dp_noise_curve(&g, 0.0, &[1.0], 0.1, 0.1, 0).is_err());
        assert!(dp_noise_curve(&g, 1.0, &[-1.0], 0.1, 0.1, 0).is_err());
        assert!(dp_noise_curve(&g, 1.0, &[1.0], 0.0, 0.1, 0).is_err());
        assert!(dp_noise_curve(&g, 1.0, &[1.0], 0.1, 0.0, 0).is_err());
    }
}
