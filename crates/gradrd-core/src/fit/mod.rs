//! Maximum-likelihood fits of the four families to gradient values, with
//! scipy's parameters (`gennorm(beta, loc, scale)`, `dweibull(c, loc,
//! scale)`, `laplace(loc, scale)`, `norm(loc, scale)`).
//!
//! # Method
//!
//! * **Standardize.** The data are mapped to `y = (x − center)/spread`
//!   (center: the median, or the fixed location; spread: the median absolute
//!   deviation, or the mean absolute deviation when that is 0). All
//!   iterations run on `y`; `loc` and `scale` are mapped back and the
//!   log-likelihood is `ln L_y − n ln(spread)`. The shape is therefore
//!   invariant to the data's scale (gradients span 1e-8 … 1e-2). The
//!   standardized values are sorted, so a fit does not depend on the order
//!   of the values either.
//! * **Laplace, normal**: closed forms ([`laplace`], [`normal`]).
//! * **gennorm, dweibull**: for fixed shape and location the scale is closed
//!   form, so the likelihood is profiled down to the shape, which is solved
//!   by a bracketed Newton iteration with analytic derivatives; a free
//!   location is found by argmin's Brent search, alternating with the shape,
//!   on a pyramid of subsamples (see [`profile::fit_shape_family`]). Every
//!   O(n) pass is a deterministic chunked parallel sum ([`sums`]).
//! * **Standard errors** from the observed information, with the expected
//!   information for location entries where the density has a cusp
//!   ([`information`]).
//! * **Unbounded likelihood**: dweibull with `c < 1` and a free location,
//!   and gennorm with values at (or packed at) its location as `β → 0`. See
//!   [`dweibull`] and [`gennorm`] for the rules; what was applied is
//!   reported in [`Fit::note`].
//!
//! * **Tied values.** bfloat16 and float16 tensors are heavily tied (a
//!   262 144-entry bfloat16 tensor has about 5 000 distinct values). `loglik`
//!   is always the continuous-density log-likelihood, as scipy's, so that fits
//!   compare; [`loglik_censored`] is the log-likelihood of the same
//!   parameters with each value taken as the interval it was rounded from
//!   ([`censored`]), which `gradrd fit` reports as `loglik_censored` for
//!   bfloat16 and float16 tensors.
//!
//! The caller decides what to do with exact zeros (`--zeros auto` removes
//! them before calling [`fit`]); `fit` fits exactly the values it is given.

mod censored;
mod dweibull;
mod gennorm;
mod information;
mod kernels;
mod laplace;
mod normal;
mod profile;
mod sums;

pub use censored::{loglik_censored, loglik_censored_counted, Rounding};

use crate::dist::{ContinuousDist, FamilyKind, Model, ParamError};
use crate::solver::TerminationReason;
use information::{location_standard_error, scalar_standard_error, standard_errors};
use profile::{
    fit_regular, fit_shape_family, on_lower_shape_bound, runs_into_the_spike, LocationY,
    ShapeFamily, ShapeFit, GRID_START_MAX_VALUES, SHAPE_BOUNDS,
};

/// How the location parameter is treated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LocMode {
    /// Estimated by maximum likelihood (`--loc free`, the default).
    Free,
    /// Held at the given value (`--loc zero` is `Fixed(0.0)`).
    Fixed(f64),
}

/// Options of [`fit`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    pub loc: LocMode,
    /// Iteration limit of each inner solver (shape Newton, location Brent).
    pub max_iter: u64,
    /// Relative convergence tolerance of the shape parameter.
    pub tol: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            loc: LocMode::Free,
            max_iter: 200,
            tol: 1e-10,
        }
    }
}

/// A maximum-likelihood fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The fitted distribution (scipy parameters).
    pub model: Model,
    /// Log-likelihood of `model` over the data (always finite).
    pub loglik: f64,
    /// Number of values fitted.
    pub n: usize,
    /// Standard error per parameter, scipy names and order; `None` when the
    /// parameter was fixed or its information is infinite or undefined.
    pub std_errors: Vec<(&'static str, Option<f64>)>,
    /// `"observed"` or `"observed+expected(loc)"` (see [`information`]).
    pub se_method: &'static str,
    /// Why the fit's solves stopped: the first that did not converge, else
    /// converged (closed forms: [`TerminationReason::SolverConverged`]).
    pub termination: TerminationReason,
    /// Total solver iterations (0 for the closed forms).
    pub iterations: u64,
    /// A remark on the fit: a shape on its search bound, or the
    /// unbounded-likelihood rule applied.
    pub note: Option<String>,
}

