//! The structure all four families share: symmetric about `loc`, and a power
//! of the standardized radius `r = |x − loc| / scale` is gamma distributed,
//!
//! ```text
//! T = λ · r^p ~ Gamma(a, 1)
//!
//! family        a      p    λ     density of z = (x − loc)/scale
//! gennorm(β)    1/β    β    1     β/(2Γ(1/β)) · exp(−|z|^β)
//! dweibull(c)   1      c    1     c/2 · |z|^(c−1) · exp(−|z|^c)
//! laplace       1      1    1     ½ · exp(−|z|)
//! norm          ½      2    ½     exp(−z²/2) / √(2π)
//! ```
//!
//! i.e. a mirrored generalized gamma distribution (Stacy, Ann. Math. Stat. 33
//! (1962) 1187–1192). Everything then follows from the gamma distribution:
//!
//! ```text
//! ln f(x)            = ln(p λ^a / (2 Γ(a) scale)) + (p a − 1) ln r − λ r^p
//! cdf(x), x < loc    = ½ Q(a, λ r^p)                    (sf by symmetry)
//! ∫_{r1}^{r2} r^k f  = ½ λ^(−k/p) Γ(a + k/p)/Γ(a) · [P(a + k/p, T2) − P(a + k/p, T1)]
//! entropy            = −ln(p λ^a/(2Γ(a) scale)) − (p a − 1)(ψ(a) − ln λ)/p + a
//! sampling           r = (G/λ)^(1/p), G ~ Gamma(a, 1), random sign
//! ```
//!
//! The families own their parameters and names; this type owns the numerics.

use super::special::{digamma, ln_gamma, GammaShape};
use super::ParamError;
use rand::{Rng, RngCore};
use rand_distr::{Distribution, Gamma};

/// A distribution symmetric about `loc` with `λ (|x − loc|/scale)^p ~ Gamma(a, 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct RadialGamma {
    /// Gamma shape `a` of `T = λ r^p`.
    gamma_shape: f64,
    /// The power `p`.
    power: f64,
    /// The rate `λ`.
    rate: f64,
    /// `p a − 1`, the power of `r` in the density (stored exactly, not recomputed,
    /// so that it is exactly 0 for gennorm, laplace and norm).
    radius_exponent: f64,
    /// `ln(p λ^a / (2 Γ(a) scale))`.
    ln_density_constant: f64,
    loc: f64,
    scale: f64,
    /// Sampler of `T`; of `Gamma(a + 1)` when `a` < [`SMALL_GAMMA_SHAPE`].
    gamma_sampler: Gamma<f64>,
    /// The gamma shape `a` of `T` with its constants (cdf, quantile).
    shape: GammaShape,
    /// The shapes `a + k/p` of the partial moments of order `k = 1, 2`
    /// (`None` where not positive).
    moment_shapes: [Option<GammaShape>; 2],
}

/// Below this Gamma shape `a` (GenNorm β > 100) a direct draw of `T`
/// underflows to 0 and every radius `T^{1/p}` with it; radii are then drawn
/// as `ln r = (ln G − ln λ + ln(U)/a)/p` with `G ~ Gamma(a + 1)`,
/// `U ~ Uniform(0, 1)`, from `Gamma(a) = Gamma(a + 1) · U^{1/a}` in law
/// (Marsaglia & Tsang 2000, §6).
const SMALL_GAMMA_SHAPE: f64 = 0.01;

impl RadialGamma {
    /// gennorm(β): `a = 1/β`, `p = β`, `λ = 1`.
    pub(super) fn gennorm(beta: f64, loc: f64, scale: f64) -> Result<Self, ParamError> {
        Self::new("beta", beta, 1.0 / beta, beta, 1.0, 0.0, loc, scale)
    }

    /// dweibull(c): `a = 1`, `p = c`, `λ = 1`.
    pub(super) fn dweibull(c: f64, loc: f64, scale: f64) -> Result<Self, ParamError> {
        Self::new("c", c, 1.0, c, 1.0, c - 1.0, loc, scale)
    }

    /// laplace: `a = 1`, `p = 1`, `λ = 1`.
    pub(super) fn laplace(loc: f64, scale: f64) -> Result<Self, ParamError> {
        Self::new("scale", scale, 1.0, 1.0, 1.0, 0.0, loc, scale)
    }

