//! The machinery shared by the two shape families (gennorm and dweibull):
//! sums of powers of `|r| = |y − μ|`, a safeguarded Newton solver for the
//! profile likelihood in the shape, and the bounded Brent search (argmin)
//! for the location.
//!
//! For fixed shape `s` and location `μ` both families have a closed-form
//! scale, so the likelihood is profiled down to the shape. Its derivatives
//! need, with `L = ln|r|`,
//!
//! ```text
//! T(s)   = mean |r|^s
//! T'/T   = Σ |r|^s L  / Σ |r|^s
//! V(s)   = Σ |r|^s L² / Σ |r|^s − (T'/T)²      (= d/ds (T'/T))
//! ```
//!
//! computed in one pass over the `L` values as `e^{s (L − L_max)}`-weighted
//! sums (so `|r|^s` never overflows for any data scale), by the vectorized
//! loops of [`super::kernels`].

use super::kernels;
use super::sums::{chunked_sums, strided_subsample, CHUNK};
use crate::solver::TerminationReason;
use argmin::core::{CostFunction, Error as ArgminError, Executor, State};
use argmin::solver::brent::BrentOpt;
use rayon::prelude::*;

/// `ln|y − μ|` for the values with `y ≠ μ`, with the count of values at `μ`.
pub(super) struct LogAbs {
    /// `ln|y − μ|` of the values different from `μ`.
    logs: Vec<f64>,
    /// Number of values equal to `μ` (their `|r|^s` is 0 for `s > 0`).
    pub at_loc: usize,
    /// Total number of values, `logs.len() + at_loc`.
    pub n: usize,
    /// Largest `ln|r|`.
    max: f64,
    /// Sum of `ln|r|` over the values different from `μ`.
    pub sum: f64,
}

/// `T`, `T'/T` and `V` of the module documentation at one shape.
pub(super) struct PowerMoments {
    /// `ln T = ln mean |r|^s` (mean over all `n` values).
    pub ln_mean_power: f64,
    /// `T'/T`, the `|r|^s`-weighted mean of `ln|r|`.
    pub weighted_log: f64,
    /// `V`, the `|r|^s`-weighted variance of `ln|r|`.
    pub weighted_log_variance: f64,
}

impl LogAbs {
    /// `ln|y_i − μ|` for every `y_i ≠ μ`, in order, into a vector of
    /// exactly that length (a parallel filter-collect would hold two).
    pub fn new(y: &[f64], mu: f64) -> LogAbs {
        let at_loc = y.par_iter().filter(|&&v| v == mu).count();
        let mut logs: Vec<f64> = if at_loc == 0 {
            y.to_vec()
        } else {
            let mut kept = Vec::with_capacity(y.len() - at_loc);
            kept.extend(y.iter().filter(|&&v| v != mu));
            kept
        };
        let partials: Vec<[f64; 2]> = logs
            .par_chunks_mut(CHUNK)
            .map(|chunk| kernels::log_abs_in_place(chunk, mu))
            .collect();
        let sum = partials.iter().map(|p| p[0]).sum();
        let max = partials
            .iter()
            .map(|p| p[1])
            .fold(f64::NEG_INFINITY, f64::max);
        LogAbs {
            at_loc,
            n: y.len(),
            max,
            sum,
            logs,
        }
    }

    /// [`PowerMoments`] at shape `s > 0`, in one pass.
    pub fn moments(&self, s: f64) -> PowerMoments {
        let max = self.max;
        let [a0, a1, a2] =
            chunked_sums::<3, _>(&self.logs, |chunk| kernels::power_moments(chunk, s, max));
        let mean_u = a1 / a0;
        PowerMoments {
            ln_mean_power: s * max + (a0 / self.n as f64).ln(),
            weighted_log: mean_u + max,
            weighted_log_variance: (a2 / a0 - mean_u * mean_u).max(0.0),
        }
    }
}

/// The search interval of the shape parameters (β of gennorm, c of
/// dweibull). An estimate on a bound is reported in `Fit::note`.
pub(super) const SHAPE_BOUNDS: (f64, f64) = (0.02, 50.0);

/// Whether a solved shape sits on the lower end of [`SHAPE_BOUNDS`].
pub(super) fn on_lower_shape_bound(shape: f64) -> bool {
    shape <= SHAPE_BOUNDS.0 * (1.0 + 1e-6)
}

/// Whether a shape solve with `at_loc` values at the location ended on the
/// lower shape bound: the direction in which a likelihood with values at its
/// location grows without bound (see the gennorm module doc), not a
/// maximum.
pub(super) fn runs_into_the_spike(at_loc: usize, shape: f64) -> bool {
    at_loc > 0 && on_lower_shape_bound(shape)
}

/// Outcome of an iterative solve.
#[derive(Debug, Clone, Copy)]
pub(super) struct Solved {
    pub value: f64,
    pub iterations: u64,
    pub termination: TerminationReason,
}

