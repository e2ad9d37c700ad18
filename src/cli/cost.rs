//! `gradrd cost`: bits per round and per client under the communication cost
//! models of `compress::cost` — FedAvg at full precision, sparse schemes
//! (values + positions), dense codebooks, and prediction-space sharing
//! (logits on a public reference set) — and each one's reduction.
//!
//! Full precision is the stored width (`compress::bits`): with `--dump` every
//! tensor counts at its dtype's width (16 bits for bf16) and top-k values at
//! the widest; with `--params` at 32 bits (f32).

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use gradrd_core::compress::bits::{codebook_index_bits, stored_bits, widest, SCALE_BITS};
use gradrd_core::compress::cost::{
    fedavg_bits, prediction_space_bits, reference_size_for_ratio, sparse_bits,
};
use gradrd_core::compress::{fraction_to_count, BitModel, PositionCoding};
use gradrd_core::quant::minifloat::{FP4_E2M1, FP8_E4M3};
use gradrd_report::table::full_precision as shortest;
use serde::Serialize;

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

#[derive(Debug, Serialize)]
struct Row {
    scheme: String,
    bits_per_client: f64,
    /// FedAvg bits over these bits.
    reduction: f64,
}

#[derive(Debug, Serialize)]
struct CostReport {
    schema: &'static str,
    parameters: u64,
    /// FedAvg bits per parameter: the stored width (32 with --params).
    full_precision_bits_per_entry: f64,
    /// Bits per top-k value sent at full precision (the widest stored width).
    value_bits: f64,
    k: f64,
    kept: u64,
    reference_samples: u64,
    classes: u64,
    logit_bits: f64,
    schemes: Vec<Row>,
    /// The reference-set size at which prediction space costs 1/1100 of FedAvg.
    reference_samples_for_1100: f64,
}

pub fn run(args: CostArgs) -> anyhow::Result<super::Outcome> {
    super::output::check_writable(&args.out.output)?;
    if !(args.k > 0.0 && args.k <= 1.0) {
        bail!("--k must be a fraction in (0, 1], got {}", args.k);
    }
    if !(1..=16).contains(&args.codebook_bits) {
        bail!(
            "--codebook-bits must be between 1 and 16, got {}",
            args.codebook_bits
        );
    }
    for (flag, value) in [
        ("--classes", args.classes),
        ("--reference-samples", args.reference_samples),
    ] {
        if !(1..=1_000_000_000_000).contains(&value) {
            bail!("{flag} must be between 1 and 1e12, got {value}");
        }
    }
    if !(args.logit_bits.is_finite() && args.logit_bits > 0.0) {
        bail!(
            "--logit-bits must be finite and > 0, got {}",
            args.logit_bits
        );
    }
    // (parameters, their full-precision bits, the widest stored width)
    let (d, fedavg, value_bits) = match (args.params, &args.dump) {
        (Some(_), Some(_)) => bail!("give --params or --dump, not both"),
        (Some(p), None) if (1.0..=1e15).contains(&p) => {
            let d = p.round() as u64;
            (d, fedavg_bits(d, 32.0), 32.0)
        }
        (Some(p), None) => bail!("--params must be a count between 1 and 1e15, got {p}"),
        (None, Some(path)) => {
            let dump = args.select.open(path)?;
            if let Some((file, error)) = dump.skipped().first() {
                bail!(
                    "{}: cannot count the parameters: {} is unreadable: {error}",
                    path.display(),
                    file.display()
                );
            }
            let selected = dump.select(&args.select.to_selection()?);
            let first = selected.iter().filter_map(|m| m.step).min();
            let tensors: Vec<_> = selected.iter().filter(|m| m.step == first).collect();
            let total: u64 = tensors.iter().map(|m| m.len()).sum();
            if total == 0 {
                bail!("{}: no tensor matches the selection", path.display());
            }
            let widths: Vec<f64> = tensors.iter().map(|m| stored_bits(m.dtype)).collect();
            let fedavg = tensors
                .iter()
                .zip(&widths)
                .map(|(m, &b)| fedavg_bits(m.len(), b))
                .sum();
            (total, fedavg, widest(&widths))
        }
        (None, None) => bail!("give --params N or --dump DUMP"),
    };
    let full_precision_bits_per_entry = fedavg / d as f64;
    let width = shortest(value_bits);
    let k = fraction_to_count(args.k, usize::try_from(d).unwrap_or(usize::MAX)) as u64;
    let index = BitModel {
        positions: PositionCoding::Index,
        value_bits,
    };
    let entropy = BitModel {
        positions: PositionCoding::Entropy,
        value_bits,
    };
    let mut schemes: Vec<(String, f64)> = vec![
        (
            format!(
                "fedavg at the stored width ({} bits/entry)",
                shortest(full_precision_bits_per_entry)
            ),
            fedavg,
        ),
        (
            format!("top-k {width}-bit values + index positions"),
            sparse_bits(d, k, value_bits, &index),
        ),
        (
            format!("top-k {width}-bit values + entropy-bound positions"),
            sparse_bits(d, k, value_bits, &entropy),
        ),
    ];
    for format in [FP8_E4M3, FP4_E2M1] {
        schemes.push((
            format!("top-k {} + index positions (+32-bit scale)", format.name()),
            sparse_bits(d, k, f64::from(format.bits()), &index) + SCALE_BITS,
        ));
    }
    schemes.push((
        format!("dense {}-bit codebook", args.codebook_bits),
        d as f64 * codebook_index_bits(1usize << args.codebook_bits),
    ));
    schemes.push((
        format!(
            "prediction space ({} samples x {} classes x {} bits)",
            args.reference_samples, args.classes, args.logit_bits
        ),
        prediction_space_bits(args.reference_samples, args.classes, args.logit_bits),
    ));
    let report = CostReport {
        schema: "gradrd.cost/1",
        parameters: d,
        full_precision_bits_per_entry,
        value_bits,
        k: args.k,
        kept: k,
        reference_samples: args.reference_samples,
        classes: args.classes,
        logit_bits: args.logit_bits,
        schemes: schemes
            .into_iter()
            .map(|(scheme, bits)| Row {
                scheme,
                bits_per_client: bits,
                reduction: fedavg / bits,
            })
            .collect(),
        reference_samples_for_1100: reference_size_for_ratio(
            d,
            full_precision_bits_per_entry,
            args.classes,
            args.logit_bits,
            1100.0,
        ),
    };
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&report.schemes)?,
        Format::Table => {
            let mut table = Table::new(["scheme", "bits_per_client", "reduction"]);
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
            bytes.extend(table.render());
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
