//! `gradrd fit` for one tensor: prepare the values, fit each requested
//! family by maximum likelihood and judge every fit.
//!
//! For each family the report holds the scipy-named parameters with their
//! standard errors, the log-likelihood `ℓ` over the fitted values, and
//!
//! ```text
//! AIC = 2k − 2ℓ        BIC = k·ln(n_fit) − 2ℓ        (k = free parameters)
//! KS  = sup_x |F_n(x) − F(x)|, p from the exact Kolmogorov distribution
//! W1  = ∫₀¹ |F_n⁻¹(t) − F⁻¹(t)| dt,  W2 = (∫₀¹ (F_n⁻¹(t) − F⁻¹(t))² dt)^½
//! ```
//!
//! computed exactly against the fitted distribution (no sampling). A fit
//! whose W2 to the data exceeds the data's standard deviation — the W2 from
//! the data to a point mass at its mean — is farther from the data than
//! that constant and is no model of them, whatever its likelihood: such a
//! maximum (a GenNorm spike with β ≈ 0.07 and scale 1e-21 on a tensor with
//! near-tied values) carries a note saying so ([`far_from_data`]). Under the
//! zero-inflated model (`ZeroPolicy::Auto`) the mixture's log-likelihood
//! `z·ln π + (n − z)·ln(1 − π) + ℓ` is reported beside `ℓ`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::prepare::{prepare, NanPolicy, PrepareError, Prepared, ZeroPolicy};
use crate::dist::{ContinuousDist, FamilyKind, Model};
use crate::fit::{
    fit_standardized, loglik_censored_counted, FitOptions, LocMode, Rounding, StandardizedSample,
};
use crate::stats;

/// What `fit_tensor` does with a tensor.
#[derive(Debug, Clone)]
pub struct FitSettings {
    pub families: Vec<FamilyKind>,
    pub zeros: ZeroPolicy,
    pub nan: NanPolicy,
    pub loc: LocMode,
    /// Compute the goodness of fit (KS, W1, W2) of every fit. Off, only the
    /// fits are made (the statistics are `null`): W2's exact computation
    /// evaluates the fitted quantile function at every `i/n`.
    pub goodness_of_fit: bool,
}

impl Default for FitSettings {
    fn default() -> Self {
        FitSettings {
            families: FamilyKind::ALL.to_vec(),
            zeros: ZeroPolicy::Auto,
            nan: NanPolicy::Error,
            loc: LocMode::Free,
            goodness_of_fit: true,
        }
    }
}

/// Sample moments of the fitted values.
#[derive(Debug, Clone, Serialize)]
pub struct SampleMoments {
    pub mean: f64,
    /// Population standard deviation (ddof = 0).
    pub std: f64,
    /// `scipy.stats.kurtosis(x, fisher=True, bias=True)`; `null` when the
    /// values are constant.
    pub excess_kurtosis: Option<f64>,
}

