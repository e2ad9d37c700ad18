//! `gradrd rd`: the rate-distortion function `R(D)` of a source under the
//! M-weighted distortion (Blahut–Arimoto; the Shannon lower bound for
//! M = 0), and where the quantizers people use sit against it.
//!
//! The source is a model given by its parameters (`--family --param`), or the
//! fit of one recorded tensor (`--from DUMP --tensor T --step S`, non-zero
//! values). Each quantizer is run on real values — the tensor's non-zeros, or
//! `--samples` seeded draws from the model — at each rate of `--bits`; its
//! point is `(coded_bits, distortion)`, with the real entropy-coded size, and
//! its gap to the limit is `coded_bits − R(distortion)` bits and
//! `10 log10(distortion / D(coded_bits))` dB. M22 is the M-weighted Lloyd-Max
//! codebook designed on the model at that rate.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use gradrd_core::dist::FamilyKind;
use gradrd_core::fit::LocMode;
use gradrd_core::quant::rd::{BaOptions, CurvePoint};
use gradrd_core::registry::rd::{Rd, RdOptions, RdOutput};
use gradrd_core::registry::source::InMemory;
use gradrd_core::registry::{Outcome as _, Source as _};
use serde::Serialize;

use super::fit::{parse_loc, parse_param, NanArg};
use super::output::{csv_bytes, json_bytes, sig, Format, OutputArgs, Table};
use super::selection::SelectionArgs;
use super::Outcome;

#[derive(Debug, Args)]
pub struct RdArgs {
    /// Family of the source (with --from: the family fitted to the tensor).
    #[arg(long, default_value = "gennorm")]
    family: FamilyKind,
    /// A source parameter with scipy's name, e.g. --param beta=0.8 (loc 0 and scale 1 by default).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    params: Vec<(String, f64)>,
    /// Take the source from one tensor of this dump (its fit on the non-zero values).
    #[arg(long, value_name = "DUMP")]
    from: Option<PathBuf>,
    #[command(flatten)]
    select: SelectionArgs,
    /// With --from, the fitted location: `free`, `zero`, or a number.
    #[arg(long, default_value = "free", value_parser = parse_loc)]
    loc: LocMode,
    /// With --from, NaN/Inf: `error` fails, `omit` leaves them out.
    #[arg(long, value_enum, default_value_t = NanArg::Error)]
    nan: NanArg,
    /// Weight exponent M of the distortion E|X|^M (X − Q(X))².
    #[arg(long, default_value_t = 0.0)]
    m: f64,
    /// Rates (bits per entry) at which the quantizers are run.
    #[arg(long, value_delimiter = ',', default_value = "2,3,4")]
    bits: Vec<u32>,
    /// Quantizers to place against the limit (comma-separated names, or `all`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "m22,uniform-opt,uniform-minmax,tinyscript,fp8-e4m3,fp4-e2m1,topk-fp8,countsketch"
    )]
    quantizers: Vec<String>,
    /// Draws from the model the quantizers are run on (without --from).
    #[arg(long, default_value_t = 100_000)]
    samples: usize,
    /// Seed of the draws and of the CountSketch hashes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Source cells of the Blahut–Arimoto discretization (more: closer to the true curve at small D, slower).
    #[arg(long, default_value_t = 512)]
    cells: usize,
    /// Points on the R(D) curve (it reaches the smallest distortion and the highest rate of the quantizers, at most 10^-4 D_max; more points follow at the same spacing).
    #[arg(long, default_value_t = 16)]
    points: usize,
    /// Blahut–Arimoto iterations per point of the curve (warm-started from the previous point).
    #[arg(long, default_value_t = BaOptions::default().max_iterations)]
    iterations: usize,
    #[command(flatten)]
    out: OutputArgs,
}

impl RdArgs {
    /// The registry's options: a model from `--param` without `--from`,
    /// the tensor's fit with it.
    fn options(&self) -> RdOptions {
        RdOptions {
            family: self.family,
            params: self
                .from
                .is_none()
                .then(|| self.params.iter().cloned().collect()),
            samples: self.samples,
            loc: self.loc,
            nan: self.nan.policy(),
            m: self.m,
            bits: self.bits.clone(),
            quantizers: self.quantizers.clone(),
            seed: self.seed,
            cells: self.cells,
            points: self.points,
            iterations: self.iterations,
        }
    }
}

/// The flag of an option field.
fn flag(field: &str) -> String {
    match field {
        "params" => "--param".to_string(),
        other => super::analysis::same_name(other),
    }
}

