//! `gradrd iid DUMP`: the Spearman / Kolmogorov–Smirnov pass-ratio study of
//! the M22 talk (see `analysis::iid`), per tensor (or tensor pair) and
//! sample size. The table reads like the talk's: rows are test × sample
//! size, columns are tensors.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, ValueEnum};
use gradrd_core::analysis::depth::OrderSource;
use gradrd_core::analysis::iid::{self, IidCell, IidSettings, PairKind, TestKind};
use gradrd_io::dump::{common_steps, Dump, TensorMeta};
use serde::Serialize;

use super::failure::{self, Failure};
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

#[derive(Debug, Serialize)]
struct IidResult {
    tensor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tensor_b: Option<String>,
    steps: usize,
    cells: Vec<IidCell>,
}

#[derive(Debug, Serialize)]
struct IidReport {
    schema: &'static str,
    dump: String,
    pairs: PairKind,
    /// The order of the tensors (and so which tensors are "layers" neighbours).
    order: OrderSource,
    alpha: f64,
    trials: usize,
    seed: u64,
    results: Vec<IidResult>,
    errors: Vec<Failure>,
}

pub fn run(args: IidArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    if args.trials == 0 {
        bail!("--trials must be at least 1");
    }
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!("--alpha must be in (0, 1), got {}", args.alpha);
    }
    if let Some(m) = args.sample_size.iter().find(|&&m| m < 3) {
        bail!("--sample-size must be at least 3, got {m}");
    }
    let settings = IidSettings {
        tests: args
            .test
            .iter()
            .map(|t| match t {
                Test::Spearman => TestKind::Spearman,
                Test::Ks => TestKind::Ks,
            })
            .collect(),
        sample_sizes: args.sample_size.clone(),
        trials: args.trials,
        alpha: args.alpha,
        seed: args.seed,
        skip_zeros: args.zeros == Zeros::Auto,
    };
    let dump = args.select.open(&args.dump)?;
    let selected = dump.select(&args.select.to_selection()?);
    if selected.is_empty() {
        return Err(super::failure::nothing_selected(&args.dump, &dump));
    }
    let mut by_name: BTreeMap<&str, Vec<&TensorMeta>> = BTreeMap::new();
    for meta in &selected {
        by_name.entry(meta.name.as_str()).or_default().push(meta);
    }
    let (names, order) = dump.depth_order().sort(by_name.keys().copied());
    let pairs = match args.pairs {
        Pairs::Temporal => PairKind::Temporal,
        Pairs::Spatial => PairKind::Spatial,
        Pairs::Layers => PairKind::Layers,
    };
    let mut results = Vec::new();
    let mut errors = failure::skipped(&dump);
    let progress = super::progress::bar(names.len() as u64, "testing");
    match pairs {
        PairKind::Temporal | PairKind::Spatial => {
            for (index, name) in names.iter().enumerate() {
                progress.set_message(name);
                let outcome = load_steps(&dump, &by_name[name]).and_then(|steps| {
                    let cells = if pairs == PairKind::Temporal {
                        iid::temporal(&steps, &settings, index as u64)
                    } else {
                        iid::spatial(&steps, &settings, index as u64)
                    };
                    cells.map(|c| (steps.len(), c)).map_err(|e| e.to_string())
                });
                record(&mut results, &mut errors, name, None, outcome);
                progress.inc(1);
            }
        }
        PairKind::Layers => {
            for (index, pair) in names.windows(2).enumerate() {
                progress.set_message(pair[0]);
                let outcome = common_steps(&by_name[pair[0]], &by_name[pair[1]])
                    .map_err(|e| e.to_string())
                    .and_then(|(a, b)| Ok((load_steps(&dump, &a)?, load_steps(&dump, &b)?)))
                    .and_then(|(a, b)| {
                        iid::layers(&a, &b, &settings, index as u64)
                            .map(|c| (a.len(), c))
                            .map_err(|e| e.to_string())
                    });
                record(&mut results, &mut errors, pair[0], Some(pair[1]), outcome);
                progress.inc(1);
            }
            if names.len() < 2 {
                errors.push(Failure {
                    file: None,
                    tensor: names.first().map(|n| n.to_string()),
                    step: None,
                    error: "layer pairs need at least two tensors".to_string(),
                });
            }
        }
    }
    progress.finish_and_clear();
    if results.is_empty() {
        return Err(failure::all_failed(&errors));
    }
    let report = IidReport {
        schema: "gradrd.iid/1",
        dump: args.dump.display().to_string(),
        pairs,
        order,
        alpha: args.alpha,
        trials: args.trials,
        seed: args.seed,
        results,
        errors,
    };
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&rows(&report))?,
        Format::Table => table(&report),
    };
    args.out.emit(&bytes)?;
    Ok(failure::finish(&report.errors))
}

fn record(
    results: &mut Vec<IidResult>,
    errors: &mut Vec<Failure>,
    name: &str,
    name_b: Option<&str>,
    outcome: Result<(usize, Vec<IidCell>), String>,
) {
    match outcome {
        Ok((steps, cells)) => results.push(IidResult {
            tensor: name.to_string(),
            tensor_b: name_b.map(str::to_string),
            steps,
            cells,
        }),
        Err(error) => errors.push(Failure {
            file: None,
            tensor: Some(match name_b {
                Some(b) => format!("{name} | {b}"),
                None => name.to_string(),
            }),
            step: None,
            error,
        }),
    }
}

fn load_steps(dump: &Dump, metas: &[&TensorMeta]) -> Result<Vec<Vec<f64>>, String> {
    dump.read_each(metas).map_err(|e| e.to_string())
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

fn rows(report: &IidReport) -> Vec<Row<'_>> {
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
fn table(report: &IidReport) -> Vec<u8> {
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
    let mut table = Table::new(headers);
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
    out.push_str(&String::from_utf8_lossy(&table.render()));
    for (i, r) in report.results.iter().enumerate() {
        for (m, note) in iid::size_notes(&r.cells) {
            out.push_str(&format!("[{}] sample size {m}: {note}\n", i + 1));
        }
    }
    out.into_bytes()
}
