//! `kind = "fit"`: per tensor at one step, the histogram of the values with
//! the fitted densities on a log density axis (the M22 talk's figure), the
//! fit table (maximum likelihood via `analysis::fit_tensor`) and the excess
//! kurtosis table (`κ − 3`, 0 for a Normal, 3 for a Laplace).

use serde::Deserialize;

use super::{at_step, num, opt, run_registry, tensor_failure, Input, Progress, Section};
use crate::figure::{histogram, Axis, Figure, Legend, Panel, Series, Style, Width};
use crate::table::{footnoted, Table};
use gradrd_core::analysis::{prepare, FamilyOutcome, NanPolicy, ZeroPolicy};
use gradrd_core::dist::{ContinuousDist, FamilyKind, Model};
use gradrd_core::registry::fit::Fit;
use gradrd_core::registry::{self, Validate};
use gradrd_io::dump::Selected;

/// Points on each fitted density curve.
const CURVE_POINTS: usize = 200;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitOptions {
    /// Families to fit.
    #[serde(default = "all_families")]
    pub families: Vec<FamilyKind>,
    /// The step whose tensors are plotted (default: the last selected).
    pub step: Option<u64>,
    /// Histogram bins.
    #[serde(default = "default_bins")]
    pub bins: usize,
    /// Exact zeros: auto (fit the non-zeros, report the fraction), keep, drop.
    #[serde(default = "auto")]
    pub zeros: ZeroPolicy,
    /// Panels per row.
    #[serde(default = "default_columns")]
    pub columns: usize,
}

fn all_families() -> Vec<FamilyKind> {
    registry::fit::FitOptions::default().families
}

fn default_bins() -> usize {
    60
}

fn default_columns() -> usize {
    3
}

fn auto() -> ZeroPolicy {
    registry::fit::FitOptions::default().zeros
}

impl FitOptions {
    pub fn validate(&self) -> Result<(), String> {
        self.analysis().validate().map_err(|e| e.to_string())?;
        if !(5..=1000).contains(&self.bins) {
            return Err(format!("bins: must be 5..=1000, got {}", self.bins));
        }
        if !(1..=6).contains(&self.columns) {
            return Err(format!("columns: must be 1..=6, got {}", self.columns));
        }
        Ok(())
    }

    /// The registry's `fit` options this entry runs with.
    fn analysis(&self) -> registry::fit::FitOptions {
        registry::fit::FitOptions {
            families: self.families.clone(),
            zeros: self.zeros,
            ..registry::fit::FitOptions::default()
        }
    }

