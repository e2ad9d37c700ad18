//! `kind = "budget"`: the total-error budget studies of `compress::budget`.
//!
//! - **Hard threshold vs top-k at an equal total budget** (Sahu et al.,
//!   NeurIPS 2021): for each top-k fraction, the constant threshold λ whose
//!   replay sends at most as many entries over the run (`threshold_for`),
//!   and the total errors `Σ_t ‖p_t − C(p_t)‖²` of both.
//! - **Per-tensor bit allocation** under a total bit budget (Shoham &
//!   Gersho 1988): operational D(R) curves of each tensor's M-weighted
//!   Lloyd-Max quantizers on the pooled steps (`operational_curve`), the
//!   exact allocation where its table is small enough, else the greedy
//!   hull allocation (`allocate_bits_exact`, `allocate_bits`).

use serde::Deserialize;

use super::{num, per_item, Cell, Input, Progress, Section};
use crate::figure::{Axis, Figure, Legend, Panel, Series, Style, Width};
use crate::table::Table;
use gradrd_core::registry::budget::{Budget, FeedbackKind};
use gradrd_core::registry::{self, Analysis, Silent, Validate};

/// `kind = "budget"`: the registry's [`registry::budget::BudgetOptions`]
/// run once per top-k fraction of `k` (the threshold study, counting
/// entries) and once per rate of `bits_per_entry` (the allocation); the
/// other keys as there.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetOptions {
    /// Top-k fractions whose total spend sets each budget (empty: no threshold study).
    #[serde(default = "default_fractions")]
    pub k: Vec<f64>,
    #[serde(default = "full")]
    pub feedback: FeedbackKind,
    /// Memory decay γ of `feedback = "decay"`.
    #[serde(default = "default_gamma")]
    pub gamma: f64,
    /// Average bits per entry of each allocation (empty: no allocation study).
    #[serde(default = "default_bits")]
    pub bits_per_entry: Vec<u32>,
    /// Highest rate of the D(R) curves.
    #[serde(default = "default_max_bits")]
    pub max_bits: u32,
    /// Weight exponent of the allocation's distortion.
    #[serde(default)]
    pub m: f64,
}

