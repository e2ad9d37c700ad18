//! `kind = "evolve"`: how the fitted models move over training steps and
//! network depth — the GenNorm shape β and the excess kurtosis per step,
//! the Wasserstein-2 distance of the data to each fitted family per step,
//! and β over depth at the first, middle and last step (`analysis::fit_tensor`
//! per tensor × step; depth is the rank of the tensor name, `analysis::depth`).

use serde::Deserialize;

use super::{num, opt, run_registry, tensor_failure, Input, Progress, Section};
use crate::figure::{Axis, Figure, Legend, Panel, Series, Style, Width};
use crate::table::Table;
use gradrd_core::dist::FamilyKind;
use gradrd_core::registry::evolve::Evolve;
use gradrd_core::registry::fit::FitOptions;
use gradrd_core::registry::Validate;
use gradrd_io::dump::Selected;

/// `kind = "evolve"`: the registry's `evolve` options (those of `fit`:
/// `families`, `zeros`, `loc`, `nan`, `goodness_of_fit`), keys and defaults
/// as there.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct EvolveSpec(pub FitOptions);

/// One fitted tensor × step × family.
struct Point {
    tensor: usize,
    step: u64,
    family: FamilyKind,
    shape: Option<f64>,
    scale: f64,
    kurtosis: Option<f64>,
    w2: Option<f64>,
}

impl EvolveSpec {
    pub fn validate(&self) -> Result<(), String> {
        self.0.validate().map_err(|e| e.to_string())
    }

