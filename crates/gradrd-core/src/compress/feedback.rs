//! The error-feedback memory and the replay of one unit (a tensor, or all
//! tensors concatenated for global compression) over a gradient sequence:
//!
//! ```text
//! p_t     = g_t + e_t
//! Δ_t     = C(p_t)
//! e_{t+1} = γ (p_t − Δ_t)      none: γ = 0 · full: γ = 1 · decay: 0 ≤ γ ≤ 1 (CO3)
//! error_t = ‖p_t − Δ_t‖²,  residual_t = ‖e_{t+1}‖
//! ```

use serde::Serialize;

use super::bits::BitModel;
use super::rng::SplitMix64;
use super::sparsify::{
    compress, cut_of, fraction_to_count, magnitude_key, sampled_lower_bound, Compressor, Workspace,
};
use super::CompressError;

/// The error-feedback rule.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Feedback {
    /// No memory: `e = 0`.
    None,
    /// `e_{t+1} = p_t − Δ_t`.
    Full,
    /// `e_{t+1} = γ (p_t − Δ_t)`.
    Decay { gamma: f64 },
}

impl Feedback {
    /// The memory factor γ.
    pub fn gamma(&self) -> f64 {
        match self {
            Feedback::None => 0.0,
            Feedback::Full => 1.0,
            Feedback::Decay { gamma } => *gamma,
        }
    }

    pub fn validate(&self) -> Result<(), CompressError> {
        let g = self.gamma();
        if (0.0..=1.0).contains(&g) {
            Ok(())
        } else {
            Err(CompressError::Gamma(g))
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Feedback::None => "none",
            Feedback::Full => "full",
            Feedback::Decay { .. } => "decay",
        }
    }
}

/// What one step of a replay sent and lost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepOutcome {
    /// Entries sent.
    pub sent: usize,
    /// Bits sent (values + positions, see [`BitModel`]).
    pub bits: f64,
    /// `‖p_t − C(p_t)‖²`.
    pub error_sq: f64,
    /// `‖e_{t+1}‖²` (its square root is the residual norm).
    pub residual_sq: f64,
}

/// The replay state of one unit: compressor, memory and buffers.
#[derive(Debug, Clone)]
pub struct ErrorFeedback {
    compressor: Compressor,
    feedback: Feedback,
    bits: BitModel,
    residual: Vec<f64>,
    corrected: Vec<f64>,
    update: Vec<f64>,
    work: Workspace,
}

impl ErrorFeedback {
    /// A replay over vectors of `n` entries; `rng` drives rand-k.
    pub fn new(
        n: usize,
        compressor: Compressor,
        feedback: Feedback,
        bits: BitModel,
        rng: SplitMix64,
    ) -> Result<Self, CompressError> {
        compressor.validate(n)?;
        feedback.validate()?;
        Ok(Self {
            compressor,
            feedback,
            bits,
            residual: vec![0.0; n],
            corrected: vec![0.0; n],
            update: vec![0.0; n],
            work: Workspace::new(rng),
        })
    }

    /// Number of entries of the unit.
    pub fn len(&self) -> usize {
        self.residual.len()
    }

    pub fn is_empty(&self) -> bool {
        self.residual.is_empty()
    }

    /// The memory `e_{t+1}` after the last step.
    pub fn residual(&self) -> &[f64] {
        &self.residual
    }

    /// The last update sent, `Δ_t = C(p_t)`.
    pub fn update(&self) -> &[f64] {
        &self.update
    }

    /// Clears the memory (`e = 0`).
    pub fn reset(&mut self) {
        self.residual.fill(0.0);
    }

    /// Multiplies the memory by `factor`.
    pub fn scale_residual(&mut self, factor: f64) {
        self.residual.iter_mut().for_each(|e| *e *= factor);
    }

    /// One step with gradient `g`: compress `p = g + e`, update `e`.
    pub fn step(&mut self, g: &[f64]) -> Result<StepOutcome, CompressError> {
        let n = self.len();
        if g.len() != n {
            return Err(CompressError::Length {
                got: g.len(),
                expected: n,
            });
        }
        if let Compressor::TopK { fraction } = self.compressor {
            return self.top_k_step(g, fraction);
        }
        let mut finite = true;
        for ((p, &gi), &ei) in self.corrected.iter_mut().zip(g).zip(&self.residual) {
            finite &= gi.is_finite();
            *p = gi + ei;
        }
        if !finite {
            return Err(first_non_finite(g));
        }
        let sent = compress(
            &self.compressor,
            &self.corrected,
            &mut self.update,
            self.bits.value_bits,
            &mut self.work,
        );
        let gamma = self.feedback.gamma();
        let mut error_sq = 0.0;
        let mut residual_sq = 0.0;
        for ((e, &p), &d) in self
            .residual
            .iter_mut()
            .zip(&self.corrected)
            .zip(&self.update)
        {
            let lost = p - d;
            error_sq += lost * lost;
            *e = gamma * lost;
            residual_sq += *e * *e;
        }
        Ok(StepOutcome {
            sent: sent.entries,
            bits: self.bits.message_bits(n, sent.entries, sent.value_bits),
            error_sq,
            residual_sq,
        })
    }
}

