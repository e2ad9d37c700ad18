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

use anyhow::{anyhow, bail};
use clap::Args;
use gradrd_core::compress::bits::{full_precision_bits, widest};
use gradrd_core::compress::budget::{
    allocate_bits, allocate_bits_exact, pooled_curves, threshold_for, Budget, RatePoint,
};
use gradrd_core::compress::{
    replay_totals, BitModel, Compressor, Feedback, PositionCoding, RunTotals, Scope,
};
use gradrd_core::registry::sequence::Sequence;
use gradrd_report::table::full_precision as shortest;
use serde::Serialize;

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

#[derive(Debug, Serialize)]
struct Replay {
    sent: u64,
    bits: f64,
    total_error: f64,
}

impl From<RunTotals> for Replay {
    fn from(t: RunTotals) -> Self {
        Replay {
            sent: t.sent,
            bits: t.bits,
            total_error: t.total_error,
        }
    }
}

#[derive(Debug, Serialize)]
struct ThresholdReplay {
    lambda: f64,
    sent: u64,
    bits: f64,
    total_error: f64,
    evaluations: usize,
}

#[derive(Debug, Serialize)]
struct SparsityBudget {
    k: f64,
    /// The equal total budget: `{"entries": N}` or `{"bits": B}` (top-k's spend).
    budget: Budget,
    budget_entries: u64,
    topk: Replay,
    /// Global top-k at the same fraction (its spend differs by rounding).
    topk_global: Replay,
    threshold: ThresholdReplay,
    /// `threshold` or `topk`: the smaller total error at the equal budget.
    winner: &'static str,
    /// Total error of the threshold over that of top-k.
    error_ratio: f64,
}

#[derive(Debug, Serialize)]
struct AllocationRow {
    tensor: String,
    n: usize,
    /// The width the tensor is stored in, bits per entry.
    stored_bits: f64,
    bits: u32,
    distortion: f64,
    /// The greedy hull allocation's rate (equal to `bits` when greedy is exact).
    greedy_bits: u32,
    equal_bits: u32,
    equal_distortion: f64,
}

#[derive(Debug, Serialize)]
struct BitAllocation {
    bits_per_entry: u32,
    budget_bits: f64,
    /// FedAvg bits of one step (every entry at its stored width) over
    /// `budget_bits`.
    reduction: f64,
    /// `exact` (dynamic programming) or `greedy` (hull greedy, when the
    /// exact table is too large).
    method: &'static str,
    spent_bits: f64,
    m: f64,
    total_distortion: f64,
    /// The greedy marginal-return allocation on the convex hulls.
    greedy_total_distortion: f64,
    equal_total_distortion: f64,
    /// `10 log10(equal / allocated)`.
    gain_db: f64,
    greedy_gain_db: f64,
    /// Greedy never passed over a better segment (then it is optimal for
    /// the bits it spent).
    greedy_lagrangian_optimal: bool,
    tensors: Vec<AllocationRow>,
    /// Per tensor: D(R) per entry for R = 0..max_bits.
    curves: Vec<Vec<RatePoint>>,
}

#[derive(Debug, Serialize)]
struct BudgetReport {
    schema: &'static str,
    dump: String,
    feedback: &'static str,
    steps: usize,
    entries_per_step: usize,
    /// Bits per value sent at full precision by top-k and the threshold: the
    /// widest stored width of the selected tensors.
    value_bits: f64,
    /// FedAvg bits of one step over its entries (16 for a bf16 dump).
    full_precision_bits_per_entry: f64,
    sparsity: SparsityBudget,
    allocation: BitAllocation,
}

