//! `gradrd quantize design`: the M-weighted Lloyd-Max codebook of a model
//! given by its parameters (`--family gennorm --param beta=0.8`), of each
//! selected tensor's maximum-likelihood fit (`--from DUMP`), or of the
//! tensor's values themselves (`--from DUMP --empirical`); `--m 0,1,2`
//! sweeps the weight exponent. One codebook prints as a `gradrd.codebook/1`
//! document, several as a `gradrd.codebooks/1` manifest; `--npy DIR` also
//! writes the arrays as `.npy` files.
//!
//! A tensor's design is judged on the tensor as sent (`quant::tensor`): an
//! unsound fit falls back to the empirical design with a note, the zero level
//! is reserved when it lowers the MSE (`--zero-level auto`), and every
//! codebook carries its nmse; notes are footnotes of the table.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use gradrd_core::dist::{FamilyKind, Model};
use gradrd_core::fit::LocMode;
use gradrd_core::quant::export::{CodebookDocument, CodebookManifest, MANIFEST_SCHEMA};
use gradrd_core::quant::tensor::{design_documents, TensorDesignOptions, ZeroLevel};
use gradrd_core::quant::{levels_from_bits, DesignSpec, LloydOptions};
use gradrd_io::dump::file_name::file_component;
use gradrd_io::dump::{f64_npy_bytes, Dump, TensorMeta};
use serde::Serialize;

use super::super::failure::{self, Failure};
use super::super::fit::{parse_loc, parse_param, NanArg, ZerosArg};
use super::super::output::{self, csv_bytes, json_bytes, sig, Format, Table};
use super::super::selection::SelectionArgs;
use super::super::Outcome;

#[derive(Debug, Args)]
pub struct DesignArgs {
    /// Family of the model to design for (with --from: the family fitted to each tensor).
    #[arg(long, default_value = "gennorm")]
    family: FamilyKind,
    /// A model parameter with scipy's name, e.g. --param beta=0.8 --param scale=1e-3
    /// (loc defaults to 0 and scale to 1).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_param)]
    params: Vec<(String, f64)>,
    /// Design for the tensors of this dump (file or folder) instead of a given model.
    #[arg(long, value_name = "DUMP")]
    from: Option<PathBuf>,
    /// With --from: Lloyd-Max on the tensor's values instead of on its fitted model.
    #[arg(long, requires = "from")]
    empirical: bool,
    #[command(flatten)]
    select: SelectionArgs,
    /// Bits per index: 2^bits levels (1..16).
    #[arg(long, default_value_t = 3, conflicts_with = "levels")]
    bits: u32,
    /// Number of levels (2..65536) instead of --bits.
    #[arg(long)]
    levels: Option<usize>,
    /// Weight exponent M of the distortion E|X|^M (X − Q(X))²; a list sweeps it.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    m: Vec<f64>,
    /// Reserve a level at exactly 0: `auto` when that lowers the MSE on the tensor as
    /// sent (a given model: off), `on`, `off`; `--zero-level` alone is `on`.
    #[arg(long, value_enum, default_value_t = ZeroArg::Auto, num_args = 0..=1, default_missing_value = "on")]
    zero_level: ZeroArg,
    /// With --from, exact zeros: `auto`/`drop` design on the non-zeros, `keep` on every value
    /// (default: auto for a fit, keep for --empirical).
    #[arg(long, value_enum)]
    zeros: Option<ZerosArg>,
    /// With --from, NaN/Inf: `error` fails the tensor, `omit` leaves them out.
    #[arg(long, value_enum, default_value_t = NanArg::Error)]
    nan: NanArg,
    /// With --from, the fitted location: `free`, `zero`, or a number.
    #[arg(long, default_value = "free", value_parser = parse_loc)]
    loc: LocMode,
    /// Relative center move at which the Lloyd-Max iteration stops.
    #[arg(long, default_value_t = 1e-10)]
    tolerance: f64,
    /// Most Lloyd-Max iterations.
    #[arg(long, default_value_t = 100_000)]
    max_iterations: usize,
    /// Output format (a single codebook prints as its JSON document).
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Write to this file instead of standard output (atomically).
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write thresholds and centers as .npy files into this folder.
    #[arg(long, value_name = "DIR")]
    npy: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ZeroArg {
    Auto,
    On,
    Off,
}

impl ZeroArg {
    fn rule(self) -> ZeroLevel {
        match self {
            ZeroArg::Auto => ZeroLevel::Auto,
            ZeroArg::On => ZeroLevel::On,
            ZeroArg::Off => ZeroLevel::Off,
        }
    }
}

/// What the command prints: one document, or a manifest with failures.
#[derive(Debug, Serialize)]
struct Manifest<'a> {
    #[serde(flatten)]
    manifest: &'a CodebookManifest,
    #[serde(skip_serializing_if = "<[Failure]>::is_empty")]
    errors: &'a [Failure],
}

