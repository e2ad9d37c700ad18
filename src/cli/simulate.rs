//! `gradrd simulate fl`: federated averaging on scikit-learn's digits with a
//! compressed uplink and error feedback (`sim::fl`); per round the cumulative
//! uplink bits, the training loss and the test accuracy, and beside them the
//! centrally trained model of the same size and number of SGD steps.

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use gradrd::compress::Feedback;
use gradrd::dist::FamilyKind;
use gradrd::quant::baseline::BaselineKind;
use gradrd::sim::digits::digits;
use gradrd::sim::fl::{central_baseline, simulate, FlConfig, Memory, RoundResult};
use gradrd::sim::split::Split;
use gradrd::sim::uplink::{Quantizer, Uplink};
use serde::Serialize;

use super::output::{csv_bytes, json_bytes, sig, Format, OutputArgs, Table};
use super::Outcome;

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
    /// Model: `mlp` is input → hidden (ReLU) → classes, softmax cross-entropy.
    #[arg(long, value_enum, default_value_t = ModelArg::Mlp)]
    model: ModelArg,
    /// Hidden units of the MLP.
    #[arg(long, default_value_t = 32)]
    hidden: usize,
    /// Number of clients.
    #[arg(long, default_value_t = 10)]
    clients: usize,
    /// How the training set is spread over the clients.
    #[arg(long, value_enum, default_value_t = SplitArg::LabelSkew)]
    split: SplitArg,
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
    #[arg(long, default_value_t = 1.0, allow_hyphen_values = true)]
    topk: f64,
    /// Quantizer of the kept values: none, m22, or a baseline (uniform-minmax,
    /// uniform-opt, int8, fp8-e4m3, fp8-e5m2, fp4-e2m1, tinyscript).
    #[arg(long, default_value = "none", value_parser = parse_quantizer)]
    quantizer: QuantizerArg,
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

impl FlArgs {
    fn config(&self) -> FlConfig {
        let split = match self.split {
            SplitArg::Iid => Split::Iid,
            SplitArg::LabelSkew => Split::LabelSkew {
                classes_per_client: self.classes_per_client,
            },
            SplitArg::Dirichlet => Split::Dirichlet { alpha: self.alpha },
        };
        let quantizer = match self.quantizer {
            QuantizerArg::None => Quantizer::None,
            QuantizerArg::M22 => Quantizer::M22 {
                family: match self.family {
                    FamilyArg::Gennorm => FamilyKind::GenNorm,
                    FamilyArg::Dweibull => FamilyKind::DWeibull,
                },
                m: self.m,
                bits: self.bits,
            },
            QuantizerArg::Baseline(scheme) => Quantizer::Baseline {
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
        FlConfig {
            clients: self.clients,
            split,
            participation: self.participation,
            local_steps: self.local_steps,
            batch_size: self.batch_size,
            lr: self.lr,
            rounds: self.rounds,
            hidden: self.hidden,
            uplink: Uplink {
                topk: self.topk,
                quantizer,
            },
            memory,
            seed: self.seed,
        }
    }
}

#[derive(Debug, Serialize)]
struct SimulateReport {
    schema: &'static str,
    dataset: &'static str,
    model: &'static str,
    settings: FlConfig,
    parameters: usize,
    rounds: Vec<RoundResult>,
    final_accuracy: f64,
    total_uplink_bits: u64,
    /// The same model trained centrally for rounds × local steps SGD steps.
    central_accuracy: f64,
    central_loss: f64,
}

pub fn run(args: SimulateArgs) -> anyhow::Result<Outcome> {
    match args.kind {
        Kind::Fl(args) => fl(args),
    }
}

fn fl(args: FlArgs) -> anyhow::Result<Outcome> {
    super::output::check_writable(&args.out.output)?;
    let config = args.config();
    config.validate()?;
    let (train, test) = digits()?.split(0.2, args.seed);
    let progress = super::progress::bar(config.rounds as u64, "training");
    progress.set_message("rounds");
    let run = simulate(&config, &train, &test, |_| progress.inc(1))?;
    progress.finish_and_clear();
    let (central_loss, central_accuracy) = central_baseline(&config, &train, &test);
    let last = run.rounds.last().copied();
    let report = SimulateReport {
        schema: "gradrd.simulate/1",
        dataset: "digits",
        model: "mlp",
        parameters: run.params.len(),
        final_accuracy: last.map_or(f64::NAN, |r| r.accuracy),
        total_uplink_bits: last.map_or(0, |r| r.uplink_bits),
        rounds: run.rounds,
        central_accuracy,
        central_loss,
        settings: config,
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
    let mut table = Table::new(["round", "uplink_bits", "loss", "accuracy"]);
    for r in &report.rounds {
        table.push(vec![
            r.round.to_string(),
            r.uplink_bits.to_string(),
            sig(r.loss, 4),
            format!("{:.2}%", 100.0 * r.accuracy),
        ]);
    }
    let mut bytes = table.render();
    bytes.extend(
        format!(
            "final accuracy {:.2}% after {} uplink bits; central model: {:.2}% (loss {})\n",
            100.0 * report.final_accuracy,
            report.total_uplink_bits,
            100.0 * report.central_accuracy,
            sig(report.central_loss, 4)
        )
        .into_bytes(),
    );
    bytes
}
