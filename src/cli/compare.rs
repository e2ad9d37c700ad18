//! `gradrd compare A B`: two tensors (`FILE[:TENSOR]`) side by side —
//! Spearman's rank correlation, the two-sample Kolmogorov–Smirnov test and
//! the Wasserstein distances W1, W2 between their empirical distributions.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use gradrd_core::stats;
use gradrd_io::dump::Dump;
use serde::Serialize;

use super::output::{json_bytes, sig, Format, OutputArgs, Table};
use super::Outcome;

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// First tensor: FILE[:TENSOR] (TENSOR may be left out when FILE holds one tensor).
    a: String,
    /// Second tensor: FILE[:TENSOR].
    b: String,
    /// Exact zeros: `keep` compares all entries, `drop` leaves zeros out
    /// (Spearman then uses the positions where neither tensor is zero).
    #[arg(long, value_enum, default_value_t = Zeros::Keep)]
    zeros: Zeros,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Zeros {
    Keep,
    Drop,
}

#[derive(Debug, Serialize)]
struct Side {
    file: String,
    tensor: String,
    step: Option<u64>,
}

#[derive(Debug, Serialize)]
struct CompareReport {
    schema: &'static str,
    a: Side,
    b: Side,
    n_a: usize,
    n_b: usize,
    spearman_rho: Option<f64>,
    spearman_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spearman_reason: Option<String>,
    ks: f64,
    ks_p: f64,
    w1: f64,
    w2: f64,
}

pub fn run(args: CompareArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    let (side_a, a) = load(&args.a)?;
    let (side_b, b) = load(&args.b)?;
    let drop_zeros = args.zeros == Zeros::Drop;
    let spearman = if a.len() != b.len() {
        Err(format!(
            "Spearman needs paired values: {} and {} entries",
            a.len(),
            b.len()
        ))
    } else {
        let (x, y): (Vec<f64>, Vec<f64>) = a
            .iter()
            .zip(&b)
            .filter(|(x, y)| !drop_zeros || (**x != 0.0 && **y != 0.0))
            .map(|(x, y)| (*x, *y))
            .unzip();
        stats::spearman(&x, &y).map_err(|e| e.to_string())
    };
    let keep = |v: &Vec<f64>| -> Vec<f64> {
        v.iter()
            .copied()
            .filter(|x| !drop_zeros || *x != 0.0)
            .collect()
    };
    let (a, b) = (keep(&a), keep(&b));
    let ks = stats::ks_two_sample(&a, &b)
        .with_context(|| format!("cannot compare {} with {}", args.a, args.b))?;
    let distances = stats::wasserstein_samples(&a, &b)
        .with_context(|| format!("cannot compare {} with {}", args.a, args.b))?;
    let report = CompareReport {
        schema: "gradrd.compare/1",
        a: side_a,
        b: side_b,
        n_a: a.len(),
        n_b: b.len(),
        spearman_rho: spearman.as_ref().ok().map(|s| s.rho),
        spearman_p: spearman.as_ref().ok().map(|s| s.p_value),
        spearman_reason: spearman.err(),
        ks: ks.statistic,
        ks_p: ks.p_value,
        w1: distances.w1,
        w2: distances.w2,
    };
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => super::output::csv_bytes(&[CsvRow::from(&report)])?,
        Format::Table => table(&report),
    };
    args.out.emit(&bytes)?;
    Ok(Outcome::Complete)
}

/// Splits `FILE[:TENSOR]` (the file part wins when the whole text is a path)
/// and reads the tensor. NaN/Inf are an error naming the count.
fn load(spec: &str) -> anyhow::Result<(Side, Vec<f64>)> {
    let (file, tensor) = match spec.rsplit_once(':') {
        Some((file, tensor)) if !Path::new(spec).exists() && !tensor.is_empty() => {
            (PathBuf::from(file), Some(tensor.to_string()))
        }
        _ => (PathBuf::from(spec), None),
    };
    let dump = Dump::open(&file)?;
    let candidates: Vec<_> = dump
        .tensors()
        .iter()
        .filter(|t| tensor.as_ref().is_none_or(|name| &t.name == name))
        .collect();
    let meta = match (candidates.as_slice(), &tensor) {
        ([one], _) => *one,
        ([], Some(name)) => bail!("{}: no tensor named '{name}'", file.display()),
        ([], None) => bail!("{}: holds no tensor", file.display()),
        (many, _) => {
            let names: Vec<String> = many
                .iter()
                .take(8)
                .map(|t| match t.step {
                    Some(s) => format!("{} (step {s})", t.name),
                    None => t.name.clone(),
                })
                .collect();
            bail!(
                "{}: {} tensors match; name one as FILE:TENSOR (e.g. {})",
                file.display(),
                many.len(),
                names.join(", ")
            )
        }
    };
    let values = dump.read(meta)?;
    let nonfinite = values.iter().filter(|v| !v.is_finite()).count();
    if nonfinite > 0 {
        bail!(
            "{}: tensor '{}': {nonfinite} NaN/infinite values",
            file.display(),
            meta.name
        );
    }
    Ok((
        Side {
            file: file.display().to_string(),
            tensor: meta.name.clone(),
            step: meta.step,
        },
        values,
    ))
}

#[derive(Debug, Serialize)]
struct CsvRow<'a> {
    a: &'a str,
    b: &'a str,
    n_a: usize,
    n_b: usize,
    spearman_rho: Option<f64>,
    spearman_p: Option<f64>,
    ks: f64,
    ks_p: f64,
    w1: f64,
    w2: f64,
}

impl<'a> From<&'a CompareReport> for CsvRow<'a> {
    fn from(r: &'a CompareReport) -> Self {
        CsvRow {
            a: &r.a.tensor,
            b: &r.b.tensor,
            n_a: r.n_a,
            n_b: r.n_b,
            spearman_rho: r.spearman_rho,
            spearman_p: r.spearman_p,
            ks: r.ks,
            ks_p: r.ks_p,
            w1: r.w1,
            w2: r.w2,
        }
    }
}

fn table(r: &CompareReport) -> Vec<u8> {
    let mut table = Table::new(vec!["measure", "value"]);
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |x| sig(x, 6));
    for (name, value) in [
        ("n_a", r.n_a.to_string()),
        ("n_b", r.n_b.to_string()),
        ("spearman_rho", opt(r.spearman_rho)),
        ("spearman_p", opt(r.spearman_p)),
        ("ks", sig(r.ks, 6)),
        ("ks_p", sig(r.ks_p, 6)),
        ("w1", sig(r.w1, 6)),
        ("w2", sig(r.w2, 6)),
    ] {
        table.push(vec![name.to_string(), value]);
    }
    let mut bytes = format!(
        "a: {} '{}'\nb: {} '{}'\n",
        r.a.file, r.a.tensor, r.b.file, r.b.tensor
    )
    .into_bytes();
    bytes.extend(table.render());
    if let Some(reason) = &r.spearman_reason {
        bytes.extend(format!("spearman: {reason}\n").into_bytes());
    }
    bytes
}