/// Maximizes a unimodal 1-D function on the shape bounds by Newton's method
/// on its derivative, safeguarded by a bracket ([`newton_bracketed_in`]).
pub(super) fn newton_bracketed<F>(derivatives: F, start: f64, tol: f64, max_iter: u64) -> Solved
where
    F: FnMut(f64) -> (f64, f64),
{
    newton_bracketed_in(derivatives, start, SHAPE_BOUNDS, tol, max_iter)
}

/// Maximizes a unimodal 1-D function on `[lo, hi]` (`0 < lo < hi`) by
/// Newton's method on its derivative, safeguarded by a bracket.
///
/// `derivatives(s)` returns `(g, h)`, the first and second derivative at
/// `s`. Each evaluation shrinks the bracket (`g > 0`: the maximum is to the
/// right). A Newton step that leaves the bracket or meets `h ≥ 0` is
/// replaced by geometric bisection. Stops when the step is below
/// `tol · s`.
pub(super) fn newton_bracketed_in<F>(
    mut derivatives: F,
    start: f64,
    (mut lo, mut hi): (f64, f64),
    tol: f64,
    max_iter: u64,
) -> Solved
where
    F: FnMut(f64) -> (f64, f64),
{
    let mut s = start.clamp(lo, hi);
    for iteration in 1..=max_iter {
        let (g, h) = derivatives(s);
        if g > 0.0 {
            lo = s;
        } else {
            hi = s;
        }
        let newton = s - g / h;
        let next = if h < 0.0 && newton > lo && newton < hi && newton.is_finite() {
            newton
        } else {
            (lo * hi).sqrt()
        };
        let step = (next - s).abs();
        s = next;
        if step <= tol * s || (hi - lo) <= tol * s {
            return Solved {
                value: s,
                iterations: iteration,
                termination: TerminationReason::SolverConverged,
            };
        }
    }
    Solved {
        value: s,
        iterations: max_iter,
        termination: TerminationReason::MaxItersReached,
    }
}

/// What a shape family supplies to the generic fitting loop.
pub(super) trait ShapeFamily: Sync {
    /// Starting shape for the first (smallest) subsample.
    const INITIAL_SHAPE: f64;

    /// Whether the location cost may have its minimum at a data value (and
    /// is finite there), so data values are tried as the location.
    const POLISH_AT_DATA_VALUES: bool;

    /// Whether, for shape `s > 1`, the location cost is `+∞` at every data
    /// value (the density vanishes at the location), so that it is a comb
    /// with one local minimum in each gap between consecutive distinct
    /// values and a bracketing search stays in whichever gap it meets; the
    /// last level then scans the gaps next to the estimate ([`fit_level`]).
    const GAP_SCAN_ABOVE_SHAPE_ONE: bool;

    /// `(g, h)`: first and second derivative of the profile log-likelihood
    /// per value in the shape `s` at the location `logs` was built for.
    fn profile_derivatives(logs: &LogAbs, s: f64) -> (f64, f64);

    /// Minus the profile log-likelihood per value (up to a constant that
    /// does not depend on `μ`) at location `μ` for fixed shape `s`, or
    /// `+∞` when it is undefined there.
    fn location_cost(y: &[f64], mu: f64, s: f64) -> f64;

    /// The closed-form scale at shape `s` and the location `logs` was built
    /// for.
    fn profile_scale(logs: &LogAbs, s: f64) -> f64;

    /// The part of the profile log-likelihood per value that depends on the
    /// shape alone: `ℓ_p(s, μ) = shape_term(s) − location_cost(y, μ, s)`.
    fn shape_term(s: f64) -> f64;

    /// The profile log-likelihood per value (scale at its closed form), for
    /// comparing fits of different shapes.
    fn profile_loglik(y: &[f64], mu: f64, s: f64) -> f64 {
        Self::shape_term(s) - Self::location_cost(y, mu, s)
    }
}

/// The location search problem handed to argmin's Brent solver.
struct LocationCost<'a, F> {
    y: &'a [f64],
    shape: f64,
    family: std::marker::PhantomData<F>,
}

impl<F: ShapeFamily> CostFunction for LocationCost<'_, F> {
    type Param = f64;
    type Output = f64;

    fn cost(&self, mu: &f64) -> Result<f64, ArgminError> {
        let cost = F::location_cost(self.y, *mu, self.shape);
        // Brent compares costs; an undefined point must simply lose.
        Ok(if cost.is_nan() { f64::INFINITY } else { cost })
    }
}