/// Why a fit could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    #[error("{family} fit needs at least {needed} values, got {n}")]
    TooFewValues {
        family: &'static str,
        n: usize,
        needed: usize,
    },
    #[error("{count} of {n} values are not finite (first at index {first_index}); remove them before fitting")]
    NonFinite {
        count: usize,
        n: usize,
        first_index: usize,
    },
    #[error(
        "all {n} values equal {value}; a continuous distribution cannot be fitted to constant data"
    )]
    ConstantData { n: usize, value: f64 },
    #[error("fit option {name} must be {requirement}, got {value}")]
    InvalidOption {
        name: &'static str,
        value: f64,
        requirement: &'static str,
    },
    #[error("{family} likelihood is unbounded: {count} of {n} values equal the fixed loc {loc} (ln|x − loc| = −∞); remove them (--zeros auto) or free the location")]
    ValuesAtFixedLoc {
        family: &'static str,
        count: usize,
        n: usize,
        loc: f64,
    },
    #[error("{family} fit degenerated: {reason}")]
    Degenerate {
        family: &'static str,
        reason: String,
    },
}

/// Fits family `kind` to `data` by maximum likelihood.
///
/// Errors (never panics) on non-finite values, too few values (2 for laplace
/// and normal, 3 for gennorm and dweibull with a free location, 2 with a
/// fixed one), constant data, invalid options, and dweibull values equal to
/// a fixed location.
pub fn fit(kind: FamilyKind, data: &[f64], opts: &FitOptions) -> Result<Fit, FitError> {
    validate_options(opts)?;
    validate_data(kind, data, opts.loc)?;
    fit_standardized_data(kind, &Standardized::new(data, opts.loc), opts)
}

/// Whether `model`'s shape (gennorm's β, dweibull's c) sits on the lower end
/// of the fit's search bound: there the fit found no maximum (its
/// [`Fit::note`] says so) and the model is a spike, not the data's shape.
pub fn shape_on_lower_bound(model: &Model) -> bool {
    model
        .params()
        .iter()
        .any(|(name, value)| matches!(*name, "beta" | "c") && on_lower_shape_bound(*value))
}

/// A sample standardized once, in place, so that several families can be
/// fitted to it ([`fit_standardized`]) with no copy of the data per fit: a
/// fit then holds the standardized values and one transient array of `ln|y − μ|`.
pub struct StandardizedSample {
    data: Standardized,
    loc: LocMode,
}

impl StandardizedSample {
    /// Standardizes `data` in place, `y = (x − center)/spread`, exactly as
    /// [`fit`] does on its copy (center: the median, or the fixed `loc`;
    /// spread: the median absolute deviation). Errors as [`fit`] does on
    /// data that no family can be fitted to.
    pub fn new(data: Vec<f64>, loc: LocMode) -> Result<StandardizedSample, FitError> {
        validate_options(&FitOptions {
            loc,
            ..FitOptions::default()
        })?;
        // The fewest values any family needs; each fit checks its own count.
        if data.len() < 2 {
            return Err(FitError::TooFewValues {
                family: "any",
                n: data.len(),
                needed: 2,
            });
        }
        validate_values(&data)?;
        Ok(StandardizedSample {
            data: Standardized::from_vec(data, loc),
            loc,
        })
    }

    /// The standardized values, sorted ascending.
    pub fn values(&self) -> &[f64] {
        &self.data.y
    }

    /// The unit of the standardized values in the data's units.
    pub fn spread(&self) -> f64 {
        self.data.spread
    }

    /// `model` (data units) in standardized coordinates: the law of
    /// `(X − center)/spread`.
    pub fn standardize(&self, model: &Model) -> Result<Model, ParamError> {
        let params: Vec<(&str, f64)> = model
            .params()
            .into_iter()
            .map(|(name, value)| match name {
                "loc" => (name, (value - self.data.center) / self.data.spread),
                "scale" => (name, value / self.data.spread),
                _ => (name, value),
            })
            .collect();
        Model::from_params(model.kind(), &params)
    }
}

