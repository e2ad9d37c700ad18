//! `kind = "iid"`: the i.i.d. study of the M22 talk — the fraction of
//! Spearman (independence) and two-sample Kolmogorov–Smirnov (identical
//! distribution) trials with p > alpha, for random coordinate pairs of each
//! tensor (`analysis::iid`). The table reads like the talk's: rows are
//! test × sample size, columns are tensors.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::{opt, run_registry, tensor_failure, Input, Progress, Section};
use crate::figure::{Axis, Figure, Legend, Panel, Series, Style, Width};
use crate::table::Table;
use gradrd_core::analysis::iid::{self, PairKind, TestKind};
use gradrd_core::registry::iid::{Iid, IidOptions};
use gradrd_core::registry::Validate;

/// `kind = "iid"`: the registry's [`IidOptions`], keys and defaults as
/// there.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct IidSpec(pub IidOptions);

impl IidSpec {
    pub fn validate(&self) -> Result<(), String> {
        self.0.validate().map_err(|e| e.to_string())
    }

    pub fn run(&self, input: &Input, progress: Progress) -> Result<Section, String> {
        let options = &self.0;
        let names: BTreeSet<&str> = input.selected.iter().map(|m| m.name.as_str()).collect();
        if options.pairs == PairKind::Layers && names.len() < 2 {
            return Err("pairs = \"layers\" needs at least two tensors".to_string());
        }
        let output = run_registry::<Iid>(options, input.source, progress)?;
        let order = output.order;
        let mut section = Section {
            title: format!("i.i.d. pass ratios ({:?} pairs)", options.pairs).to_lowercase(),
            failures: output.errors.iter().map(tensor_failure).collect(),
            ..Section::default()
        };
        // One column per tensor, or per pair of neighbouring tensors.
        let mut columns = Vec::new();
        let mut too_small = Vec::new();
        for result in output.results {
            let name = match &result.tensor_b {
                Some(b) => format!("{} → {b}", result.tensor),
                None => result.tensor.clone(),
            };
            // Each size stands alone: a tensor too small for one has notes
            // there (said in the text) and the other sizes' cells.
            for (size, note) in iid::size_notes(&result.cells) {
                too_small.push(format!("{name}, m = {size}: {note}."));
            }
            columns.push((name, result.cells));
        }
        if columns.is_empty() {
            return Err(section.failures.join("; "));
        }
        let mut headers = vec!["test".to_string(), "sample size".to_string()];
        headers.extend(columns.iter().map(|(name, _)| name.clone()));
        let mut table = Table {
            name: "iid".to_string(),
            caption: format!(
                "Fraction of {} trials with p > {} ({} pairs)",
                options.trials,
                options.alpha,
                format!("{:?}", options.pairs).to_lowercase()
            ),
            headers,
            rows: Vec::new(),
            notes: Vec::new(),
        };
        let mut series = Vec::new();
        for (t, test) in options.tests.iter().enumerate() {
            for (s, &size) in options.sample_sizes.iter().enumerate() {
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
                    color: t * options.sample_sizes.len() + s,
                    points,
                });
            }
        }
        section.text.push(format!(
            "Each trial draws {} and tests the two samples of m values: Spearman's rank correlation (H0: independent) and the two-sample Kolmogorov–Smirnov test (H0: same distribution). A ratio near 1 − alpha = {} is what i.i.d. entries give; columns are tensors from input to output, in {}.",
            match options.pairs {
                PairKind::Spatial => "two disjoint sets of m random coordinates at one step",
                PairKind::Temporal => "the same m random coordinates at two consecutive recorded steps",
                PairKind::Layers => "m random coordinates of each of two neighbouring tensors (columns a → b) at one step",
            },
            1.0 - options.alpha,
            order.describe()
        ));
        section.text.extend(too_small);
        section.figures.push(Figure {
            name: "iid_pass_ratio".to_string(),
            caption: format!(
                "Pass ratio over depth (0 = first tensor: {}), {} trials.",
                columns[0].0, options.trials
            ),
            width: Width::Column,
            columns: 1,
            panels: vec![Panel {
                title: String::new(),
                x: Axis::index(if options.pairs == PairKind::Layers {
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
