//! A codebook for one recorded tensor, judged on the tensor as it is sent:
//! every entry, exact zeros included. Two rules make the default right for
//! the tensors real training produces:
//!
//! **A model that cannot be designed on is not.** The density design
//! ([`super::lloyd`]) is used only when the model is sound and its codebook
//! does better than sending zeros on the tensor. A model is unsound when its
//! shape sits on the lower end of the fit's search bound (the fit found no
//! maximum: a spike on tied or near-tied values, see
//! [`crate::fit::shape_on_lower_bound`]), when its variance or the
//! distortion's moment `E|X|^{M+2}` is not a finite positive number, or when
//! it is no model of the values at all: its W2 to them exceeds their
//! standard deviation, the W2 of a point mass at their mean
//! ([`crate::analysis::fit_report::far_from_data`]; the GenNorm maxima of
//! the shipped MLP's late steps, β 0.07–0.19 with scales 1e-22…1e-7, sit
//! 3–180 standard deviations away). Such a
//! tensor is, e.g., a fused `attn.qkv.bias` gradient whose k third is exactly
//! zero in exact arithmetic and arrives as 1e-12…1e-9 float noise beside
//! q and v thirds of ~1e-3: gennorm runs to β = 0.02 with scale 1e-90, whose
//! M = 1 moments overflow and whose M = 0 codebook decodes to ±1e20 (a
//! design MSE of 8.6e16 for a tensor of mean square ~7e-7;
//! `tests/cli_degenerate.rs`). Then the design falls back to Lloyd-Max on the
//! values themselves ([`super::empirical`]), which puts a cell on the
//! near-point cluster, and a note says why. A sound model's codebook is kept
//! unless its own distortion `d_M` on the values it was fitted on exceeds
//! that of sending zeros (`Σ|x|^M x²`); for M > 0 a codebook may beat zeros
//! in `d_M` and not in MSE, which is then flagged, not replaced, since `d_M`
//! is what was asked for. The nmse on the tensor as sent,
//! `Σ (x − Q(x))² / Σ x²`, is reported with every design, and a design still
//! worse than sending zeros (nmse > 1) carries a note saying so.
//!
//! *Not done: a structural model* — a point mass at the location plus a
//! continuous part, as `--zeros auto` does for exact zeros. A near-point
//! cluster has no exact value to split on: its width (1e-12…1e-9 here) is
//! float noise whose size depends on the accumulation order, so any
//! threshold (`|x| < ε · rms`) would be a tuning knob without a derivation,
//! and the empirical fallback already spends a level on the cluster when
//! that lowers the error.
//!
//! A rate-distortion curve needs a model, so there an unsound fit is
//! replaced by the Laplace fit instead ([`sound_model`]), with a note.
//!
//! **The zero level is reserved when it lowers the error of the tensor as
//! sent** ([`ZeroLevel::Auto`]). A design on the non-zeros of a tensor with a
//! fraction `z` of exact zeros decodes every zero to the center nearest 0;
//! on the whole tensor
//!
//! ```text
//! mse = (1 − z) · mse_nonzeros + z · c_0²       (c_0: the center nearest 0)
//! ```
//!
//! while a zero level makes `c_0 = 0` at the price of one level for the
//! non-zeros. Auto designs both and keeps the one with the smaller MSE on the
//! tensor's values (with no exact zero it designs without). The rule is
//! stated in MSE for every M: for M = 0 that is the design's own objective;
//! for M > 0 the zeros carry no weight in `d_M`, so `d_M` alone could never
//! reserve the level however many zeros decode to `±c_0`. A 90 %-zero
//! embedding gradient (rows of absent tokens) shows the stakes: on recorded
//! transformer gradients a 3-bit codebook without the level had nmse 1.9–3.4
//! on the tensor, with it 0.11–0.16; on the synthetic one of
//! `tests/cli_degenerate.rs` (Laplace rows) 2 bits give 1.65 without, 0.21
//! with it.

use serde::{Deserialize, Serialize};

use super::empirical::design_from_samples;
use super::export::{params_of, CodebookDocument};
use super::lloyd::design_for_density;
use super::{Codebook, Design, DesignSpec, LloydOptions, QuantError};
use crate::analysis::prepare::{prepare, NanPolicy, ZeroPolicy};
use crate::dist::{ContinuousDist, FamilyKind, Model};
use crate::fit::{fit, FitError, FitOptions, LocMode};

/// Whether a design reserves a level at exactly 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ZeroLevel {
    /// Reserve it when that lowers the MSE on the tensor as sent.
    Auto,
    On,
    Off,
}