/// [`fit`] on a [`StandardizedSample`] (its location mode replaces
/// `opts.loc`); the same result as `fit` on the original data.
pub fn fit_standardized(
    kind: FamilyKind,
    sample: &StandardizedSample,
    opts: &FitOptions,
) -> Result<Fit, FitError> {
    let opts = FitOptions {
        loc: sample.loc,
        ..*opts
    };
    validate_options(&opts)?;
    let loc_y = match sample.loc {
        LocMode::Free => LocMode::Free,
        LocMode::Fixed(_) => LocMode::Fixed(0.0),
    };
    // The values were checked when the sample was made.
    validate_count(kind, sample.values().len(), loc_y)?;
    validate_fixed_loc(kind, sample.values(), loc_y)?;
    fit_standardized_data(kind, &sample.data, &opts)
}

fn fit_standardized_data(
    kind: FamilyKind,
    standardized: &Standardized,
    opts: &FitOptions,
) -> Result<Fit, FitError> {
    let fitted = match kind {
        FamilyKind::Laplace => fit_laplace(standardized, opts),
        FamilyKind::Normal => fit_normal(standardized, opts),
        FamilyKind::GenNorm => fit_gennorm(standardized, opts),
        FamilyKind::DWeibull => fit_dweibull(standardized, opts)?,
    };
    fitted.into_fit(kind, standardized)
}

fn validate_options(opts: &FitOptions) -> Result<(), FitError> {
    if !(opts.tol.is_finite() && opts.tol > 0.0) {
        return Err(FitError::InvalidOption {
            name: "tol",
            value: opts.tol,
            requirement: "finite and > 0",
        });
    }
    if opts.max_iter == 0 {
        return Err(FitError::InvalidOption {
            name: "max_iter",
            value: 0.0,
            requirement: "≥ 1",
        });
    }
    if let LocMode::Fixed(loc) = opts.loc {
        if !loc.is_finite() {
            return Err(FitError::InvalidOption {
                name: "loc",
                value: loc,
                requirement: "finite",
            });
        }
    }
    Ok(())
}

/// The checks of `data` for fitting `kind` with location mode `loc`.
fn validate_data(kind: FamilyKind, data: &[f64], loc: LocMode) -> Result<(), FitError> {
    validate_count(kind, data.len(), loc)?;
    validate_values(data)?;
    validate_fixed_loc(kind, data, loc)
}

/// Enough values for `kind` with location mode `loc`.
fn validate_count(kind: FamilyKind, n: usize, loc: LocMode) -> Result<(), FitError> {
    let needed = match (kind, loc) {
        (FamilyKind::GenNorm | FamilyKind::DWeibull, LocMode::Free) => 3,
        _ => 2,
    };
    if n < needed {
        return Err(FitError::TooFewValues {
            family: kind.name(),
            n,
            needed,
        });
    }
    Ok(())
}

/// Finite and not constant (`data` is not empty).
fn validate_values(data: &[f64]) -> Result<(), FitError> {
    let n = data.len();
    let count = data.iter().filter(|v| !v.is_finite()).count();
    if let Some(first_index) = data.iter().position(|v| !v.is_finite()) {
        return Err(FitError::NonFinite {
            count,
            n,
            first_index,
        });
    }
    let first = data[0];
    if data.iter().all(|&v| v == first) {
        return Err(FitError::ConstantData { n, value: first });
    }
    Ok(())
}

/// No dweibull value at a fixed location (its likelihood is unbounded there).
fn validate_fixed_loc(kind: FamilyKind, data: &[f64], loc: LocMode) -> Result<(), FitError> {
    if let (FamilyKind::DWeibull, LocMode::Fixed(loc)) = (kind, loc) {
        let count = data.iter().filter(|&&v| v == loc).count();
        if count > 0 {
            return Err(FitError::ValuesAtFixedLoc {
                family: kind.name(),
                count,
                n: data.len(),
                loc,
            });
        }
    }
    Ok(())
}

/// The data in standardized coordinates `y = (x − center)/spread`.
struct Standardized {
    y: Vec<f64>,
    center: f64,
    spread: f64,
    location: LocationY,
}

