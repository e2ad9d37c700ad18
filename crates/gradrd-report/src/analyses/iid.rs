//! `kind = "iid"`: the i.i.d. study of the M22 talk — the fraction of
//! Spearman (independence) and two-sample Kolmogorov–Smirnov (identical
//! distribution) trials with p > alpha, for random coordinate pairs of each
//! tensor (`analysis::iid`). The table reads like the talk's: rows are
//! test × sample size, columns are tensors.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{opt, Input, Progress, Section};
use crate::figure::{Axis, Figure, Legend, Panel, Series, Style, Width};
use crate::table::ReportTable;
use gradrd_core::analysis::iid::{self, IidSettings, PairKind, TestKind};
use gradrd_io::dump::{common_steps, TensorMeta};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IidOptions {
    /// `temporal` (same coordinates at consecutive steps), `spatial` (two
    /// disjoint coordinate sets at one step) or `layers` (coordinates of two
    /// neighbouring tensors at one step; one column per pair).
    #[serde(default = "temporal")]
    pub pairs: PairKind,
    #[serde(default = "both_tests")]
    pub tests: Vec<TestKind>,
    /// Entries per sample.
    #[serde(default = "default_sizes")]
    pub sample_sizes: Vec<usize>,
    /// Trials per tensor and sample size.
    #[serde(default = "default_trials")]
    pub trials: usize,
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    #[serde(default)]
    pub seed: u64,
    /// Draw exact zeros too (default: never draw a zero entry).
    #[serde(default)]
    pub keep_zeros: bool,
}

fn temporal() -> PairKind {
    PairKind::Temporal
}

fn both_tests() -> Vec<TestKind> {
    vec![TestKind::Spearman, TestKind::Ks]
}

fn default_sizes() -> Vec<usize> {
    vec![100, 3000]
}

fn default_trials() -> usize {
    100
}

fn default_alpha() -> f64 {
    0.05
}

impl IidOptions {
    pub fn validate(&self) -> Result<(), String> {
        if self.tests.is_empty() {
            return Err("tests: name at least one test".to_string());
        }
        if self.sample_sizes.is_empty() || self.sample_sizes.iter().any(|&m| m < 3) {
            return Err(format!(
                "sample_sizes: each must be at least 3, got {:?}",
                self.sample_sizes
            ));
        }
        if self.trials == 0 {
            return Err("trials: must be at least 1".to_string());
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(format!("alpha: must be in (0, 1), got {}", self.alpha));
        }
        Ok(())
    }

