//! `gradrd quantize eval CODEBOOK DUMP`: a codebook (or a manifest of
//! per-tensor codebooks) applied to every selected tensor — MSE, M-weighted
//! distortion, index entropy and the real entropy-coded size, in bits per
//! entry. A single codebook applies to
//! every tensor; a manifest's codebooks are matched by tensor name and step
//! (one row per matching codebook, so an M sweep is measured whole).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use gradrd_core::analysis::prepare;
use gradrd_core::quant::evaluate::{evaluate_tensor, TensorEvaluation};
use gradrd_core::quant::export::{parse_codebooks, CodebookDocument};
use gradrd_core::quant::Codebook;
use gradrd_io::dump::{Dump, TensorMeta};
use serde::Serialize;

use super::super::failure::{self, Failure};
use super::super::fit::NanArg;
use super::super::output::{csv_bytes, json_bytes, sig, Format, OutputArgs, Table};
use super::super::selection::SelectionArgs;
use super::super::Outcome;

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A codebook JSON (`gradrd.codebook/1`) or manifest (`gradrd.codebooks/1`).
    codebook: PathBuf,
    /// The dump to measure it on.
    dump: PathBuf,
    /// Weight exponent of the reported distortion (default: each codebook's own M).
    #[arg(long)]
    m: Option<f64>,
    /// NaN/Inf: `error` fails the tensor, `omit` leaves them out.
    #[arg(long, value_enum, default_value_t = NanArg::Error)]
    nan: NanArg,
    #[command(flatten)]
    select: SelectionArgs,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Serialize)]
struct EvalReport {
    schema: &'static str,
    codebook: String,
    dump: String,
    results: Vec<TensorEvaluation>,
    errors: Vec<Failure>,
}

pub fn run(args: EvalArgs) -> anyhow::Result<Outcome> {
    super::super::output::check_writable(&args.out.output)?;
    if let Some(m) = args.m {
        if !(m.is_finite() && m >= 0.0) {
            bail!("--m must be finite and >= 0, got {m}");
        }
    }
    let text = gradrd_io::files::read_to_string(&args.codebook)
        .with_context(|| format!("cannot read {}", args.codebook.display()))?;
    let codebooks =
        parse_codebooks(&text).with_context(|| format!("{}", args.codebook.display()))?;
    let dump = args.select.open(&args.dump)?;
    let selected = dump.select(&args.select.to_selection()?);
    if selected.is_empty() {
        return Err(super::super::failure::nothing_selected(&args.dump, &dump));
    }
    let mut results = Vec::new();
    let mut errors = failure::skipped(&dump);
    for meta in selected {
        match evaluate_selected(&args, &dump, meta, &codebooks) {
            Ok(mut rows) => results.append(&mut rows),
            Err(error) => errors.push(Failure {
                file: Some(meta.file.display().to_string()),
                tensor: Some(meta.name.clone()),
                step: meta.step,
                error,
            }),
        }
    }
    if results.is_empty() {
        return Err(failure::all_failed(&errors));
    }
    let report = EvalReport {
        schema: "gradrd.quantize-eval/1",
        codebook: args.codebook.display().to_string(),
        dump: args.dump.display().to_string(),
        results,
        errors,
    };
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&report.results)?,
        Format::Table => table(&report),
    };
    args.out.emit(&bytes)?;
    Ok(failure::finish(&report.errors))
}

/// The codebooks for `meta`: the only one, or the manifest's entries for
/// this tensor at this step (or at its only step, when the manifest has the
/// tensor at one other step). An M sweep gives several.
fn codebooks_for<'a>(
    meta: &TensorMeta,
    codebooks: &'a [(CodebookDocument, Codebook)],
) -> Result<Vec<&'a Codebook>, String> {
    if let [(_, only)] = codebooks {
        return Ok(vec![only]);
    }
    let same_tensor: Vec<&(CodebookDocument, Codebook)> = codebooks
        .iter()
        .filter(|(doc, _)| doc.tensor.as_deref() == Some(meta.name.as_str()))
        .collect();
    let at_step: Vec<&Codebook> = same_tensor
        .iter()
        .filter(|(doc, _)| doc.step == meta.step)
        .map(|(_, codebook)| codebook)
        .collect();
    if !at_step.is_empty() {
        return Ok(at_step);
    }
    let single_step = same_tensor.windows(2).all(|w| w[0].0.step == w[1].0.step);
    match (same_tensor.is_empty(), single_step) {
        (true, _) => Err("the manifest has no codebook for this tensor".to_string()),
        (false, true) => Ok(same_tensor.iter().map(|(_, codebook)| codebook).collect()),
        (false, false) => Err(
            "the manifest has codebooks for this tensor at other steps, none at this one"
                .to_string(),
        ),
    }
}

fn evaluate_selected(
    args: &EvalArgs,
    dump: &Dump,
    meta: &TensorMeta,
    codebooks: &[(CodebookDocument, Codebook)],
) -> Result<Vec<TensorEvaluation>, String> {
    let chosen = codebooks_for(meta, codebooks)?;
    let values = dump.read(meta).map_err(|e| e.to_string())?;
    let prepared = prepare::prepare(values, prepare::ZeroPolicy::Keep, args.nan.policy())
        .map_err(|e| e.to_string())?;
    chosen
        .into_iter()
        .map(|codebook| {
            evaluate_tensor(codebook, meta.name.clone(), meta.step, &prepared, args.m)
                .map_err(|e| e.to_string())
        })
        .collect()
}

fn table(report: &EvalReport) -> Vec<u8> {
    let mut table = Table::plain([
        "tensor",
        "step",
        "n",
        "zeros",
        "levels",
        "m",
        "mse",
        "nmse",
        "distortion",
        "fixed",
        "entropy",
        "coded",
    ]);
    let mut notes = Vec::new();
    for r in &report.results {
        let nmse = r.nmse.map_or("-".to_string(), |v| sig(v, 3));
        table.push(vec![
            r.tensor.clone(),
            r.step.map_or("-".to_string(), |s| s.to_string()),
            r.n.to_string(),
            format!("{:.1}%", 100.0 * r.zero_fraction),
            r.levels.to_string(),
            sig(r.m, 3),
            sig(r.mse, 4),
            match &r.note {
                Some(note) => {
                    notes.push(format!("[{}] {}: {note}", notes.len() + 1, r.tensor));
                    format!("{nmse} [{}]", notes.len())
                }
                None => nmse,
            },
            sig(r.distortion, 4),
            sig(r.fixed_bits, 3),
            sig(r.entropy_bits, 4),
            sig(r.coded_bits, 4),
        ]);
    }
    let mut bytes = table.text().into_bytes();
    for note in notes {
        bytes.extend(format!("{note}\n").into_bytes());
    }
    bytes
}