/// Minimizes [`ShapeFamily::location_cost`] over `[lo, hi]` with
/// `argmin::solver::brent::BrentOpt` (absolute tolerance `xtol`).
fn brent_location<F: ShapeFamily>(
    y: &[f64],
    shape: f64,
    (lo, hi): (f64, f64),
    xtol: f64,
    max_iter: u64,
) -> (Solved, f64) {
    let problem = LocationCost::<F> {
        y,
        shape,
        family: std::marker::PhantomData,
    };
    let solver = BrentOpt::new(lo, hi).set_tolerance(f64::EPSILON.sqrt(), xtol);
    let midpoint = lo + 0.5 * (hi - lo);
    match Executor::new(problem, solver)
        .configure(|state| state.max_iters(max_iter))
        .run()
    {
        Ok(result) => {
            let state = result.state();
            let solved = Solved {
                value: state.get_best_param().copied().unwrap_or(midpoint),
                iterations: state.get_iter(),
                termination: TerminationReason::from_argmin(state.get_termination_reason()),
            };
            (solved, state.get_best_cost())
        }
        Err(_) => (
            Solved {
                value: midpoint,
                iterations: 0,
                termination: TerminationReason::SolverExit,
            },
            f64::INFINITY,
        ),
    }
}

/// Location handling of a shape-family fit, in standardized units.
#[derive(Debug, Clone, Copy)]
pub(super) enum LocationY {
    Free,
    Fixed(f64),
}

/// A converged shape-family fit in standardized units.
pub(super) struct ShapeFit {
    pub shape: f64,
    pub mu: f64,
    /// The closed-form scale at `shape` and `mu`.
    pub scale: f64,
    /// Number of values equal to `mu`.
    pub at_loc: usize,
    pub iterations: u64,
    pub termination: TerminationReason,
}

impl ShapeFit {
    /// The fit at `shape` with the scale and the values at `μ` read from
    /// `logs` (built at the fit's `μ`).
    pub(super) fn at<F: ShapeFamily>(
        logs: &LogAbs,
        shape: f64,
        mu: f64,
        iterations: u64,
        termination: TerminationReason,
    ) -> Self {
        ShapeFit {
            shape,
            mu,
            scale: F::profile_scale(logs, shape),
            at_loc: logs.at_loc,
            iterations,
            termination,
        }
    }
}

/// Subsample sizes of the warm-start pyramid, ending with `n` itself.
fn pyramid(n: usize) -> Vec<usize> {
    let mut sizes: Vec<usize> = [1 << 12, 1 << 15, 1 << 18]
        .into_iter()
        .filter(|&m| 4 * m <= n)
        .collect();
    sizes.push(n);
    sizes
}

/// Most location rounds (Brent search, then shape) per pyramid level.
const MAX_LOCATION_ROUNDS: usize = 6;

/// Above this many values, data-value location candidates are ranked on a
/// strided subsample of this size and only the best
/// [`SCREENED_CANDIDATES`] are evaluated on every value, in a single
/// round: a point mass is reached in the first round, while walking on to
/// the neighbouring data values gains about 1e-9 nats per value and step
/// (measured on 10^6 gennorm(0.7) values: 1e-3 nats in all per step, six
/// orders below the statistical resolution of the likelihood) at five
/// passes over the data per step.
const SCREEN_SIZE: usize = 1 << 16;
const SCREENED_CANDIDATES: usize = 3;

/// Distinct data values on each side of the estimate tried as the location
/// in each polish round of a sample of at most [`WIDE_SCAN_MAX_VALUES`]
/// values (two on larger ones), and the gaps on each side scanned by the gap
/// scan. With β well below 1/2 the location cost is rough on the
/// scale of the gaps between the tiny values of the core around 0, and a
/// walk over the two nearest values stops early: on the 6 477 non-zeros of
/// `fc2.weight` in `data/digits-mlp/step_000200` (β = 0.19) the best value
/// lies 39 distinct values from where that walk stopped, 1.73 nats higher
/// (the walk's fit was 0.99 below scipy's). For dweibull with c > 1 the comb of the
/// location cost (a pole at every value) held the 576 bfloat16 values of
/// `layer1.conv2.weight` in `tests/fixtures/real/resnet_bf16.safetensors`
/// 13 distinct values from the best gap, 1.42 nats lower (0.96 below scipy's).
const NEAREST_SCANNED: usize = 32;

/// The largest sample that gets the wide polish and the gap scan of
/// [`NEAREST_SCANNED`] values or gaps on each side. Each round costs about
/// 64 passes over the values: on 16 384 values (dev profile, whole process)
/// a gennorm fit with β = 0.3 went from 0.08 to 0.14 s and a dweibull fit
/// with c = 1.5 from 0.10 to 0.17 s; on 6·10^4 values the gennorm fit
/// tripled (0.14 to 0.44 s), with no gain on these samples.
const WIDE_SCAN_MAX_VALUES: usize = 1 << 14;

/// The least gennorm shape at which the full data keep the largest
/// subsample's location ([`fit_shape_family`]). The location information
/// per value, `β² Γ(2 − 1/β)/Γ(1/β)` in units of `α⁻²`, is 1.07 at β = 0.6,
/// 0.86 at 0.7 and 1 at 1 (Laplace), but 3.5 at 0.52 and infinite at and
/// below 1/2, where the likelihood peaks on the scale of the gaps between
/// values. Log-likelihood lost against searching on all values (16 passes
/// over 10^6 values): 1.7e-4 nats in all on 10^6 gennorm(0.7) values and at
/// most 0.009 nats on 2·10^4 to 2·10^5 values fitted with β ≥ 0.6; but 0.03
/// to 0.09 nats on 10^6 values at β = 0.52, 0.12 nats on 2·10^4 values at
/// β = 0.45 and 1.5 nats on 10^6 at β = 0.3. (Not for dweibull at all: its
/// location information is infinite below shape 1, and keeping a 4 096-value
/// subsample's location lost up to 5.6 nats on 5·10^4 dweibull(0.7) values.)
const KEPT_LOCATION_MIN_SHAPE: f64 = 0.6;

