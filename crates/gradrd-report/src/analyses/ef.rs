//! `kind = "ef"`: error feedback over the recorded step sequence — each
//! tensor's gradient is compressed by top-k at every step, with or without
//! the error-feedback memory `e_{t+1} = p_t − C(p_t)`, `p_t = g_t + e_t`
//! (Seide et al. 2014; Karimireddy et al., ICML 2019), replayed by
//! `compress::Run`: per-step compression error ‖p − C(p)‖² and residual ‖e‖.
//! Bits count the values at the tensors' stored width and the reduction is
//! against FedAvg at that width (`compress::bits`).

use serde::Deserialize;

use super::{num, read_sequence, sig, Input, Progress, Section};
use crate::figure::{Axis, Figure, Legend, Panel, Series, Style, Width};
use crate::table::ReportTable;
use gradrd_core::compress::bits::{full_precision_bits, widest};
use gradrd_core::compress::{BitModel, Compressor, Feedback, PositionCoding, Run, Scope};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EfOptions {
    /// Top-k fractions of entries sent per step.
    #[serde(default = "default_fractions")]
    pub k: Vec<f64>,
    /// Feedback variants replayed for each fraction.
    #[serde(default = "default_feedback")]
    pub feedback: Vec<FeedbackOption>,
}

/// The feedback of a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedbackOption {
    None,
    Full,
}

impl FeedbackOption {
    pub(crate) fn feedback(self) -> Feedback {
        match self {
            FeedbackOption::None => Feedback::None,
            FeedbackOption::Full => Feedback::Full,
        }
    }
}

fn default_fractions() -> Vec<f64> {
    vec![0.01, 0.1]
}

fn default_feedback() -> Vec<FeedbackOption> {
    vec![FeedbackOption::None, FeedbackOption::Full]
}

/// A fraction of entries in (0, 1], checked for every option that takes one.
fn check_fractions(key: &str, fractions: &[f64]) -> Result<(), String> {
    if fractions.is_empty() {
        return Err(format!("{key}: give at least one fraction"));
    }
    match fractions.iter().find(|k| !(**k > 0.0 && **k <= 1.0)) {
        Some(k) => Err(format!("{key}: each fraction must be in (0, 1], got {k}")),
        None => Ok(()),
    }
}

impl EfOptions {
    pub fn validate(&self) -> Result<(), String> {
        check_fractions("k", &self.k)?;
        if self.feedback.is_empty() {
            return Err("feedback: name at least one of none, full".to_string());
        }
        Ok(())
    }

    pub fn run(&self, input: &Input, progress: Progress) -> Result<Section, String> {
        let (sequence, steps) = read_sequence(input)?;
        let step_numbers: Vec<f64> = sequence.steps.iter().map(|(s, _)| *s as f64).collect();
        let widths = sequence.stored_bits();
        let bits = BitModel {
            positions: PositionCoding::Index,
            value_bits: widest(&widths),
        };
        let full_precision = full_precision_bits(&sequence.sizes, &widths) * steps.len() as f64;
        let per_entry =
            full_precision / (sequence.sizes.iter().sum::<usize>() * steps.len()) as f64;
        let mut table = ReportTable::new(
            "ef",
            &format!("Top-k replays over the recorded steps: entries and bits sent (values at {} bits), reduction against full precision at the stored width ({} bits/entry), total error Σ_t ‖p_t − C(p_t)‖², final residual ‖e_T‖", sig(bits.value_bits, 3), sig(per_entry, 4)),
            &["k", "feedback", "entries sent", "bits", "reduction", "total error", "final residual"],
        );
        let (mut error_series, mut residual_series) = (Vec::new(), Vec::new());
        for &k in &self.k {
            for &feedback in &self.feedback {
                let name = format!(
                    "k={} {}",
                    sig(k, 2),
                    match feedback {
                        FeedbackOption::None => "no EF",
                        FeedbackOption::Full => "EF",
                    }
                );
                progress(&name);
                let mut run = Run::new(
                    &sequence.sizes,
                    Scope::PerTensor,
                    |_, _| Compressor::TopK { fraction: k },
                    feedback.feedback(),
                    bits,
                    0,
                )
                .map_err(|e| e.to_string())?;
                let (mut errors, mut residuals) = (Vec::new(), Vec::new());
                for (gradients, &step) in steps.iter().zip(&step_numbers) {
                    let outcome = run.step(gradients).map_err(|e| {
                        format!(
                            "tensor '{}' (step {step}): {}",
                            sequence.names[e.tensor.min(sequence.names.len() - 1)],
                            e.error
                        )
                    })?;
                    errors.push((step, outcome.error_sq));
                    residuals.push((step, outcome.residual_sq.sqrt()));
                }
                let totals = run.totals();
                table.push(vec![
                    num(k, 3),
                    format!("{feedback:?}").to_lowercase().into(),
                    totals.sent.to_string().into(),
                    num(totals.bits, 6),
                    num(full_precision / totals.bits, 4),
                    num(totals.total_error, 4),
                    num(totals.residual_sq.sqrt(), 4),
                ]);
                let color = error_series.len();
                error_series.push(Series {
                    name: name.clone(),
                    style: Style::LinePoints,
                    color,
                    points: errors,
                });
                residual_series.push(Series {
                    name,
                    style: Style::LinePoints,
                    color,
                    points: residuals,
                });
            }
        }
        let mut section = Section {
            title: "Error feedback".to_string(),
            ..Section::default()
        };
        section.text.push(format!(
            "Per-tensor top-k over {} recorded steps of {} tensors ({} entries per step). With error feedback the unsent part is carried to the next step, so the per-step error stays bounded while nothing is lost for good.",
            steps.len(),
            sequence.names.len(),
            sequence.sizes.iter().sum::<usize>()
        ));
        section.figures.push(Figure {
            name: "ef".to_string(),
            caption: "Compression error ‖p_t − C(p_t)‖² per step and the residual norm ‖e_t‖ of the feedback memory.".to_string(),
            width: Width::Full,
            columns: 2,
            panels: vec![
                Panel {
                    title: "compression error".to_string(),
                    x: Axis::linear("training step"),
                    y: Axis::log("‖p − C(p)‖²"),
                    series: error_series,
                    legend: Some(Legend::Top),
                    y_range: None,
                },
                Panel {
                    title: "feedback memory".to_string(),
                    x: Axis::linear("training step"),
                    y: Axis::log("‖e‖"),
                    series: residual_series,
                    legend: None,
                    y_range: None,
                },
            ],
        });
        section.tables.push(table);
        Ok(section)
    }
}
