//! Command-line definitions (clap derive) and one function per subcommand.
//! The commands parse, call the library and export; they hold no numerics.

mod analysis;
mod budget;
mod compare;
mod cost;
mod dp;
mod ef;
mod evolve;
mod failure;
mod fit;
mod generate;
mod iid;
mod inspect;
mod message;
mod output;
mod progress;
mod quantize;
mod rd;
mod run;
mod selection;
mod simulate;
mod stale;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand};

/// gradrd — model recorded neural-network gradients and design
/// rate-distortion-aware compressors for federated learning.
#[derive(Debug, Parser)]
#[command(name = "gradrd", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List a dump's tensors: steps, dtypes, shapes, zero fraction, non-finite count.
    Inspect(inspect::InspectArgs),
    /// Fit distribution families to every selected tensor and step, with goodness of fit.
    Fit(fit::FitArgs),
    /// Compare two tensors: Spearman, two-sample KS, Wasserstein W1 and W2.
    Compare(compare::CompareArgs),
    /// The i.i.d. study: Spearman/KS pass ratios over temporal, spatial or layer pairs.
    Iid(iid::IidArgs),
    /// Fitted parameters, kurtosis and distances over steps and depth.
    Evolve(evolve::EvolveArgs),
    /// Design M-weighted Lloyd-Max codebooks and measure them on dumps.
    Quantize(quantize::QuantizeArgs),
    /// The rate-distortion limit R(D) of a fitted source (Blahut–Arimoto, Shannon lower bound) and each quantizer's gap to it.
    Rd(rd::RdArgs),
    /// Error-feedback replay of the dump's steps through a compressor: per-step and total error, bits sent.
    Ef(ef::EfArgs),
    /// Total-error budgets: hard threshold vs top-k at an equal total budget; per-tensor bit allocation.
    Budget(budget::BudgetArgs),
    /// Differential privacy vs compression: top-k support overlap and coded size over the noise σ.
    Dp(dp::DpArgs),
    /// Clients that disappear: keep / reset / decay / reset-if-older error-feedback memory, by total error.
    Stale(stale::StaleArgs),
    /// Communication cost per client and round: FedAvg, sparse and quantized schemes, prediction space.
    Cost(cost::CostArgs),
    /// Write gradient dumps from simulated training (teacher/student networks).
    Generate(generate::GenerateArgs),
    /// Train with compression in the loop (federated averaging): accuracy and loss against uplink bits.
    Simulate(simulate::SimulateArgs),
    /// Run an analysis spec (TOML) and render its report: figures, tables, index.html.
    Run(run::RunArgs),
}

/// How a command ended when it did not fail outright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything selected was analysed.
    Complete,
    /// The analysis ran but some tensors failed (they are listed in the output).
    Partial,
}

pub fn main() -> ExitCode {
    quiet_caught_polars_panics();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => error.exit(),
        Err(error) if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            error.exit()
        }
        Err(error) => {
            eprintln!("{}", message::usage_error(&error, &typed_command()));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::Fit(args) => fit::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Iid(args) => iid::run(args),
        Command::Evolve(args) => evolve::run(args),
        Command::Quantize(args) => quantize::run(args),
        Command::Rd(args) => rd::run(args),
        Command::Ef(args) => ef::run(args),
        Command::Budget(args) => budget::run(args),
        Command::Dp(args) => dp::run(args),
        Command::Stale(args) => stale::run(args),
        Command::Cost(args) => cost::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Run(args) => run::run(args),
    };
    match result {
        Ok(Outcome::Complete) => ExitCode::SUCCESS,
        Ok(Outcome::Partial) => ExitCode::from(1),
        Err(error) => {
            message::error(&format!("{error:#}"));
            ExitCode::from(2)
        }
    }
}

/// The (sub)commands named at the start of the command line, as typed:
/// `gradrd quantize eval` for `gradrd quantize eval --bad`.
fn typed_command() -> String {
    let mut command = Cli::command();
    let mut path = vec![command.get_name().to_string()];
    for arg in std::env::args().skip(1) {
        match command.find_subcommand(&arg) {
            Some(sub) => {
                path.push(sub.get_name().to_string());
                command = sub.clone();
            }
            None => break,
        }
    }
    path.join(" ")
}

/// polars panics on some corrupt Parquet files instead of returning an
/// error; the table reader (`gradrd_io::dump`) catches those panics and reports
/// a one-line error naming the file. This hook keeps the default panic
/// message off standard error for panics raised inside the polars crates
/// only; any other panic is printed as usual.
fn quiet_caught_polars_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let in_polars = info
            .location()
            .is_some_and(|l| l.file().contains("/polars"));
        if !in_polars {
            default(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
