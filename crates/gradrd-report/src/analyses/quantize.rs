//! `kind = "quantize"`: the M22 quantizer on recorded tensors.
//!
//! - **M sweep**: the M-weighted Lloyd-Max codebook (`quant::lloyd`) designed
//!   on each tensor's fitted density for weight exponents M, applied to the
//!   tensor: MSE and the real entropy-coded size (`quant::coding`) per M.
//! - **Quantizer comparison at matched rates**: the designed codebook
//!   (`m22`) against the baselines of `quant::baseline::evaluate` — uniform,
//!   INT8, FP8, FP4, top-k + float, CountSketch, TinyScript-style — as
//!   (coded bits per entry, MSE) points.
//!
//! The codebooks are designed for the tensor as sent (`quant::tensor`): an
//! unsound fit falls back to Lloyd-Max on the values, the zero level is
//! reserved when it lowers the MSE, and a footnote says so; every quantizer
//! whose MSE exceeds the tensor's mean square (worse than sending zeros) is
//! footnoted too.

use serde::Deserialize;

use super::{
    at_step, baseline_kinds, gennorm, not_run, num, per_tensor, sig, Cell, Input, Progress,
    Section, RATE_TOO_LOW,
};
use crate::figure::{Axis, Figure, Legend, Panel, Series, Style, Width, PALETTE};
use crate::table::{footnoted, Table};
use gradrd_core::analysis::{prepare, NanPolicy, ZeroPolicy};
use gradrd_core::dist::FamilyKind;
use gradrd_core::fit::{fit, FitOptions};
use gradrd_core::quant::baseline::{evaluate, BaselineKind, BaselineOptions, BaselineResult};
use gradrd_core::quant::tensor::{design_for_tensor, FittedModel, ZeroLevel};
use gradrd_core::quant::{levels_from_bits, Codebook, LloydOptions, QuantError};
use gradrd_io::dump::TensorMeta;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantizeOptions {
    /// The step whose tensors are quantized (default: the last selected).
    pub step: Option<u64>,
    /// Family fitted to the non-zero values, on which the codebooks are designed.
    #[serde(default = "gennorm")]
    pub family: FamilyKind,
    /// Weight exponents of the M sweep (empty: no sweep).
    #[serde(default = "default_m")]
    pub m: Vec<f64>,
    /// Bits per index of the M sweep's codebooks.
    #[serde(default = "default_sweep_bits")]
    pub sweep_bits: u32,
    /// Rates (bits per entry) of the comparison (empty: no comparison).
    #[serde(default = "default_rates")]
    pub rates: Vec<u32>,
    /// Quantizers compared (names of `gradrd rd` / `quant::baseline`).
    #[serde(default = "default_quantizers")]
    pub quantizers: Vec<String>,
    /// Weight exponent of the m22 codebook in the comparison.
    #[serde(default)]
    pub compare_m: f64,
    /// Seed of the CountSketch hashes.
    #[serde(default)]
    pub seed: u64,
}

/// Why a quantizer gave no point at a rate.
enum Unrun {
    /// The rate cannot pay for the scheme's side information here.
    RateTooLow,
    /// The tensor has fewer distinct values than the design's levels.
    TooFewDistinct,
    Failed,
}

impl Unrun {
    fn of_design(error: &QuantError) -> Unrun {
        match error {
            QuantError::TooFewDistinct { .. } => Unrun::TooFewDistinct,
            _ => Unrun::Failed,
        }
    }
}

/// A quantizer's point, or why it has none.
type Outcome = Result<(BaselineResult, Option<String>), (Unrun, String)>;

/// What was run on one tensor (see [`QuantizeOptions::runs_on`]).
struct TensorRuns {
    /// Mean square of the tensor as sent (the MSE of sending zeros).
    power: f64,
    /// One outcome per M of the sweep.
    sweep: Vec<Outcome>,
    /// Per quantizer, `(rate, outcome)` per rate.
    compare: Vec<Vec<(u32, Outcome)>>,
}

fn default_m() -> Vec<f64> {
    vec![0.0, 0.5, 1.0, 1.5, 2.0, 3.0]
}

