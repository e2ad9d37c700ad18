//! Distribution families for gradient entries, parameterised exactly as
//! `scipy.stats`: `gennorm(beta, loc, scale)`, `dweibull(c, loc, scale)`,
//! `laplace(loc, scale)` and `norm(loc, scale)`.
//!
//! All four are symmetric about `loc`. With `z = (x − loc)/scale` the
//! standardized densities are
//!
//! ```text
//! gennorm(β):  f(z) = β / (2 Γ(1/β)) · exp(−|z|^β)
//! dweibull(c): f(z) = c/2 · |z|^(c−1) · exp(−|z|^c)
//! laplace:     f(z) = 1/2 · exp(−|z|)
//! norm:        f(z) = exp(−z²/2) / √(2π)
//! ```
//!
//! and `f(x) = f(z) / scale`. Partial moments about `loc` have closed forms
//! through the regularized incomplete gamma function `P(a, x)`; they are what
//! the quantizer designs and the exact Wasserstein distances are built on.

pub mod dweibull;
pub mod gennorm;
pub mod laplace;
pub mod normal;
mod radial;
pub mod special;
#[cfg(test)]
mod tests;

pub use dweibull::DWeibull;
pub use gennorm::GenNorm;
pub use laplace::Laplace;
pub use normal::Normal;

use rand::RngCore;
use serde::{Deserialize, Serialize};

/// The families gradrd models gradients with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FamilyKind {
    GenNorm,
    DWeibull,
    Laplace,
    Normal,
}

impl FamilyKind {
    /// All families, in the order reports list them.
    pub const ALL: [FamilyKind; 4] = [
        FamilyKind::GenNorm,
        FamilyKind::DWeibull,
        FamilyKind::Laplace,
        FamilyKind::Normal,
    ];

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            FamilyKind::GenNorm => "gennorm",
            FamilyKind::DWeibull => "dweibull",
            FamilyKind::Laplace => "laplace",
            FamilyKind::Normal => "normal",
        }
    }

    /// Parameter names in scipy's order (shape first, then `loc`, `scale`).
    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            FamilyKind::GenNorm => &["beta", "loc", "scale"],
            FamilyKind::DWeibull => &["c", "loc", "scale"],
            FamilyKind::Laplace | FamilyKind::Normal => &["loc", "scale"],
        }
    }
}

impl std::str::FromStr for FamilyKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gennorm" | "ggd" => Ok(FamilyKind::GenNorm),
            "dweibull" => Ok(FamilyKind::DWeibull),
            "laplace" => Ok(FamilyKind::Laplace),
            "normal" | "norm" | "gaussian" => Ok(FamilyKind::Normal),
            other => Err(format!(
                "unknown family '{other}' (expected gennorm, dweibull, laplace or normal)"
            )),
        }
    }
}

impl std::fmt::Display for FamilyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A parameter outside its domain.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    #[error("parameter {name} must be {requirement}, got {value}")]
    OutOfDomain {
        name: &'static str,
        value: f64,
        requirement: &'static str,
    },
    #[error("family {family} has no parameter '{name}' (expected {expected})")]
    Unknown {
        family: &'static str,
        name: String,
        expected: String,
    },
    #[error("family {family} needs parameter '{name}'")]
    Missing {
        family: &'static str,
        name: &'static str,
    },
}

/// Checks `value` is finite and strictly positive.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<f64, ParamError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ParamError::OutOfDomain {
            name,
            value,
            requirement: "finite and > 0",
        })
    }
}

/// Checks `value` is finite.
pub(crate) fn finite(name: &'static str, value: f64) -> Result<f64, ParamError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ParamError::OutOfDomain {
            name,
            value,
            requirement: "finite",
        })
    }
}

