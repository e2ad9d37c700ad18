//! A test-local generalized normal source (scipy's `gennorm(beta, loc,
//! scale)`) with partial moments from statrs' regularized incomplete gamma
//! function, independent of `crate::dist`:
//!
//! ```text
//! ∫_0^t z^k f(z) dz = Γ((k+1)/β) / (2 Γ(1/β)) · P((k+1)/β, t^β)
//! ```
//!
//! β = 2, scale √2 is the standard normal; β = 1 is the Laplace.

use crate::dist::{ContinuousDist, FamilyKind};
use rand::RngCore;
use statrs::function::gamma::{gamma_lr, gamma_ur, ln_gamma};

#[derive(Debug, Clone, Copy)]
pub struct TestGenNorm {
    pub beta: f64,
    pub loc: f64,
    pub scale: f64,
}

impl TestGenNorm {
    pub fn new(beta: f64, loc: f64, scale: f64) -> Self {
        Self { beta, loc, scale }
    }
    /// Unit-variance normal: gennorm(2, 0, √2).
    pub fn unit_normal() -> Self {
        Self::new(2.0, 0.0, std::f64::consts::SQRT_2)
    }
    /// Unit-variance Laplace: gennorm(1, 0, 1/√2).
    pub fn unit_laplace() -> Self {
        Self::new(1.0, 0.0, std::f64::consts::FRAC_1_SQRT_2)
    }

    /// `∫_0^{|z|} u^k f(u) du` in standardized units (not signed).
    fn half_moment(&self, k: f64, z: f64) -> f64 {
        let a = (k + 1.0) / self.beta;
        let front = (ln_gamma(a) - ln_gamma(1.0 / self.beta)).exp() / 2.0;
        let t = z.abs().powf(self.beta);
        if t.is_infinite() {
            front
        } else if t == 0.0 {
            0.0
        } else {
            front * gamma_lr(a, t)
        }
    }

    /// `∫_{|z|}^∞ u^k f(u) du`.
    fn half_tail(&self, k: f64, z: f64) -> f64 {
        let a = (k + 1.0) / self.beta;
        let front = (ln_gamma(a) - ln_gamma(1.0 / self.beta)).exp() / 2.0;
        let t = z.abs().powf(self.beta);
        if t.is_infinite() {
            0.0
        } else if t == 0.0 {
            front
        } else {
            front * gamma_ur(a, t)
        }
    }

    fn standardized(&self, x: f64) -> f64 {
        (x - self.loc) / self.scale
    }

    /// `∫_{za}^{zb}` of `|z|^k f` (even part) in standardized units, with
    /// tails computed from the upper incomplete gamma for accuracy.
    fn abs_std(&self, k: f64, za: f64, zb: f64) -> f64 {
        if za >= 0.0 {
            self.half_tail(k, za) - self.half_tail(k, zb)
        } else if zb <= 0.0 {
            self.half_tail(k, zb) - self.half_tail(k, za)
        } else {
            self.half_moment(k, za) + self.half_moment(k, zb)
        }
    }
}

impl ContinuousDist for TestGenNorm {
    fn kind(&self) -> FamilyKind {
        FamilyKind::GenNorm
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("beta", self.beta),
            ("loc", self.loc),
            ("scale", self.scale),
        ]
    }
    fn loc(&self) -> f64 {
        self.loc
    }
    fn scale(&self) -> f64 {
        self.scale
    }
    fn pdf(&self, x: f64) -> f64 {
        self.ln_pdf(x).exp()
    }
    fn ln_pdf(&self, x: f64) -> f64 {
        let z = self.standardized(x);
        (self.beta / 2.0).ln()
            - ln_gamma(1.0 / self.beta)
            - z.abs().powf(self.beta)
            - self.scale.ln()
    }
    fn cdf(&self, x: f64) -> f64 {
        let z = self.standardized(x);
        if z <= 0.0 {
            self.half_tail(0.0, z)
        } else {
            1.0 - self.half_tail(0.0, z)
        }
    }
    fn sf(&self, x: f64) -> f64 {
        1.0 - self.cdf(x)
    }
    fn quantile(&self, p: f64) -> f64 {
        if p <= 0.0 {
            return f64::NEG_INFINITY;
        }
        if p >= 1.0 {
            return f64::INFINITY;
        }
        let (mut lo, mut hi) = (-1.0, 1.0);
        while self.cdf(self.loc + self.scale * lo) > p {
            lo *= 2.0;
        }
        while self.cdf(self.loc + self.scale * hi) < p {
            hi *= 2.0;
        }
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if self.cdf(self.loc + self.scale * mid) < p {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        self.loc + self.scale * 0.5 * (lo + hi)
    }
    fn abs_moment_between(&self, k: f64, a: f64, b: f64) -> f64 {
        let (za, zb) = (self.standardized(a), self.standardized(b));
        self.scale.powf(k) * self.abs_std(k, za, zb)
    }
    fn signed_moment_between(&self, k: f64, a: f64, b: f64) -> f64 {
        let (za, zb) = (self.standardized(a), self.standardized(b));
        let value = if za >= 0.0 {
            self.half_tail(k, za) - self.half_tail(k, zb)
        } else if zb <= 0.0 {
            -(self.half_tail(k, zb) - self.half_tail(k, za))
        } else {
            self.half_moment(k, zb) - self.half_moment(k, za)
        };
        self.scale.powf(k) * value
    }
    fn variance(&self) -> f64 {
        self.scale * self.scale * (ln_gamma(3.0 / self.beta) - ln_gamma(1.0 / self.beta)).exp()
    }
    fn excess_kurtosis(&self) -> f64 {
        let b = self.beta;
        (ln_gamma(5.0 / b) + ln_gamma(1.0 / b) - 2.0 * ln_gamma(3.0 / b)).exp() - 3.0
    }
    fn entropy(&self) -> f64 {
        1.0 / self.beta - (self.beta / (2.0 * self.scale)).ln() + ln_gamma(1.0 / self.beta)
    }
    fn sample(&self, _rng: &mut dyn RngCore, _n: usize) -> Vec<f64> {
        Vec::new()
    }
}
