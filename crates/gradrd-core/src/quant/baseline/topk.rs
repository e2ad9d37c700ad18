//! Top-k sparsification followed by a minifloat format (`topk-fp8` uses FP8
//! E4M3, `topk-fp4` FP4 E2M1): the k entries of largest magnitude are sent
//! as codes of `x/s` with `s = absmax / max` (one f32), their positions by
//! the real position coder ([`crate::quant::coding::encode_positions`]); the
//! others decode to 0. Ties in magnitude go to the lower index.
//!
//! **k from the rate**: the largest k with
//!
//! ```text
//! k · b + position_bits(k) + 32 ≤ R · n
//! ```
//!
//! where `b` is the format width and `position_bits(k)` the real coded size
//! of the k positions (not a fixed `log2 n` per index). It is found by
//! bisection on k (the position cost grows with k for these sets) and then
//! checked, stepping down until the budget holds.
//!
//! The values are sent at `b` bits each in the budget (fixed-rate codes);
//! `coded_bits` reports them ANS-coded.

use super::{absmax, BaselineError, Coded, SIDE_FLOAT_BITS};
use crate::quant::coding;
use crate::quant::MiniFloat;

/// Indices of the `k` largest magnitudes (ties: lower index first), ascending.
pub fn top_k_positions(samples: &[f64], k: usize) -> Vec<usize> {
    let order = magnitude_order(samples);
    let mut kept = order[..k.min(order.len())].to_vec();
    kept.sort_unstable();
    kept
}

/// The first `k` indices of `order` in ascending order (O(n), no sort).
fn ascending(order: &[usize], k: usize) -> Vec<usize> {
    let mut mask = vec![false; order.len()];
    for &i in &order[..k] {
        mask[i] = true;
    }
    (0..order.len()).filter(|&i| mask[i]).collect()
}

/// All indices by decreasing magnitude, ties by increasing index.
fn magnitude_order(samples: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..samples.len()).collect();
    order.sort_unstable_by(|&a, &b| {
        samples[b]
            .abs()
            .total_cmp(&samples[a].abs())
            .then(a.cmp(&b))
    });
    order
}

/// A candidate k: its total bits, kept positions (ascending) and their code.
type Candidate = (usize, u64, Vec<usize>, coding::EncodedPositions);

/// The number of bits top-k spends with `k` values of `value_bits` bits:
/// `k · value_bits + position_bits + 32`, and the kept positions.
fn cost(
    order: &[usize],
    k: usize,
    value_bits: u32,
) -> Result<(u64, Vec<usize>, coding::EncodedPositions), BaselineError> {
    let kept = ascending(order, k);
    let positions = coding::encode_positions(order.len(), &kept)?;
    let bits = k as u64 * u64::from(value_bits) + positions.total_bits() + SIDE_FLOAT_BITS;
    Ok((bits, kept, positions))
}

/// The largest `k` whose cost fits `budget` bits, with its positions.
fn choose_k(
    order: &[usize],
    value_bits: u32,
    budget: f64,
) -> Result<Option<Candidate>, BaselineError> {
    let n = order.len();
    let fits = |k: usize| -> Result<bool, BaselineError> {
        Ok(cost(order, k, value_bits)?.0 as f64 <= budget)
    };
    if !fits(1)? {
        return Ok(None);
    }
    // bisection: fits(lo) holds, fits(hi + 1) fails (or hi = n)
    let (mut lo, mut hi) = (1usize, n);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid)? {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let mut k = lo;
    loop {
        let (bits, kept, positions) = cost(order, k, value_bits)?;
        if bits as f64 <= budget {
            return Ok(Some((k, bits, kept, positions)));
        }
        k -= 1; // k = 1 fits, so this stops
    }
}

pub(crate) fn quantize(
    samples: &[f64],
    rate: f64,
    format: &MiniFloat,
    name: &'static str,
) -> Result<Coded, BaselineError> {
    let n = samples.len();
    let order = magnitude_order(samples);
    let budget = rate * n as f64;
    let Some((k, _, kept, positions)) = choose_k(&order, format.bits(), budget)? else {
        return Err(BaselineError::RateTooLow {
            name,
            rate,
            n,
            what: "one value, its position and the scale",
        });
    };
    let scale = format.sent_scale(absmax(samples));
    let mut decoded = vec![0.0; n];
    let mut symbols = Vec::with_capacity(k);
    for &i in &kept {
        let (code, value) = format.encode_scaled(samples[i], scale);
        symbols.push(u32::from(code));
        decoded[i] = value;
    }
    let values = coding::encode_symbols(&symbols, format.alphabet())?;
    let position_bits = positions.total_bits();
    Ok(Coded {
        decoded,
        nominal_bits: (k as u64 * u64::from(format.bits()) + position_bits) as f64,
        entropy_bits: k as f64 * coding::empirical_entropy_bits(&symbols)
            + coding::log2_binomial(n as u64, k as u64)
            + SIDE_FLOAT_BITS as f64,
        coded_bits: values.total_bits() + position_bits + SIDE_FLOAT_BITS,
        sent: k,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::minifloat::FP8_E4M3;

    #[test]
    fn keeps_exactly_the_k_largest_magnitudes() {
        let samples = [0.1, -5.0, 3.0, -3.0, 0.0, 4.0, 2.0];
        assert_eq!(top_k_positions(&samples, 1), vec![1]);
        assert_eq!(top_k_positions(&samples, 3), vec![1, 2, 5]); // |3| tie: index 2 first
        assert_eq!(top_k_positions(&samples, 4), vec![1, 2, 3, 5]);
        assert_eq!(top_k_positions(&samples, 10).len(), 7);
    }

    #[test]
    fn chosen_k_is_the_largest_within_the_budget() {
        let samples: Vec<f64> = (0..5000)
            .map(|i| ((i * 7919) % 5000) as f64 - 2500.0)
            .collect();
        let order = magnitude_order(&samples);
        let budget = 1.0 * samples.len() as f64;
        let (k, bits, _, _) = choose_k(&order, FP8_E4M3.bits(), budget).unwrap().unwrap();
        assert!(bits as f64 <= budget);
        assert!(cost(&order, k + 1, FP8_E4M3.bits()).unwrap().0 as f64 > budget);
        assert!(choose_k(&order, 8, 40.0).unwrap().is_none());
    }
}