    /// norm: `a = ½`, `p = 2`, `λ = ½`.
    pub(super) fn normal(loc: f64, scale: f64) -> Result<Self, ParamError> {
        Self::new("scale", scale, 0.5, 2.0, 0.5, 0.0, loc, scale)
    }

    /// `shape_name`/`shape_value` name the family parameter blamed when the
    /// derived gamma shape is unusable (e.g. `1/β` overflows).
    #[allow(clippy::too_many_arguments)]
    fn new(
        shape_name: &'static str,
        shape_value: f64,
        gamma_shape: f64,
        power: f64,
        rate: f64,
        radius_exponent: f64,
        loc: f64,
        scale: f64,
    ) -> Result<Self, ParamError> {
        let out_of_domain = || ParamError::OutOfDomain {
            name: shape_name,
            value: shape_value,
            requirement: "finite, > 0 and with a finite reciprocal",
        };
        if !(gamma_shape.is_finite() && gamma_shape > 0.0) {
            return Err(out_of_domain());
        }
        let sampled_shape = if gamma_shape < SMALL_GAMMA_SHAPE {
            gamma_shape + 1.0
        } else {
            gamma_shape
        };
        let gamma_sampler = Gamma::new(sampled_shape, 1.0).map_err(|_| out_of_domain())?;
        let ln_density_constant = power.ln() + gamma_shape * rate.ln()
            - std::f64::consts::LN_2
            - ln_gamma(gamma_shape)
            - scale.ln();
        let shape = GammaShape::new(gamma_shape).ok_or_else(out_of_domain)?;
        let moment_shapes = [1.0, 2.0].map(|k| GammaShape::new(gamma_shape + k / power));
        Ok(Self {
            gamma_shape,
            power,
            rate,
            radius_exponent,
            ln_density_constant,
            loc,
            scale,
            gamma_sampler,
            shape,
            moment_shapes,
        })
    }

    pub(super) fn loc(&self) -> f64 {
        self.loc
    }

    pub(super) fn scale(&self) -> f64 {
        self.scale
    }

    /// `T = λ r^p` (exact products for `p = 1, 2`).
    fn gamma_variable(&self, radius: f64) -> f64 {
        let powered = if self.power == 1.0 {
            radius
        } else if self.power == 2.0 {
            radius * radius
        } else {
            radius.powf(self.power)
        };
        self.rate * powered
    }

    /// The radius `r` with `λ r^p = t`.
    fn radius_of(&self, t: f64) -> f64 {
        let base = t / self.rate;
        if self.power == 1.0 {
            base
        } else if self.power == 2.0 {
            base.sqrt()
        } else {
            base.powf(1.0 / self.power)
        }
    }

    /// One standardized radius (see [`SMALL_GAMMA_SHAPE`]).
    fn sample_radius(&self, rng: &mut dyn RngCore) -> f64 {
        let a = self.gamma_shape;
        if a >= SMALL_GAMMA_SHAPE {
            return self.radius_of(self.gamma_sampler.sample(rng));
        }
        let g: f64 = self.gamma_sampler.sample(rng);
        let u: f64 = rng.random::<f64>();
        ((g.ln() - self.rate.ln() + (1.0 - u).ln() / a) / self.power).exp()
    }

    fn standardize(&self, x: f64) -> f64 {
        (x - self.loc) / self.scale
    }

    pub(super) fn ln_pdf(&self, x: f64) -> f64 {
        let radius = self.standardize(x).abs();
        if radius.is_nan() {
            return f64::NAN;
        }
        if radius == f64::INFINITY {
            return f64::NEG_INFINITY;
        }
        let radial_term = if self.radius_exponent == 0.0 {
            0.0
        } else {
            self.radius_exponent * radius.ln()
        };
        self.ln_density_constant + radial_term - self.gamma_variable(radius)
    }

    pub(super) fn pdf(&self, x: f64) -> f64 {
        self.ln_pdf(x).exp()
    }

    /// `P(|Z| ≤ r)/2` and `P(|Z| > r)/2`: the central and tail half-masses.
    fn half_masses(&self, radius: f64) -> (f64, f64) {
        let (central, tail) = self.shape.lower_upper(self.gamma_variable(radius));
        (0.5 * central, 0.5 * tail)
    }