fn default_sweep_bits() -> u32 {
    3
}

fn default_rates() -> Vec<u32> {
    vec![1, 2, 3, 4, 6, 8]
}

fn default_quantizers() -> Vec<String> {
    [
        "m22",
        "uniform-opt",
        "fp8-e4m3",
        "fp4-e2m1",
        "topk-fp8",
        "countsketch",
        "tinyscript",
    ]
    .map(str::to_string)
    .to_vec()
}

impl QuantizeOptions {
    fn kinds(&self) -> Result<Vec<BaselineKind>, String> {
        baseline_kinds(&self.quantizers)
    }

    pub fn validate(&self) -> Result<(), String> {
        self.kinds()?;
        if self.quantizers.len() > PALETTE.len() {
            return Err(format!(
                "quantizers: at most {} (the colour-blind-safe palette's colours), got {}",
                PALETTE.len(),
                self.quantizers.len()
            ));
        }
        if self.m.is_empty() && self.rates.is_empty() {
            return Err("m, rates: give an M sweep, a comparison, or both".to_string());
        }
        if let Some(m) = self
            .m
            .iter()
            .find(|m| !(m.is_finite() && **m >= 0.0 && **m <= 8.0))
        {
            return Err(format!("m: each must be in [0, 8], got {m}"));
        }
        if let Some(r) = self
            .rates
            .iter()
            .chain([&self.sweep_bits])
            .find(|r| !(1..=12).contains(*r))
        {
            return Err(format!("rates, sweep_bits: bits must be 1..=12, got {r}"));
        }
        if !(self.compare_m.is_finite() && (0.0..=8.0).contains(&self.compare_m)) {
            return Err(format!(
                "compare_m: must be in [0, 8], got {}",
                self.compare_m
            ));
        }
        Ok(())
    }

    /// Every design and evaluation on one tensor: the M sweep (one result
    /// per M) and the comparison (per quantizer, per rate).
    fn runs_on(
        &self,
        input: &Input,
        meta: &TensorMeta,
        kinds: &[BaselineKind],
    ) -> Result<TensorRuns, String> {
        let values = input.dump.read(meta).map_err(|e| e.to_string())?;
        let nonzero = prepare(values.clone(), ZeroPolicy::Drop, NanPolicy::Error)
            .map_err(|e| e.to_string())?
            .values;
        let model = fit(self.family, &nonzero, &FitOptions::default())
            .map_err(|e| format!("{} fit: {e}", self.family))?
            .model;
        let model = FittedModel::judged(model, &nonzero);
        let power = values.iter().map(|x| x * x).sum::<f64>() / values.len().max(1) as f64;
        // the codebook and its note (an unsound fit, the zero level)
        let design = |bits: u32, m: f64| -> Result<(Codebook, Option<String>), (Unrun, String)> {
            let levels = levels_from_bits(bits).map_err(|e| (Unrun::Failed, e.to_string()))?;
            let designed = design_for_tensor(
                Some(&model),
                &nonzero,
                &values,
                levels,
                m,
                ZeroLevel::Auto,
                &LloydOptions::default(),
            )
            .map_err(|e| (Unrun::of_design(&e), e.to_string()))?;
            Ok((designed.design.codebook, designed.note))
        };
        let run = |kind: BaselineKind, rate: u32, m: f64, codebook: Option<Codebook>| {
            let options = BaselineOptions {
                rate: f64::from(rate),
                m,
                seed: self.seed,
                codebook,
                ..BaselineOptions::default()
            };
            evaluate(kind, &values, &options)
                .map(|e| e.result)
                .map_err(|e| {
                    let kind = if e.is_rate_too_low() {
                        Unrun::RateTooLow
                    } else {
                        Unrun::Failed
                    };
                    (kind, e.to_string())
                })
        };
        let sweep = self
            .m
            .iter()
            .map(|&m| {
                design(self.sweep_bits, m).and_then(|(c, note)| {
                    run(BaselineKind::M22, self.sweep_bits, m, Some(c)).map(|r| (r, note))
                })
            })
            .collect();
        let compare = kinds
            .iter()
            .map(|&kind| {
                let rates: Vec<u32> = match kind.fixed_width() {
                    Some(width) => vec![width],
                    None => self.rates.clone(),
                };
                rates
                    .into_iter()
                    .map(|rate| {
                        let result = if kind == BaselineKind::M22 {
                            design(rate, self.compare_m).and_then(|(c, note)| {
                                run(kind, rate, 0.0, Some(c)).map(|r| (r, note))
                            })
                        } else {
                            run(kind, rate, 0.0, None).map(|r| (r, None))
                        };
                        (rate, result)
                    })
                    .collect()
            })
            .collect();
        Ok(TensorRuns {
            power,
            sweep,
            compare,
        })
    }