/// One family's fit and its goodness of fit.
#[derive(Debug, Clone, Serialize)]
pub struct FamilyFit {
    pub family: FamilyKind,
    pub params: BTreeMap<&'static str, f64>,
    /// `null` for a fixed parameter or where the information is singular.
    pub std_errors: BTreeMap<&'static str, Option<f64>>,
    pub se_method: &'static str,
    pub loglik: f64,
    /// Log-likelihood of the zero-inflated mixture over all finite values
    /// (only under `--zeros auto` when the tensor has zeros).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loglik_mixture: Option<f64>,
    /// Log-likelihood of the fitted values as the rounding intervals of their
    /// 16-bit storage format, `Σ ln(F(u) − F(l))` (only for bfloat16 and
    /// float16 tensors; see `fit::loglik_censored`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loglik_censored: Option<f64>,
    pub aic: f64,
    pub bic: f64,
    /// Goodness of fit against the fitted distribution; `null` when not
    /// computed (`--no-gof`).
    pub ks: Option<f64>,
    pub ks_p: Option<f64>,
    pub w1: Option<f64>,
    pub w2: Option<f64>,
    pub converged: bool,
    pub iterations: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A family that could not be fitted says why; the other families stand.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum FamilyOutcome {
    Fitted(Box<FamilyFit>),
    Failed { family: FamilyKind, error: String },
}

/// Everything `gradrd fit` reports for one tensor.
#[derive(Debug, Clone, Serialize)]
pub struct TensorFit {
    /// Entries in the tensor.
    pub n: usize,
    /// Values the fits were made on.
    pub n_fit: usize,
    pub zeros: usize,
    pub zero_fraction: f64,
    pub nonfinite: usize,
    pub moments: SampleMoments,
    pub fits: Vec<FamilyOutcome>,
}

impl TensorFit {
    /// Whether any family failed.
    pub fn has_failures(&self) -> bool {
        self.fits
            .iter()
            .any(|f| matches!(f, FamilyOutcome::Failed { .. }))
    }
}

/// Prepares `values` and fits every family in `settings`.
///
/// Memory: the values are sorted and standardized in place, and every
/// family is fitted and judged on them; a fit holds one transient array of
/// `ln|y − μ|`, so a tensor of n values costs about 2n floats at peak.
pub fn fit_tensor(values: Vec<f64>, settings: &FitSettings) -> Result<TensorFit, PrepareError> {
    fit_stored_tensor(values, settings, None)
}

/// [`fit_tensor`] of values stored in a 16-bit format (`rounding`), with
/// each fit's interval-censored log-likelihood (`loglik_censored`) beside
/// its density log-likelihood. It keeps a copy of the fitted values'
/// distinct values (at most 65 536 for a 16-bit format).
pub fn fit_stored_tensor(
    values: Vec<f64>,
    settings: &FitSettings,
    rounding: Option<Rounding>,
) -> Result<TensorFit, PrepareError> {
    let mut prepared = prepare(values, settings.zeros, settings.nan)?;
    stats::sort_finite(&mut prepared.values);
    let stored = rounding.map(|rounding| (rounding, distinct(&prepared.values)));
    let moments =
        stats::moments(&prepared.values).map_err(|e| PrepareError::Statistics(e.to_string()))?;
    let n_fit = prepared.values.len();
    let values = std::mem::take(&mut prepared.values);
    let options = FitOptions {
        loc: settings.loc,
        ..FitOptions::default()
    };
    // Standardizing is increasing, so the standardized values stay sorted.
    let sample = StandardizedSample::new(values, settings.loc).map_err(|e| e.to_string());
    let fits = settings
        .families
        .iter()
        .map(|&family| {
            let assessed = sample.as_ref().map_err(Clone::clone).and_then(|sample| {
                fit_standardized(family, sample, &options)
                    .map_err(|e| e.to_string())
                    .and_then(|result| assess(result, sample, &prepared, settings, moments.std))
                    .map(|mut fitted| {
                        fitted.loglik_censored = stored.as_ref().and_then(|(rounding, values)| {
                            censored_loglik(&fitted, values, *rounding)
                        });
                        fitted
                    })
            });
            match assessed {
                Ok(fitted) => FamilyOutcome::Fitted(Box::new(fitted)),
                Err(error) => FamilyOutcome::Failed { family, error },
            }
        })
        .collect();
    Ok(TensorFit {
        n: prepared.total,
        n_fit,
        zeros: prepared.zeros,
        zero_fraction: prepared.zero_fraction(),
        nonfinite: prepared.nonfinite,
        moments: SampleMoments {
            mean: moments.mean,
            std: moments.std,
            excess_kurtosis: moments.excess_kurtosis,
        },
        fits,
    })
}

/// The distinct values of `sorted`, each with its count.
fn distinct(sorted: &[f64]) -> Vec<(f64, usize)> {
    sorted
        .chunk_by(|a, b| a == b)
        .map(|run| (run[0], run.len()))
        .collect()
}

/// `fit::loglik_censored` of a fit over the distinct values and their
/// counts.
fn censored_loglik(fitted: &FamilyFit, values: &[(f64, usize)], rounding: Rounding) -> Option<f64> {
    let params: Vec<(&str, f64)> = fitted.params.iter().map(|(&k, &v)| (k, v)).collect();
    let model = Model::from_params(fitted.family, &params).ok()?;
    loglik_censored_counted(&model, values, rounding)
}

/// Goodness of fit of one model: KS statistic and p, W1, W2.
struct GoodnessOfFit {
    ks: f64,
    ks_p: f64,
    w1: f64,
    w2: f64,
}

/// KS, W1 and W2 of `model` against the sample, computed in the sample's
/// standardized coordinates (KS is invariant; W1 and W2 scale by the spread).
fn goodness_of_fit(sample: &StandardizedSample, model: &Model) -> Result<GoodnessOfFit, String> {
    let standard = sample.standardize(model).map_err(|e| e.to_string())?;
    let sorted = sample.values();
    let ks = stats::ks_one_sample(sorted, |x| standard.cdf(x)).map_err(|e| e.to_string())?;
    let w = stats::wasserstein_to_dist(sorted, &standard).map_err(|e| e.to_string())?;
    Ok(GoodnessOfFit {
        ks: ks.statistic,
        ks_p: ks.p_value,
        w1: w.w1 * sample.spread(),
        w2: w.w2 * sample.spread(),
    })
}

/// Why a model at W2 distance `w2` from data of standard deviation `std` is
/// no model of them, if it is not: it is farther from the data than a point
/// mass at their mean (whose W2 to them is `std`).
pub fn far_from_data(w2: f64, std: f64) -> Option<String> {
    (w2 > std).then(|| {
        format!(
            "W2 to the data is {:.1}x their standard deviation: farther from them than a point mass at their mean, so not usable as a model",
            w2 / std
        )
    })
}

fn assess(
    result: crate::fit::Fit,
    sample: &StandardizedSample,
    prepared: &Prepared,
    settings: &FitSettings,
    std: f64,
) -> Result<FamilyFit, String> {
    let model = result.model;
    let n = sample.values().len() as f64;
    let free = result.std_errors.len() - usize::from(matches!(settings.loc, LocMode::Fixed(_)));
    let k = free as f64;
    let gof = if settings.goodness_of_fit {
        Some(goodness_of_fit(sample, &model)?)
    } else {
        None
    };
    let loglik_mixture = (settings.zeros == ZeroPolicy::Auto && prepared.zeros > 0).then(|| {
        let finite = (prepared.total - prepared.nonfinite) as f64;
        let zeros = prepared.zeros as f64;
        let pi = zeros / finite;
        zeros * pi.ln() + (finite - zeros) * (1.0 - pi).ln() + result.loglik
    });
    Ok(FamilyFit {
        family: model.kind(),
        params: model.params().into_iter().collect(),
        std_errors: result.std_errors.into_iter().collect(),
        se_method: result.se_method,
        loglik: result.loglik,
        loglik_mixture,
        loglik_censored: None,
        aic: 2.0 * k - 2.0 * result.loglik,
        bic: k * n.ln() - 2.0 * result.loglik,
        ks: gof.as_ref().map(|g| g.ks),
        ks_p: gof.as_ref().map(|g| g.ks_p),
        w1: gof.as_ref().map(|g| g.w1),
        w2: gof.as_ref().map(|g| g.w2),
        converged: result.termination.converged(),
        iterations: result.iterations,
        note: join_notes(
            result.note,
            gof.as_ref().and_then(|g| far_from_data(g.w2, std)),
        ),
    })
}

/// Both notes in one line, either, or none.
fn join_notes(first: Option<String>, second: Option<String>) -> Option<String> {
    match (first, second) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    }
}
