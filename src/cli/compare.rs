//! `gradrd compare A B`: two tensors (`FILE[:TENSOR]`) side by side —
//! Spearman's rank correlation, the two-sample Kolmogorov–Smirnov test and
//! the Wasserstein distances W1, W2 between their empirical distributions
//! (`gradrd_core::registry::compare`). The two tensors, possibly of two
//! files, are read here and handed to the analysis as one in-memory source.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::{Args, ValueEnum};
use gradrd_core::dtype::DType;
use gradrd_core::registry::compare::{check_finite, Compare, CompareOptions, CompareOutput};
use gradrd_core::registry::source::InMemory;
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

/// The CLI's `--zeros` is `keep_zeros`; the tensors are its arguments.
fn flag(field: &str) -> String {
    match field {
        "keep_zeros" => "--zeros".to_string(),
        "a" => "A".to_string(),
        "b" => "B".to_string(),
        other => super::analysis::same_name(other),
    }
}

/// A tensor as read from its file.
struct Loaded {
    file: String,
    name: String,
    step: Option<u64>,
    dtype: DType,
    shape: Vec<u64>,
    values: Vec<f64>,
}

pub fn run(args: CompareArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    let a = load(&args.a)?;
    let b = load(&args.b)?;
    // One source holding both tensors (kept in (step, name) order; on a tie
    // `a`, pushed first, stays first).
    let b_first = (b.step, b.name.as_str()) < (a.step, a.name.as_str());
    let options = CompareOptions {
        a: usize::from(b_first),
        b: usize::from(!b_first),
        keep_zeros: args.zeros == Zeros::Keep,
    };
    let mut source = InMemory::new(format!("{} {}", args.a, args.b));
    for t in [a, b] {
        source.push_from(t.file, t.name, t.step, t.dtype, t.shape, t.values);
    }
    let report = super::analysis::run::<Compare>(&options, &source, flag)
        .with_context(|| format!("cannot compare {} with {}", args.a, args.b))?;
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
fn load(spec: &str) -> anyhow::Result<Loaded> {
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
    let file = file.display().to_string();
    check_finite(&file, &meta.name, &values).map_err(|e| anyhow!(e))?;
    Ok(Loaded {
        file,
        name: meta.name.clone(),
        step: meta.step,
        dtype: meta.dtype,
        shape: meta.shape.clone(),
        values,
    })
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

impl<'a> From<&'a CompareOutput> for CsvRow<'a> {
    fn from(r: &'a CompareOutput) -> Self {
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

fn table(r: &CompareOutput) -> Vec<u8> {
    let mut table = Table::plain(vec!["measure", "value"]);
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
    bytes.extend(table.text().into_bytes());
    if let Some(reason) = &r.spearman_reason {
        bytes.extend(format!("spearman: {reason}\n").into_bytes());
    }
    bytes
}
