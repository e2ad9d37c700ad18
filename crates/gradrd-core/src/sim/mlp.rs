//! The model of the federated simulator: a one-hidden-layer perceptron with
//! ReLU and a softmax cross-entropy head, on plain slices. All parameters
//! live in one flat vector, layer by layer (`fc1` = weights then biases, then
//! `fc2`), so that a layer is a contiguous range:
//!
//! ```text
//! h = relu(W1 x + b1),  z = W2 h + b2,  p = softmax(z),  ℓ = −ln p_y
//! ∂ℓ/∂z = p − e_y,  ∂ℓ/∂W2 = (p − e_y) hᵀ,  ∂ℓ/∂h = W2ᵀ (p − e_y) ⊙ [h > 0],  ∂ℓ/∂W1 = (∂ℓ/∂h) xᵀ
//! ```
//!
//! The loss of a batch is the mean over its samples. Initialization as
//! PyTorch's `nn.Linear`: weights and biases uniform in `±1/√fan_in`.

use std::ops::Range;

use rand::Rng;
use rand_pcg::Pcg64;

/// Sizes of the network and where each layer sits in the parameter vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mlp {
    pub input: usize,
    pub hidden: usize,
    pub classes: usize,
}

/// Inputs (row-major, `input` features each) and their labels.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    pub features: &'a [f64],
    pub labels: &'a [u8],
}

