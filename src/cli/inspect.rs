//! `gradrd inspect DUMP`: what a dump holds, tensor by tensor.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use gradrd_io::dump::TensorMeta;
use rayon::prelude::*;
use serde::Serialize;

use super::failure::{self, Failure};
use super::output::{csv_bytes, json_bytes, sig, Format, OutputArgs, Table};
use super::selection::SelectionArgs;
use super::Outcome;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A dump: one file (safetensors, .npy, .npz, .pt, .parquet, .csv) or a folder of them.
    dump: PathBuf,
    #[command(flatten)]
    select: SelectionArgs,
    #[command(flatten)]
    out: OutputArgs,
}

/// One tensor; the shape is a list in JSON and `2x3x4` in CSV cells
/// ([`TensorRow::for_csv`]).
#[derive(Debug, Serialize)]
struct TensorRow<Shape = Vec<u64>> {
    tensor: String,
    step: Option<u64>,
    file: String,
    dtype: String,
    shape: Shape,
    n: u64,
    zeros: u64,
    zero_fraction: f64,
    nan: u64,
    inf: u64,
    nonfinite: u64,
    /// Smallest and largest finite values (`null` when there are none).
    min: Option<f64>,
    max: Option<f64>,
}

impl TensorRow {
    fn for_csv(&self) -> TensorRow<String> {
        TensorRow {
            tensor: self.tensor.clone(),
            step: self.step,
            file: self.file.clone(),
            dtype: self.dtype.clone(),
            shape: shape_text(&self.shape),
            n: self.n,
            zeros: self.zeros,
            zero_fraction: self.zero_fraction,
            nan: self.nan,
            inf: self.inf,
            nonfinite: self.nonfinite,
            min: self.min,
            max: self.max,
        }
    }
}

fn shape_text(shape: &[u64]) -> String {
    if shape.is_empty() {
        "scalar".to_string()
    } else {
        shape
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("x")
    }
}

#[derive(Debug, Serialize)]
struct InspectReport {
    schema: &'static str,
    dump: String,
    tensors: Vec<TensorRow>,
    errors: Vec<Failure>,
}

pub fn run(args: InspectArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    let selection = args.select.to_selection()?;
    let dump = args.select.open(&args.dump)?;
    let selected = dump.select(&selection);
    if selected.is_empty() && dump.skipped().is_empty() {
        anyhow::bail!("{}: no tensor matches the selection", args.dump.display());
    }
    let summaries: Vec<_> = selected
        .par_iter()
        .map(|meta| (meta, dump.summarize(meta)))
        .collect();
    let mut tensors = Vec::new();
    let mut errors = failure::skipped(&dump);
    for (meta, summary) in summaries {
        match summary {
            Ok(s) => tensors.push(row(meta, &s)),
            Err(error) => errors.push(Failure {
                file: Some(meta.file.display().to_string()),
                tensor: Some(meta.name.clone()),
                step: meta.step,
                error: error.to_string(),
            }),
        }
    }
    if tensors.is_empty() {
        return Err(failure::all_failed(&errors));
    }
    let report = InspectReport {
        schema: "gradrd.inspect/1",
        dump: args.dump.display().to_string(),
        tensors,
        errors,
    };
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(
            &report
                .tensors
                .iter()
                .map(TensorRow::for_csv)
                .collect::<Vec<_>>(),
        )?,
        Format::Table => table(&report),
    };
    args.out.emit(&bytes).context("cannot write the report")?;
    Ok(failure::finish(&report.errors))
}

fn row(meta: &TensorMeta, s: &gradrd_io::dump::Summary) -> TensorRow {
    let nonfinite = s.nan + s.inf;
    let finite = s.len - nonfinite;
    TensorRow {
        tensor: meta.name.clone(),
        step: meta.step,
        file: meta.file.display().to_string(),
        dtype: meta.dtype.to_string(),
        shape: meta.shape.clone(),
        n: s.len,
        zeros: s.zeros,
        zero_fraction: if finite == 0 {
            0.0
        } else {
            s.zeros as f64 / finite as f64
        },
        nan: s.nan,
        inf: s.inf,
        nonfinite,
        min: (finite > 0).then_some(s.min),
        max: (finite > 0).then_some(s.max),
    }
}

fn table(report: &InspectReport) -> Vec<u8> {
    let mut table = Table::plain(vec![
        "tensor",
        "step",
        "dtype",
        "shape",
        "n",
        "zeros",
        "nonfinite",
        "min",
        "max",
    ]);
    for t in &report.tensors {
        let num = |v: Option<f64>| v.map_or("-".to_string(), |x| sig(x, 4));
        table.push(vec![
            t.tensor.clone(),
            t.step.map_or("-".to_string(), |s| s.to_string()),
            t.dtype.clone(),
            shape_text(&t.shape),
            t.n.to_string(),
            format!("{:.1}%", 100.0 * t.zero_fraction),
            t.nonfinite.to_string(),
            num(t.min),
            num(t.max),
        ]);
    }
    table.text().into_bytes()
}