/// Absolute tolerance (standardized units) of the final location search
/// when the shape is at least 1.
const FINE_LOCATION_TOLERANCE: f64 = 1e-10;

/// A location move gaining less log-likelihood per value than this ends the
/// alternation (`1e-12 · n` nats in total: far below any reported digit).
const NEGLIGIBLE_GAIN: f64 = 1e-12;

/// Fits shape and location of family `F` to standardized data `y`
/// (median 0, spread ≈ 1).
///
/// On a pyramid of strided subsamples (4 096, 32 768, 262 144 values, then
/// all), alternate: Brent search of `μ` for fixed shape in a bracket of
/// ±8/√m_prev around the previous estimate (widened when the optimum is on
/// its edge), then Newton on the shape at the new `μ`. A move is accepted
/// only if it raises the likelihood, so the alternation is monotone; it stops
/// when `μ` moves less than the level's tolerance `0.01/√m` or gains less than
/// [`NEGLIGIBLE_GAIN`] per value. Shape and location are orthogonal for
/// symmetric families (their expected cross information is 0), so this takes
/// a round or two. Each level starts from the previous level's estimate, so
/// the full data see only a few O(n) passes.
///
/// For families whose location cost is concave between data values
/// ([`ShapeFamily::POLISH_AT_DATA_VALUES`], gennorm with `β < 1`) the
/// minimum over `μ` for fixed shape lies *at* a data value, and a point mass
/// (tied values, e.g. kept zeros) is a strong attractor that a bracketing
/// search steps over; the full-data estimate is therefore polished by trying
/// the data values next to `μ` and the most repeated values near it
/// ([`data_value_candidates`]).
///
/// For families whose location cost is `+∞` at every data value above
/// shape 1 ([`ShapeFamily::GAP_SCAN_ABOVE_SHAPE_ONE`], dweibull with
/// `c > 1`) the cost is a comb with a local minimum in every gap, deep where
/// values are tied (bfloat16, float16), and a Brent search stays in the gap
/// it meets; the full-data estimate is therefore moved to the best of the
/// [`NEAREST_SCANNED`] gaps on each side (cost at each gap's midpoint, then
/// Brent within the best gap), round after round, on samples of at most
/// [`WIDE_SCAN_MAX_VALUES`] values.
///
/// For gennorm with [`KEPT_LOCATION_MIN_SHAPE`] ≤ β < 1, on the full data
/// after a subsample level, the location rounds are skipped: the location
/// stays at the largest subsample's estimate, polished at the data values
/// next to it (as above), and only the shape is solved on all values. The
/// cost has a cusp at every data value there, so a search on all values
/// mostly resolves that roughness, while the strided subsample of sorted
/// values is quantile-stratified and its estimate is already close.
///
/// Below shape 1 the location search is local (the cost has a cusp or a
/// pole at every data value), and a small sample started at its median can
/// settle on a spike next to a value while a regular maximum with shape ≥ 1
/// lies elsewhere (seen with 20 dweibull(c = 5) values: c = 0.65 at 112.2
/// nats against c = 3.9 at 124.4). So when the first level ends below
/// shape 1 with a free location, it is run a second time from the sample
/// mean with the shape held at ≥ 1 until a last free shape solve; and a
/// sample of at most [`GRID_START_MAX_VALUES`] values, whose location
/// likelihood has a cusp or pole at every value (a local search stays in
/// its gap), is also started from the best gap of a scan ([`grid_start`]).
/// The start with the highest profile likelihood goes on.
pub(super) fn fit_shape_family<F: ShapeFamily>(
    y: &[f64],
    location: LocationY,
    tol: f64,
    max_iter: u64,
) -> ShapeFit {
    let start = LevelStart {
        mu: match location {
            LocationY::Free => 0.0,
            LocationY::Fixed(mu) => mu,
        },
        shape: F::INITIAL_SHAPE,
        half_width: 1.0,
    };
    let settings = LevelSettings {
        location,
        tol,
        max_iter,
        min_shape: 0.0,
        last_level: false,
        after_subsample: false,
    };
    fit_pyramid::<F>(y, start, settings)
}