/// How the zero level was decided by [`ZeroLevel::Auto`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ZeroChoice {
    /// Fraction of exact zeros among the values sent.
    pub zero_fraction: f64,
    /// MSE on the values sent without and with the zero level.
    pub mse_without: f64,
    pub mse_with: f64,
}

/// A design for a tensor, with what it does on the tensor as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorDesign {
    pub design: Design,
    /// `density` (on the model) or `empirical` (on the values).
    pub method: &'static str,
    /// MSE on the values sent over their mean square (`None` when every
    /// value is 0).
    pub nmse: Option<f64>,
    /// The auto rule's numbers, when it decided.
    pub zero_choice: Option<ZeroChoice>,
    /// Why the model was not used, and any other warning, in one line.
    pub note: Option<String>,
}

/// Why `model` cannot be designed on for weight exponent `m`, if it cannot.
pub fn model_defect(model: &Model, m: f64) -> Option<String> {
    if crate::fit::shape_on_lower_bound(model) {
        return Some(format!(
            "the {} fit ran to its lower shape bound (no maximum: a spike on near-tied values)",
            model.kind()
        ));
    }
    let variance = model.variance();
    let moment = model.abs_moment_between(m + 2.0, f64::NEG_INFINITY, f64::INFINITY);
    if !(variance.is_finite() && variance > 0.0 && moment.is_finite()) {
        return Some(format!(
            "the {} model has variance {variance:e} and E|X|^{} = {moment:e}, not finite positive moments",
            model.kind(),
            m + 2.0
        ));
    }
    None
}

/// `fitted` when it is sound for weight exponent `m` ([`model_defect`]) and
/// a model of `values` at all (its W2 to them no larger than their standard
/// deviation: [`crate::analysis::fit_report::far_from_data`]), else the
/// Laplace fit of `values` (the family the fitted one falls back to for a
/// rate-distortion curve, which needs a model: its scale is the mean
/// absolute deviation from the median, so its moments are finite for any
/// non-constant data) with a note saying why.
pub fn sound_model(
    fitted: Model,
    values: &[f64],
    m: f64,
) -> Result<(Model, Option<String>), FitError> {
    let defect = model_defect(&fitted, m).or_else(|| far_from(&fitted, values));
    match defect {
        None => Ok((fitted, None)),
        Some(defect) => {
            let laplace = fit(FamilyKind::Laplace, values, &FitOptions::default())?.model;
            Ok((
                laplace,
                Some(format!("{defect}; the laplace fit is used instead")),
            ))
        }
    }
}

/// [`far_from_data`](crate::analysis::fit_report::far_from_data) of
/// `model` against `values` (`None` when the distance cannot be computed).
fn far_from(model: &Model, values: &[f64]) -> Option<String> {
    let mut sorted = values.to_vec();
    crate::stats::sort_finite(&mut sorted);
    let std = crate::stats::moments(&sorted).ok()?.std;
    let w2 = crate::stats::wasserstein_to_dist(&sorted, model).ok()?.w2;
    let note = crate::analysis::fit_report::far_from_data(w2, std)?;
    Some(format!("the {} fit's {note}", model.kind()))
}

/// A model fitted to a tensor's values, judged once against them: every
/// design of that tensor (each rate, each M) shares the verdict.
#[derive(Debug, Clone)]
pub struct FittedModel {
    pub model: Model,
    /// Why it is no model of the values it was fitted on, if it is not
    /// (its W2 to them exceeds their standard deviation).
    pub unusable: Option<String>,
}

impl FittedModel {
    /// `model` judged against `samples`, the values it was fitted on.
    pub fn judged(model: Model, samples: &[f64]) -> Self {
        let unusable = far_from(&model, samples);
        FittedModel { model, unusable }
    }
}

/// How codebooks are designed for a recorded tensor
/// (`gradrd quantize design --from`).
#[derive(Debug, Clone)]
pub struct TensorDesignOptions {
    /// The family fitted to the tensor (the model the density design uses).
    pub family: FamilyKind,
    /// Lloyd-Max on the values instead of on the fitted model.
    pub empirical: bool,
    /// Exact zeros; `None`: the non-zeros for a fit ([`ZeroPolicy::Auto`]),
    /// every value for an empirical design ([`ZeroPolicy::Keep`]).
    pub zeros: Option<ZeroPolicy>,
    pub nan: NanPolicy,
    /// The fitted location.
    pub loc: LocMode,
    pub zero_level: ZeroLevel,
    pub lloyd: LloydOptions,
}