    pub fn run(&self, input: &Input, progress: Progress) -> Result<Section, String> {
        let names: Vec<String> = input
            .dump
            .depth_order()
            .sort(input.selected.iter().map(|m| m.name.as_str()))
            .0
            .into_iter()
            .map(str::to_string)
            .collect();
        let metas: Vec<_> = input
            .selected
            .iter()
            .filter(|m| m.step.is_some())
            .copied()
            .collect();
        if metas.is_empty() {
            return Err(format!(
                "{}: no tensor has a step number (evolve needs a folder of per-step files)",
                input.label
            ));
        }
        let mut section = Section {
            title: "Evolution over steps and depth".to_string(),
            ..Section::default()
        };
        let source = Selected::new(input.dump, input.label, metas);
        let output = run_registry::<Evolve>(&self.0, &source, progress)?;
        section.failures = output
            .errors
            .iter()
            .map(|f| match f.step {
                Some(step) => format!(
                    "{} step {step}: {}",
                    f.tensor.as_deref().unwrap_or("-"),
                    f.error
                ),
                None => tensor_failure(f),
            })
            .collect();
        let points: Vec<Point> = output
            .rows
            .iter()
            .map(|row| Point {
                tensor: names.iter().position(|n| *n == row.tensor).expect("named"),
                step: row.step.expect("selected with a step"),
                family: row.family,
                shape: row.shape,
                scale: row.scale,
                kurtosis: row.excess_kurtosis,
                w2: row.w2,
            })
            .collect();
        if points.is_empty() {
            return Err(section.failures.join("; "));
        }
        let mut table = Table::new(
            "evolve",
            "Fitted parameters per tensor, step and family (shape = β of gennorm, c of dweibull)",
            &[
                "tensor",
                "depth",
                "step",
                "family",
                "shape",
                "scale",
                "excess kurtosis",
                "W2",
            ],
        );
        for p in &points {
            table.push(vec![
                names[p.tensor].clone().into(),
                p.tensor.to_string().into(),
                p.step.to_string().into(),
                p.family.to_string().into(),
                opt(p.shape, 4),
                num(p.scale, 4),
                opt(p.kurtosis, 3),
                opt(p.w2, 3),
            ]);
        }
        let per_tensor =
            |family: FamilyKind, value: &dyn Fn(&Point) -> Option<f64>| -> Vec<Series> {
                names
                    .iter()
                    .enumerate()
                    .map(|(t, name)| Series {
                        name: name.clone(),
                        style: Style::LinePoints,
                        color: t,
                        points: points
                            .iter()
                            .filter(|p| p.tensor == t && p.family == family)
                            .filter_map(|p| value(p).map(|v| (p.step as f64, v)))
                            .collect(),
                    })
                    .filter(|s| !s.points.is_empty())
                    .collect()
            };
        let first = self.0.families[0];
        let mut panels = vec![];
        if self.0.families.contains(&FamilyKind::GenNorm) {
            panels.push(Panel {
                title: "GenNorm shape".to_string(),
                x: Axis::linear("training step"),
                y: Axis::linear("β (2 = Normal, 1 = Laplace)"),
                series: per_tensor(FamilyKind::GenNorm, &|p| p.shape),
                legend: Some(Legend::Top),
                y_range: None,
            });
        }
        panels.push(Panel {
            title: "Excess kurtosis".to_string(),
            x: Axis::linear("training step"),
            y: Axis::linear("excess kurtosis κ − 3"),
            series: per_tensor(first, &|p| p.kurtosis),
            legend: panels.is_empty().then_some(Legend::UpperRight),
            y_range: None,
        });
        section.figures.push(Figure {
            name: "evolve_shape".to_string(),
            caption: "GenNorm shape β and excess kurtosis of each tensor over training steps "
                .to_string(),
            width: Width::Full,
            columns: panels.len(),
            panels,
        });
        let w2_panels: Vec<Panel> = names
            .iter()
            .enumerate()
            .map(|(t, name)| Panel {
                title: name.clone(),
                x: Axis::linear("training step"),
                y: Axis::log("W2 to fit"),
                series: self
                    .0
                    .families
                    .iter()
                    .enumerate()
                    .map(|(i, &family)| Series {
                        name: family.to_string(),
                        style: Style::LinePoints,
                        color: i,
                        points: points
                            .iter()
                            .filter(|p| p.tensor == t && p.family == family)
                            .filter_map(|p| p.w2.map(|w| (p.step as f64, w)))
                            .collect(),
                    })
                    .collect(),
                legend: (t == 0).then_some(Legend::Top),
                y_range: None,
            })
            .collect();
        section.figures.push(Figure {
            name: "evolve_w2".to_string(),
            caption: "Wasserstein-2 distance between each tensor's values and each fitted family over training steps (same units as the gradients).".to_string(),
            width: Width::Full,
            columns: w2_panels.len().min(3),
            panels: w2_panels,
        });
        if self.0.families.contains(&FamilyKind::GenNorm) {
            let mut steps: Vec<u64> = points.iter().map(|p| p.step).collect();
            steps.sort_unstable();
            steps.dedup();
            let mut chosen = vec![steps[0], steps[steps.len() / 2], steps[steps.len() - 1]];
            chosen.dedup();
            let series = chosen
                .iter()
                .enumerate()
                .map(|(i, &step)| Series {
                    name: format!("step {step}"),
                    style: Style::LinePoints,
                    color: i,
                    points: points
                        .iter()
                        .filter(|p| p.step == step && p.family == FamilyKind::GenNorm)
                        .filter_map(|p| p.shape.map(|b| (p.tensor as f64, b)))
                        .collect(),
                })
                .collect();
            section.figures.push(Figure {
                name: "evolve_depth".to_string(),
                caption: format!("GenNorm shape β over depth (0 = {}).", names[0]),
                width: Width::Column,
                columns: 1,
                panels: vec![Panel {
                    title: String::new(),
                    x: Axis::index("tensor depth (index)"),
                    y: Axis::linear("β"),
                    series,
                    legend: Some(Legend::UpperRight),
                    y_range: None,
                }],
            });
        }
        section.text.push(format!(
            "Maximum-likelihood fits of {} at every selected step. β < 2 means heavier tails than a Normal; β < 1 heavier than a Laplace.",
            self.0.families.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(", ")
        ));
        section.tables.push(table);
        Ok(section)
    }
}