pub fn run(args: DesignArgs) -> anyhow::Result<Outcome> {
    output::check_writable(&args.output)?;
    let levels = match args.levels {
        Some(levels) => levels,
        None => levels_from_bits(args.bits).context("--bits")?,
    };
    let specs = args
        .m
        .iter()
        .map(|&m| DesignSpec::new(levels, m, args.zero_level == ZeroArg::On))
        .collect::<Result<Vec<_>, _>>()
        .context("cannot design")?;
    let options = LloydOptions {
        max_iterations: args.max_iterations,
        tolerance: args.tolerance,
        accelerate: true,
    };
    let (documents, errors) = match &args.from {
        None => (design_model(&args, &specs, &options)?, Vec::new()),
        Some(path) => design_dump(&args, path, &specs, &options)?,
    };
    if documents.is_empty() {
        return Err(failure::all_failed(&errors));
    }
    let manifest = CodebookManifest {
        schema: MANIFEST_SCHEMA.to_string(),
        codebooks: documents,
    };
    if let Some(dir) = &args.npy {
        write_npy(dir, &manifest.codebooks)?;
    }
    let bytes = match args.format {
        Format::Json if manifest.codebooks.len() == 1 && errors.is_empty() => {
            json_bytes(&manifest.codebooks[0])?
        }
        Format::Json => json_bytes(&Manifest {
            manifest: &manifest,
            errors: &errors,
        })?,
        Format::Csv => csv_bytes(&rows(&manifest.codebooks))?,
        Format::Table => table(&manifest.codebooks),
    };
    match &args.output {
        Some(path) => output::write_atomically(path, &bytes)?,
        None => output::OutputArgs {
            format: args.format,
            output: None,
        }
        .emit(&bytes)?,
    }
    Ok(failure::finish(&errors))
}

/// Designs on the model given by `--family` and `--param`.
fn design_model(
    args: &DesignArgs,
    specs: &[DesignSpec],
    options: &LloydOptions,
) -> anyhow::Result<Vec<CodebookDocument>> {
    let params: Vec<(&str, f64)> = args.params.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let model = Model::from_params(args.family, &params).context("--param")?;
    specs
        .iter()
        .map(|spec| CodebookDocument::for_model(&model, spec, options).context("cannot design"))
        .collect()
}

