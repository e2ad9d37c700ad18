//! M-weighted Lloyd-Max design on a density (the quantizer of M22): the
//! thresholds `t` and centers `c` of `L` cells that minimize
//!
//! ```text
//! d_M = Σ_i ∫_{t_{i−1}}^{t_i} |x|^M (x − c_i)² f(x) dx
//! ```
//!
//! satisfy `c_i = W1_i / W0_i` and `t_i = (c_i + c_{i+1})/2`, with the cell
//! moments `Wk_i = ∫_{cell i} |x|^M x^k f(x) dx`.
//!
//! **Moments.** When `loc = 0` they are the trait's closed forms,
//! `W0 = abs_moment(M)`, `W1 = signed_moment(M + 1)`, `W2 = abs_moment(M + 2)`;
//! when `M = 0` they are the raw moments. Otherwise (`loc ≠ 0`, `M > 0`) the
//! weight `|x|^M` is not a power of `x − loc` and the moments come from
//! adaptive Gauss–Kronrod quadrature (relative accuracy 1e-13, split at 0 and
//! at `loc`).
//!
//! **Acceleration.** Plain Lloyd iteration converges linearly with a rate
//! close to 1 (≈ L² steps). Here each step is a Newton step on the fixed-point
//! equations `F_j(t) = t_j − (c_j(t) + c_{j+1}(t))/2 = 0`; since `c_i` depends
//! only on its two bounds,
//!
//! ```text
//! ∂c_i/∂t_i     = g(t_i)(t_i − c_i) / W0_i          (upper bound)
//! ∂c_i/∂t_{i−1} = g(t_{i−1})(c_i − t_{i−1}) / W0_i   (lower bound),  g(x) = |x|^M f(x)
//! ```
//!
//! the Jacobian is tridiagonal and is solved by the Thomas algorithm in O(L).
//! A Newton step (halved up to [`NEWTON_HALVINGS`] times) is accepted only if
//! the thresholds stay ordered and the distortion does not increase; otherwise
//! a Lloyd step is taken, which never increases it. Newton's basin can be
//! small: on heavy-tailed sources (a double Weibull with `c ≈ 0.17`, 256
//! levels) it is rejected for thousands of steps. So after a rejection Newton
//! waits a doubling number of Lloyd steps (at most [`NEWTON_MAX_WAIT`]), and
//! the Lloyd step is over-relaxed — `b + ω (b_Lloyd − b)`, `ω` growing while
//! that beats the plain step and reset to 1 when it does not (the adaptive
//! over-relaxation of successive over-relaxation schemes; the plain step is
//! always the fallback, so the distortion still never increases).
//!
//! **Symmetry.** Every family is symmetric about `loc`; with `loc = 0` only the
//! positive half is designed and mirrored, so the codebook is exactly
//! symmetric and odd `L` has a center at exactly 0.

use super::quadrature::{self, Triple};
use super::solver::{centers_settled, midpoints};
use super::{
    entropy_bits, zero_cell_index, Codebook, Design, DesignSpec, LloydOptions, QuantError,
};
use crate::dist::ContinuousDist;
use crate::solver::TerminationReason;

/// How many times a rejected Newton step is halved before a Lloyd step.
pub const NEWTON_HALVINGS: usize = 4;

/// After a rejected Newton step, Newton waits 1, 2, 4, … Lloyd steps (at
/// most this many) before it is tried again: far from the optimum each
/// rejection costs `NEWTON_HALVINGS + 1` evaluations.
pub const NEWTON_MAX_WAIT: usize = 32;

/// Growth of the over-relaxation factor after a successful relaxed step.
const RELAXATION_GROWTH: f64 = 1.5;

/// Largest over-relaxation factor of a Lloyd step.
const RELAXATION_MAX: f64 = 64.0;

/// Relative accuracy of the quadrature moments.
const QUADRATURE_TOLERANCE: f64 = 1e-13;

/// Designs the M-weighted Lloyd-Max quantizer for `source`.
///
/// The codebook's `scale` is the source's scale: thresholds and centers are
/// stored in units of it.
pub fn design_for_density<D: ContinuousDist + ?Sized>(
    source: &D,
    spec: &DesignSpec,
    options: &LloydOptions,
) -> Result<Design, QuantError> {
    let mut machine = DensityLloyd::new(source, spec, options)?;
    loop {
        if let Some(reason) = machine.next_iter()? {
            return machine.finish(reason);
        }
    }
}

