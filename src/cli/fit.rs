//! `gradrd fit DUMP`: per tensor and step, maximum-likelihood fits of the
//! chosen families with their goodness of fit (see `analysis::fit_report`).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use gradrd_core::analysis::{FamilyOutcome, NanPolicy, ZeroPolicy};
use gradrd_core::dist::FamilyKind;
use gradrd_core::fit::LocMode;
use gradrd_core::registry::fit::{Fit, FitOptions, FitOutput};
use gradrd_core::registry::Outcome as _;
use serde::Serialize;

use super::failure;
use super::output::{csv_bytes, json_bytes, sig, Format, OutputArgs, Table};
use super::selection::SelectionArgs;
use super::Outcome;

#[derive(Debug, Args)]
pub struct FitArgs {
    /// A dump: one file (safetensors, .npy, .npz, .pt, .parquet, .csv) or a folder of them.
    dump: PathBuf,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    select: SelectionArgs,
    #[command(flatten)]
    out: OutputArgs,
}

/// How tensors are modelled: families, zeros, location, non-finite values.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Families to fit, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "gennorm,dweibull,laplace,normal"
    )]
    family: Vec<FamilyKind>,
    /// Exact zeros: `auto` fits the non-zeros and reports the zero-inflated
    /// mixture, `keep` fits every value, `drop` fits the non-zeros only.
    #[arg(long, value_enum, default_value_t = ZerosArg::Auto)]
    zeros: ZerosArg,
    /// Location: `free` (maximum likelihood), `zero`, or a fixed number.
    #[arg(long, default_value = "free", value_parser = parse_loc)]
    loc: LocMode,
    /// NaN/Inf: `error` fails the tensor (naming the count), `omit` leaves them out.
    #[arg(long, value_enum, default_value_t = NanArg::Error)]
    nan: NanArg,
    /// Fits only: skip KS, W1 and W2 (reported as null).
    #[arg(long)]
    no_gof: bool,
}

impl ModelArgs {
    pub fn options(&self) -> FitOptions {
        FitOptions {
            families: self.family.clone(),
            zeros: self.zeros.policy(),
            loc: self.loc,
            nan: self.nan.policy(),
            goodness_of_fit: !self.no_gof,
        }
    }
}

/// The flag of a `fit` option field.
pub(super) fn flag(field: &str) -> String {
    match field {
        "families" => "--family".to_string(),
        "goodness_of_fit" => "--no-gof".to_string(),
        other => super::analysis::same_name(other),
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum ZerosArg {
    Auto,
    Keep,
    Drop,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum NanArg {
    Error,
    Omit,
}

impl ZerosArg {
    pub(super) fn policy(self) -> ZeroPolicy {
        match self {
            ZerosArg::Auto => ZeroPolicy::Auto,
            ZerosArg::Keep => ZeroPolicy::Keep,
            ZerosArg::Drop => ZeroPolicy::Drop,
        }
    }
}

impl NanArg {
    pub(super) fn policy(self) -> NanPolicy {
        match self {
            NanArg::Error => NanPolicy::Error,
            NanArg::Omit => NanPolicy::Omit,
        }
    }
}

/// `NAME=VALUE` of a model parameter (`--param beta=0.8`).
pub(super) fn parse_param(text: &str) -> Result<(String, f64), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not NAME=VALUE"))?;
    let value: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("parameter {name}: '{value}' is not a number"))?;
    Ok((name.trim().to_string(), value))
}

pub(super) fn parse_loc(text: &str) -> Result<LocMode, String> {
    gradrd_core::registry::fit::parse_loc(text)
}

pub fn run(args: FitArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    // a bad --tensor is reported before the dump is opened
    args.select.to_selection()?;
    let options = args.model.options();
    let dump = args.select.open(&args.dump)?;
    let source = args.select.select(&dump, &args.dump)?;
    let report = super::analysis::run::<Fit>(&options, &source, flag)?;
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&rows(&report))?,
        Format::Table => table(&report),
    };
    args.out.emit(&bytes).context("cannot write the report")?;
    failure::report(&report.errors);
    Ok(failure::outcome(report.partial()))
}

/// One CSV row per tensor × family.
#[derive(Debug, Serialize)]
struct FitRow<'a> {
    tensor: &'a str,
    step: Option<u64>,
    n: usize,
    n_fit: usize,
    zero_fraction: f64,
    nonfinite: usize,
    mean: f64,
    std: f64,
    excess_kurtosis: Option<f64>,
    family: FamilyKind,
    shape: Option<f64>,
    loc: Option<f64>,
    scale: Option<f64>,
    se_shape: Option<f64>,
    se_loc: Option<f64>,
    se_scale: Option<f64>,
    loglik: Option<f64>,
    aic: Option<f64>,
    bic: Option<f64>,
    ks: Option<f64>,
    ks_p: Option<f64>,
    w1: Option<f64>,
    w2: Option<f64>,
    error: Option<&'a str>,
    /// What the fit says about itself (a shape on its search bound, an
    /// unbounded likelihood and the rule applied).
    note: Option<&'a str>,
}

