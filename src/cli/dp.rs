//! `gradrd dp DUMP`: differential privacy against compression
//! (`compress::privacy`). Each step's selected tensors are flattened into
//! one update, clipped to L2 norm `--clip`, noised with σ·C Gaussian noise
//! for every σ of `--sigmas`; reported per σ: the mean overlap of the noisy
//! top-k support with the noiseless one, and the entropy-coded size of the
//! uniformly quantized update (step `--quant-step`), with its growth over σ = 0.

use std::path::PathBuf;

use clap::Args;
use gradrd_core::registry::dp::{Dp, DpOptions};
use gradrd_core::registry::Source as _;
use gradrd_report::table::full_precision as shortest;

use super::output::{csv_bytes, json_bytes, sig, Format, OutputArgs, Table};
use super::selection::SelectionArgs;
use super::Outcome;

#[derive(Debug, Args)]
pub struct DpArgs {
    /// A dump folder of per-step files.
    dump: PathBuf,
    /// L2 clipping norm C of each step's whole update.
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    clip: f64,
    /// Noise multipliers σ (noise std σ·C), comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,0.01,0.03,0.1,0.3,1",
        allow_hyphen_values = true
    )]
    sigmas: Vec<f64>,
    /// Top-k fraction for the support comparison, in (0, 1].
    #[arg(long, default_value_t = 0.01, allow_hyphen_values = true)]
    k: f64,
    /// Step Δ of the uniform quantizer (default: the RMS of the clipped
    /// noiseless update of the first step divided by 4).
    #[arg(long, allow_hyphen_values = true)]
    quant_step: Option<f64>,
    /// Seed of the noise (step t uses seed + t).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    select: SelectionArgs,
    #[command(flatten)]
    out: OutputArgs,
}

impl DpArgs {
    fn options(&self) -> DpOptions {
        DpOptions {
            clip: self.clip,
            sigmas: self.sigmas.clone(),
            k: self.k,
            quant_step: self.quant_step,
            seed: self.seed,
        }
    }
}

pub fn run(args: DpArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    let options = args.options();
    let flag = super::analysis::same_name;
    super::analysis::validate(&options, flag)?;
    let dump = args.select.open(&args.dump)?;
    let source = args.select.select(&dump, &args.dump)?;
    let report = super::analysis::run::<Dp>(&options, &source, flag)?;
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&report.sigmas)?,
        Format::Table => {
            let mut table =
                Table::plain(["sigma", "overlap", "bits_per_entry", "growth", "reduction"]);
            for r in &report.sigmas {
                table.push(vec![
                    sig(r.sigma, 4),
                    sig(r.support_overlap, 4),
                    sig(r.bits_per_entry, 4),
                    sig(r.growth, 4),
                    sig(r.reduction, 4),
                ]);
            }
            let mut bytes = format!(
                "clip {} · top-k {} (random support overlap ≈ {}) · quantizer step {} · {} steps × {} entries · full precision {} bits/entry as stored\n",
                report.clip,
                report.k,
                report.random_overlap,
                sig(report.quant_step, 4),
                report.steps,
                report.entries_per_step,
                shortest(report.full_precision_bits_per_entry)
            )
            .into_bytes();
            bytes.extend(table.text().into_bytes());
            bytes
        }
    };
    args.out.emit(&bytes)?;
    Ok(super::failure::finish(source.unreadable()))
}