impl Standardized {
    /// A standardized copy of `data` (non-empty, finite, not constant).
    fn new(data: &[f64], loc: LocMode) -> Standardized {
        Standardized::from_vec(data.to_vec(), loc)
    }

    /// [`Standardized::new`] in place: the values are sorted, the center
    /// and spread are read off the sorted values, and the map to
    /// standardized units, being increasing, keeps them sorted.
    fn from_vec(mut data: Vec<f64>, loc: LocMode) -> Standardized {
        sort(&mut data);
        let (center, spread, location) = center_and_spread(&data, loc);
        for x in &mut data {
            *x = (*x - center) / spread;
        }
        Standardized {
            y: data,
            center,
            spread,
            location,
        }
    }

    fn n(&self) -> usize {
        self.y.len()
    }

    fn is_free(&self) -> bool {
        matches!(self.location, LocationY::Free)
    }
}

/// Sorts values ascending (in parallel; only a check when they already
/// are, as `gradrd fit` passes them). The fits work on sorted values, so
/// that a fit depends only on the values and not on their order, so that
/// the median and spread are read off directly, and so that the strided
/// subsamples of the warm-start pyramid are spread evenly over the
/// quantiles, which brings each level's estimate closer to the next.
fn sort(y: &mut Vec<f64>) {
    if !y.is_sorted_by(|a, b| a.total_cmp(b).is_le()) {
        crate::stats::sort_finite(y);
    }
}

/// The center (median, or the fixed `loc`) and spread (median absolute
/// deviation; the mean absolute deviation if that is 0) of `sorted`.
fn center_and_spread(sorted: &[f64], loc: LocMode) -> (f64, f64, LocationY) {
    let (center, location) = match loc {
        LocMode::Free => (sums::median_of_sorted(sorted), LocationY::Free),
        LocMode::Fixed(loc) => (loc, LocationY::Fixed(0.0)),
    };
    let mad = sums::median_abs_deviation_of_sorted(sorted, center);
    let spread = if mad > 0.0 {
        mad
    } else {
        sums::sum_by(sorted, |x| (x - center).abs()) / sorted.len() as f64
    };
    (center, spread, location)
}

/// A fit in standardized coordinates: `(shape?, μ_y, scale_y)`, standard
/// errors in the same order as the family's parameters (standardized).
struct StandardizedFit {
    shape: Option<f64>,
    mu: f64,
    scale: f64,
    loglik: f64,
    std_errors: Vec<Option<f64>>,
    se_method: &'static str,
    termination: TerminationReason,
    iterations: u64,
    note: Option<String>,
}

impl StandardizedFit {
    fn into_fit(self, kind: FamilyKind, data: &Standardized) -> Result<Fit, FitError> {
        let degenerate = |reason: String| FitError::Degenerate {
            family: kind.name(),
            reason,
        };
        let n = data.n();
        let loc = data.center + data.spread * self.mu;
        let scale = data.spread * self.scale;
        let loglik = self.loglik - n as f64 * data.spread.ln();
        if !loglik.is_finite() {
            return Err(degenerate(format!("log-likelihood is {loglik}")));
        }
        let names = kind.param_names();
        let mut params: Vec<(&str, f64)> = Vec::with_capacity(3);
        if let Some(shape) = self.shape {
            params.push((names[0], shape));
        }
        params.push(("loc", loc));
        params.push(("scale", scale));
        let model =
            Model::from_params(kind, &params).map_err(|e: ParamError| degenerate(e.to_string()))?;
        let std_errors = names
            .iter()
            .zip(self.std_errors)
            .map(|(&name, se)| {
                let unit = if name == "loc" || name == "scale" {
                    data.spread
                } else {
                    1.0
                };
                (name, se.map(|s| s * unit))
            })
            .collect();
        Ok(Fit {
            model,
            loglik,
            n,
            std_errors,
            se_method: self.se_method,
            termination: self.termination,
            iterations: self.iterations,
            note: self.note,
        })
    }
}

fn fixed_mu(data: &Standardized) -> Option<f64> {
    match data.location {
        LocationY::Free => None,
        LocationY::Fixed(mu) => Some(mu),
    }
}