/// The cell moments `W0, W1, W2` of a source with weight `|x|^M`.
struct WeightedMoments<'a, D: ?Sized> {
    source: &'a D,
    m: f64,
    closed_form: bool,
}

impl<D: ContinuousDist + ?Sized> WeightedMoments<'_, D> {
    fn weighted(&self, a: f64, b: f64) -> Triple {
        let s = self.source;
        if self.closed_form && s.loc() == 0.0 {
            [
                s.abs_moment_between(self.m, a, b),
                s.signed_moment_between(self.m + 1.0, a, b),
                s.abs_moment_between(self.m + 2.0, a, b),
            ]
        } else if self.closed_form {
            self.plain(a, b)
        } else {
            let m = self.m;
            let integrand = |x: f64| {
                let w = x.abs().powf(m) * s.pdf(x);
                [w, w * x, w * x * x]
            };
            quadrature::integrate(
                &integrand,
                a,
                b,
                &[0.0, s.loc()],
                s.scale(),
                QUADRATURE_TOLERANCE,
            )
        }
    }

    /// `∫ x^k f` for k = 0, 1, 2 (mass, first and second raw moments).
    fn plain(&self, a: f64, b: f64) -> Triple {
        [0, 1, 2].map(|k| self.source.raw_moment_between(k, a, b))
    }

    /// `g(x) = |x|^M f(x)`.
    fn weighted_density(&self, x: f64) -> f64 {
        x.abs().powf(self.m) * self.source.pdf(x)
    }
}

/// The cells being designed: `bounds[0] = lower` (−∞, or 0 for the positive
/// half of a symmetric source), `bounds[n] = +∞`, unknowns `bounds[1..n]`.
/// A pinned cell has its center fixed at 0.
struct CellProblem {
    lower: f64,
    cells: usize,
    pinned: Option<usize>,
}

/// The iterate: bounds, the moments and centers they imply, the distortion.
#[derive(Debug, Clone)]
pub struct LloydState {
    bounds: Vec<f64>,
    moments: Vec<Triple>,
    centers: Vec<f64>,
    distortion: f64,
    /// A bound on the rounding error of `distortion`: each cell's
    /// `W2 − 2c·W1 + c²·W0` cancels (narrow cells have `W2 ≈ c²·W0`), so
    /// the sum is only known to `Σ 4ε (|W2| + 2|c·W1| + c²·W0)`.
    rounding: f64,
}

impl LloydState {
    /// The M-weighted distortion of the current cells with their optimal
    /// centers (of the designed half, for a mirrored design).
    pub fn distortion(&self) -> f64 {
        self.distortion
    }
    /// Current centers (of the designed half, for a mirrored design).
    pub fn centers(&self) -> &[f64] {
        &self.centers
    }
}

/// M-weighted Lloyd-Max on a density as a state machine: call
/// [`next_iter`](Self::next_iter) until it returns a [`TerminationReason`], then
/// [`finish`](Self::finish).
pub struct DensityLloyd<'a, D: ?Sized> {
    moments: WeightedMoments<'a, D>,
    spec: DesignSpec,
    options: LloydOptions,
    problem: CellProblem,
    mirrored: bool,
    state: LloydState,
    iterations: usize,
    newton_steps: usize,
    /// Lloyd steps left before Newton is tried again, and the current wait
    /// (doubled on each rejection up to [`NEWTON_MAX_WAIT`], 0 after an
    /// accepted step).
    newton_skip: usize,
    newton_wait: usize,
    /// Over-relaxation factor `ω ≥ 1` of the Lloyd step.
    relaxation: f64,
}

