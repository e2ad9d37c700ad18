//! `gradrd quantize design|eval`: M-weighted Lloyd-Max codebooks for a model
//! or for recorded tensors, exported for training code, and codebooks
//! measured on a dump.

mod design;
mod eval;

use clap::{Args, Subcommand};

use super::Outcome;

#[derive(Debug, Args)]
pub struct QuantizeArgs {
    #[command(subcommand)]
    command: QuantizeCommand,
}

#[derive(Debug, Subcommand)]
enum QuantizeCommand {
    /// Design M-weighted Lloyd-Max codebooks (a model, a tensor's fit, or its samples).
    Design(design::DesignArgs),
    /// Measure codebooks on a dump: MSE, M-weighted distortion, entropy, bits per entry.
    Eval(eval::EvalArgs),
}

pub fn run(args: QuantizeArgs) -> anyhow::Result<Outcome> {
    match args.command {
        QuantizeCommand::Design(args) => design::run(args),
        QuantizeCommand::Eval(args) => eval::run(args),
    }
}