impl Default for TensorDesignOptions {
    fn default() -> Self {
        TensorDesignOptions {
            family: FamilyKind::GenNorm,
            empirical: false,
            zeros: None,
            nan: NanPolicy::Error,
            loc: LocMode::Free,
            zero_level: ZeroLevel::Auto,
            lloyd: LloydOptions::default(),
        }
    }
}

/// The codebook documents of one tensor's `values` (C order), one per
/// `spec`: fit (unless empirical), then [`design_for_tensor`]. `Err` is a
/// one-line reason (a failed fit is prefixed by its family).
pub fn design_documents(
    values: Vec<f64>,
    specs: &[DesignSpec],
    options: &TensorDesignOptions,
) -> Result<Vec<CodebookDocument>, String> {
    let sent: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let default_zeros = if options.empirical {
        ZeroPolicy::Keep
    } else {
        ZeroPolicy::Auto
    };
    let zeros = options.zeros.unwrap_or(default_zeros);
    let prepared = prepare(values, zeros, options.nan).map_err(|e| e.to_string())?;
    let fitted = if options.empirical {
        None
    } else {
        let fit_options = FitOptions {
            loc: options.loc,
            ..FitOptions::default()
        };
        let fitted = fit(options.family, &prepared.values, &fit_options)
            .map_err(|e| format!("{}: {e}", options.family))?;
        Some(FittedModel::judged(fitted.model, &prepared.values))
    };
    let params = fitted
        .as_ref()
        .map(|fitted| params_of(&fitted.model))
        .unwrap_or_default();
    specs
        .iter()
        .map(|spec| {
            let designed = design_for_tensor(
                fitted.as_ref(),
                &prepared.values,
                &sent,
                spec.levels(),
                spec.m(),
                options.zero_level,
                &options.lloyd,
            )
            .map_err(|e| e.to_string())?;
            Ok(CodebookDocument::from_tensor_design(
                &designed,
                options.family.to_string(),
                params.clone(),
            ))
        })
        .collect()
}

/// Designs the codebook of `levels` cells and weight exponent `m` for a
/// tensor: on `model` when given and sound (else, and when its codebook is
/// worse than sending zeros, on `samples`), with the zero level as `zero`
/// says. `samples` are the values a sample design runs on (the non-zeros
/// when the model was fitted on them); `sent` are the tensor's values as
/// sent, on which the designs are judged.
pub fn design_for_tensor(
    model: Option<&FittedModel>,
    samples: &[f64],
    sent: &[f64],
    levels: usize,
    m: f64,
    zero: ZeroLevel,
    options: &LloydOptions,
) -> Result<TensorDesign, QuantError> {
    let zeros = sent.iter().filter(|x| **x == 0.0).count();
    let with = |zero_level| {
        let spec = DesignSpec::new(levels, m, zero_level)?;
        checked(model, samples, sent, &spec, options)
    };
    let mut chosen = match zero {
        ZeroLevel::On => with(true)?,
        ZeroLevel::Off => with(false)?,
        ZeroLevel::Auto if zeros == 0 => with(false)?,
        ZeroLevel::Auto => {
            let without = with(false)?;
            // a zero-level design that cannot be made (too few values on a
            // side) leaves the design without it
            let Ok(reserved) = with(true) else {
                return Ok(without);
            };
            let choice = ZeroChoice {
                zero_fraction: zeros as f64 / sent.len() as f64,
                mse_without: mse_on(&without.design.codebook, sent),
                mse_with: mse_on(&reserved.design.codebook, sent),
            };
            let mut better = if choice.mse_with < choice.mse_without {
                reserved
            } else {
                without
            };
            better.zero_choice = Some(choice);
            better
        }
    };
    if let Some(nmse) = chosen.nmse.filter(|v| *v > 1.0) {
        let warning = format!("nmse {nmse:.3} on the tensor: worse than sending zeros");
        chosen.note = Some(match chosen.note {
            Some(note) => format!("{note}; {warning}"),
            None => warning,
        });
    }
    Ok(chosen)
}

