//! Codebook-based schemes: TinyScript-style and M22.
//!
//! **TinyScript-style** (F. Fu, Y. Hu, Y. He, J. Jiang, Y. Shao, C. Zhang,
//! B. Cui, "Don't waste your bits! Squeeze activations and gradients for deep
//! neural networks via TinyScript", ICML 2020): fit a double Weibull to the
//! non-zero samples by maximum likelihood ([`crate::fit::fit`], free
//! location; exact zeros are a point mass that breaks the continuous fit, as
//! gradrd's `--zeros auto` handles them) and
//! design the M = 0 (minimum-MSE) Lloyd-Max quantizer of `2^b` levels on it
//! ([`crate::quant::lloyd::design_for_density`]). The receiver rebuilds the
//! codebook from the three fitted parameters `(c, loc, scale)`: 96 bits of
//! side information. (The fitted parameters are used at full precision; the
//! f32 rounding of what is sent is not replayed through the design.)
//!
//! **M22**: any [`Codebook`] (the M-weighted design), encoded with
//! [`Codebook::encode`] and decoded with [`Codebook::decode`]; the side
//! information is the L centers and the scale (`32 (L + 1)` bits), the
//! decoder's full table.

use super::{BaselineError, Coded, FLOAT_BITS};
use crate::dist::FamilyKind;
use crate::fit::{fit, FitOptions};
use crate::quant::lloyd::design_for_density;
use crate::quant::{Codebook, DesignSpec, LloydOptions};

/// Cells and reconstruction of `samples` by `codebook`.
fn apply(codebook: &Codebook, samples: &[f64]) -> (Vec<u32>, Vec<f64>) {
    let mut symbols = Vec::with_capacity(samples.len());
    let mut decoded = Vec::with_capacity(samples.len());
    for &x in samples {
        let index = codebook.encode(x);
        symbols.push(index as u32);
        // encode returns an index below L, so decode is Some
        decoded.push(codebook.decode(index).unwrap_or(f64::NAN));
    }
    (symbols, decoded)
}

pub(crate) fn tinyscript(samples: &[f64], bits: u32) -> Result<Coded, BaselineError> {
    let non_zero: Vec<f64> = samples.iter().copied().filter(|x| *x != 0.0).collect();
    let fitted = fit(FamilyKind::DWeibull, &non_zero, &FitOptions::default())?;
    let spec = DesignSpec::from_bits(bits, 0.0, false)?;
    let design = design_for_density(&fitted.model, &spec, &LloydOptions::default())?;
    let (symbols, decoded) = apply(&design.codebook, samples);
    Coded::dense(
        decoded,
        &symbols,
        design.codebook.levels() as u32,
        f64::from(bits),
        3 * FLOAT_BITS,
    )
}

pub(crate) fn with_codebook(samples: &[f64], codebook: &Codebook) -> Result<Coded, BaselineError> {
    let (symbols, decoded) = apply(codebook, samples);
    let levels = codebook.levels();
    Coded::dense(
        decoded,
        &symbols,
        levels as u32,
        (levels as f64).log2(),
        (levels as u64 + 1) * FLOAT_BITS,
    )
}
