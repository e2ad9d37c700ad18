//! The Laplace distribution, scipy's `laplace(loc, scale)`.
//!
//! ```text
//! f(x) = 1/(2 scale) · exp(−|z|),   z = (x − loc)/scale
//! cdf  = ½ exp(−|z|) for z ≤ 0,   1 − ½ exp(−|z|) for z > 0
//! Var  = 2 scale²,   excess kurtosis = 3,   entropy = 1 + ln(2 scale)
//! ∫_0^t z^k f(z) dz = ½ Γ(k + 1) · P(k + 1, t)
//! ```
use super::radial::{forward_to_radial, RadialGamma};
use super::{ContinuousDist, FamilyKind, ParamError};

/// `laplace(loc, scale)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Laplace {
    radial: RadialGamma,
}

impl Laplace {
    /// `scale` must be finite and > 0, `loc` finite.
    pub fn new(loc: f64, scale: f64) -> Result<Self, ParamError> {
        let loc = super::finite("loc", loc)?;
        let scale = super::positive("scale", scale)?;
        Ok(Self {
            radial: RadialGamma::laplace(loc, scale)?,
        })
    }
}

impl ContinuousDist for Laplace {
    fn kind(&self) -> FamilyKind {
        FamilyKind::Laplace
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        vec![("loc", self.loc()), ("scale", self.scale())]
    }
    forward_to_radial!(radial);
}