/// One design: on the model when it is sound, a model of the samples and
/// beats sending zeros, else on the samples with a note.
fn checked(
    fitted: Option<&FittedModel>,
    samples: &[f64],
    sent: &[f64],
    spec: &DesignSpec,
    options: &LloydOptions,
) -> Result<TensorDesign, QuantError> {
    let reason = match fitted {
        None => None,
        Some(FittedModel { model, unusable }) => match model_defect(model, spec.m())
            .or_else(|| unusable.clone())
        {
            Some(defect) => Some(defect),
            None => match design_for_density(model, spec, options) {
                Err(error) => Some(format!(
                    "the design on the {} model failed: {error}",
                    model.kind()
                )),
                // judged on the values the model was fitted on, in its own
                // distortion d_M (zeros left out of the fit are the zero
                // level's business, MSE is flagged by the caller)
                Ok(design) => match relative_distortion(&design.codebook, samples, spec.m())
                    .filter(|v| *v > 1.0 || v.is_nan())
                {
                    Some(bad) => Some(format!(
                        "the codebook of the {} model has d_M {bad:.3e} times that of sending zeros on the values it was fitted on",
                        model.kind()
                    )),
                    None => {
                        return Ok(TensorDesign {
                            nmse: nmse(&design.codebook, sent),
                            design,
                            method: "density",
                            zero_choice: None,
                            note: None,
                        })
                    }
                },
            },
        },
    };
    let design = design_from_samples(samples, spec, options)?;
    Ok(TensorDesign {
        nmse: nmse(&design.codebook, sent),
        design,
        method: "empirical",
        zero_choice: None,
        note: reason.map(|r| {
            format!(
                "{r}; designed by Lloyd-Max on the {} values instead",
                samples.len()
            )
        }),
    })
}

/// `Σ (x − Q(x))² / Σ x²` (`None` when every value is 0).
fn nmse(codebook: &Codebook, values: &[f64]) -> Option<f64> {
    relative_distortion(codebook, values, 0.0)
}

/// `Σ |x|^M (x − Q(x))² / Σ |x|^M x²`: the codebook's d_M over that of
/// sending zeros (`None` when the latter is 0).
fn relative_distortion(codebook: &Codebook, values: &[f64], m: f64) -> Option<f64> {
    let (lost, zeros) = values.iter().fold((0.0, 0.0), |(lost, zeros), &x| {
        let w = if m == 0.0 { 1.0 } else { x.abs().powf(m) };
        (
            lost + w * (x - codebook.quantize(x)).powi(2),
            zeros + w * x * x,
        )
    });
    (zeros > 0.0).then(|| lost / zeros)
}

/// `(1/n) Σ (x − Q(x))²`.
fn mse_on(codebook: &Codebook, values: &[f64]) -> f64 {
    let sum: f64 = values
        .iter()
        .map(|&x| (x - codebook.quantize(x)).powi(2))
        .sum();
    sum / values.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradrd_testkit::assert_close;

    /// The whole-tensor MSE of a design on the non-zeros is
    /// `(1 − z) · mse_nonzeros + z · c_0²`, and `d_M` over sending zeros is
    /// computed by hand on four values.
    #[test]
    fn the_zero_rule_mse_and_the_relative_distortion_by_hand() {
        // cells (−∞, 0], (0, ∞) at scale 1, centers −1 and 0.5
        let codebook = Codebook::new(vec![0.0], vec![-1.0, 0.5], 1.0, 0.0, false).unwrap();
        let nonzeros = [-1.5, -0.5, 0.25, 1.0];
        let mut sent = nonzeros.to_vec();
        sent.extend([0.0; 12]); // z = 0.75; 0 falls in the first cell: c_0 = −1
        let expected = 0.25 * mse_on(&codebook, &nonzeros) + 0.75 * 1.0;
        assert_close(mse_on(&codebook, &sent), expected, 1e-15, 0.0);
        // errors −0.5, 0.5, −0.25, 0.5; |x|² weights 2.25, 0.25, 0.0625, 1
        let lost = 2.25 * 0.25 + 0.25 * 0.25 + 0.0625 * 0.0625 + 1.0 * 0.25;
        let zeros = 2.25 * 2.25 + 0.25 * 0.25 + 0.0625 * 0.0625 + 1.0;
        let got = relative_distortion(&codebook, &nonzeros, 2.0).unwrap();
        assert_close(got, lost / zeros, 1e-15, 0.0);
        assert_eq!(relative_distortion(&codebook, &[0.0, 0.0], 0.0), None);
    }

    #[test]
    fn a_model_on_the_shape_bound_is_a_defect_and_a_laplace_is_not() {
        let spike =
            Model::from_params(FamilyKind::GenNorm, &[("beta", 0.02), ("scale", 1e-90)]).unwrap();
        assert!(model_defect(&spike, 0.0)
            .unwrap()
            .contains("lower shape bound"));
        let laplace = Model::from_params(FamilyKind::Laplace, &[("scale", 1e-3)]).unwrap();
        assert_eq!(model_defect(&laplace, 2.0), None);
    }
}