fn fit_laplace(data: &Standardized, _opts: &FitOptions) -> StandardizedFit {
    let y = &data.y;
    let mu = fixed_mu(data).unwrap_or_else(|| sums::median_of_sorted(y));
    let b = laplace::scale(y, mu);
    let n = y.len() as f64;
    let scale_se = scalar_standard_error(Some(laplace::observed_scale_information(y, mu, b)));
    let (loc_se, se_method) = if data.is_free() {
        (
            scalar_standard_error(Some(n / (b * b))),
            "observed+expected(loc)",
        )
    } else {
        (None, "observed")
    };
    StandardizedFit {
        shape: None,
        mu,
        scale: b,
        loglik: laplace::loglik(y, mu, b),
        std_errors: vec![loc_se, scale_se],
        se_method,
        termination: TerminationReason::SolverConverged,
        iterations: 0,
        note: None,
    }
}

fn fit_normal(data: &Standardized, _opts: &FitOptions) -> StandardizedFit {
    let y = &data.y;
    let mu = fixed_mu(data).unwrap_or_else(|| normal::mean(y));
    let sigma = normal::scale(y, mu);
    let info = normal::observed_information(y, mu, sigma);
    let std_errors = if data.is_free() {
        standard_errors(&[&info[0], &info[1]])
    } else {
        vec![None, scalar_standard_error(Some(info[1][1]))]
    };
    StandardizedFit {
        shape: None,
        mu,
        scale: sigma,
        loglik: normal::loglik(y, mu, sigma),
        std_errors,
        se_method: "observed",
        termination: TerminationReason::SolverConverged,
        iterations: 0,
        note: None,
    }
}

/// A note when the shape ended on its search bound.
fn bound_note(shape_name: &str, shape: f64) -> Option<String> {
    let (lo, hi) = SHAPE_BOUNDS;
    let bound = if on_lower_shape_bound(shape) {
        lo
    } else if shape >= hi * (1.0 - 1e-6) {
        hi
    } else {
        return None;
    };
    Some(format!(
        "{shape_name} reached the search bound {bound}; the likelihood keeps increasing beyond it"
    ))
}

fn fit_gennorm(data: &Standardized, opts: &FitOptions) -> StandardizedFit {
    let y = &data.y;
    let solved =
        fit_shape_family::<gennorm::GenNormProfile>(y, data.location, opts.tol, opts.max_iter);
    let spike = runs_into_the_spike(solved.at_loc, solved.shape);
    let free_on_lower_bound = data.is_free() && on_lower_shape_bound(solved.shape);
    let (solved, note) = if spike || free_on_lower_bound {
        let (fit, note) = gennorm_off_the_spike(data, solved, opts);
        (fit, Some(note))
    } else {
        let note = bound_note("beta", solved.shape);
        (solved, note)
    };
    let (beta, mu, alpha) = (solved.shape, solved.mu, solved.scale);
    let (loglik, info) = gennorm::loglik_and_information(y, beta, mu, alpha);
    let n = y.len() as f64;
    let (std_errors, se_method) = if !data.is_free() {
        let se = standard_errors(&[&[info[0][0], info[0][2]], &[info[2][0], info[2][2]]]);
        (vec![se[0], None, se[1]], "observed")
    } else if beta > 2.0 {
        (standard_errors(&[&info[0], &info[1], &info[2]]), "observed")
    } else {
        let se = standard_errors(&[&[info[0][0], info[0][2]], &[info[2][0], info[2][2]]]);
        let loc_info = gennorm::expected_location_information(beta, alpha).map(|i| n * i);
        let loc_se = location_standard_error(loc_info, beta, se[0], 0.5);
        (vec![se[0], loc_se, se[1]], "observed+expected(loc)")
    };
    StandardizedFit {
        shape: Some(beta),
        mu,
        scale: alpha,
        loglik,
        std_errors,
        se_method,
        termination: solved.termination,
        iterations: solved.iterations,
        note,
    }
}