/// A free-location fit found in the regular region: the pyramid of
/// [`fit_shape_family`] from the sample mean with the shape held at ≥ 1,
/// where the location cost is convex, then one free shape solve at the
/// location found. Used where the unrestricted search followed an unbounded
/// direction of the likelihood. (Held at exactly 1 the location is the
/// median, a data value when the count is odd; the free solve there can
/// still feel that value.)
pub(super) fn fit_regular<F: ShapeFamily>(y: &[f64], tol: f64, max_iter: u64) -> ShapeFit {
    let start = LevelStart {
        mu: y.iter().sum::<f64>() / y.len() as f64,
        shape: F::INITIAL_SHAPE.max(1.0),
        half_width: 1.0,
    };
    let held = LevelSettings {
        location: LocationY::Free,
        tol,
        max_iter,
        min_shape: 1.0,
        last_level: false,
        after_subsample: false,
    };
    release_shape::<F>(y, fit_pyramid::<F>(y, start, held), tol, max_iter)
}

/// The fit at `held`'s location with the shape solved free of any hold.
fn release_shape<F: ShapeFamily>(
    sample: &[f64],
    held: ShapeFit,
    tol: f64,
    max_iter: u64,
) -> ShapeFit {
    let logs = LogAbs::new(sample, held.mu);
    let free = newton_bracketed(
        |s| F::profile_derivatives(&logs, s),
        held.shape,
        tol,
        max_iter,
    );
    ShapeFit::at::<F>(
        &logs,
        free.value,
        held.mu,
        held.iterations + free.iterations,
        held.termination.and(free.termination),
    )
}

/// The warm-start pyramid of [`fit_shape_family`] from `start`. The first
/// level's extra starts are tried only when the shape is not held.
fn fit_pyramid<F: ShapeFamily>(y: &[f64], start: LevelStart, settings: LevelSettings) -> ShapeFit {
    let mut current = start;
    let location = settings.location;
    let mut fitted = ShapeFit {
        shape: current.shape,
        mu: current.mu,
        scale: f64::NAN,
        at_loc: 0,
        iterations: 0,
        termination: TerminationReason::SolverConverged,
    };
    for (level, m) in pyramid(y.len()).into_iter().enumerate() {
        let owned;
        let sample: &[f64] = if m >= y.len() {
            y
        } else {
            owned = strided_subsample(y, m);
            &owned
        };
        let settings = LevelSettings {
            last_level: m >= y.len(),
            after_subsample: level > 0,
            ..settings
        };
        let mut result = fit_level::<F>(sample, current, &settings);
        if level == 0 && matches!(location, LocationY::Free) && settings.min_shape == 0.0 {
            let mut alternatives = Vec::new();
            if result.shape < 1.0 {
                alternatives.push(second_start::<F>(sample, current, &settings));
            }
            if sample.len() <= GRID_START_MAX_VALUES {
                alternatives.extend(grid_start::<F>(sample, &settings));
            }
            for alternative in alternatives {
                fitted.iterations += alternative.iterations;
                if F::profile_loglik(sample, alternative.mu, alternative.shape)
                    > F::profile_loglik(sample, result.mu, result.shape)
                {
                    result = alternative;
                }
            }
        }
        fitted.shape = result.shape;
        fitted.mu = result.mu;
        fitted.scale = result.scale;
        fitted.at_loc = result.at_loc;
        fitted.iterations += result.iterations;
        if settings.last_level {
            fitted.termination = result.termination;
        }
        current = LevelStart {
            mu: result.mu,
            shape: result.shape,
            half_width: 8.0 / (m as f64).sqrt(),
        };
    }
    fitted
}

/// Where a pyramid level starts.
#[derive(Debug, Clone, Copy)]
struct LevelStart {
    mu: f64,
    shape: f64,
    /// Half-width of the first location bracket.
    half_width: f64,
}

/// How a pyramid level is fitted.
#[derive(Debug, Clone, Copy)]
struct LevelSettings {
    location: LocationY,
    tol: f64,
    max_iter: u64,
    /// Shape solves are clamped to at least this.
    min_shape: f64,
    /// Whether the level holds every value (fine search and polish).
    last_level: bool,
    /// Whether a subsample level came before, so that the start is its
    /// estimate.
    after_subsample: bool,
}

/// Samples up to this size also get a start from a scan of the location
/// over the gaps between the central values ([`grid_start`]).
pub(super) const GRID_START_MAX_VALUES: usize = 512;

/// The first level's scan start (see [`fit_shape_family`]): the profile
/// likelihood (shape solved) at the midpoint of every gap between
/// consecutive distinct values of the central half of the sample; the best
/// midpoint is searched within its gap and then refined as any level.
fn grid_start<F: ShapeFamily>(sample: &[f64], settings: &LevelSettings) -> Option<ShapeFit> {
    let mut sorted = sample.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    let n = sorted.len();
    let central = &sorted[n / 4..(3 * n / 4 + 1).min(n)];
    let mut iterations = 0;
    let mut best: Option<(f64, f64, f64, f64)> = None;
    for gap in central.windows(2) {
        let mu = 0.5 * (gap[0] + gap[1]);
        let logs = LogAbs::new(sample, mu);
        let solved = newton_bracketed(
            |s| F::profile_derivatives(&logs, s),
            F::INITIAL_SHAPE,
            settings.tol,
            settings.max_iter,
        );
        iterations += solved.iterations;
        let loglik = F::profile_loglik(sample, mu, solved.value);
        if best.is_none_or(|b| loglik > b.0) {
            best = Some((loglik, mu, solved.value, 0.5 * (gap[1] - gap[0])));
        }
    }
    let (_, mu, shape, half_gap) = best?;
    let start = LevelStart {
        mu,
        shape,
        half_width: half_gap,
    };
    let mut fit = fit_level::<F>(sample, start, settings);
    fit.iterations += iterations;
    Some(fit)
}

