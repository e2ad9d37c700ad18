//! `gradrd simulate fl`: federated averaging on scikit-learn's digits (or on
//! the teacher/student task) with a compressed uplink and error feedback
//! (`sim::fl`); per round the cumulative uplink bits, the training loss and
//! the test accuracy, and beside them the centrally trained model of the same
//! size and number of SGD steps. The costs file of `--cwmp` and the codebook
//! file of `--codebook` are read before the task is built and resolved
//! against its layers (`sim::uplink::layer_costs`, `layer_codebooks`).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use gradrd_core::compress::cwmp_costs::CostMap;
use gradrd_core::compress::Feedback;
use gradrd_core::dist::FamilyKind;
use gradrd_core::quant::baseline::BaselineKind;
use gradrd_core::quant::export::{parse_codebooks, CodebookDocument};
use gradrd_core::quant::Codebook;
use gradrd_core::sim::digits::digits;
use gradrd_core::sim::fl::{central_baseline, simulate, FlConfig, Memory, RoundResult};
use gradrd_core::sim::split::Split;
use gradrd_core::sim::task::{DigitsTask, Task, TeacherStudentTask};
use gradrd_core::sim::uplink::{
    layer_codebooks, layer_costs, Keep, Layers, Quantizer, Rescale, Uplink,
};
use gradrd_core::sim::Activation;
use serde::Serialize;

use super::generate::NetworkArgs;
use super::output::{csv_bytes, json_bytes, sig, Format, OutputArgs, Table};
use super::Outcome;
use gradrd_core::registry::compression::read_costs;

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(subcommand)]
    kind: Kind,
}

#[derive(Debug, Subcommand)]
enum Kind {
    /// Federated averaging with compression in the loop: accuracy and loss against uplink bits.
    Fl(FlArgs),
}

