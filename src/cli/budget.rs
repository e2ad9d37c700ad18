//! `gradrd budget DUMP`: the total-error budget questions on a dump.
//!
//! 1. At the total budget that top-k (`--k`, per tensor) spends over the run,
//!    the constant hard threshold λ that spends at most the same number of
//!    entries (bisection), and which of the two has the smaller total error.
//! 2. Per-tensor bit allocation of `--bits-per-entry` × (entries per step):
//!    greedy marginal return on each tensor's operational D(R) (sample
//!    Lloyd-Max designs at 0..`--max-bits` bits on the tensor's values pooled
//!    over the selected steps), against the same bits spread equally.
//!
//! The whole selection is held in memory (the replays run many times).

use std::path::PathBuf;

use clap::Args;
use gradrd_core::compress::budget::Budget as Total;
use gradrd_core::compress::PositionCoding;
use gradrd_core::registry::budget::{
    BitAllocation, Budget, BudgetOptions, BudgetOutput, BudgetUnit, SparsityBudget,
};
use gradrd_core::registry::Source as _;
use gradrd_report::table::full_precision as shortest;

use super::ef::FeedbackArg;
use super::output::{csv_bytes, json_bytes, sig, Format, OutputArgs, Table};
use super::selection::SelectionArgs;
use super::Outcome;

#[derive(Debug, Args)]
pub struct BudgetArgs {
    /// A dump folder of per-step files (at least two steps).
    dump: PathBuf,
    /// Top-k fraction per tensor that sets the total entry budget, in (0, 1].
    #[arg(long, default_value_t = 0.01, allow_hyphen_values = true)]
    k: f64,
    /// What the equal budget counts: entries sent, or bits sent (values + positions).
    #[arg(long, value_enum, default_value_t = UnitArg::Entries)]
    budget_unit: UnitArg,
    /// Position cost of the bit count: `index` or `entropy` (see `gradrd ef`).
    #[arg(long, value_enum, default_value_t = PositionsArg::Index)]
    positions: PositionsArg,
    /// Error feedback of both replays.
    #[arg(long, value_enum, default_value_t = FeedbackArg::Full)]
    feedback: FeedbackArg,
    /// Memory decay γ in [0, 1] for `--feedback decay`.
    #[arg(long, default_value_t = 0.9, allow_hyphen_values = true)]
    gamma: f64,
    /// Average bits per entry of the bit-allocation budget (1..=max-bits).
    #[arg(long, default_value_t = 3)]
    bits_per_entry: u32,
    /// Largest rate of a tensor's quantizer, in bits (1..=12).
    #[arg(long, default_value_t = 8)]
    max_bits: u32,
    /// Weight exponent M of the distortion |g|^M (g − ĝ)² (0 = MSE).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    m: f64,
    #[command(flatten)]
    select: SelectionArgs,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum UnitArg {
    Entries,
    Bits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PositionsArg {
    Index,
    Entropy,
}

impl BudgetArgs {
    fn options(&self) -> BudgetOptions {
        BudgetOptions {
            k: Some(self.k),
            budget_unit: match self.budget_unit {
                UnitArg::Entries => BudgetUnit::Entries,
                UnitArg::Bits => BudgetUnit::Bits,
            },
            positions: match self.positions {
                PositionsArg::Index => PositionCoding::Index,
                PositionsArg::Entropy => PositionCoding::Entropy,
            },
            feedback: self.feedback.kind(),
            gamma: self.gamma,
            bits_per_entry: Some(self.bits_per_entry),
            max_bits: self.max_bits,
            m: self.m,
        }
    }
}

pub fn run(args: BudgetArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    let options = args.options();
    let flag = super::analysis::same_name;
    super::analysis::validate(&options, flag)?;
    let dump = args.select.open(&args.dump)?;
    let source = args.select.select(&dump, &args.dump)?;
    let report = super::analysis::run::<Budget>(&options, &source, flag)?;
    let (Some(sparsity), Some(allocation)) = (&report.sparsity, &report.allocation) else {
        unreachable!("k and bits_per_entry are set");
    };
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&allocation.tensors)?,
        Format::Table => table(&report, sparsity, allocation),
    };
    args.out.emit(&bytes)?;
    Ok(super::failure::finish(source.unreadable()))
}

fn table(report: &BudgetOutput, s: &SparsityBudget, a: &BitAllocation) -> Vec<u8> {
    let mut text = format!(
        "{} steps × {} entries ({} bits/entry as stored, values sent at {} bits), {} feedback\n\
         equal total budget: {} (top-k, k = {} per tensor)\n\
         \x20 top-k      sent {:>8}  bits {:>10}  total error {}\n\
         \x20 threshold  sent {:>8}  bits {:>10}  total error {}  (λ = {}, {} replays)\n\
         \x20 global top-k sent {:>6}  total error {}  (for reference)\n\
         winner: {} (threshold / top-k error ratio {})\n\n",
        report.steps,
        report.entries_per_step,
        shortest(report.full_precision_bits_per_entry),
        report.value_bits,
        report.feedback,
        match s.budget {
            Total::Entries(n) => format!("{n} entries"),
            Total::Bits(b) => format!("{b} bits"),
        },
        s.k,
        s.topk.sent,
        sig(s.topk.bits, 7),
        sig(s.topk.total_error, 6),
        s.threshold.sent,
        sig(s.threshold.bits, 7),
        sig(s.threshold.total_error, 6),
        sig(s.threshold.lambda, 6),
        s.threshold.evaluations,
        s.topk_global.sent,
        sig(s.topk_global.total_error, 6),
        s.winner,
        sig(s.error_ratio, 4),
    );
    text.push_str(&format!(
        "bit allocation ({}): {} bits per entry on average ({} bits per step, {} spent, {}x fewer than full precision)\n",
        a.method,
        a.bits_per_entry,
        a.budget_bits,
        a.spent_bits,
        sig(a.reduction, 4)
    ));
    let mut table = Table::plain([
        "tensor",
        "n",
        "bits",
        "distortion",
        "greedy_bits",
        "equal_bits",
        "equal_distortion",
    ]);
    for r in &a.tensors {
        table.push(vec![
            r.tensor.clone(),
            r.n.to_string(),
            r.bits.to_string(),
            sig(r.distortion, 4),
            r.greedy_bits.to_string(),
            r.equal_bits.to_string(),
            sig(r.equal_distortion, 4),
        ]);
    }
    let mut bytes = text.into_bytes();
    bytes.extend(table.text().into_bytes());
    bytes.extend(
        format!(
            "total distortion Σ n·D: allocated {}, equal bits {}, gain {} dB (hull greedy: {}, {} dB)\n",
            sig(a.total_distortion, 6),
            sig(a.equal_total_distortion, 6),
            sig(a.gain_db, 4),
            sig(a.greedy_total_distortion, 6),
            sig(a.greedy_gain_db, 4)
        )
        .into_bytes(),
    );
    bytes
}
