//! A codebook applied to recorded values: the cell indices a client would
//! send and what they cost and lose,
//!
//! ```text
//! mse        = (1/n) Σ (x_j − Q(x_j))²
//! distortion = (1/n) Σ |x_j|^M (x_j − Q(x_j))²        (M of the codebook, or given)
//! entropy    = −Σ_i p_i log2 p_i,  p_i = (# j in cell i) / n      (bits per entry)
//! fixed      = ⌈log2 L⌉                                           (bits per entry)
//! coded      = size of the indices through the real entropy coder  (bits per entry)
//! ```
//!
//! The coded size is that of [`super::coding::encode_symbols`] (ANS with its
//! model header, or raw indices when cheaper); the codebook itself is taken to
//! be known to the receiver and is not counted.

use serde::Serialize;

use super::coding::coded_bits;
use super::{entropy_bits, Codebook, QuantError};
use crate::analysis::prepare::Prepared;

/// How a codebook does on a set of values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CodebookEvaluation {
    pub n: usize,
    pub m: f64,
    pub mse: f64,
    /// M-weighted distortion, mean over the values.
    pub distortion: f64,
    /// Empirical entropy of the indices, bits per entry.
    pub entropy_bits: f64,
    /// Fixed-length index, bits per entry: `⌈log2 L⌉`.
    pub fixed_bits: f64,
    /// The indices through the real entropy coder, header included, bits
    /// per entry.
    pub coded_bits: f64,
    /// How many values fell in each cell.
    pub counts: Vec<u64>,
}

/// A codebook measured on one tensor, as `gradrd quantize eval` reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorEvaluation {
    pub tensor: String,
    pub step: Option<u64>,
    pub n: usize,
    pub zero_fraction: f64,
    pub levels: usize,
    pub m: f64,
    pub mse: f64,
    pub distortion: f64,
    /// Relative error `mse / mean(x²)`.
    pub nmse: Option<f64>,
    pub fixed_bits: f64,
    pub entropy_bits: f64,
    /// Indices through the real entropy coder (header included).
    pub coded_bits: f64,
    /// Set when the codebook is worse than sending zeros (nmse > 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Measures `codebook` on the tensor `tensor` at `step` (its values
/// prepared with every zero kept), with weight exponent `m` (the
/// codebook's own when `None`).
pub fn evaluate_tensor(
    codebook: &Codebook,
    tensor: String,
    step: Option<u64>,
    prepared: &Prepared,
    m: Option<f64>,
) -> Result<TensorEvaluation, QuantError> {
    let values = &prepared.values;
    let power = values.iter().map(|x| x * x).sum::<f64>() / values.len() as f64;
    let indices = encode_all(codebook, values);
    let m = m.unwrap_or(codebook.m());
    let eval = evaluate_codebook(codebook, values, &indices, m)?;
    let nmse = (power > 0.0).then(|| eval.mse / power);
    Ok(TensorEvaluation {
        tensor,
        step,
        n: eval.n,
        zero_fraction: prepared.zero_fraction(),
        levels: codebook.levels(),
        m,
        mse: eval.mse,
        distortion: eval.distortion,
        nmse,
        fixed_bits: eval.fixed_bits,
        entropy_bits: eval.entropy_bits,
        coded_bits: eval.coded_bits,
        note: nmse
            .filter(|v| *v > 1.0)
            .map(|v| format!("nmse {v:.3}: worse than sending zeros")),
    })
}

/// The cell index of every value (`torch.bucketize(x / scale, thresholds)`).
pub fn encode_all(codebook: &Codebook, values: &[f64]) -> Vec<u32> {
    values.iter().map(|&x| codebook.encode(x) as u32).collect()
}

