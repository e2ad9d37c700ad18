//! `kind = "evolve"`: how the fitted models move over training steps and
//! network depth — the GenNorm shape β and the excess kurtosis per step,
//! the Wasserstein-2 distance of the data to each fitted family per step,
//! and β over depth at the first, middle and last step (`analysis::fit_tensor`
//! per tensor × step; depth is the rank of the tensor name, `analysis::depth`).

use serde::Deserialize;

use super::{fit_settings, num, opt, per_item, Input, Progress, Section};
use crate::figure::{Axis, Figure, Legend, Panel, Series, Style, Width};
use crate::table::ReportTable;
use gradrd_core::analysis::{fit_tensor, FamilyOutcome, ZeroPolicy};
use gradrd_core::dist::FamilyKind;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvolveOptions {
    /// Families to fit at every step; `gennorm` gives the β curves.
    #[serde(default = "default_families")]
    pub families: Vec<FamilyKind>,
    #[serde(default = "auto")]
    pub zeros: ZeroPolicy,
}

fn default_families() -> Vec<FamilyKind> {
    vec![FamilyKind::GenNorm, FamilyKind::Laplace, FamilyKind::Normal]
}

fn auto() -> ZeroPolicy {
    ZeroPolicy::Auto
}

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

impl EvolveOptions {
    pub fn validate(&self) -> Result<(), String> {
        if self.families.is_empty() {
            return Err("families: name at least one family".to_string());
        }
        Ok(())
    }

    pub fn run(&self, input: &Input, progress: Progress) -> Result<Section, String> {
        let settings = fit_settings(&self.families, self.zeros);
        let names: Vec<String> = input
            .dump
            .depth_order()
            .sort(input.selected.iter().map(|m| m.name.as_str()))
            .0
            .into_iter()
            .map(str::to_string)
            .collect();
        let mut metas: Vec<_> = input.selected.iter().filter(|m| m.step.is_some()).collect();
        if metas.is_empty() {
            return Err(format!(
                "{}: no tensor has a step number (evolve needs a folder of per-step files)",
                input.label
            ));
        }
        metas.sort_by_key(|m| (names.iter().position(|n| *n == m.name), m.step));
        let mut section = Section {
            title: "Evolution over steps and depth".to_string(),
            ..Section::default()
        };
        let mut points = Vec::new();
        let fits = per_item(
            &metas,
            progress,
            |meta| format!("{} step {}", meta.name, meta.step.unwrap_or_default()),
            |meta| {
                input
                    .dump
                    .read(meta)
                    .map_err(|e| e.to_string())
                    .and_then(|values| fit_tensor(values, &settings).map_err(|e| e.to_string()))
            },
        );
        for (meta, fit) in metas.into_iter().zip(fits) {
            let step = meta.step.expect("filtered");
            let tensor = names.iter().position(|n| *n == meta.name).expect("named");
            match fit {
                Ok(fit) => {
                    for outcome in &fit.fits {
                        match outcome {
                            FamilyOutcome::Fitted(f) => points.push(Point {
                                tensor,
                                step,
                                family: f.family,
                                shape: f.params.get("beta").or(f.params.get("c")).copied(),
                                scale: f.params["scale"],
                                kurtosis: fit.moments.excess_kurtosis,
                                w2: f.w2,
                            }),
                            FamilyOutcome::Failed { family, error } => section
                                .failures
                                .push(format!("{} step {step} ({family}): {error}", meta.name)),
                        }
                    }
                }
                Err(error) => section
                    .failures
                    .push(format!("{} step {step}: {error}", meta.name)),
            }
        }
        if points.is_empty() {
            return Err(section.failures.join("; "));
        }
        let mut table = ReportTable::new(
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
        let first = self.families[0];
        let mut panels = vec![];
        if self.families.contains(&FamilyKind::GenNorm) {
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
        if self.families.contains(&FamilyKind::GenNorm) {
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
            self.families.iter().map(|f| f.to_string()).collect::<Vec<_>>().join(", ")
        ));
        section.tables.push(table);
        Ok(section)
    }
}
