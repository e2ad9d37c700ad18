//! `gradrd ef DUMP`: replays the dump's gradient sequence through a
//! compressor with error feedback (`compress::Run`) and reports, per step
//! and in total, entries and bits sent, the compression error ‖p − C(p)‖²
//! and the residual norm ‖e‖.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::{Args, ValueEnum};
use gradrd_core::compress::bits::{full_precision_bits, widest};
use gradrd_core::compress::cwmp_costs::{parse_cost_map, tensor_costs, CostMap};
use gradrd_core::compress::{BitModel, Compressor, Feedback, PositionCoding, Run, Scope};
use gradrd_core::quant::minifloat::{self, MiniFloat};
use gradrd_core::quant::Codebook;
use gradrd_core::registry::sequence::Sequence;
use gradrd_report::table::full_precision as shortest;
use serde::Serialize;

use super::output::{csv_bytes, json_bytes, sig, Format, OutputArgs, Table};
use super::selection::SelectionArgs;
use super::Outcome;

#[derive(Debug, Args)]
pub struct EfArgs {
    /// A dump folder of per-step files (at least two steps).
    dump: PathBuf,
    #[command(flatten)]
    pub compression: CompressionArgs,
    #[command(flatten)]
    select: SelectionArgs,
    #[command(flatten)]
    out: OutputArgs,
}