    pub(super) fn cdf(&self, x: f64) -> f64 {
        let z = self.standardize(x);
        if z.is_nan() {
            return f64::NAN;
        }
        let (central, tail) = self.half_masses(z.abs());
        if z <= 0.0 {
            tail
        } else {
            0.5 + central
        }
    }

    pub(super) fn sf(&self, x: f64) -> f64 {
        let z = self.standardize(x);
        if z.is_nan() {
            return f64::NAN;
        }
        let (central, tail) = self.half_masses(z.abs());
        if z >= 0.0 {
            tail
        } else {
            0.5 + central
        }
    }

    /// Inverse cdf. The tail probability `min(p, 1 − p)` (exact for `p ≥ ½`)
    /// is inverted through `Q⁻¹`, so both tails keep full relative accuracy in
    /// `x − loc`.
    pub(super) fn quantile(&self, p: f64) -> f64 {
        if !(0.0..=1.0).contains(&p) {
            return f64::NAN;
        }
        let lower = p < 0.5;
        let tail = if lower { p } else { 1.0 - p };
        let radius = self.radius_of(self.shape.inv_upper(2.0 * tail));
        if lower {
            self.loc - self.scale * radius
        } else {
            self.loc + self.scale * radius
        }
    }

    /// [`ContinuousDist::quantiles`](super::ContinuousDist::quantiles): each
    /// gamma variable's Newton iteration starts from the linear extrapolation
    /// of the two before it, which for closely spaced probabilities leaves
    /// one or two steps.
    pub(super) fn quantiles(&self, ps: &[f64]) -> Vec<f64> {
        let mut previous = [f64::NAN; 2];
        ps.iter()
            .map(|&p| {
                if !(0.0..=1.0).contains(&p) {
                    return f64::NAN;
                }
                let lower = p < 0.5;
                let tail = if lower { p } else { 1.0 - p };
                let guess = 2.0 * previous[1] - previous[0];
                let guess = if guess > 0.0 { guess } else { previous[1] };
                let t = self.shape.inv_upper_near(2.0 * tail, guess);
                previous = [previous[1], t];
                let radius = self.radius_of(t);
                if lower {
                    self.loc - self.scale * radius
                } else {
                    self.loc + self.scale * radius
                }
            })
            .collect()
    }

    /// `∫ r^k f` over one half-line between standardized radii `0 ≤ r1 ≤ r2`,
    /// in units of `x` (times `scale^k`). Differences of `Q` are used when
    /// both ends are past the mean of the gamma variable, so deep-tail
    /// intervals keep their relative accuracy.
    fn half_line_moment(&self, k: f64, r1: f64, r2: f64) -> f64 {
        let Some(shape) = self.moment_shape(k) else {
            return f64::NAN;
        };
        let end = |r: f64| {
            let t = self.gamma_variable(r);
            (t, shape.lower_upper(t))
        };
        let mass = half_line_mass(shape.a(), end(r1), end(r2));
        if mass == 0.0 {
            return 0.0;
        }
        0.5 * self.moment_factor(k, &shape).exp() * mass
    }

    /// `ln(Γ(a + k/p)/Γ(a) · λ^(−k/p) · scale^k)`, the factor of the partial
    /// moment of order `k` (`shape` is `a + k/p`).
    fn moment_factor(&self, k: f64, shape: &GammaShape) -> f64 {
        shape.ln_gamma() - self.shape.ln_gamma() - (k / self.power) * self.rate.ln()
            + k * self.scale.ln()
    }