impl<'a, D: ContinuousDist + ?Sized> DensityLloyd<'a, D> {
    /// Sets up the cell problem (half or full line) and the quantile start.
    pub fn new(
        source: &'a D,
        spec: &DesignSpec,
        options: &LloydOptions,
    ) -> Result<Self, QuantError> {
        options.validate()?;
        let scale = source.scale();
        if !(scale.is_finite() && scale > 0.0) {
            return Err(QuantError::Scale {
                source_name: source_name(source),
                scale,
            });
        }
        let levels = spec.levels();
        let loc = source.loc();
        let moments = WeightedMoments {
            source,
            m: spec.m(),
            closed_form: loc == 0.0 || spec.m() == 0.0,
        };
        let mirrored = loc == 0.0 && !(spec.zero_level() && levels.is_multiple_of(2));
        let (problem, interior) = if mirrored {
            let half = levels / 2;
            let odd = levels % 2 == 1;
            let interior: Vec<f64> = (1..half + usize::from(odd))
                .map(|j| source.quantile((half + j) as f64 / levels as f64))
                .collect();
            let problem = CellProblem {
                lower: 0.0,
                cells: half + usize::from(odd),
                pinned: odd.then_some(0),
            };
            (problem, interior)
        } else if spec.zero_level() {
            let below = source.cdf(0.0);
            let k = zero_cell_index(levels, below);
            let above = levels - 1 - k;
            let mut interior: Vec<f64> = (0..k)
                .map(|j| source.quantile(below * (j as f64 + 1.0) / (k as f64 + 0.5)))
                .collect();
            interior.extend((0..above).map(|j| {
                source.quantile(below + (1.0 - below) * (j as f64 + 0.5) / (above as f64 + 0.5))
            }));
            let problem = CellProblem {
                lower: f64::NEG_INFINITY,
                cells: levels,
                pinned: Some(k),
            };
            (problem, interior)
        } else {
            let interior = (1..levels)
                .map(|j| source.quantile(j as f64 / levels as f64))
                .collect();
            let problem = CellProblem {
                lower: f64::NEG_INFINITY,
                cells: levels,
                pinned: None,
            };
            (problem, interior)
        };
        let mut bounds = Vec::with_capacity(problem.cells + 1);
        bounds.push(problem.lower);
        bounds.extend(interior);
        bounds.push(f64::INFINITY);
        let mut machine = Self {
            moments,
            spec: *spec,
            options: *options,
            problem,
            mirrored,
            state: LloydState {
                bounds: Vec::new(),
                moments: Vec::new(),
                centers: Vec::new(),
                distortion: f64::INFINITY,
                rounding: 0.0,
            },
            iterations: 0,
            newton_steps: 0,
            newton_skip: 0,
            newton_wait: 0,
            relaxation: 1.0,
        };
        if !machine.admissible(&bounds) {
            return Err(machine.empty_cell_error(&bounds, 0, [0.0; 3]));
        }
        machine.state = machine.evaluate(bounds)?;
        // The high-resolution start is far closer to the optimum when L is
        // large or the weight moves mass outward; keep whichever is better.
        if machine.problem.pinned.is_none() || machine.mirrored {
            let companded = compander_bounds(
                &machine.moments,
                machine.problem.lower,
                levels_of(&machine.problem),
            );
            if let Some(bounds) = companded.filter(|b| machine.admissible(b)) {
                if let Ok(state) = machine.evaluate(bounds) {
                    if state.distortion < machine.state.distortion {
                        machine.state = state;
                    }
                }
            }
        }
        Ok(machine)
    }

    /// The current iterate.
    pub fn state(&self) -> &LloydState {
        &self.state
    }

    /// One step (Newton if enabled and accepted, else plain Lloyd). Returns
    /// the reason to stop, if any.
    pub fn next_iter(&mut self) -> Result<Option<TerminationReason>, QuantError> {
        if self.problem.cells < 2 {
            return Ok(Some(TerminationReason::SolverConverged));
        }
        if self.iterations >= self.options.max_iterations {
            return Ok(Some(TerminationReason::MaxItersReached));
        }
        let newton = if self.newton_skip > 0 {
            self.newton_skip -= 1;
            None
        } else {
            let candidate = self.newton_candidate()?;
            self.newton_wait = if candidate.is_some() {
                0
            } else {
                (2 * self.newton_wait).clamp(1, NEWTON_MAX_WAIT)
            };
            self.newton_skip = self.newton_wait;
            candidate
        };
        let next = match newton {
            Some(accepted) => {
                self.newton_steps += 1;
                accepted
            }
            None => self.relaxed_lloyd_step()?,
        };
        self.iterations += 1;
        let settled = centers_settled(&self.state.centers, &next.centers, self.options.tolerance);
        self.state = next;
        Ok(settled.then_some(TerminationReason::SolverConverged))
    }

