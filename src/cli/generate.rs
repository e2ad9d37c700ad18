//! `gradrd generate teacher-student`: trains the student of a teacher/student
//! pair (`sim::teacher_student`) by online SGD and writes the gradient of
//! every `--record-every`-th step as `OUT/step_NNNNNN.safetensors` (keys `w1`,
//! hidden × N, and `v`; F32), a dump that every other command reads. The
//! report lists the generalisation error at each recorded step.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use gradrd_core::sim::{Activation, TeacherStudent, TeacherStudentConfig};
use gradrd_io::record::{file_name, safetensors_bytes, Named};
use serde::Serialize;

use super::output::{csv_bytes, json_bytes, sig, write_atomically, Format, OutputArgs, Table};
use super::Outcome;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(subcommand)]
    source: Source,
}

#[derive(Debug, Subcommand)]
enum Source {
    /// Online SGD of a two-layer student on a random teacher (Goldt et al., NeurIPS 2019).
    TeacherStudent(TeacherStudentArgs),
}

#[derive(Debug, Args)]
pub struct TeacherStudentArgs {
    #[command(flatten)]
    network: NetworkArgs,
    /// Learning rate η (first layer; the second layer uses η/N).
    #[arg(long, default_value_t = 0.5, allow_hyphen_values = true)]
    lr: f64,
    /// SGD steps (one fresh Gaussian sample each).
    #[arg(long, default_value_t = 10_000)]
    steps: u64,
    /// Record the gradient of every this-many-th step (steps 0, r, 2r, …).
    #[arg(long, default_value_t = 100)]
    record_every: u64,
    /// Test samples of the generalisation-error estimate (tanh only; the
    /// other activations have it in closed form).
    #[arg(long, default_value_t = 2000)]
    test_samples: usize,
    /// Seed of the teacher, the student and the samples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder for the dump (created; must be empty if it exists).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    #[command(flatten)]
    report: OutputArgs,
}

/// The teacher and student networks (shared with `simulate fl --model teacher-student`).
#[derive(Debug, Clone, Args)]
pub(super) struct NetworkArgs {
    /// Hidden-unit activation g (erf is erf(x/√2)).
    #[arg(long, value_enum, default_value_t = ActivationArg::Erf)]
    activation: ActivationArg,
    /// Input dimension N.
    #[arg(long, default_value_t = 500)]
    input_dim: usize,
    /// Teacher hidden units K.
    #[arg(long, default_value_t = 2)]
    teacher_hidden: usize,
    /// Student hidden units M.
    #[arg(long, default_value_t = 2)]
    student_hidden: usize,
    /// Standard deviation of the student's initial weights.
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    init_std: f64,
}