    pub fn run(&self, input: &Input, progress: Progress) -> Result<Section, String> {
        let settings = IidSettings {
            tests: self.tests.clone(),
            sample_sizes: self.sample_sizes.clone(),
            trials: self.trials,
            alpha: self.alpha,
            seed: self.seed,
            skip_zeros: !self.keep_zeros,
        };
        let mut by_name: BTreeMap<&str, Vec<&TensorMeta>> = BTreeMap::new();
        for meta in input.selected {
            by_name.entry(meta.name.as_str()).or_default().push(meta);
        }
        let (names, order) = input.dump.depth_order().sort(by_name.keys().copied());
        let mut section = Section {
            title: format!("i.i.d. pass ratios ({:?} pairs)", self.pairs).to_lowercase(),
            ..Section::default()
        };
        // One column per tensor, or per pair of neighbouring tensors.
        let column_tensors: Vec<&[&str]> = match self.pairs {
            PairKind::Layers if names.len() < 2 => {
                return Err("pairs = \"layers\" needs at least two tensors".to_string())
            }
            PairKind::Layers => names.windows(2).collect(),
            _ => names.chunks(1).collect(),
        };
        let mut columns = Vec::new();
        let mut too_small = Vec::new();
        for (index, tensors) in column_tensors.into_iter().enumerate() {
            let name = tensors.join(" → ");
            progress(&name);
            let steps = match read_column(input, &by_name, tensors) {
                Ok(steps) => steps,
                Err(error) => {
                    section.failures.push(format!("{name}: {error}"));
                    continue;
                }
            };
            // Each size stands alone: a tensor too small for one has notes
            // there (said in the text) and the other sizes' cells.
            let outcome = match self.pairs {
                PairKind::Spatial => iid::spatial(&steps[0], &settings, index as u64),
                PairKind::Temporal => iid::temporal(&steps[0], &settings, index as u64),
                PairKind::Layers => iid::layers(&steps[0], &steps[1], &settings, index as u64),
            };
            let cells = match outcome {
                Ok(cells) => cells,
                Err(error) => {
                    section.failures.push(format!("{name}: {error}"));
                    continue;
                }
            };
            for (size, note) in iid::size_notes(&cells) {
                too_small.push(format!("{name}, m = {size}: {note}."));
            }
            columns.push((name, cells));
        }
        if columns.is_empty() {
            return Err(section.failures.join("; "));
        }
        let mut headers = vec!["test".to_string(), "sample size".to_string()];
        headers.extend(columns.iter().map(|(name, _)| name.clone()));
        let mut table = ReportTable {
            name: "iid".to_string(),
            caption: format!(
                "Fraction of {} trials with p > {} ({} pairs)",
                self.trials,
                self.alpha,
                format!("{:?}", self.pairs).to_lowercase()
            ),
            headers,
            rows: Vec::new(),
            notes: Vec::new(),
        };
        let mut series = Vec::new();
        for (t, test) in self.tests.iter().enumerate() {
            for (s, &size) in self.sample_sizes.iter().enumerate() {
                let mut row = vec![test_name(*test).into(), size.to_string().into()];
                let mut points = Vec::new();
                for (depth, (_, cells)) in columns.iter().enumerate() {
                    let ratio = cells
                        .iter()
                        .find(|c| c.test == *test && c.sample_size == size)
                        .and_then(|c| c.pass_ratio);
                    row.push(opt(ratio, 3));
                    if let Some(r) = ratio {
                        points.push((depth as f64, r));
                    }
                }
                table.push(row);
                series.push(Series {
                    name: format!("{} m={size}", test_name(*test)),
                    style: Style::LinePoints,
                    color: t * self.sample_sizes.len() + s,
                    points,
                });
            }
        }
        section.text.push(format!(
            "Each trial draws {} and tests the two samples of m values: Spearman's rank correlation (H0: independent) and the two-sample Kolmogorov–Smirnov test (H0: same distribution). A ratio near 1 − alpha = {} is what i.i.d. entries give; columns are tensors from input to output, in {}.",
            match self.pairs {
                PairKind::Spatial => "two disjoint sets of m random coordinates at one step",
                PairKind::Temporal => "the same m random coordinates at two consecutive recorded steps",
                PairKind::Layers => "m random coordinates of each of two neighbouring tensors (columns a → b) at one step",
            },
            1.0 - self.alpha,
            order.describe()
        ));
        section.text.extend(too_small);
        section.figures.push(Figure {
            name: "iid_pass_ratio".to_string(),
            caption: format!(
                "Pass ratio over depth (0 = first tensor: {}), {} trials.",
                columns[0].0, self.trials
            ),
            width: Width::Column,
            columns: 1,
            panels: vec![Panel {
                title: String::new(),
                x: Axis::index(if self.pairs == PairKind::Layers {
                    "pair depth (index)"
                } else {
                    "tensor depth (index)"
                }),
                y: Axis::linear("pass ratio (p > α)"),
                series,
                legend: Some(Legend::UpperRight),
                // Room above 1 for the legend.
                y_range: Some((-0.02, 1.5)),
            }],
        });
        section.tables.push(table);
        Ok(section)
    }
}

fn test_name(test: TestKind) -> &'static str {
    match test {
        TestKind::Spearman => "Spearman",
        TestKind::Ks => "KS",
    }
}

/// `values[k][t]`: the values of a column's tensor `k` at its step `t`; one
/// tensor, or two neighbouring tensors at the steps both have.
fn read_column(
    input: &Input,
    by_name: &BTreeMap<&str, Vec<&TensorMeta>>,
    tensors: &[&str],
) -> Result<Vec<Vec<Vec<f64>>>, String> {
    let metas: Vec<Vec<&TensorMeta>> = match tensors {
        [a, b] => {
            let (a, b) = common_steps(&by_name[a], &by_name[b]).map_err(|e| e.to_string())?;
            vec![a, b]
        }
        _ => tensors.iter().map(|t| by_name[t].clone()).collect(),
    };
    metas
        .iter()
        .map(|m| input.dump.read_each(m).map_err(|e| e.to_string()))
        .collect()
}