    pub fn run(&self, input: &Input, progress: Progress) -> Result<Section, String> {
        let (step, metas) = at_step(input, self.step)?;
        let step_text = step.map_or(String::new(), |s| format!(" at step {s}"));
        let mut section = Section {
            title: format!("Distribution fits{step_text}"),
            ..Section::default()
        };
        let mut fits = Table::new(
            "fit",
            &format!("Maximum-likelihood fits{step_text} (scipy parameter names; shape = β of gennorm, c of dweibull)"),
            &["tensor", "family", "shape", "loc", "scale", "log-lik", "AIC", "KS", "W2"],
        );
        let mut kurtosis = Table::new(
            "kurtosis",
            &format!("Excess kurtosis{step_text} (0 for a Normal, 3 for a Laplace) and the family of lowest AIC"),
            &["tensor", "entries", "zero fraction", "excess kurtosis", "best family"],
        );
        let mut panels = Vec::new();
        let mut notes = Vec::new();
        let source = Selected::new(input.dump, input.label, metas.clone());
        let output = run_registry::<Fit>(&self.analysis(), &source, progress)?;
        let mut results = output.results.into_iter().peekable();
        for meta in metas {
            let Some(result) = results.next_if(|r| r.tensor == meta.name) else {
                let error = output
                    .errors
                    .iter()
                    .find(|e| e.tensor.as_ref() == Some(&meta.name));
                section.failures.extend(error.map(tensor_failure));
                continue;
            };
            let fit = result.fit;
            let values = input
                .dump
                .read(meta)
                .map_err(|e| e.to_string())
                .and_then(|values| {
                    prepare(values, self.zeros, NanPolicy::Error).map_err(|e| e.to_string())
                });
            let values = match values {
                Ok(prepared) => prepared.values,
                Err(error) => {
                    section.failures.push(format!("{}: {error}", meta.name));
                    continue;
                }
            };
            let (lo, hi) = values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
            let mut series = vec![Series {
                name: "data".to_string(),
                style: Style::Steps,
                color: 6,
                points: histogram(&values, self.bins, lo, hi, 1.0),
            }];
            let mut best: Option<(f64, FamilyKind)> = None;
            for (i, outcome) in fit.fits.iter().enumerate() {
                match outcome {
                    FamilyOutcome::Fitted(f) => {
                        let params: Vec<(&str, f64)> =
                            f.params.iter().map(|(k, v)| (*k, *v)).collect();
                        let shape = f.params.get("beta").or(f.params.get("c")).copied();
                        // A fit's note (a shape on its bound, an unbounded
                        // likelihood and the rule applied) is a numbered
                        // footnote on its family.
                        let family = match &f.note {
                            Some(note) => {
                                notes.push(format!(
                                    "[{}] {}, {}: {note}",
                                    notes.len() + 1,
                                    meta.name,
                                    f.family
                                ));
                                footnoted(f.family.to_string(), notes.len())
                            }
                            None => f.family.to_string().into(),
                        };
                        fits.push(vec![
                            meta.name.clone().into(),
                            family,
                            opt(shape, 4),
                            num(f.params["loc"], 3),
                            num(f.params["scale"], 4),
                            num(f.loglik, 8),
                            num(f.aic, 8),
                            opt(f.ks, 3),
                            opt(f.w2, 3),
                        ]);
                        if best.is_none_or(|(aic, _)| f.aic < aic) {
                            best = Some((f.aic, f.family));
                        }
                        if let Ok(model) = Model::from_params(f.family, &params) {
                            series.push(Series {
                                name: f.family.to_string(),
                                style: Style::Line,
                                color: i,
                                points: curve(&model, lo, hi),
                            });
                        }
                    }
                    FamilyOutcome::Failed { family, error } => {
                        section
                            .failures
                            .push(format!("{} ({family}): {error}", meta.name));
                    }
                }
            }
            kurtosis.push(vec![
                meta.name.clone().into(),
                fit.n.to_string().into(),
                num(fit.zero_fraction, 3),
                opt(fit.moments.excess_kurtosis, 3),
                best.map_or("–".to_string(), |(_, f)| f.to_string()).into(),
            ]);
            let y_range = histogram_range(&series[0].points);
            panels.push(Panel {
                title: meta.name.clone(),
                x: Axis::linear("gradient value ∂L/∂w"),
                y: Axis::log("density"),
                series,
                legend: panels.is_empty().then_some(Legend::Top),
                y_range,
            });
        }
        if panels.is_empty() {
            return Err(section.failures.join("; "));
        }
        let zeros_text = match self.zeros {
            ZeroPolicy::Auto => "Exact zeros are left out of the histograms and fits; their fraction is in the kurtosis table.",
            ZeroPolicy::Drop => "Exact zeros are dropped.",
            ZeroPolicy::Keep => "Exact zeros are kept in the histograms and fits.",
        };
        section.text.push(format!(
            "Histogram of each tensor's values ({} bins, log density axis) with the maximum-likelihood densities of {}. {zeros_text}",
            self.bins,
            self.families.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(", ")
        ));
        section.figures.push(Figure {
            name: "fit_histograms".to_string(),
            caption: format!("Histograms and fitted densities{step_text}, log density axis."),
            width: Width::Full,
            columns: self.columns.min(panels.len()),
            panels,
        });
        fits.notes = notes;
        section.tables.push(kurtosis);
        section.tables.push(fits);
        Ok(section)
    }
}

/// The density on `CURVE_POINTS` points over `[lo, hi]`.
fn curve(model: &Model, lo: f64, hi: f64) -> Vec<(f64, f64)> {
    (0..CURVE_POINTS)
        .map(|i| {
            let x = lo + (hi - lo) * i as f64 / (CURVE_POINTS - 1) as f64;
            (x, model.pdf(x))
        })
        .collect()
}

/// The log-density range that shows the histogram: from a third of its
/// smallest non-empty bin to three times its highest (the fitted tails are
/// cut there instead of stretching the axis by decades).
fn histogram_range(bins: &[(f64, f64)]) -> Option<(f64, f64)> {
    let positive = bins.iter().map(|b| b.1).filter(|d| *d > 0.0);
    let lo = positive.clone().fold(f64::INFINITY, f64::min);
    let hi = positive.fold(0.0, f64::max);
    (lo.is_finite() && hi > 0.0).then(|| (lo / 3.0, hi * 3.0))
}