    /// Builds the codebook (mirroring a half design) and measures it.
    pub fn finish(self, stop_reason: TerminationReason) -> Result<Design, QuantError> {
        let (thresholds, centers) = self.full_codebook();
        let mut bounds = Vec::with_capacity(centers.len() + 1);
        bounds.push(f64::NEG_INFINITY);
        bounds.extend(&thresholds);
        bounds.push(f64::INFINITY);
        let mut distortion = 0.0;
        let mut mse = 0.0;
        let mut probabilities = Vec::with_capacity(centers.len());
        for (cell, &c) in centers.iter().enumerate() {
            let (a, b) = (bounds[cell], bounds[cell + 1]);
            let w = self.moments.weighted(a, b);
            let p = self.moments.plain(a, b);
            distortion += (w[2] - 2.0 * c * w[1] + c * c * w[0]).max(0.0);
            mse += (p[2] - 2.0 * c * p[1] + c * c * p[0]).max(0.0);
            probabilities.push(p[0]);
        }
        let scale = self.moments.source.scale();
        let codebook = Codebook::new(
            thresholds.iter().map(|t| t / scale).collect(),
            centers.iter().map(|c| c / scale).collect(),
            scale,
            self.spec.m(),
            self.spec.zero_level(),
        )?;
        Ok(Design {
            codebook,
            stop_reason,
            iterations: self.iterations,
            newton_steps: self.newton_steps,
            distortion,
            mse,
            entropy_bits: entropy_bits(&probabilities),
            probabilities,
        })
    }

    /// Thresholds and centers over the whole line, in the source's units.
    fn full_codebook(&self) -> (Vec<f64>, Vec<f64>) {
        let centers = &self.state.centers;
        if !self.mirrored {
            return (midpoints(centers), centers.clone());
        }
        let positive_thresholds = midpoints(centers);
        let odd = self.problem.pinned.is_some();
        let mut thresholds: Vec<f64> = positive_thresholds.iter().rev().map(|t| -t).collect();
        if !odd {
            thresholds.push(0.0);
        }
        thresholds.extend(&positive_thresholds);
        let skip = usize::from(odd);
        let mut full: Vec<f64> = centers[skip..].iter().rev().map(|c| -c).collect();
        full.extend(&centers[..]);
        (thresholds, full)
    }

    /// Moments, centers and distortion of the cells between `bounds`.
    fn evaluate(&self, bounds: Vec<f64>) -> Result<LloydState, QuantError> {
        let mut moments = Vec::with_capacity(self.problem.cells);
        let mut centers = Vec::with_capacity(self.problem.cells);
        let mut distortion = 0.0;
        let mut rounding = 0.0;
        for cell in 0..self.problem.cells {
            let w = self.moments.weighted(bounds[cell], bounds[cell + 1]);
            let center = if self.problem.pinned == Some(cell) {
                0.0
            } else if w[0] > 0.0 && w.iter().all(|v| v.is_finite()) {
                w[1] / w[0]
            } else {
                return Err(self.empty_cell_error(&bounds, cell, w));
            };
            distortion += w[2] - 2.0 * center * w[1] + center * center * w[0];
            rounding += 4.0
                * f64::EPSILON
                * (w[2].abs() + 2.0 * (center * w[1]).abs() + center * center * w[0].abs());
            moments.push(w);
            centers.push(center);
        }
        Ok(LloydState {
            bounds,
            moments,
            centers,
            distortion,
            rounding,
        })
    }

    fn empty_cell_error(&self, bounds: &[f64], cell: usize, moments: Triple) -> QuantError {
        QuantError::EmptyCell {
            source_name: source_name(self.moments.source),
            cell,
            lower: bounds.get(cell).copied().unwrap_or(f64::NAN),
            upper: bounds.get(cell + 1).copied().unwrap_or(f64::NAN),
            moments,
        }
    }

    /// A Lloyd step, over-relaxed when accelerating: with `b` the bounds and
    /// `b_L` the plain step's, the trial `b + ω (b_L − b)` replaces `b_L`
    /// when it is admissible and its distortion is lower; `ω` grows by
    /// [`RELAXATION_GROWTH`] after a success (up to [`RELAXATION_MAX`]) and
    /// falls back to 1 after a failure. Never worse than the plain step.
    fn relaxed_lloyd_step(&mut self) -> Result<LloydState, QuantError> {
        let plain_bounds = self.lloyd_bounds();
        let plain = self.evaluate(plain_bounds.clone())?;
        if !self.options.accelerate {
            return Ok(plain);
        }
        let omega = self.relaxation * RELAXATION_GROWTH;
        let current = &self.state.bounds;
        let mut trial = plain_bounds;
        for j in 1..self.problem.cells {
            trial[j] = current[j] + omega * (trial[j] - current[j]);
        }
        let relaxed = if self.admissible(&trial) {
            self.evaluate(trial)
                .ok()
                .filter(|c| c.distortion < plain.distortion)
        } else {
            None
        };
        Ok(match relaxed {
            Some(relaxed) => {
                self.relaxation = omega.min(RELAXATION_MAX);
                relaxed
            }
            None => {
                self.relaxation = 1.0;
                plain
            }
        })
    }