    /// [`ContinuousDist::cell_moments`](super::ContinuousDist::cell_moments):
    /// the incomplete gamma functions are evaluated once per bound (for the
    /// orders 0, 1, 2) and shared by the two cells that meet there, with the
    /// same choice of `P` or `Q` differences as [`Self::abs_moment_between`],
    /// so the values are the same.
    pub(super) fn cell_moments(&self, bounds: &[f64]) -> Vec<[f64; 3]> {
        let orders = [0.0, 1.0, 2.0];
        let shapes = orders.map(|k| self.moment_shape(k));
        let factors = std::array::from_fn::<_, 3, _>(|i| {
            shapes[i].map(|shape| 0.5 * self.moment_factor(orders[i], &shape).exp())
        });
        // Per bound: standardized z, and per order (t, (P, Q)) at radius |z|
        // and at radius 0 (for a cell that straddles loc).
        let ends: Vec<(f64, [Option<BoundEnd>; 3])> = bounds
            .iter()
            .map(|&b| {
                let z = self.standardize(b);
                let t = self.gamma_variable(z.abs());
                (z, shapes.map(|shape| shape.map(|s| (t, s.lower_upper(t)))))
            })
            .collect();
        let centre: BoundEnd = (0.0, (0.0, 1.0));
        ends.windows(2)
            .map(|cell| {
                let ((za, a_ends), (zb, b_ends)) = (&cell[0], &cell[1]);
                if za.is_nan() || zb.is_nan() || za > zb {
                    return [f64::NAN; 3];
                }
                std::array::from_fn(|i| {
                    let (Some(shape), Some(factor), Some(a), Some(b)) =
                        (shapes[i], factors[i], a_ends[i], b_ends[i])
                    else {
                        return f64::NAN;
                    };
                    let piece = |near: BoundEnd, far: BoundEnd| {
                        let mass = half_line_mass(shape.a(), near, far);
                        if mass == 0.0 {
                            0.0
                        } else {
                            factor * mass
                        }
                    };
                    // Negative side counts with sign −1 for the signed order 1.
                    let negative_sign = if i == 1 { -1.0 } else { 1.0 };
                    let negative = if *za < 0.0 {
                        let near = if *zb < 0.0 { b } else { centre };
                        negative_sign * piece(near, a)
                    } else {
                        0.0
                    };
                    let positive = if *zb > 0.0 {
                        let near = if *za > 0.0 { a } else { centre };
                        piece(near, b)
                    } else {
                        0.0
                    };
                    negative + positive
                })
            })
            .collect()
    }

    /// The gamma shape `a + k/p` of the partial moment of order `k` (kept
    /// for `k = 0, 1, 2`), or `None` when it is not positive.
    fn moment_shape(&self, k: f64) -> Option<GammaShape> {
        if k == 0.0 {
            Some(self.shape)
        } else if k == 1.0 {
            self.moment_shapes[0]
        } else if k == 2.0 {
            self.moment_shapes[1]
        } else {
            GammaShape::new(self.gamma_shape + k / self.power)
        }
    }

    /// The two half-line pieces of `[a, b]`, or `None` for NaN bounds.
    fn split_at_loc(&self, a: f64, b: f64) -> Option<HalfLinePieces> {
        let (za, zb) = (self.standardize(a), self.standardize(b));
        if za.is_nan() || zb.is_nan() {
            return None;
        }
        Some(HalfLinePieces {
            negative: (za < 0.0).then(|| ((-zb).max(0.0), -za)),
            positive: (zb > 0.0).then(|| (za.max(0.0), zb)),
        })
    }

    /// `∫_a^b |x − loc|^k f(x) dx`; NaN when the integral is not finite through
    /// the gamma function (`a + k/p ≤ 0`) or an argument is NaN. `a > b` gives
    /// the negative of `∫_b^a`.
    pub(super) fn abs_moment_between(&self, k: f64, a: f64, b: f64) -> f64 {
        self.moment_between(k, a, b, 1.0)
    }

    /// `∫_a^b sign(x − loc) |x − loc|^k f(x) dx`, same conventions.
    pub(super) fn signed_moment_between(&self, k: f64, a: f64, b: f64) -> f64 {
        self.moment_between(k, a, b, -1.0)
    }

    fn moment_between(&self, k: f64, a: f64, b: f64, negative_side_sign: f64) -> f64 {
        if !k.is_finite() {
            return f64::NAN;
        }
        if a > b {
            return -self.moment_between(k, b, a, negative_side_sign);
        }
        let Some(pieces) = self.split_at_loc(a, b) else {
            return f64::NAN;
        };
        let piece = |side: Option<(f64, f64)>| {
            side.map_or(0.0, |(r1, r2)| self.half_line_moment(k, r1, r2))
        };
        negative_side_sign * piece(pieces.negative) + piece(pieces.positive)
    }

