//! `kind = "rd"`: each tensor's rate-distortion limit and the quantizers'
//! gaps to it (`analysis::rd_study`): `R(D)` of the fitted density under the
//! M-weighted distortion by Blahut–Arimoto, the Shannon lower bound for
//! M = 0, and every quantizer run on the tensor's non-zero values at each
//! rate, placed at its real coded size.

use serde::Deserialize;

use super::{
    at_step, gennorm, not_run, num, opt, per_tensor, sig, Input, Progress, Section, RATE_TOO_LOW,
};
use crate::figure::{Axis, Figure, Legend, Panel, Series, Style, Width, PALETTE};
use crate::table::{footnoted, Table};
use gradrd_core::analysis::NanPolicy;
use gradrd_core::dist::FamilyKind;
use gradrd_core::fit::LocMode;
use gradrd_core::registry::fit::loc_text;
use gradrd_core::registry::rd::Rd;
use gradrd_core::registry::{self, Analysis, AnalysisError, Silent, Validate};
use gradrd_io::dump::Selected;

/// `kind = "rd"`: the registry's [`registry::rd::RdOptions`] of a tensor's
/// fit (keys as there) and the step; the default rates and quantizers are
/// fewer than the library's, so the figure's palette holds them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RdOptions {
    /// The step whose tensors are studied (default: the last selected).
    pub step: Option<u64>,
    /// Family fitted to the non-zero values: the source of `R(D)`.
    #[serde(default = "gennorm")]
    pub family: FamilyKind,
    /// Location of the fit: `"free"`, `"zero"` or a number.
    #[serde(default = "default_loc", with = "loc_text")]
    pub loc: LocMode,
    /// NaN/Inf: `error` fails the tensor, `omit` leaves them out.
    #[serde(default = "default_nan")]
    pub nan: NanPolicy,
    /// Weight exponent M of the distortion.
    #[serde(default)]
    pub m: f64,
    /// Rates (bits per entry) at which the quantizers run.
    #[serde(default = "default_bits")]
    pub bits: Vec<u32>,
    /// Quantizers placed against the limit (names of `gradrd rd`).
    #[serde(default = "default_quantizers")]
    pub quantizers: Vec<String>,
    /// Seed of the CountSketch hashes.
    #[serde(default)]
    pub seed: u64,
    /// Source cells of the Blahut–Arimoto discretization.
    #[serde(default = "default_cells")]
    pub cells: usize,
    /// Points of the curve and Blahut–Arimoto iterations per point.
    #[serde(default = "default_points")]
    pub points: usize,
    #[serde(default = "default_iterations")]
    pub iterations: usize,
}

fn default_loc() -> LocMode {
    registry::rd::RdOptions::default().loc
}

fn default_nan() -> NanPolicy {
    registry::rd::RdOptions::default().nan
}

fn default_bits() -> Vec<u32> {
    vec![1, 2, 3]
}

fn default_quantizers() -> Vec<String> {
    ["m22", "uniform-opt", "tinyscript", "fp4-e2m1", "topk-fp4"]
        .map(str::to_string)
        .to_vec()
}

fn default_cells() -> usize {
    registry::rd::RdOptions::default().cells
}

fn default_points() -> usize {
    registry::rd::RdOptions::default().points
}

fn default_iterations() -> usize {
    registry::rd::RdOptions::default().iterations
}

/// Colours: the limit, the bound, then one per quantizer.
const CURVE_COLORS: usize = 2;

