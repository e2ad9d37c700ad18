//! `gradrd ef DUMP`: replays the dump's gradient sequence through a
//! compressor with error feedback (`compress::Run`) and reports, per step
//! and in total, entries and bits sent, the compression error ‖p − C(p)‖²
//! and the residual norm ‖e‖.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use gradrd_core::compress::{PositionCoding, Scope};
use gradrd_core::registry::compression::{
    CompressionOptions, CompressorKind, FeedbackKind, FloatKind,
};
use gradrd_core::registry::ef::{Ef, EfOutput};
use gradrd_core::registry::Source as _;
use gradrd_report::table::full_precision as shortest;

use super::output::{csv_bytes, json_bytes, sig, Format, OutputArgs, Table};
use super::selection::SelectionArgs;
use super::Outcome;

#[derive(Debug, Args)]
pub struct EfArgs {
    /// A dump folder of per-step files (at least two steps).
    dump: PathBuf,
    #[command(flatten)]
    compression: CompressionArgs,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
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

impl CompressionArgs {
    /// The library's options of these flags.
    pub fn options(&self) -> CompressionOptions {
        CompressionOptions {
            compressor: match self.compressor {
                CompressorArg::Topk => CompressorKind::Topk,
                CompressorArg::Randk => CompressorKind::Randk,
                CompressorArg::Threshold => CompressorKind::Threshold,
                CompressorArg::Cwmp => CompressorKind::Cwmp,
                CompressorArg::Codebook => CompressorKind::Codebook,
                CompressorArg::TopkCodebook => CompressorKind::TopkCodebook,
                CompressorArg::TopkFloat => CompressorKind::TopkFloat,
            },
            k: self.k,
            lambda: self.lambda,
            costs: self.costs.clone(),
            codebook: self.codebook.clone(),
            float: match self.float {
                FloatArg::Fp8E4m3 => FloatKind::Fp8E4m3,
                FloatArg::Fp8E5m2 => FloatKind::Fp8E5m2,
                FloatArg::Fp4E2m1 => FloatKind::Fp4E2m1,
            },
            unbiased: self.unbiased,
            feedback: self.feedback.kind(),
            gamma: self.gamma,
            global: self.global,
            positions: match self.positions {
                PositionsArg::Index => PositionCoding::Index,
                PositionsArg::Entropy => PositionCoding::Entropy,
            },
            seed: self.seed,
        }
    }
}

impl FeedbackArg {
    /// The library's feedback kind.
    pub fn kind(self) -> FeedbackKind {
        match self {
            FeedbackArg::None => FeedbackKind::None,
            FeedbackArg::Full => FeedbackKind::Full,
            FeedbackArg::Decay => FeedbackKind::Decay,
        }
    }
}

pub fn run(args: EfArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    let options = args.compression.options();
    let flag = super::analysis::same_name;
    super::analysis::validate(&options, flag)?;
    let dump = args.select.open(&args.dump)?;
    let source = args.select.select(&dump, &args.dump)?;
    let report = super::analysis::run::<Ef>(&options, &source, flag)?;
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&report.steps)?,
        Format::Table => table(&report),
    };
    args.out.emit(&bytes)?;
    Ok(super::failure::finish(source.unreadable()))
}

fn table(report: &EfOutput) -> Vec<u8> {
    let mut table = Table::plain(["step", "sent", "bits", "error_sq", "residual_norm"]);
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
    bytes.extend(table.text().into_bytes());
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
