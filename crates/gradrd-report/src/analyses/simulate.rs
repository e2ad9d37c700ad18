//! `kind = "simulate"`: federated averaging on the shipped digits data set
//! with compression in the loop (`sim::fl`), one run per `[[analysis.runs]]`
//! entry — the per-bit-accuracy comparison: test accuracy against the
//! cumulative uplink bits (real coded sizes), and over rounds. The spec's
//! dump is not read: the simulator trains its own MLP.

use serde::Deserialize;

use super::{num, sig, Input, Progress, Section};
use crate::figure::{Axis, Figure, Legend, Panel, Series, Style, Width, PALETTE};
use crate::table::Table;
use gradrd_core::compress::cwmp_costs::CostMap;
use gradrd_core::compress::Feedback;
use gradrd_core::dist::FamilyKind;
use gradrd_core::quant::baseline::BaselineKind;
use gradrd_core::sim::digits::digits;
use gradrd_core::sim::fl::{central_baseline, simulate, FlConfig, Memory};
use gradrd_core::sim::split::Split;
use gradrd_core::sim::task::{DigitsTask, Task};
use gradrd_core::sim::uplink::{layer_costs, Keep, Layers, Quantizer, Uplink};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimulateOptions {
    #[serde(default = "default_clients")]
    pub clients: usize,
    /// Classes per client of the label-skew split.
    #[serde(default = "default_classes")]
    pub classes_per_client: usize,
    #[serde(default = "one")]
    pub participation: f64,
    #[serde(default = "default_local_steps")]
    pub local_steps: usize,
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    #[serde(default = "default_lr")]
    pub lr: f64,
    #[serde(default = "default_rounds")]
    pub rounds: usize,
    /// Hidden units of the MLP.
    #[serde(default = "default_hidden")]
    pub hidden: usize,
    #[serde(default)]
    pub seed: u64,
    /// The compared uplinks (at most one per palette colour).
    pub runs: Vec<RunOptions>,
}

/// One uplink setting.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunOptions {
    pub label: String,
    /// Fraction kept by top-k (1 = everything).
    #[serde(default = "one")]
    pub topk: f64,
    /// `none`, `m22`, or a dense baseline (uniform-minmax, uniform-opt, int8,
    /// fp8-e4m3, fp8-e5m2, fp4-e2m1, tinyscript).
    #[serde(default = "none")]
    pub quantizer: String,
    #[serde(default = "default_bits")]
    pub bits: u32,
    /// Weight exponent of the m22 design.
    #[serde(default = "default_m")]
    pub m: f64,
    /// `none`, `full` or `sapef`.
    #[serde(default = "full")]
    pub feedback: String,
    /// SA-PEF's step-ahead fraction α.
    #[serde(default = "half")]
    pub sapef_alpha: f64,
    /// Local steps of this run (default: the analysis's).
    pub local_steps: Option<usize>,
    /// Cost-weighted magnitude pruning across the layers at this fraction of
    /// the update's total cost, instead of top-k (with `costs`).
    pub cwmp: Option<f64>,
    /// The costs of `cwmp`, as in a costs file: `{ fc1 = 1.0, fc2 = [...] }`.
    pub costs: Option<CostMap>,
}

fn default_clients() -> usize {
    10
}
fn default_classes() -> usize {
    2
}
fn one() -> f64 {
    1.0
}
fn half() -> f64 {
    0.5
}
fn default_local_steps() -> usize {
    5
}
fn default_batch() -> usize {
    32
}
fn default_lr() -> f64 {
    0.1
}
fn default_rounds() -> usize {
    200
}
fn default_hidden() -> usize {
    32
}
fn none() -> String {
    "none".to_string()
}
fn full() -> String {
    "full".to_string()
}
fn default_bits() -> u32 {
    4
}
fn default_m() -> f64 {
    2.0
}