impl RdOptions {
    /// The registry's `rd` options this entry runs each tensor with.
    fn analysis(&self) -> registry::rd::RdOptions {
        registry::rd::RdOptions {
            family: self.family,
            loc: self.loc,
            nan: self.nan,
            m: self.m,
            bits: self.bits.clone(),
            quantizers: self.quantizers.clone(),
            seed: self.seed,
            cells: self.cells,
            points: self.points,
            iterations: self.iterations,
            ..registry::rd::RdOptions::default()
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        let analysis = self.analysis();
        analysis.validate().map_err(|e| e.to_string())?;
        let kinds = analysis.kinds().map_err(|e| e.to_string())?;
        if kinds.len() + CURVE_COLORS > PALETTE.len() {
            return Err(format!(
                "quantizers: give 1 to {} (the palette's colours less the curves), got {}",
                PALETTE.len() - CURVE_COLORS,
                kinds.len()
            ));
        }
        Ok(())
    }

    pub fn run(&self, input: &Input, progress: Progress) -> Result<Section, String> {
        let analysis = self.analysis();
        let kinds = analysis.kinds().map_err(|e| e.to_string())?;
        let (step, metas) = at_step(input, self.step)?;
        let step_text = step.map_or(String::new(), |s| format!(" at step {s}"));
        let mut section = Section {
            title: format!("Rate-distortion limit{step_text}"),
            ..Section::default()
        };
        let mut table = Table::new(
            "rd_gaps",
            &format!("Quantizers against R(D) of the fitted {} (M = {}){step_text}: real coded bits per entry, distortion, gap to the limit", self.family, self.m),
            &["tensor", "quantizer", "nominal bits", "coded bits", "distortion", "gap (bits)", "gap (dB)"],
        );
        let mut panels = Vec::new();
        let studies = per_tensor(&metas, progress, |meta| {
            let source = Selected::new(input.dump, input.label, vec![meta]);
            Rd::run(&analysis, &source, &mut Silent).map_err(|error| match error {
                AnalysisError::AllFailed(failures) => failures
                    .first()
                    .map_or_else(String::new, |f| f.error.clone()),
                other => other.to_string(),
            })
        });
        for (meta, study) in metas.iter().zip(studies) {
            let study = match study {
                Ok(study) => {
                    if let Some(note) = &study.note {
                        section.text.push(format!("{}: {note}.", meta.name));
                    }
                    study
                }
                Err(error) => {
                    section.failures.push(format!("{}: {error}", meta.name));
                    continue;
                }
            };
            let too_low: Vec<String> = study
                .too_low
                .iter()
                .map(|t| format!("{} at {} bits", t.name, t.bits))
                .collect();
            section
                .text
                .extend(not_run(&meta.name, RATE_TOO_LOW, &too_low));
            for failure in &study.errors {
                section.failures.push(format!(
                    "{} ({} at {} bits): {}",
                    meta.name, failure.name, failure.bits, failure.error
                ));
            }
            let mut series = vec![Series {
                name: "R(D) of the fit".to_string(),
                style: Style::Line,
                color: 0,
                points: study.curve.iter().map(|p| (p.rate, p.distortion)).collect(),
            }];
            if let Some(slb) = &study.slb {
                series.push(Series {
                    name: "Shannon lower bound".to_string(),
                    style: Style::Line,
                    color: 1,
                    points: slb
                        .iter()
                        .filter(|p| p.rate > 0.0)
                        .map(|p| (p.rate, p.distortion))
                        .collect(),
                });
            }
            for (q, kind) in kinds.iter().enumerate() {
                let points: Vec<(f64, f64)> = study
                    .quantizers
                    .iter()
                    .filter(|p| p.result.name == kind.name())
                    .map(|p| (p.result.coded_bits, p.result.distortion))
                    .collect();
                series.push(Series {
                    name: kind.name().to_string(),
                    style: if points.len() == 1 {
                        Style::Points
                    } else {
                        Style::LinePoints
                    },
                    color: CURVE_COLORS + q,
                    points,
                });
            }
            for point in &study.quantizers {
                let r = &point.result;
                let name = match &point.note {
                    Some(note) => {
                        table.notes.push(format!(
                            "{} {} at {} bits: {note}",
                            meta.name,
                            r.name,
                            sig(r.bits, 3)
                        ));
                        footnoted(r.name.clone(), table.notes.len())
                    }
                    None => r.name.clone().into(),
                };
                table.push(vec![
                    meta.name.clone().into(),
                    name,
                    num(r.bits, 3),
                    num(r.coded_bits, 4),
                    num(r.distortion, 4),
                    opt(point.gap_bits, 3),
                    opt(point.gap_db, 3),
                ]);
            }
            panels.push(Panel {
                title: meta.name.clone(),
                x: Axis::linear("rate (bits/entry)"),
                y: Axis::log(if self.m == 0.0 {
                    "MSE"
                } else {
                    "M-weighted distortion"
                }),
                series,
                legend: panels.is_empty().then_some(Legend::Top),
                y_range: None,
            });
        }
        if panels.is_empty() {
            return Err(section.failures.join("; "));
        }
        section.text.push(format!(
            "R(D) of each tensor's fitted {} under d = |x|^M (x − y)², M = {}, by Blahut–Arimoto on {} cells ({} iterations per point; every point is an achievable test channel of the discretized source, so the curve lies on or above the true one){}. Each quantizer runs on the tensor's non-zero values at {:?} bits and sits at its real coded size, side information included; its gap is coded bits − R(distortion). A negative gap means the data are easier to compress than the fitted model says: question the model there, not the quantizer.",
            self.family,
            self.m,
            self.cells,
            self.iterations,
            if self.m == 0.0 { "; the Shannon lower bound h(X) − ½ log2(2πeD) is drawn beside it" } else { "" },
            self.bits
        ));
        section.figures.push(Figure {
            name: "rd".to_string(),
            caption: format!("Rate-distortion limit of the fitted {} and the quantizers{step_text}; lower left is better, nothing achievable lies below the limit of the true source.", self.family),
            width: Width::Full,
            columns: panels.len().min(2),
            panels,
        });
        section.tables.push(table);
        Ok(section)
    }
}