impl NetworkArgs {
    pub(super) fn config(&self, lr: f64, seed: u64) -> TeacherStudentConfig {
        TeacherStudentConfig {
            input_dim: self.input_dim,
            teacher_hidden: self.teacher_hidden,
            student_hidden: self.student_hidden,
            activation: self.activation.activation(),
            lr,
            init_std: self.init_std,
            seed,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ActivationArg {
    Erf,
    Relu,
    Tanh,
    Linear,
}

impl ActivationArg {
    fn activation(self) -> Activation {
        match self {
            ActivationArg::Erf => Activation::Erf,
            ActivationArg::Relu => Activation::Relu,
            ActivationArg::Tanh => Activation::Tanh,
            ActivationArg::Linear => Activation::Linear,
        }
    }
}

#[derive(Debug, Serialize)]
struct Record {
    step: u64,
    file: String,
    /// `½ (φ − y)²` of the step's sample.
    loss: f64,
    generalisation_error: f64,
}

#[derive(Debug, Serialize)]
struct GenerateReport {
    schema: &'static str,
    out: String,
    activation: Activation,
    input_dim: usize,
    teacher_hidden: usize,
    student_hidden: usize,
    lr: f64,
    steps: u64,
    record_every: u64,
    seed: u64,
    /// `exact` (order parameters, closed form) or `test_set` (estimate).
    generalisation_error_method: &'static str,
    entries_per_file: usize,
    records: Vec<Record>,
}

pub fn run(args: GenerateArgs) -> anyhow::Result<Outcome> {
    match args.source {
        Source::TeacherStudent(args) => teacher_student(args),
    }
}

fn teacher_student(args: TeacherStudentArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.report.output)?;
    if args.record_every == 0 {
        bail!("--record-every must be at least 1");
    }
    if args.test_samples == 0 {
        bail!("--test-samples must be at least 1");
    }
    let config = args.network.config(args.lr, args.seed);
    let mut sim = TeacherStudent::new(config.clone()).map_err(|e| anyhow::anyhow!("--{e}"))?;
    prepare_folder(&args.out)?;
    let exact = sim.generalisation_error().is_some();
    let test_set = (!exact).then(|| sim.test_set(args.test_samples, args.seed ^ 0x7e57));
    let (m, n) = (config.student_hidden, config.input_dim);
    let records_expected = args.steps.div_ceil(args.record_every);
    let progress = super::progress::bar(records_expected, "recording");
    let mut records = Vec::new();
    for step in 0..args.steps {
        let generalisation_error = if step % args.record_every == 0 {
            // ε_g at the weights the step's gradient is taken at
            Some(match &test_set {
                Some(test) => sim.test_error(test),
                None => sim.generalisation_error().unwrap_or(f64::NAN),
            })
        } else {
            None
        };
        let loss = sim.step();
        let Some(generalisation_error) = generalisation_error else {
            continue;
        };
        let grad = sim.gradient();
        let bytes = safetensors_bytes(
            step,
            &[
                Named {
                    name: "w1",
                    shape: vec![m, n],
                    values: &grad.w,
                },
                Named {
                    name: "v",
                    shape: vec![m],
                    values: &grad.v,
                },
            ],
        )
        .context("cannot encode safetensors")?;
        let name = file_name(step);
        write_atomically(&args.out.join(&name), &bytes)?;
        records.push(Record {
            step,
            file: name,
            loss,
            generalisation_error,
        });
        progress.inc(1);
    }
    progress.finish_and_clear();
    let report = GenerateReport {
        schema: "gradrd.generate/1",
        out: args.out.display().to_string(),
        activation: config.activation,
        input_dim: n,
        teacher_hidden: config.teacher_hidden,
        student_hidden: m,
        lr: args.lr,
        steps: args.steps,
        record_every: args.record_every,
        seed: args.seed,
        generalisation_error_method: if exact { "exact" } else { "test_set" },
        entries_per_file: m * n + m,
        records,
    };
    let bytes = match args.report.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&report.records)?,
        Format::Table => table(&report),
    };
    args.report
        .emit(&bytes)
        .context("cannot write the report")?;
    Ok(Outcome::Complete)
}

/// Creates `dir`, or accepts it when it exists and is empty.
fn prepare_folder(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir)
            .with_context(|| format!("--out {}: not a readable folder", dir.display()))?;
        if entries.next().is_some() {
            bail!("--out {}: folder is not empty", dir.display());
        }
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("--out {}: cannot create", dir.display()))
}

fn table(report: &GenerateReport) -> Vec<u8> {
    let mut table = Table::plain(["step", "file", "loss", "generalisation_error"]);
    for r in &report.records {
        table.push(vec![
            r.step.to_string(),
            r.file.clone(),
            sig(r.loss, 4),
            sig(r.generalisation_error, 4),
        ]);
    }
    let mut bytes = table.text().into_bytes();
    bytes.extend(
        format!(
            "{} files of {} entries in {} (ε_g: {})\n",
            report.records.len(),
            report.entries_per_file,
            report.out,
            report.generalisation_error_method
        )
        .into_bytes(),
    );
    bytes
}
