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

use super::{BaselineError, Coded, SIDE_FLOAT_BITS};
use crate::dist::FamilyKind;
use crate::fit::{fit, FitOptions};
use crate::quant::lloyd::design_for_density;
use crate::quant::{Codebook, DesignSpec, LloydOptions};

pub(crate) fn tinyscript(samples: &[f64], bits: u32) -> Result<Coded, BaselineError> {
    let non_zero: Vec<f64> = samples.iter().copied().filter(|x| *x != 0.0).collect();
    let fitted = fit(FamilyKind::DWeibull, &non_zero, &FitOptions::default())?;
    let spec = DesignSpec::from_bits(bits, 0.0, false)?;
    let design = design_for_density(&fitted.model, &spec, &LloydOptions::default())?;
    let (symbols, decoded) = design.codebook.encode_all(samples);
    Coded::dense(
        decoded,
        &symbols,
        design.codebook.levels() as u32,
        f64::from(bits),
        3 * SIDE_FLOAT_BITS,
    )
}

pub(crate) fn with_codebook(samples: &[f64], codebook: &Codebook) -> Result<Coded, BaselineError> {
    let (symbols, decoded) = codebook.encode_all(samples);
    let levels = codebook.levels();
    Coded::dense(
        decoded,
        &symbols,
        levels as u32,
        (levels as f64).log2(),
        (levels as u64 + 1) * SIDE_FLOAT_BITS,
    )
}