/// The compressor, feedback and bit model (shared with `budget`).
#[derive(Debug, Clone, Args)]
pub struct CompressionArgs {
    /// Compressor.
    #[arg(long, value_enum, default_value_t = CompressorArg::Topk)]
    compressor: CompressorArg,
    /// Fraction of entries kept by top-k / rand-k, or of the total cost by cwmp, in (0, 1].
    #[arg(long, default_value_t = 0.01, allow_hyphen_values = true)]
    pub k: f64,
    /// Hard threshold λ ≥ 0 (keep |p| ≥ λ).
    #[arg(long, allow_hyphen_values = true)]
    lambda: Option<f64>,
    /// CWMP costs: JSON object {tensor: cost} or {tensor: [one cost per entry]}.
    #[arg(long, value_name = "FILE")]
    costs: Option<PathBuf>,
    /// Codebook JSON (as written by `quantize design`).
    #[arg(long, value_name = "FILE")]
    codebook: Option<PathBuf>,
    /// Small float format of `--compressor topk-float`.
    #[arg(long, value_enum, default_value_t = FloatArg::Fp8E4m3)]
    float: FloatArg,
    /// Scale rand-k's kept entries by n/k (unbiased).
    #[arg(long)]
    unbiased: bool,
    /// Error feedback.
    #[arg(long, value_enum, default_value_t = FeedbackArg::Full)]
    pub feedback: FeedbackArg,
    /// Memory decay γ in [0, 1] for `--feedback decay`.
    #[arg(long, default_value_t = 0.9, allow_hyphen_values = true)]
    gamma: f64,
    /// Compress all selected tensors as one vector (e.g. global top-k).
    #[arg(long)]
    global: bool,
    /// Position cost: `index` = min(k⌈log2 n⌉, n) bits, `entropy` = log2 C(n, k).
    #[arg(long, value_enum, default_value_t = PositionsArg::Index)]
    positions: PositionsArg,
    /// Seed of rand-k.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CompressorArg {
    Topk,
    Randk,
    Threshold,
    Cwmp,
    Codebook,
    /// Top-k, then the kept values through `--codebook`.
    TopkCodebook,
    /// Top-k, then the kept values in `--float` with one 32-bit scale per message.
    TopkFloat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FloatArg {
    Fp8E4m3,
    Fp8E5m2,
    Fp4E2m1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FeedbackArg {
    None,
    Full,
    Decay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PositionsArg {
    Index,
    Entropy,
}

/// What the CLI flags resolve to, before the dump is known.
pub struct Resolved {
    pub kind: CompressorArg,
    pub feedback: Feedback,
    positions: PositionCoding,
    pub scope: Scope,
    pub seed: u64,
    codebook: Option<Codebook>,
    float: MiniFloat,
    costs: Option<(PathBuf, CostMap)>,
    pub parameters: Parameters,
}

/// The parameters echoed in the JSON output.
#[derive(Debug, Clone, Serialize)]
pub struct Parameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    k: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lambda: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gamma: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unbiased: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    codebook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    costs: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    float: Option<MiniFloat>,
    global: bool,
    positions: PositionCoding,
    seed: u64,
}

impl CompressionArgs {
    /// Checks the flags and loads the codebook and costs files.
    pub fn resolve(&self) -> anyhow::Result<Resolved> {
        use CompressorArg::*;
        let kind = self.compressor;
        let uses_k = matches!(kind, Topk | Randk | Cwmp | TopkCodebook | TopkFloat);
        if uses_k && !(self.k > 0.0 && self.k <= 1.0) {
            bail!("--k must be a fraction in (0, 1], got {}", self.k);
        }
        let lambda = match (kind, self.lambda) {
            (Threshold, None) => bail!("--compressor threshold needs --lambda"),
            (Threshold, Some(l)) if !(l.is_finite() && l >= 0.0) => {
                bail!("--lambda must be finite and >= 0, got {l}")
            }
            (Threshold, l) => l,
            _ => None,
        };
        let feedback = match self.feedback {
            FeedbackArg::None => Feedback::None,
            FeedbackArg::Full => Feedback::Full,
            FeedbackArg::Decay => {
                if !(0.0..=1.0).contains(&self.gamma) {
                    bail!("--gamma must be in [0, 1], got {}", self.gamma);
                }
                Feedback::Decay { gamma: self.gamma }
            }
        };
        let codebook = match (kind, &self.codebook) {
            (Codebook | TopkCodebook, None) => {
                bail!("--compressor {} needs --codebook FILE", kind.name())
            }
            (Codebook | TopkCodebook, Some(path)) => Some(read_codebook(path)?),
            _ => None,
        };
        let costs = match (kind, &self.costs) {
            (Cwmp, None) => bail!("--compressor cwmp needs --costs FILE"),
            (Cwmp, Some(path)) => Some((path.clone(), read_costs(path)?)),
            _ => None,
        };
        let positions = match self.positions {
            PositionsArg::Index => PositionCoding::Index,
            PositionsArg::Entropy => PositionCoding::Entropy,
        };
        let parameters = Parameters {
            k: uses_k.then_some(self.k),
            lambda,
            gamma: matches!(feedback, Feedback::Decay { .. }).then_some(self.gamma),
            unbiased: (kind == Randk).then_some(self.unbiased),
            codebook: self.codebook.as_ref().map(|p| p.display().to_string()),
            costs: self.costs.as_ref().map(|p| p.display().to_string()),
            float: (kind == TopkFloat).then_some(self.float.format()),
            global: self.global,
            positions,
            seed: self.seed,
        };
        Ok(Resolved {
            kind,
            feedback,
            positions,
            scope: if self.global {
                Scope::Global
            } else {
                Scope::PerTensor
            },
            seed: self.seed,
            codebook,
            float: self.float.format(),
            costs,
            parameters,
        })
    }
}

impl FloatArg {
    fn format(self) -> MiniFloat {
        match self {
            FloatArg::Fp8E4m3 => minifloat::FP8_E4M3,
            FloatArg::Fp8E5m2 => minifloat::FP8_E5M2,
            FloatArg::Fp4E2m1 => minifloat::FP4_E2M1,
        }
    }
}

impl CompressorArg {
    pub fn name(&self) -> &'static str {
        match self {
            CompressorArg::Topk => "topk",
            CompressorArg::Randk => "randk",
            CompressorArg::Threshold => "threshold",
            CompressorArg::Cwmp => "cwmp",
            CompressorArg::Codebook => "codebook",
            CompressorArg::TopkCodebook => "topk-codebook",
            CompressorArg::TopkFloat => "topk-float",
        }
    }
}

fn read_codebook(path: &Path) -> anyhow::Result<Codebook> {
    let text = gradrd_io::files::read_to_string(path)
        .with_context(|| format!("cannot read codebook {}", path.display()))?;
    serde_json::from_str::<Codebook>(&text)
        .with_context(|| format!("codebook {} is not a valid codebook", path.display()))
}

/// Reads a costs file (`compress::cwmp_costs`).
pub fn read_costs(path: &Path) -> anyhow::Result<CostMap> {
    let text = gradrd_io::files::read_to_string(path)
        .with_context(|| format!("cannot read costs {}", path.display()))?;
    parse_cost_map(&text).with_context(|| {
        format!(
            "costs {}: expected a JSON object {{tensor: cost}} or {{tensor: [cost per entry]}}",
            path.display()
        )
    })
}

impl Resolved {
    /// The bit model of a replay whose values cost `value_bits` each at full
    /// precision (the widest stored width of its tensors).
    pub fn bit_model(&self, value_bits: f64) -> BitModel {
        BitModel {
            positions: self.positions,
            value_bits,
        }
    }