    /// `E|X − loc|^k = scale^k λ^(−k/p) Γ(a + k/p)/Γ(a)`.
    fn abs_central_moment(&self, k: f64) -> f64 {
        let ratio = ln_gamma(self.gamma_shape + k / self.power) - ln_gamma(self.gamma_shape);
        (ratio - (k / self.power) * self.rate.ln() + k * self.scale.ln()).exp()
    }

    pub(super) fn variance(&self) -> f64 {
        self.abs_central_moment(2.0)
    }

    /// `Γ(a + 4/p) Γ(a) / Γ(a + 2/p)² − 3`.
    pub(super) fn excess_kurtosis(&self) -> f64 {
        let a = self.gamma_shape;
        let p = self.power;
        (ln_gamma(a + 4.0 / p) + ln_gamma(a) - 2.0 * ln_gamma(a + 2.0 / p)).exp() - 3.0
    }

    pub(super) fn entropy(&self) -> f64 {
        let mean_ln_radius = (digamma(self.gamma_shape) - self.rate.ln()) / self.power;
        let radial_term = if self.radius_exponent == 0.0 {
            0.0
        } else {
            self.radius_exponent * mean_ln_radius
        };
        -self.ln_density_constant - radial_term + self.gamma_shape
    }

    pub(super) fn sample(&self, rng: &mut dyn RngCore, n: usize) -> Vec<f64> {
        (0..n)
            .map(|_| {
                let radius = self.sample_radius(rng);
                let signed = if rng.random::<bool>() {
                    radius
                } else {
                    -radius
                };
                self.loc + self.scale * signed
            })
            .collect()
    }
}

/// A bound of a half-line piece: the gamma variable `t` and `(P, Q)` at it.
type BoundEnd = (f64, (f64, f64));

/// `P(s, t₂) − P(s, t₁)` of a half-line piece from `near` (`t₁`) to `far`
/// (`t₂ ≥ t₁`), as the difference of `Q` when both ends are past the mean `s`
/// of the gamma variable, so deep-tail pieces keep their relative accuracy.
fn half_line_mass(shifted_shape: f64, near: BoundEnd, far: BoundEnd) -> f64 {
    let (t1, (p1, q1)) = near;
    let (_, (p2, q2)) = far;
    if t1 >= shifted_shape {
        q1 - q2
    } else {
        p2 - p1
    }
}

/// An interval split at `loc`: standardized radii `(r1, r2)`, `r1 ≤ r2`, of
/// its part below and of its part above `loc`.
struct HalfLinePieces {
    negative: Option<(f64, f64)>,
    positive: Option<(f64, f64)>,
}

/// Implements the numerical `ContinuousDist` methods of a family by
/// forwarding to its `RadialGamma` field.
macro_rules! forward_to_radial {
    ($field:ident) => {
        fn loc(&self) -> f64 {
            self.$field.loc()
        }
        fn scale(&self) -> f64 {
            self.$field.scale()
        }
        fn pdf(&self, x: f64) -> f64 {
            self.$field.pdf(x)
        }
        fn ln_pdf(&self, x: f64) -> f64 {
            self.$field.ln_pdf(x)
        }
        fn cdf(&self, x: f64) -> f64 {
            self.$field.cdf(x)
        }
        fn sf(&self, x: f64) -> f64 {
            self.$field.sf(x)
        }
        fn quantile(&self, p: f64) -> f64 {
            self.$field.quantile(p)
        }
        fn abs_moment_between(&self, k: f64, a: f64, b: f64) -> f64 {
            self.$field.abs_moment_between(k, a, b)
        }
        fn signed_moment_between(&self, k: f64, a: f64, b: f64) -> f64 {
            self.$field.signed_moment_between(k, a, b)
        }
        fn cell_moments(&self, bounds: &[f64]) -> Vec<[f64; 3]> {
            self.$field.cell_moments(bounds)
        }
        fn quantiles(&self, ps: &[f64]) -> Vec<f64> {
            self.$field.quantiles(ps)
        }
        fn variance(&self) -> f64 {
            self.$field.variance()
        }
        fn excess_kurtosis(&self) -> f64 {
            self.$field.excess_kurtosis()
        }
        fn entropy(&self) -> f64 {
            self.$field.entropy()
        }
        fn sample(&self, rng: &mut dyn rand::RngCore, n: usize) -> Vec<f64> {
            self.$field.sample(rng, n)
        }
    };
}
pub(super) use forward_to_radial;