impl ErrorFeedback {
    /// Top-k fused with the memory update, two passes over the data: the
    /// first forms `p = g + e` and gathers the candidate keys (those above
    /// a sampled lower bound of the cut, or all), the second keeps, sends
    /// and updates the memory.
    fn top_k_step(&mut self, g: &[f64], fraction: f64) -> Result<StepOutcome, CompressError> {
        let n = self.len();
        let k = fraction_to_count(fraction, n);
        let residual = &self.residual;
        let keys = &mut self.work.keys;
        let lower =
            sampled_lower_bound(n, k, |i| magnitude_key(g[i] + residual[i]), keys).unwrap_or(0);
        keys.clear();
        let mut finite = true;
        for ((p, &gi), &ei) in self.corrected.iter_mut().zip(g).zip(residual) {
            finite &= gi.is_finite();
            *p = gi + ei;
            let key = magnitude_key(*p);
            if key >= lower {
                keys.push(key);
            }
        }
        if !finite {
            return Err(first_non_finite(g));
        }
        let (kth, mut ties) = if k == 0 {
            (u64::MAX, 0)
        } else {
            if keys.len() < k {
                // the sample overestimated the cut: select on every key
                keys.clear();
                keys.extend(self.corrected.iter().map(|&p| magnitude_key(p)));
            }
            cut_of(keys, k)
        };
        let gamma = self.feedback.gamma();
        let mut error_sq = 0.0;
        let mut residual_sq = 0.0;
        for ((e, d), &p) in self
            .residual
            .iter_mut()
            .zip(self.update.iter_mut())
            .zip(&self.corrected)
        {
            let key = magnitude_key(p);
            let keep = key > kth || (key == kth && ties > 0);
            if key == kth && keep {
                ties -= 1;
            }
            *d = if keep { p } else { 0.0 };
            let lost = p - *d;
            error_sq += lost * lost;
            *e = gamma * lost;
            residual_sq += *e * *e;
        }
        Ok(StepOutcome {
            sent: k,
            bits: self
                .bits
                .message_bits(n, k, k as f64 * self.bits.value_bits),
            error_sq,
            residual_sq,
        })
    }
}