/// gennorm's rule for a fit that ran to the lower shape bound with values at
/// its location, or with a free location, the direction in which the
/// likelihood grows without bound (see the gennorm module doc): the more
/// likely of the interior maximum in β at that location and, with a free
/// location, the regular fit if its β is off the bound; without either, the
/// fit on the bound. The note says which.
fn gennorm_off_the_spike(
    data: &Standardized,
    solved: ShapeFit,
    opts: &FitOptions,
) -> (ShapeFit, String) {
    type Profile = gennorm::GenNormProfile;
    let y = &data.y;
    let logs = profile::LogAbs::new(y, solved.mu);
    let interior =
        gennorm::interior_maximum(&logs, solved.mu, opts.tol, opts.max_iter).map(|fit| {
            (
                fit,
                "the highest interior local maximum in beta at that location",
            )
        });
    drop(logs);
    let regular = data
        .is_free()
        .then(|| fit_regular::<Profile>(y, opts.tol, opts.max_iter))
        .filter(|fit| !on_lower_shape_bound(fit.shape))
        .map(|fit| {
            (
                fit,
                "the regular maximum started from the mean with beta held >= 1",
            )
        });
    let loglik = |fit: &ShapeFit| Profile::profile_loglik(y, fit.mu, fit.shape);
    let best = match (interior, regular) {
        (Some(a), Some(b)) => Some(if loglik(&b.0) > loglik(&a.0) { b } else { a }),
        (a, b) => a.or(b),
    };
    let location = if data.is_free() { "found" } else { "fixed" };
    let slope = if solved.at_loc > 0 {
        format!(
            "{} of {} values equal the {location} location, where the likelihood grows without \
             bound as beta -> 0",
            solved.at_loc,
            y.len()
        )
    } else {
        format!(
            "beta ran to its search bound {} at the {location} location (with a free location \
             the likelihood grows without bound as the location nears a value and beta -> 0)",
            SHAPE_BOUNDS.0
        )
    };
    match best {
        Some((fit, which)) => (fit, format!("{slope}; reported instead: {which}")),
        None => (
            solved,
            format!(
                "{slope}; no maximum found elsewhere, so this is the likelihood at the bound, not \
                 a maximum (tied values such as exact zeros kept, or a tensor of few values)"
            ),
        ),
    }
}

fn fit_dweibull(data: &Standardized, opts: &FitOptions) -> Result<StandardizedFit, FitError> {
    let y = &data.y;
    let solved =
        fit_shape_family::<dweibull::DWeibullProfile>(y, data.location, opts.tol, opts.max_iter);
    let (c, mu, alpha) = (solved.shape, solved.mu, solved.scale);
    if solved.at_loc > 0 {
        return Err(FitError::Degenerate {
            family: "dweibull",
            reason: format!(
                "{} values equal the location found; the likelihood is unbounded there",
                solved.at_loc
            ),
        });
    }
    let (loglik, info) = dweibull::loglik_and_information(y, c, mu, alpha);
    let se = standard_errors(&[&info[0], &info[1]]);
    let n = y.len() as f64;
    let (loc_se, se_method) = if data.is_free() {
        let loc_info = dweibull::expected_location_information(c, alpha).map(|i| n * i);
        let loc_se = location_standard_error(loc_info, c, se[0], 2.0);
        (loc_se, "observed+expected(loc)")
    } else {
        (None, "observed")
    };
    let unbounded_note = (data.is_free() && c < 1.0).then(|| {
        format!(
            "dweibull with c = {c:.4} < 1 and a free loc has an unbounded likelihood at every data value; \
             loc is the best non-data point of a bounded Brent search of the profile likelihood \
             (the reported loglik is finite, a local supremum)"
        )
    });
    let pole_note = (data.is_free() && c >= 1.0 && y.len() <= GRID_START_MAX_VALUES)
        .then(|| dweibull::pole_above(y, dweibull::DWeibullProfile::profile_loglik(y, mu, c), opts))
        .flatten()
        .map(|(value, pole_c)| {
            let value = data.center + data.spread * value;
            format!(
                "dweibull with a free loc has an unbounded likelihood as c < 1 and loc nears a \
                 data value: loc within float resolution of the value {value:.6e} with c = \
                 {pole_c:.4} is already more likely than this regular maximum with c = {c:.4}, and \
                 nearer still is more likely without bound; reported: the regular maximum"
            )
        });
    let unbounded_note = unbounded_note.or(pole_note);
    let note = match (bound_note("c", c), unbounded_note) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    };
    Ok(StandardizedFit {
        shape: Some(c),
        mu,
        scale: alpha,
        loglik,
        std_errors: vec![se[0], loc_se, se[1]],
        se_method,
        termination: solved.termination,
        iterations: solved.iterations,
        note,
    })
}

#[cfg(test)]
mod tests;