    pub fn run(&self, input: &Input, progress: Progress) -> Result<Section, String> {
        let kinds = self.kinds()?;
        let (step, metas) = at_step(input, self.step)?;
        let step_text = step.map_or(String::new(), |s| format!(" at step {s}"));
        let mut section = Section {
            title: format!("Quantizers{step_text}"),
            ..Section::default()
        };
        let mut sweep_table = Table::new(
            "m_sweep",
            &format!("M sweep: {}-bit M-weighted Lloyd-Max codebooks on the fitted {}, applied to the tensor{step_text}", self.sweep_bits, self.family),
            &["tensor", "M", "MSE", "d_M", "entropy (bits/entry)", "coded (bits/entry)"],
        );
        let mut compare_table = Table::new(
            "quantizers",
            &format!("Quantizers at matched rates{step_text}: nominal and real coded bits per entry (side information included), MSE"),
            &["tensor", "quantizer", "rate", "nominal bits", "coded bits", "MSE"],
        );
        let (mut sweep_mse, mut sweep_bits, mut compare_panels) =
            (Vec::new(), Vec::new(), Vec::new());
        let runs = per_tensor(&metas, progress, |meta| self.runs_on(input, meta, &kinds));
        for (t, (meta, runs)) in metas.iter().zip(runs).enumerate() {
            let runs = match runs {
                Ok(runs) => runs,
                Err(error) => {
                    section.failures.push(format!("{}: {error}", meta.name));
                    continue;
                }
            };
            let power = runs.power;
            // the quantizer cell, footnoted with the design's note and when
            // the quantizer is worse than sending zeros
            let label = |table: &mut Table, name: String, note: Option<String>, mse: f64| {
                let worse = (mse > power)
                    .then(|| format!("nmse {}: worse than sending zeros", sig(mse / power, 3)));
                let text: Vec<String> = note.into_iter().chain(worse).collect();
                if text.is_empty() {
                    return Cell::from(name);
                }
                let whose = if name == meta.name {
                    name.clone()
                } else {
                    format!("{}, {name}", meta.name)
                };
                table.notes.push(format!("{whose}: {}", text.join("; ")));
                footnoted(name, table.notes.len())
            };
            let (mut mse_points, mut bit_points) = (Vec::new(), Vec::new());
            for (&m, sweep) in self.m.iter().zip(runs.sweep) {
                match sweep {
                    Ok((r, note)) => {
                        let name = label(&mut sweep_table, meta.name.clone(), note, r.mse);
                        sweep_table.push(vec![
                            name,
                            num(m, 3),
                            num(r.mse, 4),
                            num(r.distortion, 4),
                            num(r.entropy_bits, 4),
                            num(r.coded_bits, 4),
                        ]);
                        mse_points.push((m, r.mse));
                        bit_points.push((m, r.coded_bits));
                    }
                    Err((Unrun::TooFewDistinct, error)) => section
                        .text
                        .push(format!("{} (M = {m}): no point, {error}.", meta.name)),
                    Err((_, error)) => section
                        .failures
                        .push(format!("{} (M = {m}): {error}", meta.name)),
                }
            }
            let series = |points| Series {
                name: meta.name.clone(),
                style: Style::LinePoints,
                color: t,
                points,
            };
            sweep_mse.push(series(mse_points));
            sweep_bits.push(series(bit_points));
            let mut compare_series = Vec::new();
            let (mut too_low, mut too_few) = (Vec::new(), Vec::new());
            for (q, (&kind, at_rates)) in kinds.iter().zip(runs.compare).enumerate() {
                let mut points = Vec::new();
                for (rate, result) in at_rates {
                    match result {
                        Ok((r, note)) => {
                            let name =
                                label(&mut compare_table, kind.name().to_string(), note, r.mse);
                            compare_table.push(vec![
                                meta.name.clone().into(),
                                name,
                                rate.to_string().into(),
                                num(r.bits, 4),
                                num(r.coded_bits, 4),
                                num(r.mse, 4),
                            ]);
                            points.push((r.coded_bits, r.mse));
                        }
                        // A rate too low for a scheme's side information is no point on its curve.
                        Err((Unrun::RateTooLow, _)) => {
                            too_low.push(format!("{kind} at {rate} bits"))
                        }
                        Err((Unrun::TooFewDistinct, _)) => {
                            too_few.push(format!("{kind} at {rate} bits"))
                        }
                        Err((Unrun::Failed, error)) => section
                            .failures
                            .push(format!("{} ({kind} at {rate} bits): {error}", meta.name)),
                    }
                }
                compare_series.push(Series {
                    name: kind.name().to_string(),
                    style: if points.len() == 1 {
                        Style::Points
                    } else {
                        Style::LinePoints
                    },
                    color: q,
                    points,
                });
            }
            section
                .text
                .extend(not_run(&meta.name, RATE_TOO_LOW, &too_low));
            section.text.extend(not_run(
                &meta.name,
                "fewer distinct values than the levels",
                &too_few,
            ));
            compare_panels.push(Panel {
                title: meta.name.clone(),
                x: Axis::log("coded rate (bits/entry)"),
                y: Axis::log("MSE"),
                series: compare_series,
                legend: compare_panels.is_empty().then_some(Legend::Top),
                y_range: None,
            });
        }
        if compare_panels.is_empty() {
            return Err(section.failures.join("; "));
        }
        if !self.m.is_empty() {
            section.text.push(format!(
                "M sweep: codebooks with 2^{} levels minimizing E|X|^M (X − Q(X))² under the fitted {} (M = 0 is Lloyd-Max for MSE); a larger M moves levels outwards, trading MSE on the bulk for accuracy on the large entries. The coded size is the real ANS stream with its header and the codebook.",
                self.sweep_bits, self.family
            ));
            section.figures.push(Figure {
                name: "m_sweep".to_string(),
                caption: format!("M sweep, {}-bit codebooks{step_text}: MSE on the tensor and coded bits per entry.", self.sweep_bits),
                width: Width::Full,
                columns: 2,
                panels: vec![
                    Panel {
                        title: "distortion".to_string(),
                        x: Axis::linear("weight exponent M"),
                        y: Axis::log("MSE"),
                        series: sweep_mse,
                        legend: Some(Legend::Top),
                        y_range: None,
                    },
                    Panel {
                        title: "rate".to_string(),
                        x: Axis::linear("weight exponent M"),
                        y: Axis::linear("coded rate (bits/entry)"),
                        series: sweep_bits,
                        legend: None,
                        y_range: None,
                    },
                ],
            });
            section.tables.push(sweep_table);
        }
        if !self.rates.is_empty() {
            section.text.push(format!(
                "Comparison at rates {:?} bits per entry (m22: M = {} codebook on the fitted {}; FP8/FP4/INT8 have their own width). Each point is (real coded size with side information, MSE); lower left is better.",
                self.rates, self.compare_m, self.family
            ));
            section.figures.push(Figure {
                name: "quantizers".to_string(),
                caption: format!(
                    "Quantizers at matched rates{step_text}: MSE against the real coded size."
                ),
                width: Width::Full,
                columns: compare_panels.len().min(3),
                panels: compare_panels,
            });
            section.tables.push(compare_table);
        }
        Ok(section)
    }
}
