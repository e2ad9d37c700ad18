//! The normal distribution, scipy's `norm(loc, scale)`.
//!
//! ```text
//! f(x) = exp(−z²/2) / (scale √(2π)),   z = (x − loc)/scale
//! cdf  = ½ Q(½, z²/2) = ½ erfc(|z|/√2) for z ≤ 0   (sf by symmetry)
//! Var  = scale²,   excess kurtosis = 0,   entropy = ½ ln(2πe scale²)
//! ∫_0^t z^k f(z) dz = 2^(k/2) Γ((k+1)/2) / (2√π) · P((k+1)/2, t²/2)
//! ```
use super::radial::{forward_to_radial, RadialGamma};
use super::{ContinuousDist, FamilyKind, ParamError};

/// `norm(loc, scale)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normal {
    radial: RadialGamma,
}

impl Normal {
    /// `scale` must be finite and > 0, `loc` finite.
    pub fn new(loc: f64, scale: f64) -> Result<Self, ParamError> {
        let loc = super::finite("loc", loc)?;
        let scale = super::positive("scale", scale)?;
        Ok(Self {
            radial: RadialGamma::normal(loc, scale)?,
        })
    }
}

impl ContinuousDist for Normal {
    fn kind(&self) -> FamilyKind {
        FamilyKind::Normal
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        vec![("loc", self.loc()), ("scale", self.scale())]
    }
    forward_to_radial!(radial);
}
