//! The double Weibull distribution, scipy's `dweibull(c, loc, scale)`.
//!
//! ```text
//! f(x) = c / (2 scale) · |z|^(c−1) · exp(−|z|^c),   z = (x − loc)/scale
//! cdf  = ½ exp(−|z|^c) for z ≤ 0,   1 − ½ exp(−|z|^c) for z > 0
//! Var  = scale² Γ(1 + 2/c),   excess kurtosis = Γ(1 + 4/c)/Γ(1 + 2/c)² − 3
//! ∫_0^t z^k f(z) dz = ½ Γ(1 + k/c) · P(1 + k/c, t^c)       (k > −c)
//! ```
//! For `c < 1` the density is unbounded at `loc` (`pdf(loc) = +∞`, as in
//! scipy). `c = 1` is the Laplace distribution.
//! Sampling: `|Z| = E^(1/c)`, `E ~ Exp(1)`, random sign.
use super::radial::{forward_to_radial, RadialGamma};
use super::{ContinuousDist, FamilyKind, ParamError};

/// `dweibull(c, loc, scale)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DWeibull {
    c: f64,
    radial: RadialGamma,
}

impl DWeibull {
    /// `c` and `scale` must be finite and > 0, `loc` finite.
    pub fn new(c: f64, loc: f64, scale: f64) -> Result<Self, ParamError> {
        let c = super::positive("c", c)?;
        let loc = super::finite("loc", loc)?;
        let scale = super::positive("scale", scale)?;
        Ok(Self {
            c,
            radial: RadialGamma::dweibull(c, loc, scale)?,
        })
    }

    /// The shape `c`.
    pub fn c(&self) -> f64 {
        self.c
    }
}

impl ContinuousDist for DWeibull {
    fn kind(&self) -> FamilyKind {
        FamilyKind::DWeibull
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        vec![("c", self.c), ("loc", self.loc()), ("scale", self.scale())]
    }
    forward_to_radial!(radial);
}