#[derive(Debug, Args)]
pub struct FlArgs {
    /// Data set (shipped in data/).
    #[arg(long, value_enum, default_value_t = DatasetArg::Digits)]
    dataset: DatasetArg,
    /// Model: `mlp` is input → hidden (ReLU) → classes, softmax cross-entropy,
    /// on --dataset; `teacher-student` learns a random two-layer teacher from
    /// fresh Gaussian inputs (loss = generalisation error, no accuracy).
    #[arg(long, value_enum, default_value_t = ModelArg::Mlp)]
    model: ModelArg,
    /// Hidden units of the MLP.
    #[arg(long, default_value_t = 32)]
    hidden: usize,
    /// The networks of `--model teacher-student`.
    #[command(flatten)]
    network: NetworkArgs,
    /// Number of clients.
    #[arg(long, default_value_t = 10)]
    clients: usize,
    /// How the training set is spread over the clients [default: label-skew
    /// for mlp, iid (the only one) for teacher-student].
    #[arg(long, value_enum)]
    split: Option<SplitArg>,
    /// Classes per client of `--split label-skew`.
    #[arg(long, default_value_t = 2)]
    classes_per_client: usize,
    /// Concentration α of `--split dirichlet`.
    #[arg(long, default_value_t = 0.5, allow_hyphen_values = true)]
    alpha: f64,
    /// Fraction of clients taking part in each round, in (0, 1].
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    participation: f64,
    /// Local SGD steps per round (E).
    #[arg(long, default_value_t = 5)]
    local_steps: usize,
    /// Mini-batch size of a local step.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Learning rate of the local SGD.
    #[arg(long, default_value_t = 0.1, allow_hyphen_values = true)]
    lr: f64,
    /// Communication rounds.
    #[arg(long, default_value_t = 200)]
    rounds: usize,
    /// Fraction of each layer's update kept by top-k, in (0, 1].
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true, conflicts_with_all = ["randk", "threshold"])]
    topk: f64,
    /// Keep this fraction of each layer's entries at random positions instead (rand-k, unscaled; the positions travel as a 64-bit seed).
    #[arg(long, allow_hyphen_values = true, conflicts_with = "threshold")]
    randk: Option<f64>,
    /// Keep every entry with |u| ≥ λ instead (hard threshold; the count varies per message).
    #[arg(long, value_name = "LAMBDA", allow_hyphen_values = true)]
    threshold: Option<f64>,
    /// Keep instead, across all layers of the update, the entries of largest
    /// |u|/cost whose total cost stays within this fraction of the whole
    /// update's cost (cost-weighted magnitude pruning; needs --costs).
    #[arg(long, value_name = "FRACTION", allow_hyphen_values = true, requires = "costs", conflicts_with_all = ["topk", "randk", "threshold"])]
    cwmp: Option<f64>,
    /// Costs of --cwmp: a JSON object {layer: cost} or {layer: [cost per
    /// entry]} covering every layer (mlp: fc1, fc2; teacher-student: w1, v).
    #[arg(long, value_name = "FILE", requires = "cwmp")]
    costs: Option<PathBuf>,
    /// Quantizer of the kept values: none, m22, or a baseline (uniform-minmax,
    /// uniform-opt, int8, fp8-e4m3, fp8-e5m2, fp4-e2m1, tinyscript).
    #[arg(long, default_value = "none", value_parser = parse_quantizer)]
    quantizer: QuantizerArg,
    /// Quantize the kept values with this fixed codebook instead (a document
    /// or manifest of `gradrd quantize design`; one codebook applies to every
    /// layer, several are matched to the layers by tensor name). Both sides
    /// hold it: only the ANS-coded indices are sent.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["quantizer", "bits", "m", "family"])]
    codebook: Option<PathBuf>,
    /// Scale of --codebook: `none` uses the codebook's own; `rms` stretches it
    /// by the kept values' RMS over the RMS of what the codebook was designed
    /// for, and sends that scale (32 bits per layer).
    #[arg(long, value_enum, default_value_t = RescaleArg::None, requires = "codebook")]
    codebook_rescale: RescaleArg,
    /// Bit width of m22, uniform-* and tinyscript (2^bits levels).
    #[arg(long, default_value_t = 4)]
    bits: u32,
    /// Weight exponent M of the m22 design (d_M = E|X|^M (X − Q(X))²).
    #[arg(long, default_value_t = 2.0, allow_hyphen_values = true)]
    m: f64,
    /// Family m22 fits to each layer's update.
    #[arg(long, value_enum, default_value_t = FamilyArg::Gennorm)]
    family: FamilyArg,
    /// Error feedback: none, full, decay (--gamma), sapef (--sapef-alpha).
    #[arg(long, value_enum, default_value_t = FeedbackArg::Full)]
    feedback: FeedbackArg,
    /// Memory decay γ in [0, 1] of `--feedback decay`.
    #[arg(long, default_value_t = 0.9, allow_hyphen_values = true)]
    gamma: f64,
    /// Step-ahead fraction α in [0, 1] of `--feedback sapef`.
    #[arg(long, default_value_t = 0.5, allow_hyphen_values = true)]
    sapef_alpha: f64,
    /// Seed of the split, the initialization, the batches and the participants.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DatasetArg {
    Digits,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModelArg {
    Mlp,
    TeacherStudent,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SplitArg {
    Iid,
    LabelSkew,
    Dirichlet,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FamilyArg {
    Gennorm,
    Dweibull,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RescaleArg {
    None,
    Rms,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FeedbackArg {
    None,
    Full,
    Decay,
    Sapef,
}

#[derive(Debug, Clone, Copy)]
enum QuantizerArg {
    None,
    M22,
    Baseline(BaselineKind),
}

fn parse_quantizer(text: &str) -> Result<QuantizerArg, String> {
    match text {
        "none" => Ok(QuantizerArg::None),
        "m22" => Ok(QuantizerArg::M22),
        other => other
            .parse::<BaselineKind>()
            .map(QuantizerArg::Baseline)
            .map_err(|e| e.to_string()),
    }
}

/// The files of the uplink, read before any training.
#[derive(Debug, Default)]
struct UplinkFiles {
    costs: Option<CostMap>,
    codebooks: Option<Vec<(CodebookDocument, Codebook)>>,
}

impl UplinkFiles {
    fn read(args: &FlArgs) -> anyhow::Result<Self> {
        let codebooks = match &args.codebook {
            None => None,
            Some(path) => {
                let text = gradrd_io::files::read_to_string(path)
                    .with_context(|| format!("cannot read codebook {}", path.display()))?;
                Some(
                    parse_codebooks(&text)
                        .with_context(|| format!("codebook {}", path.display()))?,
                )
            }
        };
        Ok(Self {
            costs: args
                .costs
                .as_deref()
                .map(read_costs)
                .transpose()
                .map_err(|e| anyhow::anyhow!(e))?,
            codebooks,
        })
    }
}

impl FlArgs {
    /// The run's settings for a model with `layers`.
    fn config(&self, files: &UplinkFiles, layers: &Layers) -> anyhow::Result<FlConfig> {
        let default = match self.model {
            ModelArg::Mlp => SplitArg::LabelSkew,
            ModelArg::TeacherStudent => SplitArg::Iid,
        };
        let split = match self.split.unwrap_or(default) {
            SplitArg::Iid => Split::Iid,
            SplitArg::LabelSkew => Split::LabelSkew {
                classes_per_client: self.classes_per_client,
            },
            SplitArg::Dirichlet => Split::Dirichlet { alpha: self.alpha },
        };
        let file = |path: &Option<PathBuf>| {
            path.as_ref()
                .map_or(String::new(), |p| p.display().to_string())
        };
        let quantizer = match (&files.codebooks, self.quantizer) {
            (Some(documents), _) => Quantizer::Codebook {
                codebooks: layer_codebooks(documents, layers)
                    .with_context(|| format!("codebook {}", file(&self.codebook)))?,
                rescale: match self.codebook_rescale {
                    RescaleArg::None => Rescale::None,
                    RescaleArg::Rms => Rescale::Rms,
                },
            },
            (None, QuantizerArg::None) => Quantizer::None,
            (None, QuantizerArg::M22) => Quantizer::M22 {
                family: match self.family {
                    FamilyArg::Gennorm => FamilyKind::GenNorm,
                    FamilyArg::Dweibull => FamilyKind::DWeibull,
                },
                m: self.m,
                bits: self.bits,
            },
            (None, QuantizerArg::Baseline(scheme)) => Quantizer::Baseline {
                scheme,
                bits: self.bits,
            },
        };
        let memory = match self.feedback {
            FeedbackArg::None => Memory::Feedback {
                feedback: Feedback::None,
            },
            FeedbackArg::Full => Memory::Feedback {
                feedback: Feedback::Full,
            },
            FeedbackArg::Decay => Memory::Feedback {
                feedback: Feedback::Decay { gamma: self.gamma },
            },
            FeedbackArg::Sapef => Memory::SaPef {
                alpha: self.sapef_alpha,
            },
        };
        Ok(FlConfig {
            clients: self.clients,
            split,
            participation: self.participation,
            local_steps: self.local_steps,
            batch_size: self.batch_size,
            lr: self.lr,
            rounds: self.rounds,
            uplink: Uplink {
                keep: match (self.randk, self.threshold, self.cwmp, &files.costs) {
                    (Some(fraction), ..) => Keep::RandK { fraction },
                    (None, Some(lambda), ..) => Keep::Threshold { lambda },
                    (None, None, Some(fraction), Some(costs)) => Keep::Cwmp {
                        fraction,
                        costs: layer_costs(costs, layers)
                            .with_context(|| format!("costs {}", file(&self.costs)))?,
                    },
                    (None, None, ..) => Keep::TopK {
                        fraction: self.topk,
                    },
                },
                quantizer,
            },
            memory,
            seed: self.seed,
        })
    }
}

/// The task as reported.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
enum ModelOut {
    Mlp {
        dataset: &'static str,
        hidden: usize,
    },
    TeacherStudent {
        activation: Activation,
        input_dim: usize,
        teacher_hidden: usize,
        student_hidden: usize,
        init_std: f64,
    },
}

#[derive(Debug, Serialize)]
struct SimulateReport {
    schema: &'static str,
    model: ModelOut,
    settings: FlConfig,
    parameters: usize,
    rounds: Vec<RoundResult>,
    final_accuracy: f64,
    total_uplink_bits: u64,
    /// The costs file of `--cwmp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    costs: Option<String>,
    /// The codebook file of `--codebook`.
    #[serde(skip_serializing_if = "Option::is_none")]
    codebook: Option<String>,
    /// The same model trained centrally for rounds × local steps SGD steps.
    central_accuracy: f64,
    central_loss: f64,
    /// What `loss` and `accuracy` are.
    loss_is: &'static str,
    accuracy_is: &'static str,
}

pub fn run(args: SimulateArgs) -> anyhow::Result<Outcome> {
    match args.kind {
        Kind::Fl(args) => fl(args),
    }
}

fn fl(args: FlArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    let files = UplinkFiles::read(&args)?;
    match args.model {
        ModelArg::Mlp => {
            let (train, test) = match args.dataset {
                DatasetArg::Digits => digits()?.split(0.2, args.seed),
            };
            let task = DigitsTask::new(args.hidden, train, test)?;
            let model = ModelOut::Mlp {
                dataset: "digits",
                hidden: args.hidden,
            };
            let meaning = (
                "cross-entropy of the global model on the training set",
                "test-set accuracy of the global model",
            );
            report(&args, &files, &task, model, meaning)
        }
        ModelArg::TeacherStudent => {
            let ts = args.network.config(args.lr, args.seed);
            let task = TeacherStudentTask::new(ts.clone()).map_err(|e| anyhow::anyhow!("--{e}"))?;
            let model = ModelOut::TeacherStudent {
                activation: ts.activation,
                input_dim: ts.input_dim,
                teacher_hidden: ts.teacher_hidden,
                student_hidden: ts.student_hidden,
                init_std: ts.init_std,
            };
            let meaning = (
                "generalisation error ½E(φ − y)² of the global student",
                "none (null): a regression task",
            );
            report(&args, &files, &task, model, meaning)
        }
    }
}

fn report<T: Task>(
    args: &FlArgs,
    files: &UplinkFiles,
    task: &T,
    model: ModelOut,
    (loss_is, accuracy_is): (&'static str, &'static str),
) -> anyhow::Result<Outcome> {
    let layers = task.layers();
    let config = args.config(files, &layers)?;
    config.validate()?;
    if let Some(path) = &args.codebook {
        // a codebook to rescale needs its design's RMS
        config
            .uplink
            .check_layers(&layers)
            .with_context(|| format!("codebook {}", path.display()))?;
    }
    let progress = super::progress::bar(config.rounds as u64, "training");
    progress.set_message("rounds");
    let run = simulate(&config, task, |_| progress.inc(1))?;
    progress.finish_and_clear();
    let (central_loss, central_accuracy) = central_baseline(&config, task);
    let last = run.rounds.last().copied();
    let report = SimulateReport {
        schema: "gradrd.simulate/1",
        model,
        parameters: run.params.len(),
        final_accuracy: last.map_or(f64::NAN, |r| r.accuracy),
        total_uplink_bits: last.map_or(0, |r| r.uplink_bits),
        rounds: run.rounds,
        central_accuracy,
        central_loss,
        loss_is,
        accuracy_is,
        settings: config,
        costs: args.costs.as_ref().map(|p| p.display().to_string()),
        codebook: args.codebook.as_ref().map(|p| p.display().to_string()),
    };
    let bytes = match args.out.format {
        Format::Json => json_bytes(&report)?,
        Format::Csv => csv_bytes(&report.rounds)?,
        Format::Table => table(&report),
    };
    args.out.emit(&bytes).context("cannot write the report")?;
    Ok(Outcome::Complete)
}

fn table(report: &SimulateReport) -> Vec<u8> {
    let mut table = Table::plain(["round", "uplink_bits", "loss", "accuracy"]);
    for r in &report.rounds {
        table.push(vec![
            r.round.to_string(),
            r.uplink_bits.to_string(),
            sig(r.loss, 4),
            percent(r.accuracy),
        ]);
    }
    let mut bytes = table.text().into_bytes();
    bytes.extend(
        format!(
            "final accuracy {} after {} uplink bits; central model: {} (loss {})\nloss: {}\n",
            percent(report.final_accuracy),
            report.total_uplink_bits,
            percent(report.central_accuracy),
            sig(report.central_loss, 4),
            report.loss_is
        )
        .into_bytes(),
    );
    bytes
}

/// `94.71%`, or `-` for a task without accuracy.
fn percent(fraction: f64) -> String {
    if fraction.is_nan() {
        "-".to_string()
    } else {
        format!("{:.2}%", 100.0 * fraction)
    }
}