/// Designs for every selected tensor of the dump; a tensor that fails is
/// listed and the others go on.
fn design_dump(
    args: &DesignArgs,
    path: &Path,
    specs: &[DesignSpec],
    options: &LloydOptions,
) -> anyhow::Result<(Vec<CodebookDocument>, Vec<Failure>)> {
    if !args.params.is_empty() {
        bail!("--param gives a model; with --from the model is fitted (drop --param)");
    }
    let dump = args.select.open(path)?;
    let selected = dump.select(&args.select.to_selection()?);
    if selected.is_empty() {
        return Err(super::super::failure::nothing_selected(path, &dump));
    }
    let mut documents = Vec::new();
    let mut errors = failure::skipped(&dump);
    let progress = super::super::progress::bar(selected.len() as u64, "designing");
    for meta in selected {
        progress.set_message(meta.name.clone());
        match design_tensor(args, &dump, meta, specs, options) {
            Ok(mut designed) => documents.append(&mut designed),
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
    Ok((documents, errors))
}

fn design_tensor(
    args: &DesignArgs,
    dump: &Dump,
    meta: &TensorMeta,
    specs: &[DesignSpec],
    options: &LloydOptions,
) -> Result<Vec<CodebookDocument>, String> {
    let values = dump.read(meta).map_err(|e| e.to_string())?;
    let options = TensorDesignOptions {
        family: args.family,
        empirical: args.empirical,
        zeros: args.zeros.map(ZerosArg::policy),
        nan: args.nan.policy(),
        loc: args.loc,
        zero_level: args.zero_level.rule(),
        lloyd: *options,
    };
    let mut documents = design_documents(values, specs, &options)?;
    for doc in &mut documents {
        doc.tensor = Some(meta.name.clone());
        doc.step = meta.step;
    }
    Ok(documents)
}

/// `thresholds.npy` and `centers.npy` for one codebook, else
/// `<tensor>[.step<N>][.m<M>].thresholds.npy` … with the tensor name as one
/// percent-encoded path component (`dump::file_name`); all files are prepared
/// before any is moved into place.
fn write_npy(dir: &Path, documents: &[CodebookDocument]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let several_m = documents.windows(2).any(|w| w[0].m != w[1].m);
    let mut files = Vec::new();
    for doc in documents {
        let stem = if documents.len() == 1 {
            String::new()
        } else {
            let mut stem = doc
                .tensor
                .as_deref()
                .map_or_else(|| "codebook".to_string(), file_component);
            if let Some(step) = doc.step {
                stem.push_str(&format!(".step{step}"));
            }
            if several_m {
                stem.push_str(&format!(".m{}", doc.m));
            }
            stem.push('.');
            stem
        };
        files.push((
            dir.join(format!("{stem}thresholds.npy")),
            f64_npy_bytes(&doc.thresholds),
        ));
        files.push((
            dir.join(format!("{stem}centers.npy")),
            f64_npy_bytes(&doc.centers),
        ));
    }
    output::write_all_atomically(&files)
}

#[derive(Debug, Serialize)]
struct Row<'a> {
    tensor: Option<&'a str>,
    step: Option<u64>,
    family: &'a str,
    m: f64,
    levels: usize,
    scale: f64,
    distortion: f64,
    mse: f64,
    entropy_bits: f64,
    zero_level: bool,
    nmse: Option<f64>,
    stop_reason: Option<String>,
    iterations: Option<usize>,
    note: Option<&'a str>,
}

fn rows(documents: &[CodebookDocument]) -> Vec<Row<'_>> {
    documents
        .iter()
        .map(|d| Row {
            tensor: d.tensor.as_deref(),
            step: d.step,
            family: &d.family,
            m: d.m,
            levels: d.levels,
            scale: d.scale,
            distortion: d.distortion,
            mse: d.mse,
            entropy_bits: d.entropy_bits,
            zero_level: d.zero_level,
            nmse: d.nmse,
            stop_reason: d
                .design
                .as_ref()
                .map(|i| format!("{:?}", i.stop_reason).to_lowercase()),
            iterations: d.design.as_ref().map(|i| i.iterations),
            note: d.note.as_deref(),
        })
        .collect()
}

fn table(documents: &[CodebookDocument]) -> Vec<u8> {
    let mut table = Table::plain([
        "tensor",
        "step",
        "family",
        "m",
        "levels",
        "distortion",
        "mse",
        "nmse",
        "zero",
        "entropy",
        "stop",
        "iter",
    ]);
    let mut notes = Vec::new();
    for r in rows(documents) {
        table.push(vec![
            r.tensor.unwrap_or("-").to_string(),
            r.step.map_or("-".to_string(), |s| s.to_string()),
            match r.note {
                Some(note) => {
                    notes.push(note);
                    format!("{} [{}]", r.family, notes.len())
                }
                None => r.family.to_string(),
            },
            sig(r.m, 3),
            r.levels.to_string(),
            sig(r.distortion, 4),
            sig(r.mse, 4),
            r.nmse.map_or("-".to_string(), |v| sig(v, 3)),
            if r.zero_level { "yes" } else { "no" }.to_string(),
            sig(r.entropy_bits, 4),
            r.stop_reason.unwrap_or_default(),
            r.iterations.map_or("-".to_string(), |i| i.to_string()),
        ]);
    }
    let mut bytes = table.text().into_bytes();
    for (i, note) in notes.iter().enumerate() {
        bytes.extend(format!("[{}] {note}\n", i + 1).into_bytes());
    }
    bytes
}
