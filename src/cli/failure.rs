//! Tensors that could not be analysed: listed in the output and printed on
//! standard error one line each (the batch goes on, exit code 1), or — when
//! nothing could be analysed — turned into the one-line error of exit code 2.

use std::path::Path;

use super::Outcome;
use gradrd_core::registry::AnalysisError;
pub use gradrd_core::registry::Failure;
use gradrd_io::dump::Dump;

/// The error when every selected tensor failed: the first failure, and how
/// many more there were.
pub fn all_failed(failures: &[Failure]) -> anyhow::Error {
    anyhow::anyhow!("{}", AnalysisError::AllFailed(failures.to_vec()))
}

/// `Partial` when anything failed.
pub fn outcome(any_failed: bool) -> Outcome {
    if any_failed {
        Outcome::Partial
    } else {
        Outcome::Complete
    }
}

/// The files of a dump directory that could not be opened (the other files
/// were read).
pub fn skipped(dump: &Dump) -> Vec<Failure> {
    gradrd_io::dump::unreadable(dump)
}

/// The error when a selection matched nothing: the first unreadable file of
/// the dump if there is one (the tensor may have been in it).
pub fn nothing_selected(path: &Path, dump: &Dump) -> anyhow::Error {
    match skipped(dump).first() {
        Some(first) => anyhow::anyhow!(
            "{}: no readable tensor matches the selection; {}",
            path.display(),
            first.describe()
        ),
        None => anyhow::anyhow!("{}: no tensor matches the selection", path.display()),
    }
}

/// Prints each failure on standard error, one line each, whatever the
/// output format and destination (the output lists them too).
pub fn report(failures: &[Failure]) {
    for failure in failures {
        super::message::error(&failure.describe());
    }
}

/// Reports the failures on standard error: `Partial` when there were any.
pub fn finish(failures: &[Failure]) -> Outcome {
    report(failures);
    outcome(!failures.is_empty())
}
