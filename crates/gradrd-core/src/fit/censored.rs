//! The interval-censored log-likelihood of values stored in a 16-bit float
//! format.
//!
//! A bfloat16 or float16 value `v` stands for every real number that rounds
//! to it (round to nearest, ties to even): the cell `[l, u]` from the
//! midpoint with the next representable value below to the midpoint with the
//! next one above (`±v/2`… for the smallest subnormal, `±` half the smallest
//! subnormal around 0; the largest finite value's cell is as wide above as
//! below, up to the overflow threshold). Modelled as what they are, the values
//! have the log-likelihood
//!
//! ```text
//! ℓ_cens = Σ ln(F(u_i) − F(l_i))
//! ```
//!
//! with `F` the fitted cdf, computed as a difference of survival functions
//! when the cell lies above `loc` and of cdfs otherwise (no cancellation
//! against 1), once per distinct value. Where that difference underflows (far
//! tails) the midpoint rule `ln f(v) + ln(u − l)` is used. `ℓ_cens` is a
//! probability, so it stays finite at the poles and spikes of the continuous
//! density (dweibull with `c < 1`, gennorm as `β → 0`) where ties make the
//! density log-likelihood unbounded. For float32 and float64 the cells are so
//! narrow that `ℓ_cens ≈ loglik + Σ ln(u_i − l_i)`, the density
//! log-likelihood plus a constant of the data alone, so it is not reported.

use crate::dist::{ContinuousDist, Model};

/// A 16-bit storage format whose rounding cells [`loglik_censored`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// bfloat16 (8 exponent bits, 7 mantissa bits).
    BFloat16,
    /// IEEE 754 binary16.
    Float16,
}

impl Rounding {
    /// The 16 bits of `v` if it is a finite value of the format.
    fn bits(self, v: f64) -> Option<u16> {
        let (bits, back) = match self {
            Rounding::BFloat16 => {
                let h = half::bf16::from_f64(v);
                (h.to_bits(), h.to_f64())
            }
            Rounding::Float16 => {
                let h = half::f16::from_f64(v);
                (h.to_bits(), h.to_f64())
            }
        };
        (back == v && v.is_finite()).then_some(bits)
    }

    fn value(self, bits: u16) -> f64 {
        match self {
            Rounding::BFloat16 => half::bf16::from_bits(bits).to_f64(),
            Rounding::Float16 => half::f16::from_bits(bits).to_f64(),
        }
    }

    /// The rounding cell `(l, u)` of `v`, or `None` when `v` is not a finite
    /// value of the format.
    pub fn cell(self, v: f64) -> Option<(f64, f64)> {
        let bits = self.bits(v.abs())?;
        let up = self.value(bits + 1);
        let down = if bits == 0 {
            -self.value(1)
        } else {
            self.value(bits - 1)
        };
        let up = if up.is_finite() {
            up
        } else {
            2.0 * v.abs() - down
        };
        let (l, u) = (0.5 * (down + v.abs()), 0.5 * (v.abs() + up));
        Some(if v.is_sign_negative() && v != 0.0 {
            (-u, -l)
        } else {
            (l, u)
        })
    }
}

/// `ln(F(u) − F(l))` for the cell `(l, u)` of `v` under `model`.
fn ln_cell_probability(model: &Model, v: f64, (l, u): (f64, f64)) -> f64 {
    let probability = if l >= model.loc() {
        model.sf(l) - model.sf(u)
    } else {
        model.cdf(u) - model.cdf(l)
    };
    if probability > 0.0 && probability.is_finite() {
        probability.ln()
    } else {
        model.ln_pdf(v) + (u - l).ln()
    }
}

/// `Σ ln(F(u_i) − F(l_i))` over `values` (sorted or not) stored in
/// `rounding`'s format, or `None` if a value is not one of the format's
/// finite values.
pub fn loglik_censored(model: &Model, values: &[f64], rounding: Rounding) -> Option<f64> {
    let mut sorted = values.to_vec();
    if !sorted.is_sorted_by(|a, b| a.total_cmp(b).is_le()) {
        sorted.sort_by(f64::total_cmp);
    }
    let counted: Vec<(f64, usize)> = sorted
        .chunk_by(|a, b| a == b)
        .map(|run| (run[0], run.len()))
        .collect();
    loglik_censored_counted(model, &counted, rounding)
}

/// [`loglik_censored`] of distinct values given with their counts.
pub fn loglik_censored_counted(
    model: &Model,
    counted: &[(f64, usize)],
    rounding: Rounding,
) -> Option<f64> {
    counted.iter().try_fold(0.0, |total, &(v, count)| {
        let cell = rounding.cell(v)?;
        Some(total + count as f64 * ln_cell_probability(model, v, cell))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_the_round_to_nearest_cells() {
        // 1 in bfloat16: neighbours 1 - 2^-8 and 1 + 2^-7.
        let (l, u) = Rounding::BFloat16.cell(1.0).unwrap();
        assert_eq!((l, u), (1.0 - 2f64.powi(-9), 1.0 + 2f64.powi(-8)));
        let (l, u) = Rounding::Float16.cell(-1.0).unwrap();
        assert_eq!((l, u), (-1.0 - 2f64.powi(-11), -1.0 + 2f64.powi(-12)));
        let tiny = 2f64.powi(-24);
        assert_eq!(
            Rounding::Float16.cell(tiny).unwrap(),
            (0.5 * tiny, 1.5 * tiny)
        );
        assert_eq!(
            Rounding::Float16.cell(0.0).unwrap(),
            (-0.5 * tiny, 0.5 * tiny)
        );
        assert_eq!(Rounding::Float16.cell(65504.0).unwrap(), (65488.0, 65520.0));
        assert!(Rounding::BFloat16.cell(1.0 + 2f64.powi(-10)).is_none());
        for v in [1e-30, 3.7e-5, -0.0123, 1e30] {
            let v = half::bf16::from_f64(v).to_f64();
            let (l, u) = Rounding::BFloat16.cell(v).unwrap();
            assert!(l < v && v < u, "{v}: {l} {u}");
            assert_eq!(half::bf16::from_f64(0.5 * (l + v)).to_f64(), v);
            assert_eq!(half::bf16::from_f64(0.5 * (u + v)).to_f64(), v);
        }
    }
}
