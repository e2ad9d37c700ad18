//! `gradrd evolve DUMP`: how the fitted models move over training steps and
//! network depth — one row per tensor × step × family with the fitted
//! parameters, the excess kurtosis and the distances to each fit, ready to
//! plot (depth is the rank of the tensor name, see `analysis::depth`).

use std::path::PathBuf;

use clap::Args;
use gradrd_core::registry::evolve::{Evolve, EvolveOutput};

use super::failure;
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

pub fn run(args: EvolveArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    let options = args.model.options();
    super::analysis::validate(&options, super::fit::flag)?;
    let dump = args.select.open(&args.dump)?;
    let source = args.select.select(&dump, &args.dump)?;
    let report = super::analysis::run::<Evolve>(&options, &source, super::fit::flag)?;
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&report.rows)?,
        Format::Table => table(&report),
    };
    args.out.emit(&bytes)?;
    Ok(failure::finish(&report.errors))
}

fn table(report: &EvolveOutput) -> Vec<u8> {
    let mut table = Table::plain([
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
    table.text().into_bytes()
}