    /// Plain Lloyd: interior bounds at the midpoints of the current centers.
    fn lloyd_bounds(&self) -> Vec<f64> {
        let mut bounds = Vec::with_capacity(self.problem.cells + 1);
        bounds.push(self.problem.lower);
        bounds.extend(midpoints(&self.state.centers));
        bounds.push(f64::INFINITY);
        bounds
    }

    /// Strictly increasing bounds, and a pinned cell that contains 0.
    fn admissible(&self, bounds: &[f64]) -> bool {
        let ordered = bounds.windows(2).all(|w| w[0] < w[1]);
        let finite = bounds[1..self.problem.cells].iter().all(|b| b.is_finite());
        let pinned_ok = self
            .problem
            .pinned
            .is_none_or(|k| bounds[k] <= 0.0 && bounds[k + 1] > 0.0);
        ordered && finite && pinned_ok
    }

    /// A Newton step (with halving) that keeps the bounds admissible and
    /// does not increase the distortion, if there is one.
    fn newton_candidate(&self) -> Result<Option<LloydState>, QuantError> {
        if !self.options.accelerate {
            return Ok(None);
        }
        let Some(step) = self.newton_direction() else {
            return Ok(None);
        };
        let bounds = &self.state.bounds;
        // Accept a step that does not increase the distortion beyond what
        // rounding can hide: with hundreds of narrow cells the cancellation
        // in each cell's distortion exceeds the true change near the optimum.
        let slack = 1e-14 * self.state.distortion.abs() + self.state.rounding;
        let mut fraction = 1.0;
        for _ in 0..=NEWTON_HALVINGS {
            let mut trial = bounds.clone();
            for (j, delta) in step.iter().enumerate() {
                trial[j + 1] += fraction * delta;
            }
            if self.admissible(&trial) {
                if let Ok(candidate) = self.evaluate(trial) {
                    if candidate.distortion <= self.state.distortion + slack + candidate.rounding {
                        return Ok(Some(candidate));
                    }
                }
            }
            fraction *= 0.5;
        }
        Ok(None)
    }

    /// Solves `J Δ = −F` for the interior bounds (tridiagonal).
    fn newton_direction(&self) -> Option<Vec<f64>> {
        let LloydState {
            bounds,
            moments,
            centers,
            ..
        } = &self.state;
        let n = self.problem.cells;
        // d_lower[i] = ∂c_i/∂bounds[i], d_upper[i] = ∂c_i/∂bounds[i+1]
        let mut d_lower = vec![0.0; n];
        let mut d_upper = vec![0.0; n];
        let density: Vec<f64> = bounds
            .iter()
            .enumerate()
            .map(|(j, &b)| {
                if j == 0 || j == n {
                    0.0
                } else {
                    self.moments.weighted_density(b)
                }
            })
            .collect();
        for i in 0..n {
            if self.problem.pinned == Some(i) {
                continue;
            }
            let w0 = moments[i][0];
            d_lower[i] = density[i] * (centers[i] - bounds[i]) / w0;
            d_upper[i] = density[i + 1] * (bounds[i + 1] - centers[i]) / w0;
        }
        let unknowns = n - 1;
        let mut sub = vec![0.0; unknowns];
        let mut diag = vec![0.0; unknowns];
        let mut sup = vec![0.0; unknowns];
        let mut rhs = vec![0.0; unknowns];
        for row in 0..unknowns {
            let j = row + 1;
            rhs[row] = -(bounds[j] - 0.5 * (centers[j - 1] + centers[j]));
            diag[row] = 1.0 - 0.5 * (d_upper[j - 1] + d_lower[j]);
            sub[row] = -0.5 * d_lower[j - 1];
            sup[row] = -0.5 * d_upper[j];
        }
        solve_tridiagonal(&sub, &diag, &sup, &rhs)
    }
}

fn levels_of(problem: &CellProblem) -> usize {
    problem.cells
}

/// Grid points per decade of the compander's integration grid.
const COMPANDER_POINTS_PER_DECADE: usize = 200;

