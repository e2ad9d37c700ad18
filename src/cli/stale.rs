//! `gradrd stale DUMP`: clients that disappear (`compress::stale`). The
//! replay of `ef` runs with the client absent at `--absent` steps; on its
//! return the error-feedback memory is kept, reset, decayed by γ^h
//! (`--stale-gamma`) or reset when more than `--max-age` rounds old. Reports
//! per policy the compression error, the memory thrown away, and their sum.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::Args;
use gradrd_core::compress::bits::widest;
use gradrd_core::compress::stale::{replay_with_absences, StaleOutcome, StalePolicy};
use gradrd_core::compress::Run;
use gradrd_core::registry::sequence::Sequence;
use gradrd_io::dump::StepRange;
use serde::Serialize;

use super::ef::CompressionArgs;
use super::output::{csv_bytes, json_bytes, sig, Format, OutputArgs, Table};
use super::selection::SelectionArgs;
use super::Outcome;

#[derive(Debug, Args)]
pub struct StaleArgs {
    /// A dump folder of per-step files (at least two steps).
    dump: PathBuf,
    /// Steps at which the client is absent: N, A..B (inclusive), comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    absent: Vec<StepRange>,
    /// γ of the decay policy (memory × γ^h after h missed rounds).
    #[arg(long, default_value_t = 0.5, allow_hyphen_values = true)]
    stale_gamma: f64,
    /// Age (rounds since the memory's model version) above which reset-if-older resets.
    #[arg(long, default_value_t = 2)]
    max_age: u64,
    #[command(flatten)]
    compression: CompressionArgs,
    #[command(flatten)]
    select: SelectionArgs,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Serialize)]
struct Row {
    policy: &'static str,
    rounds_present: usize,
    sent: u64,
    bits: f64,
    compression_error: f64,
    discarded_error: f64,
    total_error: f64,
}

#[derive(Debug, Serialize)]
struct StaleReport {
    schema: &'static str,
    dump: String,
    compressor: &'static str,
    absent_steps: Vec<u64>,
    stale_gamma: f64,
    max_age: u64,
    policies: Vec<Row>,
    /// The policy with the smallest total error.
    best: &'static str,
}

fn policy_name(p: &StalePolicy) -> &'static str {
    match p {
        StalePolicy::Keep => "keep",
        StalePolicy::Reset => "reset",
        StalePolicy::Decay { .. } => "decay",
        StalePolicy::ResetIfOlder { .. } => "reset-if-older",
    }
}

pub fn run(args: StaleArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    if !(0.0..=1.0).contains(&args.stale_gamma) {
        bail!("--stale-gamma must be in [0, 1], got {}", args.stale_gamma);
    }
    let resolved = args.compression.resolve()?;
    let dump = args.select.open(&args.dump)?;
    let skipped = super::failure::skipped(&dump);
    let what = args.dump.display().to_string();
    let source = args.select.select(&dump, &args.dump)?;
    let sequence = Sequence::new(&source, &what)?;
    let present: Vec<bool> = sequence
        .steps
        .iter()
        .map(|(step, _)| !args.absent.iter().any(|r| r.contains(*step)))
        .collect();
    let absent_steps: Vec<u64> = sequence
        .steps
        .iter()
        .zip(&present)
        .filter(|(_, p)| !**p)
        .map(|((s, _), _)| *s)
        .collect();
    if absent_steps.is_empty() {
        bail!("--absent matches none of the selected steps");
    }
    if absent_steps.len() == sequence.steps.len() {
        bail!("--absent covers every selected step: the client never takes part");
    }
    let rounds: Vec<Vec<Vec<f64>>> = (0..sequence.steps.len())
        .map(|i| sequence.read(i))
        .collect::<Result<_, _>>()?;
    let bits = resolved.bit_model(widest(&sequence.stored_bits()));
    let policies = [
        StalePolicy::Keep,
        StalePolicy::Reset,
        StalePolicy::Decay {
            gamma: args.stale_gamma,
        },
        StalePolicy::ResetIfOlder {
            max_age: args.max_age,
        },
    ];
    let mut rows = Vec::new();
    for policy in policies {
        let factory = resolved
            .factory(&sequence.names, &sequence.sizes)
            .map_err(|e| anyhow!(e))?;
        let mut run = Run::new(
            &sequence.sizes,
            resolved.scope,
            factory,
            resolved.feedback,
            bits,
            resolved.seed,
        )
        .map_err(|e| anyhow!("tensor '{}': {}", sequence.name(e.tensor), e.error))?;
        let out: StaleOutcome = replay_with_absences(&mut run, &rounds, &present, policy)
            .map_err(|e| anyhow!("tensor '{}': {}", sequence.name(e.tensor), e.error))?;
        rows.push(Row {
            policy: policy_name(&policy),
            rounds_present: out.rounds_present,
            sent: out.sent,
            bits: out.bits,
            compression_error: out.compression_error,
            discarded_error: out.discarded_error,
            total_error: out.total_error,
        });
    }
    let best = rows
        .iter()
        .min_by(|a, b| a.total_error.total_cmp(&b.total_error))
        .map_or("keep", |r| r.policy);
    let report = StaleReport {
        schema: "gradrd.stale/1",
        dump: what,
        compressor: resolved.kind.name(),
        absent_steps,
        stale_gamma: args.stale_gamma,
        max_age: args.max_age,
        policies: rows,
        best,
    };
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&report.policies)?,
        Format::Table => {
            let mut table = Table::new([
                "policy",
                "rounds",
                "sent",
                "compression_error",
                "discarded_error",
                "total_error",
            ]);
            for r in &report.policies {
                table.push(vec![
                    r.policy.to_string(),
                    r.rounds_present.to_string(),
                    r.sent.to_string(),
                    sig(r.compression_error, 5),
                    sig(r.discarded_error, 5),
                    sig(r.total_error, 5),
                ]);
            }
            let mut bytes = format!(
                "{} with the client absent at steps {:?}\n",
                report.compressor, report.absent_steps
            )
            .into_bytes();
            bytes.extend(table.render());
            bytes.extend(format!("best: {}\n", report.best).into_bytes());
            bytes
        }
    };
    args.out.emit(&bytes)?;
    Ok(super::failure::finish(&skipped))
}