impl RunOptions {
    fn keep(&self, layers: &Layers) -> Result<Keep, String> {
        match (self.cwmp, &self.costs) {
            (None, None) => Ok(Keep::TopK {
                fraction: self.topk,
            }),
            (Some(fraction), Some(costs)) if self.topk == 1.0 => Ok(Keep::Cwmp {
                fraction,
                costs: layer_costs(costs, layers)
                    .map_err(|e| format!("runs.costs ({}): {e}", self.label))?,
            }),
            _ => Err(format!(
                "runs ({}): cwmp needs costs (and replaces topk), costs needs cwmp",
                self.label
            )),
        }
    }

    fn quantizer(&self) -> Result<Quantizer, String> {
        let bits = self.bits;
        match self.quantizer.as_str() {
            "none" => Ok(Quantizer::None),
            "m22" => Ok(Quantizer::M22 {
                family: FamilyKind::GenNorm,
                m: self.m,
                bits,
            }),
            name => name
                .parse::<BaselineKind>()
                .map(|scheme| Quantizer::Baseline { scheme, bits })
                .map_err(|e| format!("runs.quantizer ({}): {e}", self.label)),
        }
    }

    fn memory(&self) -> Result<Memory, String> {
        match self.feedback.as_str() {
            "none" => Ok(Memory::Feedback {
                feedback: Feedback::None,
            }),
            "full" => Ok(Memory::Feedback {
                feedback: Feedback::Full,
            }),
            "sapef" => Ok(Memory::SaPef {
                alpha: self.sapef_alpha,
            }),
            other => Err(format!(
                "runs.feedback ({}): none, full or sapef, got '{other}'",
                self.label
            )),
        }
    }
}

impl SimulateOptions {
    fn config(&self, run: &RunOptions, layers: &Layers) -> Result<FlConfig, String> {
        let config = FlConfig {
            clients: self.clients,
            split: Split::LabelSkew {
                classes_per_client: self.classes_per_client,
            },
            participation: self.participation,
            local_steps: run.local_steps.unwrap_or(self.local_steps),
            batch_size: self.batch_size,
            lr: self.lr,
            rounds: self.rounds,
            uplink: Uplink {
                keep: run.keep(layers)?,
                quantizer: run.quantizer()?,
            },
            memory: run.memory()?,
            seed: self.seed,
        };
        config
            .validate()
            .map_err(|e| format!("runs ({}): {e}", run.label))?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.runs.is_empty() || self.runs.len() > PALETTE.len() {
            return Err(format!(
                "runs: give 1 to {} runs (one per palette colour), got {}",
                PALETTE.len(),
                self.runs.len()
            ));
        }
        if !(1..=256).contains(&self.hidden) {
            return Err(format!("hidden: must be 1..=256, got {}", self.hidden));
        }
        if !(1..=10_000).contains(&self.rounds) {
            return Err(format!("rounds: must be 1..=10000, got {}", self.rounds));
        }
        let layers = self.task()?.layers();
        for run in &self.runs {
            self.config(run, &layers)?;
        }
        Ok(())
    }

    fn task(&self) -> Result<DigitsTask, String> {
        let (train, test) = digits().map_err(|e| e.to_string())?.split(0.2, self.seed);
        DigitsTask::new(self.hidden, train, test).map_err(|e| e.to_string())
    }

