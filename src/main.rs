//! The `gradrd` binary: parse the command line, run one subcommand, map the
//! outcome to an exit code (0 ok, 1 some tensors failed, 2 bad usage or
//! unreadable input) and print errors as one line on stderr.
#![deny(unsafe_code)]

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