/// The first level's second start (see [`fit_shape_family`]): from the
/// sample mean with the shape held at ≥ 1, then one free shape solve.
fn second_start<F: ShapeFamily>(
    sample: &[f64],
    first: LevelStart,
    settings: &LevelSettings,
) -> ShapeFit {
    let mean = sample.iter().sum::<f64>() / sample.len() as f64;
    let start = LevelStart {
        mu: mean,
        shape: first.shape.max(1.0),
        ..first
    };
    let held = LevelSettings {
        min_shape: 1.0,
        ..*settings
    };
    let held_fit = fit_level::<F>(sample, start, &held);
    release_shape::<F>(sample, held_fit, settings.tol, settings.max_iter)
}

/// One pyramid level: alternate location searches and shape solves from
/// `start` (see [`fit_shape_family`]).
fn fit_level<F: ShapeFamily>(
    sample: &[f64],
    start: LevelStart,
    settings: &LevelSettings,
) -> ShapeFit {
    let &LevelSettings {
        location,
        tol,
        max_iter,
        min_shape,
        last_level,
        after_subsample,
    } = settings;
    let mut iterations = 0;
    // The logs of the latest solve (at the current μ), kept for the scale;
    // dropped before the next are built, so only one set is ever held.
    let mut latest_logs: Option<LogAbs> = None;
    let mut solve_shape = |mu: f64, start: f64| {
        latest_logs = None;
        let logs = LogAbs::new(sample, mu);
        let solved = newton_bracketed(|s| F::profile_derivatives(&logs, s), start, tol, max_iter);
        iterations += solved.iterations;
        let at_loc = logs.at_loc;
        latest_logs = Some(logs);
        (solved.value.max(min_shape), solved.termination, at_loc)
    };
    let mut mu = start.mu;
    let (mut shape, mut shape_termination, at_start) = solve_shape(mu, start.shape);
    // a held location needs no search
    let mut location_termination = TerminationReason::SolverConverged;
    let mut search_iterations = 0;
    if let LocationY::Free = location {
        // gennorm with 0.6 ≤ β < 1: the full data keep the subsample's
        // location (see `fit_shape_family`), unless a value sits on it.
        let keep_subsample_location = last_level
            && after_subsample
            && F::POLISH_AT_DATA_VALUES
            && (KEPT_LOCATION_MIN_SHAPE..1.0).contains(&shape)
            && at_start == 0;
        // kept: no search, converged; searched: until a round ends it
        location_termination = if keep_subsample_location {
            TerminationReason::SolverConverged
        } else {
            TerminationReason::MaxItersReached
        };
        let xtol = 0.01 / (sample.len() as f64).sqrt();
        let mut half_width = start.half_width;
        let rounds = if keep_subsample_location {
            0
        } else {
            MAX_LOCATION_ROUNDS
        };
        for _round in 0..rounds {
            let current_cost = F::location_cost(sample, mu, shape);
            let (search, best_cost) = brent_location::<F>(
                sample,
                shape,
                (mu - half_width, mu + half_width),
                xtol,
                max_iter,
            );
            search_iterations += search.iterations;
            let gain = current_cost - best_cost;
            if gain.is_nan() || gain <= NEGLIGIBLE_GAIN {
                location_termination = TerminationReason::NotImproving;
                break;
            }
            let moved = (search.value - mu).abs();
            mu = search.value;
            (shape, shape_termination, _) = solve_shape(mu, shape);
            if moved > 0.95 * half_width {
                half_width *= 4.0;
            } else if moved <= 3.0 * xtol {
                location_termination = TerminationReason::SolverConverged;
                break;
            } else {
                half_width = (4.0 * moved).max(20.0 * xtol);
            }
        }
        if last_level && shape >= 1.0 {
            // Smooth enough in the location: a fine final search, so the
            // location (and with it the shape) does not depend on the
            // coarse tolerance of the pyramid's searches — this is what
            // makes the fit invariant to the data's scale.
            let width = 50.0 * xtol;
            let fine = refine_location::<F>(
                sample,
                (mu, shape),
                max_iter,
                |mu, _| Some((mu - width, mu + width)),
                &mut solve_shape,
                |_| true,
            );
            search_iterations += fine.iterations;
            (mu, shape) = (fine.mu, fine.shape);
            shape_termination = fine.shape_termination.unwrap_or(shape_termination);
        }
        if last_level
            && F::GAP_SCAN_ABOVE_SHAPE_ONE
            && shape > 1.0
            && sample.len() <= WIDE_SCAN_MAX_VALUES
        {
            let best_gap = |mu: f64, shape: f64| {
                nearest_distinct_values(sample, mu, NEAREST_SCANNED + 1)
                    .windows(2)
                    .map(|g| {
                        (
                            (g[0], g[1]),
                            F::location_cost(sample, 0.5 * (g[0] + g[1]), shape),
                        )
                    })
                    .min_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|(gap, _)| gap)
            };
            let scanned = refine_location::<F>(
                sample,
                (mu, shape),
                max_iter,
                best_gap,
                &mut solve_shape,
                |shape| shape > 1.0,
            );
            search_iterations += scanned.iterations;
            (mu, shape) = (scanned.mu, scanned.shape);
            shape_termination = scanned.shape_termination.unwrap_or(shape_termination);
        }
        if last_level && F::POLISH_AT_DATA_VALUES && shape < 1.0 {
            let densest = densest_values(sample);
            let screen =
                (sample.len() > SCREEN_SIZE).then(|| strided_subsample(sample, SCREEN_SIZE));
            let rounds = if screen.is_some() {
                1
            } else {
                MAX_LOCATION_ROUNDS
            };
            let per_side = if sample.len() <= WIDE_SCAN_MAX_VALUES {
                NEAREST_SCANNED
            } else {
                2
            };
            for _round in 0..rounds {
                let mut candidates = data_value_candidates(sample, mu, half_width, per_side);
                candidates.extend_from_slice(&densest);
                if let Some(screen) = &screen {
                    // Rank on a subsample, evaluate the best on all values.
                    let mut ranked: Vec<(f64, f64)> = candidates
                        .iter()
                        .map(|&c| (F::location_cost(screen, c, shape), c))
                        .collect();
                    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
                    candidates = ranked
                        .iter()
                        .take(SCREENED_CANDIDATES)
                        .map(|r| r.1)
                        .collect();
                }
                let current_cost = F::location_cost(sample, mu, shape);
                let best = candidates
                    .iter()
                    .map(|&c| (c, F::location_cost(sample, c, shape)))
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                match best {
                    Some((candidate, cost)) if cost < current_cost => {
                        let before = (mu, shape);
                        let at_loc;
                        (shape, shape_termination, at_loc) = solve_shape(candidate, shape);
                        if runs_into_the_spike(at_loc, shape) {
                            // Not a maximum but the unbounded direction:
                            // stay where the polish started.
                            (mu, shape) = before;
                            (shape, shape_termination, _) = solve_shape(mu, shape);
                            break;
                        }
                        mu = candidate;
                    }
                    _ => break,
                }
            }
        }
    }
    let termination = shape_termination.and(location_termination);
    let iterations = iterations + search_iterations;
    // (The shape was solved at least once, so the logs are there.)
    let logs = latest_logs.unwrap_or_else(|| LogAbs::new(sample, mu));
    ShapeFit::at::<F>(&logs, shape, mu, iterations, termination)
}

