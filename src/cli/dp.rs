//! `gradrd dp DUMP`: differential privacy against compression
//! (`compress::privacy`). Each step's selected tensors are flattened into
//! one update, clipped to L2 norm `--clip`, noised with σ·C Gaussian noise
//! for every σ of `--sigmas`; reported per σ: the mean overlap of the noisy
//! top-k support with the noiseless one, and the entropy-coded size of the
//! uniformly quantized update (step `--quant-step`), with its growth over σ = 0.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use gradrd_core::compress::bits::full_precision_bits;
use gradrd_core::compress::privacy::{clip, dp_noise_curve};
use gradrd_core::registry::sequence::Sequence;
use gradrd_io::dump::Selected;
use gradrd_report::table::full_precision as shortest;
use serde::Serialize;

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

#[derive(Debug, Serialize)]
struct SigmaRow {
    sigma: f64,
    support_overlap: f64,
    coded_bits: f64,
    bits_per_entry: f64,
    /// `coded_bits / coded_bits(σ = 0)`.
    growth: f64,
    /// FedAvg at the stored width over `coded_bits`.
    reduction: f64,
}

#[derive(Debug, Serialize)]
struct DpReport {
    schema: &'static str,
    dump: String,
    clip: f64,
    k: f64,
    quant_step: f64,
    seed: u64,
    steps: usize,
    entries_per_step: usize,
    /// FedAvg bits per entry: each tensor at its stored width (16 for bf16).
    full_precision_bits_per_entry: f64,
    /// Support overlap of a random top-k: k/n.
    random_overlap: f64,
    sigmas: Vec<SigmaRow>,
}

pub fn run(args: DpArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    if !(args.k > 0.0 && args.k <= 1.0) {
        bail!("--k must be a fraction in (0, 1], got {}", args.k);
    }
    if !(args.clip.is_finite() && args.clip > 0.0) {
        bail!("--clip must be finite and > 0, got {}", args.clip);
    }
    if let Some(s) = args.sigmas.iter().find(|s| !(s.is_finite() && **s >= 0.0)) {
        bail!("--sigmas must be finite and >= 0, got {s}");
    }
    if let Some(q) = args.quant_step.filter(|q| !(q.is_finite() && *q > 0.0)) {
        bail!("--quant-step must be finite and > 0, got {q}");
    }
    let dump = args.select.open(&args.dump)?;
    let skipped = super::failure::skipped(&dump);
    let what = args.dump.display().to_string();
    let source = Selected::new(
        &dump,
        what.clone(),
        dump.select(&args.select.to_selection()?),
    );
    let sequence = Sequence::new(&source, &what)?;
    let mut sigmas = vec![0.0];
    sigmas.extend(args.sigmas.iter().copied().filter(|s| *s != 0.0));
    let mut overlap = vec![0.0; sigmas.len()];
    let mut coded = vec![0.0; sigmas.len()];
    let mut quant_step = args.quant_step;
    let n: usize = sequence.sizes.iter().sum();
    for index in 0..sequence.steps.len() {
        let update: Vec<f64> = sequence.read(index)?.concat();
        let step = match quant_step {
            Some(q) => q,
            None => {
                let clipped = clip(&update, args.clip);
                let rms = (clipped.iter().map(|x| x * x).sum::<f64>() / n.max(1) as f64).sqrt();
                if rms.is_nan() || rms <= 0.0 {
                    bail!("{what}: the first step's update is all zeros; give --quant-step");
                }
                quant_step = Some(rms / 4.0);
                rms / 4.0
            }
        };
        let curve = dp_noise_curve(
            &update,
            args.clip,
            &sigmas,
            args.k,
            step,
            args.seed.wrapping_add(index as u64),
        )?;
        for (i, point) in curve.iter().enumerate() {
            overlap[i] += point.support_overlap;
            coded[i] += point.coded_bits;
        }
    }
    let total_entries = (n * sequence.steps.len()) as f64;
    let full_precision_bits_per_entry =
        full_precision_bits(&sequence.sizes, &sequence.stored_bits()) / n as f64;
    let rows = sigmas
        .iter()
        .enumerate()
        .filter(|(i, s)| *i > 0 || args.sigmas.contains(s))
        .map(|(i, &sigma)| SigmaRow {
            sigma,
            support_overlap: overlap[i] / sequence.steps.len() as f64,
            coded_bits: coded[i],
            bits_per_entry: coded[i] / total_entries,
            growth: coded[i] / coded[0],
            reduction: full_precision_bits_per_entry * total_entries / coded[i],
        })
        .collect();
    let report = DpReport {
        schema: "gradrd.dp/1",
        dump: what,
        clip: args.clip,
        k: args.k,
        quant_step: quant_step.unwrap_or(f64::NAN),
        seed: args.seed,
        steps: sequence.steps.len(),
        entries_per_step: n,
        full_precision_bits_per_entry,
        random_overlap: args.k,
        sigmas: rows,
    };
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&report.sigmas)?,
        Format::Table => {
            let mut table =
                Table::new(["sigma", "overlap", "bits_per_entry", "growth", "reduction"]);
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
            bytes.extend(table.render());
            bytes
        }
    };
    args.out.emit(&bytes)?;
    Ok(super::failure::finish(&skipped))
}