    /// The threshold λ (0 when the compressor has none).
    pub fn parameters_lambda(&self) -> f64 {
        self.parameters.lambda.unwrap_or(0.0)
    }

    /// Per-entry costs of every tensor, checked against the selection.
    fn tensor_costs(&self, names: &[String], sizes: &[usize]) -> anyhow::Result<Vec<Vec<f64>>> {
        let Some((path, map)) = &self.costs else {
            return Ok(Vec::new());
        };
        names
            .iter()
            .zip(sizes)
            .map(|(name, &n)| {
                tensor_costs(map, name, n).with_context(|| format!("costs {}", path.display()))
            })
            .collect()
    }

    /// The compressor factory of a run over tensors `names` with `sizes`,
    /// at fraction `k` (or threshold `lambda`).
    pub fn factory(
        &self,
        names: &[String],
        sizes: &[usize],
        k: f64,
        lambda: f64,
    ) -> anyhow::Result<impl FnMut(usize, usize) -> Compressor + '_> {
        let costs = self.tensor_costs(names, sizes)?;
        let scope = self.scope;
        Ok(move |unit: usize, _n: usize| match self.kind {
            CompressorArg::Topk => Compressor::TopK { fraction: k },
            CompressorArg::Randk => Compressor::RandK {
                fraction: k,
                unbiased: self.parameters.unbiased.unwrap_or(false),
            },
            CompressorArg::Threshold => Compressor::Threshold { lambda },
            CompressorArg::Cwmp => Compressor::Cwmp {
                fraction: k,
                costs: match scope {
                    Scope::PerTensor => costs[unit].clone(),
                    Scope::Global => costs.concat(),
                },
            },
            CompressorArg::Codebook => {
                Compressor::Codebook(self.codebook.clone().expect("checked in resolve"))
            }
            CompressorArg::TopkCodebook => Compressor::TopKCodebook {
                fraction: k,
                codebook: self.codebook.clone().expect("checked in resolve"),
            },
            CompressorArg::TopkFloat => Compressor::TopKFloat {
                fraction: k,
                format: self.float,
            },
        })
    }
}

#[derive(Debug, Serialize)]
struct StepRow {
    step: u64,
    sent: u64,
    bits: f64,
    error_sq: f64,
    residual_norm: f64,
}

#[derive(Debug, Serialize)]
struct TensorRow {
    tensor: String,
    shape: Vec<u64>,
    n: usize,
    /// The width the tensor is stored in, bits per entry.
    stored_bits: f64,
    sent: u64,
    bits: f64,
    total_error: f64,
    residual_norm: f64,
}

#[derive(Debug, Serialize)]
struct EfReport {
    schema: &'static str,
    dump: String,
    compressor: &'static str,
    feedback: &'static str,
    scope: Scope,
    parameters: Parameters,
    /// Per tensor totals (per-tensor scope only).
    tensors: Vec<TensorRow>,
    steps: Vec<StepRow>,
    total_sent: u64,
    total_entries: u64,
    total_bits: f64,
    /// Bits per value sent at full precision (top-k, rand-k, threshold and
    /// cwmp values): the widest stored width of the selected tensors.
    value_bits: f64,
    /// FedAvg at full precision: every entry of every step at its tensor's
    /// stored width.
    full_precision_bits: f64,
    /// `full_precision_bits / total_entries` (16 for a bf16 dump).
    full_precision_bits_per_entry: f64,
    /// `full_precision_bits / total_bits`.
    reduction: f64,
    total_error: f64,
    final_residual_norm: f64,
}