/// A continuous distribution symmetric about `loc`, with scipy's parameters.
///
/// Interval arguments `a ≤ b` may be infinite. Moments "about loc" use
/// `r = x − loc`.
pub trait ContinuousDist {
    fn kind(&self) -> FamilyKind;
    /// Parameters in scipy's order with scipy's names.
    fn params(&self) -> Vec<(&'static str, f64)>;
    fn loc(&self) -> f64;
    fn scale(&self) -> f64;

    fn pdf(&self, x: f64) -> f64;
    fn ln_pdf(&self, x: f64) -> f64;
    fn cdf(&self, x: f64) -> f64;
    /// Survival function `1 − cdf(x)`, accurate in the upper tail.
    fn sf(&self, x: f64) -> f64;
    /// Inverse cdf; `quantile(0) = −∞`, `quantile(1) = +∞`, NaN outside [0, 1].
    fn quantile(&self, p: f64) -> f64;

    /// `∫_a^b |x − loc|^k f(x) dx` for `k > −1`.
    fn abs_moment_between(&self, k: f64, a: f64, b: f64) -> f64;
    /// `∫_a^b sign(x − loc) |x − loc|^k f(x) dx` for `k > −1`.
    fn signed_moment_between(&self, k: f64, a: f64, b: f64) -> f64;

    /// [`Self::quantile`] of each of `ps`; a family may solve each from the
    /// ones before it (to the same tolerance), which pays when `ps` are
    /// close together, as the `i/n` of the exact W1/W2.
    fn quantiles(&self, ps: &[f64]) -> Vec<f64> {
        ps.iter().map(|&p| self.quantile(p)).collect()
    }

    /// `[m₀, m₁, m₂]` of each cell `[b_j, b_{j+1}]` of the increasing
    /// `bounds` (which may start at −∞ and end at +∞): `m₀`, `m₂` as
    /// [`Self::abs_moment_between`] with `k = 0, 2` and `m₁` as
    /// [`Self::signed_moment_between`] with `k = 1`. The same values as those
    /// calls; a family may share the work at a bound between its two cells.
    fn cell_moments(&self, bounds: &[f64]) -> Vec<[f64; 3]> {
        bounds
            .windows(2)
            .map(|cell| {
                [
                    self.abs_moment_between(0.0, cell[0], cell[1]),
                    self.signed_moment_between(1.0, cell[0], cell[1]),
                    self.abs_moment_between(2.0, cell[0], cell[1]),
                ]
            })
            .collect()
    }

    /// `∫_a^b x^k f(x) dx` for `k ∈ {0, 1, 2}` (raw, not about loc), from the
    /// moments about loc: `x = loc + r`.
    fn raw_moment_between(&self, k: u32, a: f64, b: f64) -> f64 {
        let loc = self.loc();
        let mass = self.abs_moment_between(0.0, a, b);
        match k {
            0 => mass,
            1 => loc * mass + self.signed_moment_between(1.0, a, b),
            2 => {
                loc * loc * mass
                    + 2.0 * loc * self.signed_moment_between(1.0, a, b)
                    + self.abs_moment_between(2.0, a, b)
            }
            _ => panic!("raw_moment_between supports k = 0, 1, 2 (got {k})"),
        }
    }

    fn mean(&self) -> f64 {
        self.loc()
    }
    fn variance(&self) -> f64;
    /// Excess kurtosis (Fisher's definition, 0 for the normal).
    fn excess_kurtosis(&self) -> f64;
    /// Differential entropy in nats.
    fn entropy(&self) -> f64;
    /// `n` independent draws.
    fn sample(&self, rng: &mut dyn RngCore, n: usize) -> Vec<f64>;
}

/// One fitted or user-given model of any family.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    GenNorm(GenNorm),
    DWeibull(DWeibull),
    Laplace(Laplace),
    Normal(Normal),
}

impl Model {
    /// Builds a model from named parameters (scipy names); `loc` defaults to
    /// 0 and `scale` to 1, as in scipy.
    pub fn from_params(kind: FamilyKind, params: &[(&str, f64)]) -> Result<Model, ParamError> {
        let expected = kind.param_names();
        for (name, _) in params {
            if !expected.contains(name) {
                return Err(ParamError::Unknown {
                    family: kind.name(),
                    name: (*name).to_string(),
                    expected: expected.join(", "),
                });
            }
        }
        let get = |name: &str| params.iter().rev().find(|(n, _)| *n == name).map(|p| p.1);
        let loc = get("loc").unwrap_or(0.0);
        let scale = get("scale").unwrap_or(1.0);
        let shape = |name: &'static str| {
            get(name).ok_or(ParamError::Missing {
                family: kind.name(),
                name,
            })
        };
        Ok(match kind {
            FamilyKind::GenNorm => Model::GenNorm(GenNorm::new(shape("beta")?, loc, scale)?),
            FamilyKind::DWeibull => Model::DWeibull(DWeibull::new(shape("c")?, loc, scale)?),
            FamilyKind::Laplace => Model::Laplace(Laplace::new(loc, scale)?),
            FamilyKind::Normal => Model::Normal(Normal::new(loc, scale)?),
        })
    }
}

macro_rules! delegate {
    ($self:ident, $d:ident => $e:expr) => {
        match $self {
            Model::GenNorm($d) => $e,
            Model::DWeibull($d) => $e,
            Model::Laplace($d) => $e,
            Model::Normal($d) => $e,
        }
    };
}

impl ContinuousDist for Model {
    fn kind(&self) -> FamilyKind {
        delegate!(self, d => d.kind())
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        delegate!(self, d => d.params())
    }
    fn loc(&self) -> f64 {
        delegate!(self, d => d.loc())
    }
    fn scale(&self) -> f64 {
        delegate!(self, d => d.scale())
    }
    fn pdf(&self, x: f64) -> f64 {
        delegate!(self, d => d.pdf(x))
    }
    fn ln_pdf(&self, x: f64) -> f64 {
        delegate!(self, d => d.ln_pdf(x))
    }
    fn cdf(&self, x: f64) -> f64 {
        delegate!(self, d => d.cdf(x))
    }
    fn sf(&self, x: f64) -> f64 {
        delegate!(self, d => d.sf(x))
    }
    fn quantile(&self, p: f64) -> f64 {
        delegate!(self, d => d.quantile(p))
    }
    fn abs_moment_between(&self, k: f64, a: f64, b: f64) -> f64 {
        delegate!(self, d => d.abs_moment_between(k, a, b))
    }
    fn signed_moment_between(&self, k: f64, a: f64, b: f64) -> f64 {
        delegate!(self, d => d.signed_moment_between(k, a, b))
    }
    fn cell_moments(&self, bounds: &[f64]) -> Vec<[f64; 3]> {
        delegate!(self, d => d.cell_moments(bounds))
    }
    fn quantiles(&self, ps: &[f64]) -> Vec<f64> {
        delegate!(self, d => d.quantiles(ps))
    }
    fn variance(&self) -> f64 {
        delegate!(self, d => d.variance())
    }
    fn excess_kurtosis(&self) -> f64 {
        delegate!(self, d => d.excess_kurtosis())
    }
    fn entropy(&self) -> f64 {
        delegate!(self, d => d.entropy())
    }
    fn sample(&self, rng: &mut dyn RngCore, n: usize) -> Vec<f64> {
        delegate!(self, d => d.sample(rng, n))
    }
}