    pub fn run(&self, _input: &Input, progress: Progress) -> Result<Section, String> {
        let task = self.task()?;
        let layers = task.layers();
        let mut section = Section {
            title: "Federated training with compression in the loop".to_string(),
            ..Section::default()
        };
        let mut table = Table::new(
            "fl_runs",
            "Federated averaging on digits: final test accuracy and total uplink (real coded sizes)",
            &["run", "final accuracy (%)", "uplink (Mbit)", "final loss"],
        );
        let (mut per_bit, mut per_round) = (Vec::new(), Vec::new());
        for (color, run) in self.runs.iter().enumerate() {
            progress(&run.label);
            let config = self.config(run, &layers)?;
            let result = match simulate(&config, &task, |_| {}) {
                Ok(result) => result,
                Err(error) => {
                    section.failures.push(format!("{}: {error}", run.label));
                    continue;
                }
            };
            let Some(last) = result.rounds.last() else {
                continue;
            };
            table.push(vec![
                run.label.clone().into(),
                num(100.0 * last.accuracy, 4),
                num(last.uplink_bits as f64 / 1e6, 4),
                num(last.loss, 4),
            ]);
            let series = |points: Vec<(f64, f64)>| Series {
                name: run.label.clone(),
                style: Style::Line,
                color,
                points,
            };
            per_bit.push(series(
                result
                    .rounds
                    .iter()
                    .filter(|r| r.uplink_bits > 0)
                    .map(|r| (r.uplink_bits as f64, 100.0 * r.accuracy))
                    .collect(),
            ));
            per_round.push(series(
                result
                    .rounds
                    .iter()
                    .map(|r| (r.round as f64, 100.0 * r.accuracy))
                    .collect(),
            ));
        }
        if per_bit.is_empty() {
            return Err(section.failures.join("; "));
        }
        let first = self.config(&self.runs[0], &layers)?;
        let (_, central_accuracy) = central_baseline(&first, &task);
        section.text.push(format!(
            "{} clients with label skew ({} classes each), participation {}, {} local SGD steps of batch {} at lr {}, {} rounds, an MLP 64 → {} → 10 on scikit-learn's digits (seed {}). Uplink bits are the real coded sizes (positions, ANS-coded symbols, side information). The same model trained centrally for rounds × local steps reaches {}% test accuracy.",
            self.clients, self.classes_per_client, self.participation, self.local_steps, self.batch_size, self.lr, self.rounds, self.hidden, self.seed, sig(100.0 * central_accuracy, 4)
        ));
        section.figures.push(Figure {
            name: "fl_accuracy".to_string(),
            caption:
                "Test accuracy against cumulative uplink bits (per-bit accuracy) and over rounds."
                    .to_string(),
            width: Width::Full,
            columns: 2,
            panels: vec![
                Panel {
                    title: "accuracy per bit".to_string(),
                    x: Axis::log("cumulative uplink (bits)"),
                    y: Axis::linear("test accuracy (%)"),
                    series: per_bit,
                    legend: Some(Legend::Top),
                    y_range: None,
                },
                Panel {
                    title: "accuracy per round".to_string(),
                    x: Axis::linear("round"),
                    y: Axis::linear("test accuracy (%)"),
                    series: per_round,
                    legend: None,
                    y_range: None,
                },
            ],
        });
        section.tables.push(table);
        Ok(section)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(run: &str) -> SimulateOptions {
        toml::from_str(&format!("rounds = 2\n[[runs]]\nlabel = \"r\"\n{run}")).unwrap()
    }

    #[test]
    fn a_cwmp_run_takes_its_costs_inline_and_checks_them_against_the_layers() {
        let good = options("cwmp = 0.01\ncosts = { fc1 = 1, fc2 = 2.5 }");
        good.validate().unwrap();
        let layers = good.task().unwrap().layers();
        let keep = good.runs[0].keep(&layers).unwrap();
        let Keep::Cwmp { fraction, costs } = keep else {
            panic!("{keep:?}")
        };
        assert_eq!(fraction, 0.01);
        assert_eq!(costs.len(), layers[1].1.end);
        assert_eq!((costs[0], costs[layers[1].1.start]), (1.0, 2.5));
        for (run, needle) in [
            ("cwmp = 0.01", "cwmp needs costs"),
            ("costs = { fc1 = 1.0, fc2 = 1.0 }", "costs needs cwmp"),
            (
                "cwmp = 0.01\ntopk = 0.5\ncosts = { fc1 = 1, fc2 = 1 }",
                "replaces topk",
            ),
            (
                "cwmp = 0.01\ncosts = { fc1 = 1 }",
                "no cost for tensor 'fc2'",
            ),
            ("cwmp = 0\ncosts = { fc1 = 1, fc2 = 1 }", "fraction"),
        ] {
            let err = options(run).validate().unwrap_err();
            assert!(err.contains(needle), "{run}: {err}");
        }
    }
}
