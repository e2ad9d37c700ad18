//! `kind = "ef"`: error feedback over the recorded step sequence — each
//! tensor's gradient is compressed by top-k at every step, with or without
//! the error-feedback memory `e_{t+1} = p_t − C(p_t)`, `p_t = g_t + e_t`
//! (Seide et al. 2014; Karimireddy et al., ICML 2019): one
//! [`registry::ef::Ef`] replay (`gradrd ef`) per fraction and feedback, with
//! per-step compression error ‖p − C(p)‖² and residual ‖e‖. Bits count the
//! values at the tensors' stored width and the reduction is against FedAvg
//! at that width (`compress::bits`).

use serde::Deserialize;

use super::{num, per_item, sig, Input, Progress, Section};
use crate::figure::{Axis, Figure, Legend, Panel, Series, Style, Width};
use crate::table::Table;
use gradrd_core::registry::compression::{CompressionOptions, FeedbackKind};
use gradrd_core::registry::ef::Ef;
use gradrd_core::registry::{self, Analysis, Silent, Validate};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EfOptions {
    /// Top-k fractions of entries sent per step.
    #[serde(default = "default_fractions")]
    pub k: Vec<f64>,
    /// Feedback variants replayed for each fraction.
    #[serde(default = "default_feedback")]
    pub feedback: Vec<FeedbackKind>,
    /// Memory decay γ of `feedback = "decay"`.
    #[serde(default = "default_gamma")]
    pub gamma: f64,
}

fn default_fractions() -> Vec<f64> {
    vec![0.01, 0.1]
}

fn default_feedback() -> Vec<FeedbackKind> {
    vec![FeedbackKind::None, FeedbackKind::Full]
}

fn default_gamma() -> f64 {
    CompressionOptions::default().gamma
}

/// The legend name of a replay.
fn label(k: f64, feedback: FeedbackKind, gamma: f64) -> String {
    let memory = match feedback {
        FeedbackKind::None => "no EF".to_string(),
        FeedbackKind::Full => "EF".to_string(),
        FeedbackKind::Decay => format!("EF γ={}", sig(gamma, 2)),
    };
    format!("k={} {memory}", sig(k, 2))
}

impl EfOptions {
    /// The registry's options of every replay: one per fraction and feedback.
    fn replays(&self) -> Vec<registry::ef::EfOptions> {
        self.k
            .iter()
            .flat_map(|&k| {
                self.feedback
                    .iter()
                    .map(move |&feedback| CompressionOptions {
                        k,
                        feedback,
                        gamma: self.gamma,
                        ..CompressionOptions::default()
                    })
            })
            .collect()
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.k.is_empty() {
            return Err("k: give at least one fraction".to_string());
        }
        if self.feedback.is_empty() {
            return Err("feedback: name at least one of none, full, decay".to_string());
        }
        for options in self.replays() {
            options.validate().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    pub fn run(&self, input: &Input, progress: Progress) -> Result<Section, String> {
        let replays = self.replays();
        let outputs = per_item(
            &replays,
            progress,
            |o| label(o.k, o.feedback, o.gamma),
            |o| Ef::run(o, input.source, &mut Silent),
        );
        let outputs = outputs
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        let first = &outputs[0];
        let mut table = Table::new(
            "ef",
            &format!("Top-k replays over the recorded steps: entries and bits sent (values at {} bits), reduction against full precision at the stored width ({} bits/entry), total error Σ_t ‖p_t − C(p_t)‖², final residual ‖e_T‖", sig(first.value_bits, 3), sig(first.full_precision_bits_per_entry, 4)),
            &["k", "feedback", "entries sent", "bits", "reduction", "total error", "final residual"],
        );
        let (mut error_series, mut residual_series) = (Vec::new(), Vec::new());
        for (options, output) in replays.iter().zip(&outputs) {
            table.push(vec![
                num(options.k, 3),
                output.feedback.to_string().into(),
                output.total_sent.to_string().into(),
                num(output.total_bits, 6),
                num(output.reduction, 4),
                num(output.total_error, 4),
                num(output.final_residual_norm, 4),
            ]);
            let color = error_series.len();
            let name = label(options.k, options.feedback, options.gamma);
            let points = |value: fn(&registry::ef::StepRow) -> f64| {
                output
                    .steps
                    .iter()
                    .map(|row| (row.step as f64, value(row)))
                    .collect()
            };
            error_series.push(Series {
                name: name.clone(),
                style: Style::LinePoints,
                color,
                points: points(|row| row.error_sq),
            });
            residual_series.push(Series {
                name,
                style: Style::LinePoints,
                color,
                points: points(|row| row.residual_norm),
            });
        }
        let steps = first.steps.len();
        let entries_per_step = first.total_entries / steps.max(1) as u64;
        let mut section = Section {
            title: "Error feedback".to_string(),
            ..Section::default()
        };
        section.text.push(format!(
            "Per-tensor top-k over {} recorded steps of {} tensors ({} entries per step). With error feedback the unsent part is carried to the next step, so the per-step error stays bounded while nothing is lost for good.",
            steps,
            first.tensors.len(),
            entries_per_step
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