/// The high-resolution (Bennett/Panter–Dite) start: the optimal point
/// density of the weighted distortion is `λ(x) ∝ (|x|^M f(x))^{1/3}`, so the
/// bounds are `G⁻¹(j/cells)` with `G` the normalized integral of
/// `(|x|^M f(x))^{1/3}` from `lower`. The integral is a trapezoid rule on a
/// grid logarithmic in `|x − loc|` (and in `|x|` around 0), over the range
/// where the integrand is not negligible. `None` if it degenerates.
fn compander_bounds<D: ContinuousDist + ?Sized>(
    moments: &WeightedMoments<'_, D>,
    lower: f64,
    cells: usize,
) -> Option<Vec<f64>> {
    let source = moments.source;
    let (loc, scale) = (source.loc(), source.scale());
    let point_density = |x: f64| moments.weighted_density(x).max(0.0).cbrt();
    // reach: double until the integrand's tail is negligible
    let peak = (0..=40)
        .map(|k| point_density(loc + scale * 2f64.powi(k - 20)))
        .fold(0.0f64, f64::max);
    if !(peak > 0.0 && peak.is_finite()) {
        return None;
    }
    let mut reach = scale;
    while reach < scale * 1e12
        && (point_density(loc + reach) + point_density(loc - reach)) * reach > 1e-15 * peak * scale
    {
        reach *= 2.0;
    }
    let decades = (reach / scale).log10() + 8.0;
    let count = (decades * COMPANDER_POINTS_PER_DECADE as f64) as usize;
    let mut grid: Vec<f64> = Vec::with_capacity(4 * count + 4);
    for k in 0..=count {
        let offset = reach * 10f64.powf(-(k as f64) / COMPANDER_POINTS_PER_DECADE as f64);
        for centre in [loc, 0.0] {
            grid.push(centre + offset);
            grid.push(centre - offset);
        }
    }
    grid.push(loc);
    grid.push(0.0);
    grid.retain(|&x| x >= lower && x.is_finite() && (x - loc).abs() <= reach);
    if lower.is_finite() {
        grid.push(lower);
    }
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let values: Vec<f64> = grid.iter().map(|&x| point_density(x)).collect();
    let mut cumulative = Vec::with_capacity(grid.len());
    let mut total = 0.0;
    cumulative.push(0.0);
    for i in 1..grid.len() {
        total += 0.5 * (values[i] + values[i - 1]) * (grid[i] - grid[i - 1]);
        cumulative.push(total);
    }
    if !(total > 0.0 && total.is_finite()) {
        return None;
    }
    let mut bounds = Vec::with_capacity(cells + 1);
    bounds.push(lower);
    let mut segment = 1;
    for j in 1..cells {
        let target = total * j as f64 / cells as f64;
        while segment + 1 < grid.len() && cumulative[segment] < target {
            segment += 1;
        }
        let (g0, g1) = (cumulative[segment - 1], cumulative[segment]);
        let t = if g1 > g0 {
            (target - g0) / (g1 - g0)
        } else {
            0.5
        };
        bounds.push(grid[segment - 1] + t * (grid[segment] - grid[segment - 1]));
    }
    bounds.push(f64::INFINITY);
    Some(bounds)
}

fn source_name<D: ContinuousDist + ?Sized>(source: &D) -> String {
    let params: Vec<String> = source
        .params()
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    format!("{}({})", source.kind(), params.join(", "))
}

/// Thomas algorithm for `sub[i] x[i−1] + diag[i] x[i] + sup[i] x[i+1] = rhs[i]`
/// (`sub[0]` and `sup[n−1]` are ignored). `None` on a zero or non-finite pivot.
fn solve_tridiagonal(sub: &[f64], diag: &[f64], sup: &[f64], rhs: &[f64]) -> Option<Vec<f64>> {
    let n = diag.len();
    let mut upper = vec![0.0; n];
    let mut solution = vec![0.0; n];
    let mut previous_upper = 0.0;
    let mut previous_solution = 0.0;
    for i in 0..n {
        let lower = if i == 0 { 0.0 } else { sub[i] };
        let pivot = diag[i] - lower * previous_upper;
        if pivot == 0.0 || !pivot.is_finite() {
            return None;
        }
        upper[i] = if i + 1 < n { sup[i] / pivot } else { 0.0 };
        solution[i] = (rhs[i] - lower * previous_solution) / pivot;
        previous_upper = upper[i];
        previous_solution = solution[i];
    }
    for i in (0..n.saturating_sub(1)).rev() {
        solution[i] -= upper[i] * solution[i + 1];
    }
    solution.iter().all(|v| v.is_finite()).then_some(solution)
}

#[cfg(test)]
mod tests;