/// Where [`refine_location`] ended.
struct Refined {
    mu: f64,
    shape: f64,
    iterations: u64,
    /// The last shape solve's termination, if there was one.
    shape_termination: Option<TerminationReason>,
}

/// Rounds of a fine location search from `(μ, shape)`: Brent (tolerance
/// [`FINE_LOCATION_TOLERANCE`]) in the bracket `bracket(μ, shape)` gives, then
/// the shape solved at the new location (`solve(μ, start)`), while a move
/// gains more than [`NEGLIGIBLE_GAIN`] per value and `go_on(shape)` holds.
fn refine_location<F: ShapeFamily>(
    sample: &[f64],
    (mut mu, mut shape): (f64, f64),
    max_iter: u64,
    mut bracket: impl FnMut(f64, f64) -> Option<(f64, f64)>,
    solve: &mut impl FnMut(f64, f64) -> (f64, TerminationReason, usize),
    go_on: impl Fn(f64) -> bool,
) -> Refined {
    let mut refined = Refined {
        mu,
        shape,
        iterations: 0,
        shape_termination: None,
    };
    for _round in 0..MAX_LOCATION_ROUNDS {
        let Some(bounds) = bracket(mu, shape) else {
            break;
        };
        let current_cost = F::location_cost(sample, mu, shape);
        let (search, best_cost) =
            brent_location::<F>(sample, shape, bounds, FINE_LOCATION_TOLERANCE, max_iter);
        refined.iterations += search.iterations;
        let gain = current_cost - best_cost;
        if gain.is_nan() || gain <= NEGLIGIBLE_GAIN {
            break;
        }
        mu = search.value;
        let termination;
        (shape, termination, _) = solve(mu, shape);
        refined = Refined {
            mu,
            shape,
            shape_termination: Some(termination),
            ..refined
        };
        if !go_on(shape) {
            break;
        }
    }
    refined
}

