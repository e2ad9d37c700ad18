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

use super::ef::{check_fractions, FeedbackOption};
use super::{num, per_item, read_sequence, Cell, Input, Progress, Section};
use crate::figure::{Axis, Figure, Legend, Panel, Series, Style, Width};
use crate::table::ReportTable;
use gradrd_core::compress::bits::widest;
use gradrd_core::compress::budget::{
    allocate_bits, allocate_bits_exact, pooled_curves, threshold_for, Budget,
};
use gradrd_core::compress::{replay_totals, BitModel, Compressor, PositionCoding, Scope};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetOptions {
    /// Top-k fractions whose total spend sets each budget (empty: no threshold study).
    #[serde(default = "default_fractions")]
    pub k: Vec<f64>,
    #[serde(default = "full")]
    pub feedback: FeedbackOption,
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

fn full() -> FeedbackOption {
    FeedbackOption::Full
}

fn default_bits() -> Vec<u32> {
    vec![1, 2, 3, 4]
}

fn default_max_bits() -> u32 {
    6
}

impl BudgetOptions {
    pub fn validate(&self) -> Result<(), String> {
        if self.k.is_empty() && self.bits_per_entry.is_empty() {
            return Err(
                "k, bits_per_entry: give a threshold study, an allocation, or both".to_string(),
            );
        }
        if !self.k.is_empty() {
            check_fractions("k", &self.k)?;
        }
        if !(1..=12).contains(&self.max_bits) {
            return Err(format!("max_bits: must be 1..=12, got {}", self.max_bits));
        }
        if let Some(b) = self
            .bits_per_entry
            .iter()
            .find(|b| !(1..=self.max_bits).contains(*b))
        {
            return Err(format!(
                "bits_per_entry: each must be 1..=max_bits ({}), got {b}",
                self.max_bits
            ));
        }
        if !(self.m.is_finite() && (0.0..=8.0).contains(&self.m)) {
            return Err(format!("m: must be in [0, 8], got {}", self.m));
        }
        Ok(())
    }

    pub fn run(&self, input: &Input, progress: Progress) -> Result<Section, String> {
        let (sequence, steps) = read_sequence(input)?;
        let named = |e: gradrd_core::compress::RunError| {
            format!(
                "tensor '{}': {}",
                sequence.names.get(e.tensor).map_or("?", String::as_str),
                e.error
            )
        };
        let entries = (sequence.sizes.iter().sum::<usize>() * steps.len()) as f64;
        let mut section = Section {
            title: "Total-error budgets".to_string(),
            ..Section::default()
        };
        if !self.k.is_empty() {
            let bits = BitModel {
                positions: PositionCoding::Index,
                value_bits: widest(&sequence.stored_bits()),
            };
            let feedback = self.feedback.feedback();
            let mut table = ReportTable::new(
                "threshold_vs_topk",
                "Hard threshold vs top-k at an equal total budget of entries: total error Σ_t ‖p_t − C(p_t)‖²",
                &["k", "budget (entries)", "top-k error", "λ", "threshold sent", "threshold error", "ratio"],
            );
            let (mut topk_points, mut threshold_points) = (Vec::new(), Vec::new());
            let searches = per_item(
                &self.k,
                progress,
                |k| format!("threshold at k = {k}"),
                |&k| {
                    let topk = replay_totals(
                        &steps,
                        Scope::PerTensor,
                        |_, _| Compressor::TopK { fraction: k },
                        feedback,
                        bits,
                        0,
                    )?;
                    let search = threshold_for(&steps, feedback, bits, Budget::Entries(topk.sent))?;
                    Ok((topk, search))
                },
            );
            for (&k, search) in self.k.iter().zip(searches) {
                let (topk, search) = search.map_err(named)?;
                table.push(vec![
                    num(k, 3),
                    topk.sent.to_string().into(),
                    num(topk.total_error, 4),
                    num(search.lambda, 4),
                    search.totals.sent.to_string().into(),
                    num(search.totals.total_error, 4),
                    num(search.totals.total_error / topk.total_error, 3),
                ]);
                topk_points.push((topk.sent as f64 / entries, topk.total_error));
                threshold_points.push((
                    search.totals.sent as f64 / entries,
                    search.totals.total_error,
                ));
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
            progress("rate-distortion curves");
            let curves = pooled_curves(&steps, self.max_bits, self.m).map_err(|(i, e)| {
                format!(
                    "tensor '{}': quantizer design failed: {e}",
                    sequence.names[i]
                )
            })?;
            let sizes = &sequence.sizes;
            let per_step: usize = sizes.iter().sum();
            let mut headers = vec!["tensor".to_string(), "entries".to_string()];
            headers.extend(
                self.bits_per_entry
                    .iter()
                    .map(|b| format!("{b} bits/entry")),
            );
            let mut table = ReportTable {
                name: "bit_allocation".to_string(),
                caption: format!("Bits per entry allocated to each tensor under an average budget (M = {}); last rows: total distortion Σ n·D and its gain over equal bits", self.m),
                headers,
                rows: sequence.names.iter().zip(sizes).map(|(n, s)| vec![n.clone().into(), s.to_string().into()]).collect(),
                notes: Vec::new(),
            };
            let (mut total_row, mut gain_row) = (
                vec![Cell::from("Σ n·D"), Cell::from("")],
                vec![Cell::from("gain over equal (dB)"), Cell::from("")],
            );
            let mut series = Vec::new();
            for (b, &bits) in self.bits_per_entry.iter().enumerate() {
                let budget = f64::from(bits) * per_step as f64;
                let allocation =
                    match allocate_bits_exact(sizes, &curves, budget).map_err(|e| e.to_string())? {
                        Some(exact) => exact,
                        None => allocate_bits(sizes, &curves, budget).map_err(|e| e.to_string())?,
                    };
                let equal: f64 = sizes
                    .iter()
                    .zip(&curves)
                    .map(|(&n, c)| n as f64 * c[bits as usize].distortion)
                    .sum();
                for (row, a) in table.rows.iter_mut().zip(&allocation.tensors) {
                    row.push(a.bits.to_string().into());
                }
                total_row.push(num(allocation.total_distortion, 4));
                gain_row.push(num(10.0 * (equal / allocation.total_distortion).log10(), 3));
                series.push(Series {
                    name: format!("B = {bits}"),
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
                steps.len(),
                self.max_bits
            ));
            section.figures.push(Figure {
                name: "bit_allocation".to_string(),
                caption: format!(
                    "Bits per entry allocated to each tensor (0 = {}).",
                    sequence.names[0]
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