fn default_fractions() -> Vec<f64> {
    vec![0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
}

fn full() -> FeedbackKind {
    registry::budget::BudgetOptions::default().feedback
}

fn default_gamma() -> f64 {
    registry::budget::BudgetOptions::default().gamma
}

fn default_bits() -> Vec<u32> {
    vec![1, 2, 3, 4]
}

fn default_max_bits() -> u32 {
    6
}

impl BudgetOptions {
    /// The registry's options of one threshold study (`k`) or allocation
    /// (`bits_per_entry`).
    fn analysis(
        &self,
        k: Option<f64>,
        bits_per_entry: Option<u32>,
    ) -> registry::budget::BudgetOptions {
        registry::budget::BudgetOptions {
            k,
            feedback: self.feedback,
            gamma: self.gamma,
            bits_per_entry,
            max_bits: self.max_bits,
            m: self.m,
            ..registry::budget::BudgetOptions::default()
        }
    }

    /// Every run of the entry: one per fraction, then one per rate.
    fn analyses(&self) -> Vec<registry::budget::BudgetOptions> {
        let studies = self.k.iter().map(|&k| self.analysis(Some(k), None));
        let allocations = self
            .bits_per_entry
            .iter()
            .map(|&b| self.analysis(None, Some(b)));
        studies.chain(allocations).collect()
    }

    pub fn validate(&self) -> Result<(), String> {
        let analyses = self.analyses();
        if analyses.is_empty() {
            return Err(
                "k, bits_per_entry: give a threshold study, an allocation, or both".to_string(),
            );
        }
        for options in analyses {
            options.validate().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    pub fn run(&self, input: &Input, progress: Progress) -> Result<Section, String> {
        let mut section = Section {
            title: "Total-error budgets".to_string(),
            ..Section::default()
        };
        if !self.k.is_empty() {
            let mut table = Table::new(
                "threshold_vs_topk",
                "Hard threshold vs top-k at an equal total budget of entries: total error Σ_t ‖p_t − C(p_t)‖²",
                &["k", "budget (entries)", "top-k error", "λ", "threshold sent", "threshold error", "ratio"],
            );
            let (mut topk_points, mut threshold_points) = (Vec::new(), Vec::new());
            let outputs = per_item(
                &self.k,
                progress,
                |k| format!("threshold at k = {k}"),
                |&k| Budget::run(&self.analysis(Some(k), None), input.source, &mut Silent),
            );
            for output in outputs {
                let output = output.map_err(|e| e.to_string())?;
                let entries = (output.entries_per_step * output.steps) as f64;
                let s = output.sparsity.expect("k is set");
                table.push(vec![
                    num(s.k, 3),
                    s.budget_entries.to_string().into(),
                    num(s.topk.total_error, 4),
                    num(s.threshold.lambda, 4),
                    s.threshold.sent.to_string().into(),
                    num(s.threshold.total_error, 4),
                    num(s.error_ratio, 3),
                ]);
                topk_points.push((s.topk.sent as f64 / entries, s.topk.total_error));
                threshold_points.push((s.threshold.sent as f64 / entries, s.threshold.total_error));
            }
            section.text.push(format!(
                "Top-k (per tensor, {} feedback) against one constant hard threshold λ over the whole run that sends at most the same total number of entries: the threshold spends the budget where the gradients are large.",
                format!("{:?}", self.feedback).to_lowercase()
            ));
            section.figures.push(Figure {
                name: "threshold_vs_topk".to_string(),
                caption: "Total error against the fraction of all entries sent over the run."
                    .to_string(),
                width: Width::Column,
                columns: 1,
                panels: vec![Panel {
                    title: String::new(),
                    x: Axis::log("fraction of entries sent"),
                    y: Axis::log("total error Σ‖p − C(p)‖²"),
                    series: vec![
                        Series {
                            name: "top-k".to_string(),
                            style: Style::LinePoints,
                            color: 0,
                            points: topk_points,
                        },
                        Series {
                            name: "hard threshold".to_string(),
                            style: Style::LinePoints,
                            color: 1,
                            points: threshold_points,
                        },
                    ],
                    legend: Some(Legend::LowerLeft),
                    y_range: None,
                }],
            });
            section.tables.push(table);
        }
        if !self.bits_per_entry.is_empty() {
            let mut allocations = Vec::new();
            for &bits in &self.bits_per_entry {
                progress(&format!("bit allocation at {bits} bits/entry"));
                let output =
                    Budget::run(&self.analysis(None, Some(bits)), input.source, &mut Silent)
                        .map_err(|e| e.to_string())?;
                allocations.push((
                    output.steps,
                    output.allocation.expect("bits_per_entry is set"),
                ));
            }
            let (steps, first) = &allocations[0];
            let mut headers = vec!["tensor".to_string(), "entries".to_string()];
            headers.extend(
                self.bits_per_entry
                    .iter()
                    .map(|b| format!("{b} bits/entry")),
            );
            let mut table = Table {
                name: "bit_allocation".to_string(),
                caption: format!("Bits per entry allocated to each tensor under an average budget (M = {}); last rows: total distortion Σ n·D and its gain over equal bits", self.m),
                headers,
                rows: first.tensors.iter().map(|t| vec![t.tensor.clone().into(), t.n.to_string().into()]).collect(),
                notes: Vec::new(),
            };
            let (mut total_row, mut gain_row) = (
                vec![Cell::from("Σ n·D"), Cell::from("")],
                vec![Cell::from("gain over equal (dB)"), Cell::from("")],
            );
            let mut series = Vec::new();
            for (b, (_, allocation)) in allocations.iter().enumerate() {
                for (row, a) in table.rows.iter_mut().zip(&allocation.tensors) {
                    row.push(a.bits.to_string().into());
                }
                total_row.push(num(allocation.total_distortion, 4));
                gain_row.push(num(allocation.gain_db, 3));
                series.push(Series {
                    name: format!("B = {}", allocation.bits_per_entry),
                    style: Style::LinePoints,
                    color: b,
                    points: allocation
                        .tensors
                        .iter()
                        .enumerate()
                        .map(|(i, a)| (i as f64, f64::from(a.bits)))
                        .collect(),
                });
            }
            table.rows.push(total_row);
            table.rows.push(gain_row);
            section.text.push(format!(
                "Bit allocation: the operational D(R) curve of each tensor (M-weighted Lloyd-Max on its values pooled over {} steps, R = 0..{}), and the allocation minimizing Σ n_i D_i(R_i) under Σ n_i R_i ≤ budget.",
                steps,
                self.max_bits
            ));
            section.figures.push(Figure {
                name: "bit_allocation".to_string(),
                caption: format!(
                    "Bits per entry allocated to each tensor (0 = {}).",
                    first.tensors[0].tensor
                ),
                width: Width::Column,
                columns: 1,
                panels: vec![Panel {
                    title: String::new(),
                    x: Axis::index("tensor (index)"),
                    y: Axis::linear("allocated bits/entry"),
                    series,
                    legend: Some(Legend::Top),
                    y_range: None,
                }],
            });
            section.tables.push(table);
        }
        Ok(section)
    }
}