pub fn run(args: BudgetArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    if !(args.k > 0.0 && args.k <= 1.0) {
        bail!("--k must be a fraction in (0, 1], got {}", args.k);
    }
    if !(1..=12).contains(&args.max_bits) {
        bail!("--max-bits must be between 1 and 12, got {}", args.max_bits);
    }
    if !(1..=args.max_bits).contains(&args.bits_per_entry) {
        bail!(
            "--bits-per-entry must be between 1 and --max-bits ({}), got {}",
            args.max_bits,
            args.bits_per_entry
        );
    }
    if !(args.m.is_finite() && args.m >= 0.0) {
        bail!("--m must be finite and >= 0, got {}", args.m);
    }
    let feedback = match args.feedback {
        FeedbackArg::None => Feedback::None,
        FeedbackArg::Full => Feedback::Full,
        FeedbackArg::Decay if (0.0..=1.0).contains(&args.gamma) => {
            Feedback::Decay { gamma: args.gamma }
        }
        FeedbackArg::Decay => bail!("--gamma must be in [0, 1], got {}", args.gamma),
    };
    let dump = args.select.open(&args.dump)?;
    let skipped = super::failure::skipped(&dump);
    let what = args.dump.display().to_string();
    let source = args.select.select(&dump, &args.dump)?;
    let sequence = Sequence::new(&source, &what)?;
    let steps: Vec<Vec<Vec<f64>>> = (0..sequence.steps.len())
        .map(|i| sequence.read(i))
        .collect::<Result<_, _>>()?;
    let widths = sequence.stored_bits();
    let bits = BitModel {
        positions: match args.positions {
            PositionsArg::Index => PositionCoding::Index,
            PositionsArg::Entropy => PositionCoding::Entropy,
        },
        value_bits: widest(&widths),
    };
    let named = |e: gradrd_core::compress::RunError| {
        anyhow!(
            "tensor '{}': {}",
            super::ef::name_of(&sequence, e.tensor),
            e.error
        )
    };
    let top = |_, _| Compressor::TopK { fraction: args.k };
    let topk = replay_totals(&steps, Scope::PerTensor, top, feedback, bits, 0).map_err(named)?;
    let topk_global =
        replay_totals(&steps, Scope::Global, top, feedback, bits, 0).map_err(named)?;
    let budget = match args.budget_unit {
        UnitArg::Entries => Budget::Entries(topk.sent),
        UnitArg::Bits => Budget::Bits(topk.bits),
    };
    let search = threshold_for(&steps, feedback, bits, budget).map_err(named)?;
    let winner = if search.totals.total_error < topk.total_error {
        "threshold"
    } else {
        "topk"
    };
    let sparsity = SparsityBudget {
        k: args.k,
        budget,
        budget_entries: topk.sent,
        topk: topk.into(),
        topk_global: topk_global.into(),
        threshold: ThresholdReplay {
            lambda: search.lambda,
            sent: search.totals.sent,
            bits: search.totals.bits,
            total_error: search.totals.total_error,
            evaluations: search.evaluations,
        },
        winner,
        error_ratio: search.totals.total_error / topk.total_error,
    };
    let allocation = allocate(&args, &sequence, &steps, &widths)?;
    let entries_per_step: usize = sequence.sizes.iter().sum();
    let report = BudgetReport {
        schema: "gradrd.budget/1",
        dump: what,
        feedback: feedback.name(),
        steps: steps.len(),
        entries_per_step,
        value_bits: bits.value_bits,
        full_precision_bits_per_entry: full_precision_bits(&sequence.sizes, &widths)
            / entries_per_step as f64,
        sparsity,
        allocation,
    };
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&report.allocation.tensors)?,
        Format::Table => table(&report),
    };
    args.out.emit(&bytes)?;
    Ok(super::failure::finish(&skipped))
}

fn allocate(
    args: &BudgetArgs,
    sequence: &Sequence,
    steps: &[Vec<Vec<f64>>],
    widths: &[f64],
) -> anyhow::Result<BitAllocation> {
    let curves = pooled_curves(steps, args.max_bits, args.m).map_err(|(i, e)| {
        anyhow!(
            "tensor '{}': quantizer design failed: {e}",
            sequence.names[i]
        )
    })?;
    let sizes = &sequence.sizes;
    let entries: usize = sizes.iter().sum();
    let budget = f64::from(args.bits_per_entry) * entries as f64;
    let greedy = allocate_bits(sizes, &curves, budget)?;
    let exact = allocate_bits_exact(sizes, &curves, budget)?;
    let greedy_total_distortion = greedy.total_distortion;
    let greedy_bits: Vec<u32> = greedy.tensors.iter().map(|t| t.bits).collect();
    let greedy_lagrangian_optimal = greedy.lagrangian_optimal;
    let (method, chosen) = match exact {
        Some(exact) => ("exact", exact),
        None => ("greedy", greedy),
    };
    let equal = args.bits_per_entry as usize;
    let equal_total: f64 = sizes
        .iter()
        .zip(&curves)
        .map(|(&n, c)| n as f64 * c[equal].distortion)
        .sum();
    let tensors = sequence
        .names
        .iter()
        .zip(sizes)
        .zip(widths)
        .zip(&chosen.tensors)
        .zip(&curves)
        .zip(greedy_bits)
        .map(
            |(((((name, &n), &stored_bits), a), c), greedy_bits)| AllocationRow {
                tensor: name.clone(),
                n,
                stored_bits,
                bits: a.bits,
                greedy_bits,
                distortion: a.distortion,
                equal_bits: args.bits_per_entry,
                equal_distortion: c[equal].distortion,
            },
        )
        .collect();
    Ok(BitAllocation {
        bits_per_entry: args.bits_per_entry,
        budget_bits: budget,
        reduction: full_precision_bits(sizes, widths) / budget,
        method,
        spent_bits: chosen.spent_bits,
        m: args.m,
        total_distortion: chosen.total_distortion,
        greedy_total_distortion,
        equal_total_distortion: equal_total,
        gain_db: 10.0 * (equal_total / chosen.total_distortion).log10(),
        greedy_gain_db: 10.0 * (equal_total / greedy_total_distortion).log10(),
        greedy_lagrangian_optimal,
        tensors,
        curves,
    })
}

fn table(report: &BudgetReport) -> Vec<u8> {
    let s = &report.sparsity;
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
            Budget::Entries(n) => format!("{n} entries"),
            Budget::Bits(b) => format!("{b} bits"),
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
    let a = &report.allocation;
    text.push_str(&format!(
        "bit allocation ({}): {} bits per entry on average ({} bits per step, {} spent, {}x fewer than full precision)\n",
        a.method,
        a.bits_per_entry,
        a.budget_bits,
        a.spent_bits,
        sig(a.reduction, 4)
    ));
    let mut table = Table::new([
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
    bytes.extend(table.render());
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