impl Mlp {
    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.hidden * (self.input + 1) + self.classes * (self.hidden + 1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The layers' names and ranges: `fc1` (W1, b1) and `fc2` (W2, b2).
    pub fn layers(&self) -> [(&'static str, Range<usize>); 2] {
        let first = self.hidden * (self.input + 1);
        [("fc1", 0..first), ("fc2", first..self.len())]
    }

    /// Fresh parameters, uniform in `±1/√fan_in` per layer.
    pub fn init(&self, rng: &mut Pcg64) -> Vec<f64> {
        let mut params = Vec::with_capacity(self.len());
        for fan_in in [self.input, self.hidden] {
            let count = if fan_in == self.input {
                self.hidden * (self.input + 1)
            } else {
                self.classes * (self.hidden + 1)
            };
            let bound = 1.0 / (fan_in as f64).sqrt();
            params.extend((0..count).map(|_| rng.random_range(-bound..bound)));
        }
        params
    }

    /// Splits parameters into `(W1, b1, W2, b2)`.
    fn parts<'a>(&self, params: &'a [f64]) -> (&'a [f64], &'a [f64], &'a [f64], &'a [f64]) {
        let (w1, rest) = params.split_at(self.hidden * self.input);
        let (b1, rest) = rest.split_at(self.hidden);
        let (w2, b2) = rest.split_at(self.classes * self.hidden);
        (w1, b1, w2, b2)
    }

    /// Hidden activations and softmax probabilities of one input; returns
    /// `−ln p_label`.
    fn forward(
        &self,
        params: &[f64],
        x: &[f64],
        label: u8,
        hidden: &mut [f64],
        probs: &mut [f64],
    ) -> f64 {
        let (w1, b1, w2, b2) = self.parts(params);
        for ((h, row), b) in hidden.iter_mut().zip(w1.chunks_exact(self.input)).zip(b1) {
            let z: f64 = row.iter().zip(x).map(|(w, xi)| w * xi).sum::<f64>() + b;
            *h = z.max(0.0);
        }
        for ((p, row), b) in probs.iter_mut().zip(w2.chunks_exact(self.hidden)).zip(b2) {
            *p = row
                .iter()
                .zip(hidden.iter())
                .map(|(w, h)| w * h)
                .sum::<f64>()
                + b;
        }
        // log-sum-exp with the maximum taken out
        let max = probs.iter().fold(f64::NEG_INFINITY, |m, &z| m.max(z));
        let mut total = 0.0;
        for p in probs.iter_mut() {
            *p = (*p - max).exp();
            total += *p;
        }
        let z_label = probs[label as usize];
        for p in probs.iter_mut() {
            *p /= total;
        }
        total.ln() - z_label.ln()
    }

    /// Mean cross-entropy of `batch` and its gradient (written to `grad`).
    pub fn loss_and_gradient(&self, params: &[f64], batch: Batch<'_>, grad: &mut [f64]) -> f64 {
        grad.fill(0.0);
        let mut hidden = vec![0.0; self.hidden];
        let mut probs = vec![0.0; self.classes];
        let mut dh = vec![0.0; self.hidden];
        let (_, _, w2, _) = self.parts(params);
        let n = batch.labels.len();
        let scale = 1.0 / n.max(1) as f64;
        let mut loss = 0.0;
        let (g1, rest) = grad.split_at_mut(self.hidden * self.input);
        let (gb1, rest) = rest.split_at_mut(self.hidden);
        let (g2, gb2) = rest.split_at_mut(self.classes * self.hidden);
        for (x, &label) in batch.features.chunks_exact(self.input).zip(batch.labels) {
            loss += self.forward(params, x, label, &mut hidden, &mut probs);
            probs[label as usize] -= 1.0;
            dh.fill(0.0);
            for (((dz, grow), wrow), gb) in probs
                .iter()
                .zip(g2.chunks_exact_mut(self.hidden))
                .zip(w2.chunks_exact(self.hidden))
                .zip(gb2.iter_mut())
            {
                let dz = dz * scale;
                *gb += dz;
                for (((g, h), w), d) in grow.iter_mut().zip(&hidden).zip(wrow).zip(dh.iter_mut()) {
                    *g += dz * h;
                    *d += dz * w;
                }
            }
            for (((d, h), grow), gb) in dh
                .iter()
                .zip(&hidden)
                .zip(g1.chunks_exact_mut(self.input))
                .zip(gb1.iter_mut())
            {
                if *h > 0.0 {
                    *gb += d;
                    for (g, xi) in grow.iter_mut().zip(x) {
                        *g += d * xi;
                    }
                }
            }
        }
        loss * scale
    }

    /// Mean cross-entropy and accuracy (fraction of arg-max hits; ties to
    /// the lower class) over `data`.
    pub fn evaluate(&self, params: &[f64], data: Batch<'_>) -> (f64, f64) {
        let mut hidden = vec![0.0; self.hidden];
        let mut probs = vec![0.0; self.classes];
        let mut loss = 0.0;
        let mut hits = 0usize;
        for (x, &label) in data.features.chunks_exact(self.input).zip(data.labels) {
            loss += self.forward(params, x, label, &mut hidden, &mut probs);
            let best = probs
                .iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |(bi, bp), (i, &p)| {
                    if p > bp {
                        (i, p)
                    } else {
                        (bi, bp)
                    }
                })
                .0;
            hits += usize::from(best == label as usize);
        }
        let n = data.labels.len().max(1) as f64;
        (loss / n, hits as f64 / n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    const NET: Mlp = Mlp {
        input: 3,
        hidden: 4,
        classes: 3,
    };

    proptest! {
        /// Every entry of the analytic gradient against a central difference.
        #[test]
        fn gradient_matches_finite_differences(
            params in proptest::collection::vec(-1.0f64..1.0, 31),
            features in proptest::collection::vec(-2.0f64..2.0, 6),
            labels in proptest::collection::vec(0u8..3, 2),
        ) {
            prop_assert_eq!(NET.len(), 31);
            let batch = Batch { features: &features, labels: &labels };
            let mut grad = vec![0.0; 31];
            NET.loss_and_gradient(&params, batch, &mut grad);
            // a hidden unit within h of its kink makes the difference quotient meaningless
            let near_kink = features.chunks(3).any(|x| {
                (0..4).any(|j| {
                    let z: f64 = (0..3).map(|i| params[j * 3 + i] * x[i]).sum::<f64>() + params[12 + j];
                    z.abs() < 1e-4
                })
            });
            prop_assume!(!near_kink);
            let h = 1e-6;
            let mut scratch = vec![0.0; 31];
            for i in 0..31 {
                let mut plus = params.clone();
                let mut minus = params.clone();
                plus[i] += h;
                minus[i] -= h;
                let numeric = (NET.loss_and_gradient(&plus, batch, &mut scratch)
                    - NET.loss_and_gradient(&minus, batch, &mut scratch)) / (2.0 * h);
                prop_assert!((grad[i] - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
                    "entry {}: analytic {} vs numeric {}", i, grad[i], numeric);
            }
        }
    }

    #[test]
    fn loss_of_uniform_logits_is_ln_classes() {
        let params = vec![0.0; NET.len()];
        let (loss, _) = NET.evaluate(
            &params,
            Batch {
                features: &[1.0, 2.0, 3.0],
                labels: &[2],
            },
        );
        gradrd_testkit::assert_close(loss, 3f64.ln(), 1e-15, 0.0);
    }

    #[test]
    fn gradient_descent_decreases_the_loss() {
        let mut rng = Pcg64::seed_from_u64(3);
        let features: Vec<f64> = (0..60).map(|_| rng.random_range(-1.0..1.0)).collect();
        let labels: Vec<u8> = features
            .chunks(3)
            .map(|x| u8::from(x[0] > 0.0) + u8::from(x[1] > 0.5))
            .collect();
        let batch = Batch {
            features: &features,
            labels: &labels,
        };
        let mut params = NET.init(&mut rng);
        let mut grad = vec![0.0; NET.len()];
        let first = NET.loss_and_gradient(&params, batch, &mut grad);
        for _ in 0..500 {
            NET.loss_and_gradient(&params, batch, &mut grad);
            for (p, g) in params.iter_mut().zip(&grad) {
                *p -= 0.5 * g;
            }
        }
        let (last, accuracy) = NET.evaluate(&params, batch);
        assert!(last < 0.5 * first, "{first} -> {last}");
        assert!(accuracy > 0.8, "accuracy {accuracy}");
    }
}
