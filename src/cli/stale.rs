//! `gradrd stale DUMP`: clients that disappear — the registry's `stale`
//! ([`gradrd_core::registry::stale`]). The replay of `ef` runs with the
//! client absent at `--absent` steps; on its return the error-feedback
//! memory is kept, reset, decayed by γ^h (`--stale-gamma`) or reset when
//! more than `--max-age` rounds old. Reports per policy the compression
//! error, the memory thrown away, and their sum.

use std::path::PathBuf;

use clap::Args;
use gradrd_core::registry::stale::{Stale, StaleOptions};
use gradrd_core::registry::Source as _;
use gradrd_io::dump::StepRange;

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

pub fn run(args: StaleArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    let options = StaleOptions {
        absent: args.absent.clone(),
        stale_gamma: args.stale_gamma,
        max_age: args.max_age,
        compression: args.compression.options(),
    };
    let flag = super::analysis::same_name;
    super::analysis::validate(&options, flag)?;
    let dump = args.select.open(&args.dump)?;
    let source = args.select.select(&dump, &args.dump)?;
    let report = super::analysis::run::<Stale>(&options, &source, flag)?;
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&report.policies)?,
        Format::Table => {
            let mut table = Table::plain([
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
            bytes.extend(table.text().into_bytes());
            bytes.extend(format!("best: {}\n", report.best).into_bytes());
            bytes
        }
    };
    args.out.emit(&bytes)?;
    Ok(super::failure::finish(source.unreadable()))
}
