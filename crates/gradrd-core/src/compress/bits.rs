//! The bit cost of one compressed message: values plus positions. This is a
//! stated cost model, kept in this one place so a real entropy coder can
//! replace it:
//!
//! ```text
//! values     b bits per value sent at full precision, ⌈log2 L⌉ bits per codebook index
//! scale      32 bits per message that carries one (top-k + small float)
//! positions  none when every entry is sent (the message is dense), else
//!   index:   min(k · ⌈log2 n⌉, n)      an index list or a bitmap, the shorter
//!   entropy: log2 C(n, k)              the entropy bound of a uniformly
//!                                      random k-subset of n positions
//! ```
//!
//! **Full precision is the stored width.** `b` is the width the gradient was
//! recorded in ([`stored_bits`]: 16 for bf16 and f16, 32 for f32, 64 for
//! f64): a client training in bf16 holds and sends bf16 values, so FedAvg
//! costs `16 · d` and a top-k value costs 16 bits. Counting them at 32 bits
//! would double both and make every reduction of a bf16 dump twice too large
//! against FedAvg. A replay sends all its values in one format, the widest
//! stored width among its tensors ([`widest`]), so no tensor's values lose
//! bits; the FedAvg baseline counts each tensor at its own width
//! ([`full_precision_bits`]). The replay keeps the sent values in f64 (the
//! rounding of an error-corrected value `g + e` to the stored width, at most
//! 2^-8 relative for bf16, is not modelled).
//!
//! **Scales are f32.** A per-message scale (`absmax / max` of a small-float
//! format) is computed and applied in f32 on both sides whatever the
//! gradient's width, so it costs [`SCALE_BITS`] = 32 bits; one per message,
//! it is negligible next to the values.

use serde::{Deserialize, Serialize};

use crate::dist::special::ln_gamma;
use crate::dtype::DType;

/// Bits of a per-message scale (an f32, see the module docs).
pub const SCALE_BITS: f64 = 32.0;

/// Bits per value of a tensor stored as `dtype`.
pub fn stored_bits(dtype: DType) -> f64 {
    8.0 * dtype.size_in_bytes() as f64
}

/// The one value width of a replay over tensors stored at `widths`: the
/// widest (32 when there are none).
pub fn widest(widths: &[f64]) -> f64 {
    widths.iter().copied().reduce(f64::max).unwrap_or(32.0)
}

/// FedAvg bits of one step: every entry at its tensor's stored width,
/// `Σ_i n_i · b_i`.
pub fn full_precision_bits(sizes: &[usize], widths: &[f64]) -> f64 {
    sizes.iter().zip(widths).map(|(&n, &b)| n as f64 * b).sum()
}

/// How the positions of a sparse message are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PositionCoding {
    /// `min(k · ⌈log2 n⌉, n)`: an index list or a bitmap.
    Index,
    /// `log2 C(n, k)`: the entropy bound.
    Entropy,
}

/// The bit cost model of a message.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BitModel {
    pub positions: PositionCoding,
    /// Bits per value sent at full precision: the stored width of the
    /// gradient (see the module docs).
    pub value_bits: f64,
}

impl BitModel {
    /// Bits of a message that sends `sent` of `n` entries, whose values cost
    /// `value_bits` in total.
    pub fn message_bits(&self, n: usize, sent: usize, value_bits: f64) -> f64 {
        value_bits + self.position_bits(n, sent)
    }

    /// Bits for the positions of `sent` of `n` entries (0 for a dense or an
    /// empty message).
    pub fn position_bits(&self, n: usize, sent: usize) -> f64 {
        if sent == 0 || sent >= n {
            return 0.0;
        }
        match self.positions {
            PositionCoding::Index => (sent as f64 * index_bits(n) as f64).min(n as f64),
            PositionCoding::Entropy => log2_binomial(n, sent),
        }
    }
}

/// Bits per codebook index: `⌈log2 L⌉`.
pub fn codebook_index_bits(levels: usize) -> f64 {
    index_bits(levels) as f64
}

/// `⌈log2 n⌉` for `n ≥ 1` (0 for n ≤ 1).
pub fn index_bits(n: usize) -> u32 {
    if n <= 1 {
        0
    } else {
        usize::BITS - (n - 1).leading_zeros()
    }
}

/// `log2 C(n, k)` through `ln Γ`.
pub fn log2_binomial(n: usize, k: usize) -> f64 {
    if k == 0 || k >= n {
        return 0.0;
    }
    let (n, k) = (n as f64, k as f64);
    (ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)) / std::f64::consts::LN_2
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradrd_testkit::assert_close;

    #[test]
    fn index_bits_is_ceil_log2() {
        // python3 -c "print([(n-1).bit_length() for n in [1,2,3,4,5,8192,8193]])"
        let got: Vec<u32> = [1, 2, 3, 4, 5, 8192, 8193].map(index_bits).to_vec();
        assert_eq!(got, vec![0, 1, 2, 2, 3, 13, 14]);
    }

    #[test]
    fn log2_binomial_matches_exact_integers() {
        // python3 -c "import math; print(math.log2(math.comb(8192, 82)), math.log2(math.comb(10, 3)))"
        // -> 657.8889274215109 6.906890595608519
        assert_close(log2_binomial(8192, 82), 657.8889274215109, 1e-12, 0.0);
        assert_close(log2_binomial(10, 3), 6.906890595608519, 1e-12, 0.0);
        assert_close(log2_binomial(10, 10), 0.0, 0.0, 0.0);
    }

    #[test]
    fn dense_and_empty_messages_carry_no_positions() {
        for positions in [PositionCoding::Index, PositionCoding::Entropy] {
            let model = BitModel {
                positions,
                value_bits: 32.0,
            };
            assert_close(model.position_bits(100, 100), 0.0, 0.0, 0.0);
            assert_close(model.position_bits(100, 0), 0.0, 0.0, 0.0);
        }
        let index = BitModel {
            positions: PositionCoding::Index,
            value_bits: 32.0,
        };
        // 3 of 100: 3 · 7 bits; 50 of 100: a 100-bit bitmap is shorter than 350
        assert_close(index.position_bits(100, 3), 21.0, 0.0, 0.0);
        assert_close(index.position_bits(100, 50), 100.0, 0.0, 0.0);
        assert_close(index.message_bits(100, 3, 96.0), 117.0, 0.0, 0.0);
    }
}
