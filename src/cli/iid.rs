//! `gradrd iid DUMP`: the Spearman / Kolmogorov–Smirnov pass-ratio study of
//! the M22 talk (see `analysis::iid`), per tensor (or tensor pair) and
//! sample size. The table reads like the talk's: rows are test × sample
//! size, columns are tensors.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use gradrd_core::analysis::iid::{self, PairKind, TestKind};
use gradrd_core::registry::iid::{Iid, IidOptions, IidOutput};
use serde::Serialize;

use super::failure;
use super::output::{csv_bytes, json_bytes, sig, Format, OutputArgs, Table};
use super::selection::SelectionArgs;
use super::Outcome;

#[derive(Debug, Args)]
pub struct IidArgs {
    /// A dump (file or folder); temporal pairs need several steps.
    dump: PathBuf,
    /// Which samples a trial pairs.
    #[arg(long, value_enum, default_value_t = Pairs::Temporal)]
    pairs: Pairs,
    /// Tests to run, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "spearman,ks")]
    test: Vec<Test>,
    /// Entries per sample, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100,3000")]
    sample_size: Vec<usize>,
    /// Trials per tensor and sample size.
    #[arg(long, default_value_t = 100)]
    trials: usize,
    /// A trial passes when its p-value exceeds alpha.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Seed of the random coordinate draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Exact zeros: `auto` never draws a zero entry, `keep` draws them too.
    #[arg(long, value_enum, default_value_t = Zeros::Auto)]
    zeros: Zeros,
    #[command(flatten)]
    select: SelectionArgs,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Pairs {
    Temporal,
    Spatial,
    Layers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Test {
    Spearman,
    Ks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Zeros {
    Auto,
    Keep,
}

impl IidArgs {
    fn options(&self) -> IidOptions {
        IidOptions {
            pairs: match self.pairs {
                Pairs::Temporal => PairKind::Temporal,
                Pairs::Spatial => PairKind::Spatial,
                Pairs::Layers => PairKind::Layers,
            },
            tests: self
                .test
                .iter()
                .map(|t| match t {
                    Test::Spearman => TestKind::Spearman,
                    Test::Ks => TestKind::Ks,
                })
                .collect(),
            sample_sizes: self.sample_size.clone(),
            trials: self.trials,
            alpha: self.alpha,
            seed: self.seed,
            keep_zeros: self.zeros == Zeros::Keep,
        }
    }
}

/// The flag of an `iid` option field.
fn flag(field: &str) -> String {
    match field {
        "tests" => "--test".to_string(),
        "sample_sizes" => "--sample-size".to_string(),
        "keep_zeros" => "--zeros".to_string(),
        other => super::analysis::same_name(other),
    }
}

pub fn run(args: IidArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    let options = args.options();
    super::analysis::validate(&options, flag)?;
    let dump = args.select.open(&args.dump)?;
    let source = args.select.select(&dump, &args.dump)?;
    let report = super::analysis::run::<Iid>(&options, &source, flag)?;
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&rows(&report))?,
        Format::Table => table(&report),
    };
    args.out.emit(&bytes)?;
    Ok(failure::finish(&report.errors))
}

#[derive(Debug, Serialize)]
struct Row<'a> {
    tensor: &'a str,
    tensor_b: Option<&'a str>,
    test: TestKind,
    sample_size: usize,
    trials: usize,
    undefined: usize,
    pass_ratio: Option<f64>,
    mean_statistic: Option<f64>,
    /// Why no trial ran (the tensor is too small for this sample size).
    note: Option<&'a str>,
}

fn rows(report: &IidOutput) -> Vec<Row<'_>> {
    report
        .results
        .iter()
        .flat_map(|r| {
            r.cells.iter().map(move |c| Row {
                tensor: &r.tensor,
                tensor_b: r.tensor_b.as_deref(),
                test: c.test,
                sample_size: c.sample_size,
                trials: c.trials,
                undefined: c.undefined,
                pass_ratio: c.pass_ratio,
                mean_statistic: c.mean_statistic,
                note: c.note.as_deref(),
            })
        })
        .collect()
}

/// Rows: test × sample size; columns: tensors; cells: pass ratio (mean
/// statistic), `-` where a tensor is too small for the size (a note under
/// the table says which).
fn table(report: &IidOutput) -> Vec<u8> {
    let mut out = format!(
        "pass ratio (p > {}) and mean statistic over {} trials, {:?} pairs; tensors in {}\n",
        report.alpha,
        report.trials,
        report.pairs,
        report.order.describe()
    );
    let mut keys: Vec<(TestKind, usize)> = report
        .results
        .iter()
        .flat_map(|r| r.cells.iter().map(|c| (c.test, c.sample_size)))
        .collect();
    keys.sort();
    keys.dedup();
    for (i, r) in report.results.iter().enumerate() {
        let label = match &r.tensor_b {
            Some(b) => format!("{} | {b}", r.tensor),
            None => r.tensor.clone(),
        };
        out.push_str(&format!("  [{}] {label} ({} steps)\n", i + 1, r.steps));
    }
    let mut headers = vec!["test".to_string(), "sample size".to_string()];
    headers.extend((1..=report.results.len()).map(|i| format!("[{i}]")));
    let mut table = Table::plain(headers);
    for (test, m) in keys {
        let mut row = vec![format!("{test:?}").to_lowercase(), m.to_string()];
        for r in &report.results {
            let cell = r
                .cells
                .iter()
                .find(|c| c.test == test && c.sample_size == m);
            row.push(
                match cell.and_then(|c| c.pass_ratio.zip(c.mean_statistic)) {
                    Some((ratio, stat)) => format!("{} ({})", sig(ratio, 3), sig(stat, 3)),
                    None => "-".to_string(),
                },
            );
        }
        table.push(row);
    }
    out.push_str(&String::from_utf8_lossy(&table.text().into_bytes()));
    for (i, r) in report.results.iter().enumerate() {
        for (m, note) in iid::size_notes(&r.cells) {
            out.push_str(&format!("[{}] sample size {m}: {note}\n", i + 1));
        }
    }
    out.into_bytes()
}