pub fn run(args: RdArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    let options = args.options();
    super::analysis::validate(&options, flag)?;
    let report = match &args.from {
        None => super::analysis::run::<Rd>(&options, &InMemory::new("model"), flag)?,
        Some(path) => {
            if !args.params.is_empty() {
                bail!("--param gives a model; with --from the model is fitted (drop --param)");
            }
            let dump = args.select.open(path)?;
            let source = args.select.select(&dump, path)?;
            if let n @ 2.. = source.tensors().len() {
                bail!(
                    "{}: the selection matches {n} tensors; choose one with --tensor and --step",
                    path.display()
                );
            }
            super::analysis::run::<Rd>(&options, &source, flag)?
        }
    };
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&rows(&report))?,
        Format::Table => table(&report),
    };
    args.out.emit(&bytes)?;
    Ok(super::failure::outcome(report.partial()))
}

#[derive(Debug, Serialize)]
struct Row<'a> {
    kind: &'static str,
    name: &'a str,
    rate: f64,
    distortion: f64,
    mse: Option<f64>,
    entropy_bits: Option<f64>,
    gap_bits: Option<f64>,
    gap_db: Option<f64>,
}

/// The curve, the Shannon lower bound and the quantizer points as one long
/// table (`kind` = `rd`, `slb` or `quantizer`), ready to plot.
fn rows(report: &RdOutput) -> Vec<Row<'_>> {
    let curve = |kind, points: &[CurvePoint]| -> Vec<Row<'_>> {
        points
            .iter()
            .map(|p| Row {
                kind,
                name: "",
                rate: p.rate,
                distortion: p.distortion,
                mse: None,
                entropy_bits: None,
                gap_bits: None,
                gap_db: None,
            })
            .collect()
    };
    let mut rows = curve("rd", &report.curve);
    if let Some(slb) = &report.slb {
        rows.extend(curve("slb", slb));
    }
    rows.extend(report.quantizers.iter().map(|q| Row {
        kind: "quantizer",
        name: &q.result.name,
        rate: q.result.coded_bits,
        distortion: q.result.distortion,
        mse: Some(q.result.mse),
        entropy_bits: Some(q.result.entropy_bits),
        gap_bits: q.gap_bits,
        gap_db: q.gap_db,
    }));
    rows
}

fn table(report: &RdOutput) -> Vec<u8> {
    let opt = |v: Option<f64>, d: usize| v.map_or("-".to_string(), |x| sig(x, d));
    let mut text = String::new();
    let params: Vec<String> = report
        .params
        .iter()
        .map(|(n, v)| format!("{n}={}", sig(*v, 4)))
        .collect();
    text.push_str(&format!(
        "R(D) of {}({}), M = {} (Blahut–Arimoto, {} cells, {} iterations per point)\n",
        report.family,
        params.join(", "),
        report.m,
        report.cells,
        report.iterations
    ));
    if let Some(note) = &report.note {
        text.push_str(&format!("note: {note}\n"));
    }
    let mut curve = Table::plain(["distortion", "rate", "slb"]);
    for (i, p) in report.curve.iter().enumerate() {
        let slb = report.slb.as_ref().map(|s| s[i].rate);
        curve.push(vec![sig(p.distortion, 4), sig(p.rate, 4), opt(slb, 4)]);
    }
    text.push_str(&String::from_utf8_lossy(&curve.text().into_bytes()));
    text.push('\n');
    let mut quantizers = Table::plain([
        "quantizer",
        "bits",
        "distortion",
        "entropy",
        "coded",
        "gap_bits",
        "gap_db",
    ]);
    let mut notes = Vec::new();
    for q in &report.quantizers {
        let r = &q.result;
        quantizers.push(vec![
            match &q.note {
                Some(note) => {
                    notes.push(format!(
                        "[{}] {} at {} bits: {note}\n",
                        notes.len() + 1,
                        r.name,
                        sig(r.bits, 3)
                    ));
                    format!("{} [{}]", r.name, notes.len())
                }
                None => r.name.clone(),
            },
            sig(r.bits, 3),
            sig(r.distortion, 4),
            sig(r.entropy_bits, 4),
            sig(r.coded_bits, 4),
            opt(q.gap_bits, 3),
            opt(q.gap_db, 3),
        ]);
    }
    text.push_str(&String::from_utf8_lossy(&quantizers.text().into_bytes()));
    text.extend(notes);
    for e in &report.too_low {
        text.push_str(&format!(
            "not run: {} at {} bits: {}\n",
            e.name, e.bits, e.error
        ));
    }
    for e in &report.errors {
        text.push_str(&format!(
            "error: {} at {} bits: {}\n",
            e.name, e.bits, e.error
        ));
    }
    text.into_bytes()
}