/// The error of the first non-finite entry of `g` (which has one).
fn first_non_finite(g: &[f64]) -> CompressError {
    let (index, value) = g
        .iter()
        .copied()
        .enumerate()
        .find(|(_, v)| !v.is_finite())
        .unwrap_or((0, f64::NAN));
    CompressError::NonFinite { index, value }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::PositionCoding;
    use gradrd_testkit::assert_close;
    use proptest::prelude::*;

    fn index_bits() -> BitModel {
        BitModel {
            positions: PositionCoding::Index,
            value_bits: 32.0,
        }
    }

    #[test]
    fn full_top_k_of_everything_loses_nothing() {
        let mut ef = ErrorFeedback::new(
            4,
            Compressor::TopK { fraction: 1.0 },
            Feedback::Full,
            index_bits(),
            SplitMix64::new(0),
        )
        .unwrap();
        for g in [[1.0, -2.0, 0.5, 0.0], [0.25, 3.0, -1.0, 7.0]] {
            let out = ef.step(&g).unwrap();
            assert_eq!(out.sent, 4);
            assert_close(out.error_sq, 0.0, 0.0, 0.0);
            assert_close(out.residual_sq, 0.0, 0.0, 0.0);
            assert_close(out.bits, 128.0, 0.0, 0.0);
        }
    }

    #[test]
    fn worked_example_top_1_with_full_feedback() {
        // g1 = (3, 1): send 3; e = (0, 1); error 1
        // g2 = (0, 1.5): p = (0, 2.5), send 2.5; e = 0; error 0
        let mut ef = ErrorFeedback::new(
            2,
            Compressor::TopK { fraction: 0.5 },
            Feedback::Full,
            index_bits(),
            SplitMix64::new(0),
        )
        .unwrap();
        let first = ef.step(&[3.0, 1.0]).unwrap();
        assert_close(first.error_sq, 1.0, 0.0, 0.0);
        assert_close(first.residual_sq, 1.0, 0.0, 0.0);
        assert_close(first.bits, 33.0, 0.0, 0.0); // 32 + ⌈log2 2⌉
        let second = ef.step(&[0.0, 1.5]).unwrap();
        assert_close(second.error_sq, 0.0, 0.0, 0.0);
        assert_close(ef.update()[1], 2.5, 0.0, 0.0);
    }

    #[test]
    fn decay_scales_the_memory_and_none_drops_it() {
        for (feedback, expected) in [
            (Feedback::None, 0.0),
            (Feedback::Decay { gamma: 0.5 }, 0.25),
        ] {
            let mut ef = ErrorFeedback::new(
                2,
                Compressor::TopK { fraction: 0.5 },
                feedback,
                index_bits(),
                SplitMix64::new(0),
            )
            .unwrap();
            ef.step(&[3.0, 1.0]).unwrap();
            // e = γ (0, 1); then p = (5, γ): 5 is sent, γ² is lost
            assert_close(ef.residual()[1], feedback.gamma(), 0.0, 0.0);
            assert_close(ef.step(&[5.0, 0.0]).unwrap().error_sq, expected, 0.0, 0.0);
        }
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let make = |feedback| {
            ErrorFeedback::new(
                3,
                Compressor::TopK { fraction: 0.5 },
                feedback,
                index_bits(),
                SplitMix64::new(0),
            )
        };
        assert!(matches!(
            make(Feedback::Decay { gamma: 1.5 }),
            Err(CompressError::Gamma(_))
        ));
        let mut ef = make(Feedback::Full).unwrap();
        assert!(matches!(
            ef.step(&[1.0, 2.0]),
            Err(CompressError::Length {
                got: 2,
                expected: 3
            })
        ));
        assert!(matches!(
            ef.step(&[1.0, f64::NAN, 0.0]),
            Err(CompressError::NonFinite { index: 1, .. })
        ));
    }

    #[test]
    fn fused_top_k_step_on_long_vectors_matches_a_plain_replay() {
        let n = 1 << 16;
        let mut rng = SplitMix64::new(9);
        let mut steps: Vec<Vec<f64>> = (0..4)
            .map(|_| {
                (0..n)
                    .map(|_| ((rng.next_u64() >> 11) as f64 / 9.0e15 - 0.5).powi(3))
                    .collect()
            })
            .collect();
        // a step whose large entries sit where the strided sample never
        // looks (stride 16): the sampled cut is too high and the full
        // selection must take over
        steps.push(
            (0..n)
                .map(|i| if i % 16 == 1 { 1.0 + i as f64 } else { 1e-3 })
                .collect(),
        );
        let mut ef = ErrorFeedback::new(
            n,
            Compressor::TopK { fraction: 0.01 },
            Feedback::Full,
            index_bits(),
            SplitMix64::new(0),
        )
        .unwrap();
        let mut e = vec![0.0; n];
        for g in &steps {
            let out = ef.step(g).unwrap();
            let p: Vec<f64> = g.iter().zip(&e).map(|(a, b)| a + b).collect();
            let kept = crate::compress::top_k_indices(&p, 656); // ⌈0.01 · 65536⌉
            e = p.clone();
            for &i in &kept {
                e[i] = 0.0;
            }
            let error: f64 = e.iter().map(|x| x * x).sum();
            assert_eq!(out.sent, 656);
            assert_close(out.error_sq, error, 1e-12, 0.0);
            for (a, b) in ef.residual().iter().zip(&e) {
                assert_close(*a, *b, 0.0, 0.0);
            }
        }
    }

    fn compressors() -> impl Strategy<Value = Compressor> {
        prop_oneof![
            (0.01f64..=1.0).prop_map(|fraction| Compressor::TopK { fraction }),
            (0.01f64..=1.0).prop_map(|fraction| Compressor::RandK {
                fraction,
                unbiased: false
            }),
            (0.0f64..2.0).prop_map(|lambda| Compressor::Threshold { lambda }),
        ]
    }

    proptest! {
        /// Full feedback conserves mass: Σ_t Δ_t + e_T = Σ_t g_t.
        #[test]
        fn full_feedback_conserves_mass(
            steps in proptest::collection::vec(proptest::collection::vec(-4.0f64..4.0, 12), 1..8),
            compressor in compressors(),
            seed in any::<u64>(),
        ) {
            let mut ef = ErrorFeedback::new(12, compressor, Feedback::Full, index_bits(), SplitMix64::new(seed)).unwrap();
            let mut sent = [0.0; 12];
            let mut total = [0.0; 12];
            for g in &steps {
                ef.step(g).unwrap();
                for i in 0..12 {
                    sent[i] += ef.update()[i];
                    total[i] += g[i];
                }
            }
            for i in 0..12 {
                let lhs = sent[i] + ef.residual()[i];
                prop_assert!((lhs - total[i]).abs() <= 1e-12 * (1.0 + total[i].abs()) * steps.len() as f64,
                    "entry {i}: {lhs} vs {}", total[i]);
            }
        }
    }
}