pub fn run(args: EfArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    let resolved = args.compression.resolve()?;
    let dump = args.select.open(&args.dump)?;
    let skipped = super::failure::skipped(&dump);
    let what = args.dump.display().to_string();
    let source = args.select.select(&dump, &args.dump)?;
    let sequence = Sequence::new(&source, &what)?;
    let lambda = resolved.parameters.lambda.unwrap_or(0.0);
    let factory = resolved.factory(&sequence.names, &sequence.sizes, args.compression.k, lambda)?;
    let widths = sequence.stored_bits();
    let value_bits = widest(&widths);
    let mut replay = Run::new(
        &sequence.sizes,
        resolved.scope,
        factory,
        resolved.feedback,
        resolved.bit_model(value_bits),
        resolved.seed,
    )
    .map_err(|e| anyhow!("tensor '{}': {}", name_of(&sequence, e.tensor), e.error))?;
    let mut steps = Vec::with_capacity(sequence.steps.len());
    let mut per_tensor = vec![(0u64, 0.0f64, 0.0f64); sequence.names.len()];
    let progress = super::progress::bar(sequence.steps.len() as u64, "replaying");
    for index in 0..sequence.steps.len() {
        let step_number = sequence.steps[index].0;
        let gradients = sequence.read(index)?;
        let outcome = replay.step(&gradients).map_err(|e| {
            anyhow!(
                "tensor '{}' (step {step_number}): {}",
                name_of(&sequence, e.tensor),
                e.error
            )
        })?;
        if resolved.scope == Scope::PerTensor {
            for (acc, unit) in per_tensor.iter_mut().zip(&outcome.units) {
                acc.0 += unit.sent as u64;
                acc.1 += unit.bits;
                acc.2 += unit.error_sq;
            }
        }
        steps.push(StepRow {
            step: step_number,
            sent: outcome.sent,
            bits: outcome.bits,
            error_sq: outcome.error_sq,
            residual_norm: outcome.residual_sq.sqrt(),
        });
        progress.inc(1);
    }
    progress.finish_and_clear();
    let totals = replay.totals();
    let total_entries = sequence.sizes.iter().sum::<usize>() as u64 * totals.steps as u64;
    let tensors = if resolved.scope == Scope::PerTensor {
        sequence
            .names
            .iter()
            .zip(&sequence.shapes)
            .zip(&sequence.sizes)
            .zip(&widths)
            .zip(per_tensor)
            .zip(replay.units())
            .map(
                |(((((name, shape), &n), &stored_bits), acc), unit)| TensorRow {
                    tensor: name.clone(),
                    shape: shape.clone(),
                    n,
                    stored_bits,
                    sent: acc.0,
                    bits: acc.1,
                    total_error: acc.2,
                    residual_norm: unit.residual().iter().map(|e| e * e).sum::<f64>().sqrt(),
                },
            )
            .collect()
    } else {
        Vec::new()
    };
    let full_precision = full_precision_bits(&sequence.sizes, &widths) * totals.steps as f64;
    let report = EfReport {
        schema: "gradrd.ef/1",
        dump: what,
        compressor: resolved.kind.name(),
        feedback: resolved.feedback.name(),
        scope: resolved.scope,
        parameters: resolved.parameters.clone(),
        tensors,
        steps,
        total_sent: totals.sent,
        total_entries,
        total_bits: totals.bits,
        value_bits,
        full_precision_bits: full_precision,
        full_precision_bits_per_entry: full_precision / total_entries as f64,
        reduction: full_precision / totals.bits,
        total_error: totals.total_error,
        final_residual_norm: totals.residual_sq.sqrt(),
    };
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&report.steps)?,
        Format::Table => table(&report),
    };
    args.out.emit(&bytes)?;
    Ok(super::failure::finish(&skipped))
}

pub fn name_of<'a>(sequence: &'a Sequence, tensor: usize) -> &'a str {
    sequence.names.get(tensor).map_or("?", String::as_str)
}

fn table(report: &EfReport) -> Vec<u8> {
    let mut table = Table::new(["step", "sent", "bits", "error_sq", "residual_norm"]);
    for r in &report.steps {
        table.push(vec![
            r.step.to_string(),
            r.sent.to_string(),
            sig(r.bits, 6),
            sig(r.error_sq, 4),
            sig(r.residual_norm, 4),
        ]);
    }
    let mut bytes = format!(
        "{} with {} feedback ({}) on {}\n",
        report.compressor,
        report.feedback,
        match report.scope {
            Scope::PerTensor => "per tensor",
            Scope::Global => "global",
        },
        report.dump
    )
    .into_bytes();
    bytes.extend(table.render());
    bytes.extend(
        format!(
            "total: sent {} of {} entries, {} bits ({}x fewer than full precision at {} bits/entry as stored), total error {}, final residual norm {}\n",
            report.total_sent,
            report.total_entries,
            sig(report.total_bits, 6),
            sig(report.reduction, 4),
            shortest(report.full_precision_bits_per_entry),
            sig(report.total_error, 6),
            sig(report.final_residual_norm, 4)
        )
        .into_bytes(),
    );
    bytes
}
