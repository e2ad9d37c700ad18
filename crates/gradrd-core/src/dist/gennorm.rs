//! The generalized normal distribution, scipy's `gennorm(beta, loc, scale)`
//! (Nadarajah, J. Appl. Stat. 32 (2005) 685–694; the "generalized Gaussian"
//! of the gradient-compression literature).
//!
//! ```text
//! f(x) = β / (2 scale Γ(1/β)) · exp(−|z|^β),   z = (x − loc)/scale
//! cdf  = ½ + sign(z) · ½ P(1/β, |z|^β)
//! Var  = scale² Γ(3/β)/Γ(1/β),   excess kurtosis = Γ(5/β)Γ(1/β)/Γ(3/β)² − 3
//! ∫_0^t z^k f(z) dz = Γ((k+1)/β) / (2Γ(1/β)) · P((k+1)/β, t^β)
//! ```
//! β = 1 is the Laplace distribution, β = 2 the normal with σ = scale/√2.
//! Sampling: `|Z| = G^(1/β)`, `G ~ Gamma(1/β, 1)`, random sign.
use super::radial::{forward_to_radial, RadialGamma};
use super::{ContinuousDist, FamilyKind, ParamError};

/// `gennorm(beta, loc, scale)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenNorm {
    beta: f64,
    radial: RadialGamma,
}

impl GenNorm {
    /// `beta` and `scale` must be finite and > 0, `loc` finite.
    pub fn new(beta: f64, loc: f64, scale: f64) -> Result<Self, ParamError> {
        let beta = super::positive("beta", beta)?;
        let loc = super::finite("loc", loc)?;
        let scale = super::positive("scale", scale)?;
        Ok(Self {
            beta,
            radial: RadialGamma::gennorm(beta, loc, scale)?,
        })
    }

    /// The shape `β`.
    pub fn beta(&self) -> f64 {
        self.beta
    }
}

impl ContinuousDist for GenNorm {
    fn kind(&self) -> FamilyKind {
        FamilyKind::GenNorm
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("beta", self.beta),
            ("loc", self.loc()),
            ("scale", self.scale()),
        ]
    }
    forward_to_radial!(radial);
}