fn rows(report: &FitOutput) -> Vec<FitRow<'_>> {
    let mut rows = Vec::new();
    for r in &report.results {
        let fit = &r.fit;
        for outcome in &fit.fits {
            let mut row = FitRow {
                tensor: &r.tensor,
                step: r.step,
                n: fit.n,
                n_fit: fit.n_fit,
                zero_fraction: fit.zero_fraction,
                nonfinite: fit.nonfinite,
                mean: fit.moments.mean,
                std: fit.moments.std,
                excess_kurtosis: fit.moments.excess_kurtosis,
                family: FamilyKind::Normal,
                shape: None,
                loc: None,
                scale: None,
                se_shape: None,
                se_loc: None,
                se_scale: None,
                loglik: None,
                aic: None,
                bic: None,
                ks: None,
                ks_p: None,
                w1: None,
                w2: None,
                error: None,
                note: None,
            };
            match outcome {
                FamilyOutcome::Fitted(f) => {
                    let shape_name = shape_param(f.family);
                    row.family = f.family;
                    row.shape = shape_name.and_then(|n| f.params.get(n).copied());
                    row.loc = f.params.get("loc").copied();
                    row.scale = f.params.get("scale").copied();
                    row.se_shape = shape_name.and_then(|n| f.std_errors.get(n).copied().flatten());
                    row.se_loc = f.std_errors.get("loc").copied().flatten();
                    row.se_scale = f.std_errors.get("scale").copied().flatten();
                    row.loglik = Some(f.loglik);
                    row.aic = Some(f.aic);
                    row.bic = Some(f.bic);
                    row.ks = f.ks;
                    row.ks_p = f.ks_p;
                    row.w1 = f.w1;
                    row.w2 = f.w2;
                    row.note = f.note.as_deref();
                }
                FamilyOutcome::Failed { family, error } => {
                    row.family = *family;
                    row.error = Some(error);
                }
            }
            rows.push(row);
        }
    }
    rows
}

fn shape_param(family: FamilyKind) -> Option<&'static str> {
    match family {
        FamilyKind::GenNorm => Some("beta"),
        FamilyKind::DWeibull => Some("c"),
        FamilyKind::Laplace | FamilyKind::Normal => None,
    }
}

/// The fit table; a fit's error or note is a numbered footnote below it
/// (a `note` column appears only when there is one).
fn table(report: &FitOutput) -> Vec<u8> {
    let rows = rows(report);
    let footnoted = rows.iter().any(|r| r.error.is_some() || r.note.is_some());
    let mut headers = vec![
        "tensor", "step", "n_fit", "zeros", "kurt", "family", "shape", "loc", "scale", "loglik",
        "ks", "ks_p", "w2",
    ];
    if footnoted {
        headers.push("note");
    }
    let mut table = Table::plain(headers);
    let mut footnotes = Vec::new();
    let opt = |v: Option<f64>, d: usize| v.map_or("-".to_string(), |x| sig(x, d));
    for row in &rows {
        let mut cells = vec![
            row.tensor.to_string(),
            row.step.map_or("-".to_string(), |s| s.to_string()),
            row.n_fit.to_string(),
            format!("{:.1}%", 100.0 * row.zero_fraction),
            opt(row.excess_kurtosis, 3),
            row.family.to_string(),
            opt(row.shape, 4),
            opt(row.loc, 3),
            opt(row.scale, 4),
            row.error
                .map_or_else(|| opt(row.loglik, 8), |_| "failed".to_string()),
            opt(row.ks, 3),
            opt(row.ks_p, 3),
            opt(row.w2, 3),
        ];
        if footnoted {
            let text = row
                .error
                .map(|e| format!("error: {e}"))
                .or(row.note.map(str::to_string));
            cells.push(text.map_or(String::new(), |text| {
                let step = row.step.map_or(String::new(), |s| format!(" step {s}"));
                footnotes.push(format!(
                    "[{}] {}{step} {}: {text}",
                    footnotes.len() + 1,
                    row.tensor,
                    row.family
                ));
                format!("[{}]", footnotes.len())
            }));
        }
        table.push(cells);
    }
    let mut out = table.text().into_bytes();
    if !footnotes.is_empty() {
        out.push(b'\n');
        for line in footnotes {
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
    }
    out
}
