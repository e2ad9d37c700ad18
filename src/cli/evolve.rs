//! `gradrd evolve DUMP`: how the fitted models move over training steps and
//! network depth — one row per tensor × step × family with the fitted
//! parameters, the excess kurtosis and the distances to each fit, ready to
//! plot (depth is the rank of the tensor name, see `analysis::depth`).

use std::path::PathBuf;

use clap::Args;
use gradrd_core::analysis::{fit_tensor, FamilyOutcome, FitSettings};
use gradrd_core::dist::FamilyKind;
use serde::Serialize;

use super::failure::{self, Failure};
use super::fit::ModelArgs;
use super::output::{csv_bytes, json_bytes, sig, Format, OutputArgs, Table};
use super::selection::SelectionArgs;
use super::Outcome;

#[derive(Debug, Args)]
pub struct EvolveArgs {
    /// A dump folder with several steps (a single file gives one step).
    dump: PathBuf,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    select: SelectionArgs,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Serialize)]
struct Row {
    tensor: String,
    depth: usize,
    step: Option<u64>,
    family: FamilyKind,
    shape: Option<f64>,
    loc: f64,
    scale: f64,
    n_fit: usize,
    zero_fraction: f64,
    excess_kurtosis: Option<f64>,
    loglik: f64,
    ks: Option<f64>,
    w1: Option<f64>,
    w2: Option<f64>,
}

#[derive(Debug, Serialize)]
struct EvolveReport {
    schema: &'static str,
    dump: String,
    rows: Vec<Row>,
    errors: Vec<Failure>,
}

pub fn run(args: EvolveArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    let settings: FitSettings = args.model.settings();
    let dump = args.select.open(&args.dump)?;
    let selected = dump.select(&args.select.to_selection()?);
    if selected.is_empty() {
        return Err(super::failure::nothing_selected(&args.dump, &dump));
    }
    let (order, _) = dump
        .depth_order()
        .sort(selected.iter().map(|m| m.name.as_str()));
    let mut metas = selected.clone();
    let depth_of = |name: &str| order.iter().position(|n| *n == name).unwrap_or(0);
    metas.sort_by_key(|m| (depth_of(&m.name), m.step));
    let mut rows = Vec::new();
    let mut errors = failure::skipped(&dump);
    let progress = super::progress::bar(metas.len() as u64, "fitting");
    for meta in metas {
        progress.set_message(meta.name.clone());
        let depth = depth_of(&meta.name);
        let outcome = dump
            .read(meta)
            .map_err(|e| e.to_string())
            .and_then(|values| fit_tensor(values, &settings).map_err(|e| e.to_string()));
        match outcome {
            Ok(fit) => {
                for family in &fit.fits {
                    match family {
                        FamilyOutcome::Fitted(f) => rows.push(Row {
                            tensor: meta.name.clone(),
                            depth,
                            step: meta.step,
                            family: f.family,
                            shape: f.params.get("beta").or(f.params.get("c")).copied(),
                            loc: f.params["loc"],
                            scale: f.params["scale"],
                            n_fit: fit.n_fit,
                            zero_fraction: fit.zero_fraction,
                            excess_kurtosis: fit.moments.excess_kurtosis,
                            loglik: f.loglik,
                            ks: f.ks,
                            w1: f.w1,
                            w2: f.w2,
                        }),
                        FamilyOutcome::Failed { family, error } => errors.push(Failure {
                            file: Some(meta.file.display().to_string()),
                            tensor: Some(meta.name.clone()),
                            step: meta.step,
                            error: format!("{family}: {error}"),
                        }),
                    }
                }
            }
            Err(error) => errors.push(Failure {
                file: Some(meta.file.display().to_string()),
                tensor: Some(meta.name.clone()),
                step: meta.step,
                error,
            }),
        }
        progress.inc(1);
    }
    progress.finish_and_clear();
    if rows.is_empty() {
        return Err(failure::all_failed(&errors));
    }
    let report = EvolveReport {
        schema: "gradrd.evolve/1",
        dump: args.dump.display().to_string(),
        rows,
        errors,
    };
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&report.rows)?,
        Format::Table => table(&report),
    };
    args.out.emit(&bytes)?;
    Ok(failure::finish(&report.errors))
}

fn table(report: &EvolveReport) -> Vec<u8> {
    let mut table = Table::new([
        "tensor", "depth", "step", "family", "shape", "scale", "kurt", "w2", "ks",
    ]);
    let opt = |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |x| sig(x, digits));
    for r in &report.rows {
        table.push(vec![
            r.tensor.clone(),
            r.depth.to_string(),
            r.step.map_or("-".to_string(), |s| s.to_string()),
            r.family.to_string(),
            r.shape.map_or("-".to_string(), |s| sig(s, 4)),
            sig(r.scale, 4),
            opt(r.excess_kurtosis, 3),
            opt(r.w2, 3),
            opt(r.ks, 3),
        ]);
    }
    table.render()
}