/// Data values worth trying as the location near `μ`: the `per_side`
/// distinct values on each side of `μ` and the two most repeated values (if
/// repeated) within `half_width` of it.
fn data_value_candidates(y: &[f64], mu: f64, half_width: f64, per_side: usize) -> Vec<f64> {
    let window: Vec<f64> = if y.is_sorted_by(|a, b| a <= b) {
        let start = y.partition_point(|&v| v < mu - half_width);
        let end = y.partition_point(|&v| v <= mu + half_width);
        y[start..end].to_vec()
    } else {
        let mut window: Vec<f64> = y
            .iter()
            .copied()
            .filter(|v| (v - mu).abs() <= half_width)
            .collect();
        window.sort_unstable_by(f64::total_cmp);
        window
    };
    let mut runs: Vec<(f64, usize)> = Vec::new();
    for v in window {
        match runs.last_mut() {
            Some((last, count)) if *last == v => *count += 1,
            _ => runs.push((v, 1)),
        }
    }
    let split = runs.partition_point(|&(v, _)| v < mu);
    let nearest = &runs[split.saturating_sub(per_side)..(split + per_side).min(runs.len())];
    let mut candidates: Vec<f64> = nearest.iter().map(|&(v, _)| v).collect();
    runs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.total_cmp(&b.0)));
    candidates.extend(runs.iter().take(2).filter(|r| r.1 >= 2).map(|r| r.0));
    candidates.sort_unstable_by(f64::total_cmp);
    candidates.dedup();
    candidates
}

/// Up to `per_side` distinct values of `y` (sorted) below `μ` and up to
/// `per_side` above it, ascending (a value equal to `μ` counts as above).
fn nearest_distinct_values(y: &[f64], mu: f64, per_side: usize) -> Vec<f64> {
    let split = y.partition_point(|&v| v < mu);
    let mut below: Vec<f64> = Vec::with_capacity(per_side);
    for &v in y[..split].iter().rev() {
        if below.last() != Some(&v) {
            if below.len() == per_side {
                break;
            }
            below.push(v);
        }
    }
    below.reverse();
    for &v in &y[split..] {
        if below.last() != Some(&v) {
            if below.len() >= 2 * per_side {
                break;
            }
            below.push(v);
        }
    }
    below
}

/// The central values of the tightest runs of 9 and 33 consecutive sorted
/// values. With a shape below 1 the location cost is concave between data
/// values and its minimum sits where the data are densest, which for
/// gradients is the core of tiny values around 0 — often far (in units of
/// the spread) from the median when the values span many decades.
fn densest_values(y: &[f64]) -> Vec<f64> {
    let owned;
    let sorted: &[f64] = if y.is_sorted_by(|a, b| a <= b) {
        y
    } else {
        let mut copy = y.to_vec();
        copy.sort_unstable_by(f64::total_cmp);
        owned = copy;
        &owned
    };
    let mut values = Vec::new();
    for width in [8usize, 32] {
        if sorted.len() <= width {
            continue;
        }
        let start = (0..sorted.len() - width)
            .min_by(|&a, &b| {
                (sorted[a + width] - sorted[a]).total_cmp(&(sorted[b + width] - sorted[b]))
            })
            .unwrap_or(0);
        let middle = start + width / 2;
        values.extend_from_slice(&sorted[middle - 1..=middle + 1]);
    }
    values.dedup();
    values
}

/// Sums for the location cost at `μ` and shape `s`, in one pass that keeps
/// `|r|^s` from overflowing (per-chunk maximum, then log-sum-exp over the
/// chunks in order).
pub(super) struct LocationSums {
    /// `ln mean |y − μ|^s` over all values.
    pub ln_mean_power: f64,
    /// Mean of `ln|y − μ|` over the values different from `μ`.
    pub mean_log: f64,
    /// Number of values equal to `μ`.
    pub at_loc: usize,
}

impl LocationSums {
    pub fn new(y: &[f64], mu: f64, s: f64) -> LocationSums {
        // Per chunk: [max L, Σ e^{s(L − max)}, Σ L, #(y = μ)].
        let partials: Vec<[f64; 4]> = y
            .par_chunks(CHUNK)
            .map(|chunk| kernels::location_sums(chunk, mu, s))
            .collect();
        let max = partials
            .iter()
            .map(|p| p[0])
            .fold(f64::NEG_INFINITY, f64::max);
        let mut scaled = 0.0;
        let mut sum_log = 0.0;
        let mut at_loc = 0.0;
        for [chunk_max, chunk_scaled, chunk_sum_log, chunk_at_loc] in partials {
            if chunk_scaled > 0.0 {
                scaled += chunk_scaled * (s * (chunk_max - max)).exp();
            }
            sum_log += chunk_sum_log;
            at_loc += chunk_at_loc;
        }
        let n = y.len() as f64;
        LocationSums {
            ln_mean_power: s * max + (scaled / n).ln(),
            mean_log: sum_log / (n - at_loc),
            at_loc: at_loc as usize,
        }
    }
}
