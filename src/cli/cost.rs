//! `gradrd cost`: the registry's `cost` ([`gradrd_core::registry::cost`]):
//! bits per round and per client under the communication cost models of
//! `compress::cost` — FedAvg at full precision, sparse schemes
//! (values + positions), dense codebooks, and prediction-space sharing
//! (logits on a public reference set) — and each one's reduction.
//!
//! Full precision is the stored width (`compress::bits`): with `--dump` every
//! tensor counts at its dtype's width (16 bits for bf16) and top-k values at
//! the widest; with `--params` at 32 bits (f32).

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use gradrd_core::registry::cost::{Cost, CostOptions};
use gradrd_core::registry::source::InMemory;

use super::output::{csv_bytes, json_bytes, sig, Format, OutputArgs, Table};
use super::selection::SelectionArgs;

#[derive(Debug, Args)]
pub struct CostArgs {
    /// Number of model parameters d (e.g. 11.2e6 for ResNet-18); or give --dump.
    #[arg(long)]
    params: Option<f64>,
    /// Count d from the first step of this dump instead.
    #[arg(long, value_name = "DUMP")]
    dump: Option<PathBuf>,
    /// Top-k fraction of the sparse schemes, in (0, 1].
    #[arg(long, default_value_t = 0.01, allow_hyphen_values = true)]
    k: f64,
    /// Bits per index of the dense codebook scheme.
    #[arg(long, default_value_t = 3)]
    codebook_bits: u32,
    /// Public reference set size n of prediction-space sharing.
    #[arg(long, default_value_t = 1000)]
    reference_samples: u64,
    /// Classes C (logits per reference sample).
    #[arg(long, default_value_t = 10)]
    classes: u64,
    /// Bits per logit.
    #[arg(long, default_value_t = 32.0)]
    logit_bits: f64,
    #[command(flatten)]
    select: SelectionArgs,
    #[command(flatten)]
    out: OutputArgs,
}

pub fn run(args: CostArgs) -> anyhow::Result<super::Outcome> {
    super::output::check_writable(&args.out.output)?;
    let options = CostOptions {
        params: args.params,
        k: args.k,
        codebook_bits: args.codebook_bits,
        reference_samples: args.reference_samples,
        classes: args.classes,
        logit_bits: args.logit_bits,
    };
    let flag = super::analysis::same_name;
    super::analysis::validate(&options, flag)?;
    let report = match (args.params, &args.dump) {
        (Some(_), Some(_)) => bail!("give --params or --dump, not both"),
        (None, None) => bail!("give --params N or --dump DUMP"),
        (Some(_), None) => {
            super::analysis::run::<Cost>(&options, &InMemory::new("--params"), flag)?
        }
        (None, Some(path)) => {
            let dump = args.select.open(path)?;
            let source = args.select.select(&dump, path)?;
            super::analysis::run::<Cost>(&options, &source, flag)?
        }
    };
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&report.schemes)?,
        Format::Table => {
            let mut table = Table::plain(["scheme", "bits_per_client", "reduction"]);
            for r in &report.schemes {
                table.push(vec![
                    r.scheme.clone(),
                    sig(r.bits_per_client, 5),
                    sig(r.reduction, 4),
                ]);
            }
            let mut bytes = format!(
                "d = {} parameters, top-k keeps {} (k = {}), per client and round\n",
                report.parameters, report.kept, report.k
            )
            .into_bytes();
            bytes.extend(table.text().into_bytes());
            bytes.extend(
                format!(
                    "prediction space reaches 1/1100 of FedAvg at n = {} reference samples\n",
                    sig(report.reference_samples_for_1100, 5)
                )
                .into_bytes(),
            );
            bytes
        }
    };
    args.out.emit(&bytes)?;
    Ok(super::Outcome::Complete)
}