/// Measures `codebook` on `values` with weight exponent `m`.
///
/// Errors: no values, a non-finite value, `m` negative or non-finite.
pub fn evaluate_codebook(
    codebook: &Codebook,
    values: &[f64],
    indices: &[u32],
    m: f64,
) -> Result<CodebookEvaluation, QuantError> {
    if !(m.is_finite() && m >= 0.0) {
        return Err(QuantError::WeightExponent(m));
    }
    let nonfinite = values.iter().filter(|v| !v.is_finite()).count();
    if nonfinite > 0 {
        return Err(QuantError::NonFiniteSamples(nonfinite));
    }
    if values.is_empty() {
        return Err(QuantError::NoSamples);
    }
    debug_assert_eq!(values.len(), indices.len());
    let mut counts = vec![0u64; codebook.levels()];
    let mut squared = 0.0;
    let mut weighted = 0.0;
    for (&x, &index) in values.iter().zip(indices) {
        let error = x - codebook.centers()[index as usize] * codebook.scale();
        let square = error * error;
        squared += square;
        weighted += if m == 0.0 {
            square
        } else {
            x.abs().powf(m) * square
        };
        counts[index as usize] += 1;
    }
    let n = values.len();
    let probabilities: Vec<f64> = counts.iter().map(|&c| c as f64 / n as f64).collect();
    Ok(CodebookEvaluation {
        n,
        m,
        mse: squared / n as f64,
        distortion: weighted / n as f64,
        entropy_bits: entropy_bits(&probabilities),
        fixed_bits: (codebook.levels() as f64).log2().ceil(),
        coded_bits: coded_bits(indices, codebook.levels() as u32)
            .map_err(|e| QuantError::Coding(e.to_string()))? as f64
            / n as f64,
        counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradrd_testkit::assert_close;

    fn codebook() -> Codebook {
        // cells (−∞, −1], (−1, 1], (1, ∞) in units of scale 2; centers −3, 0, 3
        Codebook::new(vec![-1.0, 1.0], vec![-1.5, 0.0, 1.5], 2.0, 1.0, true).unwrap()
    }

    #[test]
    fn hand_computed_distortions() {
        let cb = codebook();
        let values = [-4.0, -2.0, 0.5, 2.5, 3.0];
        let indices = encode_all(&cb, &values);
        assert_eq!(indices, vec![0, 0, 1, 2, 2]);
        let eval = evaluate_codebook(&cb, &values, &indices, 1.0).unwrap();
        // errors: −4−(−3) = −1, −2−(−3) = 1, 0.5−0 = 0.5, 2.5−3 = −0.5, 3−3 = 0
        assert_close(eval.mse, (1.0 + 1.0 + 0.25 + 0.25) / 5.0, 1e-15, 0.0);
        // |x|·e²: 4, 2, 0.125, 0.625, 0
        assert_close(
            eval.distortion,
            (4.0 + 2.0 + 0.125 + 0.625) / 5.0,
            1e-15,
            0.0,
        );
        // p = (2, 1, 2)/5: H = −(2·0.4 log2 0.4 + 0.2 log2 0.2)
        let h = -(2.0 * 0.4 * 0.4f64.log2() + 0.2 * 0.2f64.log2());
        assert_close(eval.entropy_bits, h, 1e-15, 0.0);
        assert_close(eval.fixed_bits, 2.0, 0.0, 0.0);
        assert_eq!(eval.counts, vec![2, 1, 2]);
        // five indices: raw 2-bit indices beat any model header
        assert!(eval.coded_bits >= eval.entropy_bits, "{eval:?}");
        let mse_only = evaluate_codebook(&cb, &values, &indices, 0.0).unwrap();
        assert_close(mse_only.distortion, mse_only.mse, 1e-15, 0.0);
    }

    #[test]
    fn bad_values_and_weights_are_errors() {
        let cb = codebook();
        assert!(matches!(
            evaluate_codebook(&cb, &[], &[], 0.0),
            Err(QuantError::NoSamples)
        ));
        let values = [1.0, f64::NAN];
        let indices = encode_all(&cb, &values);
        assert!(matches!(
            evaluate_codebook(&cb, &values, &indices, 0.0),
            Err(QuantError::NonFiniteSamples(1))
        ));
        assert!(matches!(
            evaluate_codebook(&cb, &[1.0], &[1], -1.0),
            Err(QuantError::WeightExponent(_))
        ));
    }
}
