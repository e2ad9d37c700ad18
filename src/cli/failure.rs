//! Tensors that could not be analysed: listed in the output and printed on
//! standard error one line each (the batch goes on, exit code 1), or — when
//! nothing could be analysed — turned into the one-line error of exit code 2.

use std::path::Path;

use serde::Serialize;

use super::Outcome;
use gradrd_io::dump::Dump;

/// One tensor (or file, or tensor pair) that failed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tensor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    pub error: String,
}

impl Failure {
    /// `file: tensor 'name' (step N): error`, leaving out what is unknown
    /// and what the error already says (reader errors name their file and
    /// tensor themselves).
    pub fn describe(&self) -> String {
        let mut text = String::new();
        if let Some(file) = self
            .file
            .as_ref()
            .filter(|f| !self.error.starts_with(f.as_str()))
        {
            text.push_str(file);
            text.push_str(": ");
        }
        let named = |t: &str| self.error.contains(&format!("`{t}`"));
        if let Some(tensor) = self.tensor.as_ref().filter(|t| !named(t)) {
            text.push_str(&format!("tensor '{tensor}'"));
            if let Some(step) = self.step {
                text.push_str(&format!(" (step {step})"));
            }
            text.push_str(": ");
        }
        text.push_str(&self.error);
        text
    }
}

/// The error when every selected tensor failed: the first failure, and how
/// many more there were.
pub fn all_failed(failures: &[Failure]) -> anyhow::Error {
    let first = failures
        .first()
        .map_or_else(|| "nothing to analyse".to_string(), Failure::describe);
    match failures.len() {
        0 | 1 => anyhow::anyhow!("{first}"),
        n => anyhow::anyhow!("{first} ({} more failed)", n - 1),
    }
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
    dump.skipped()
        .iter()
        .map(|(file, error)| Failure {
            file: Some(file.display().to_string()),
            tensor: None,
            step: None,
            error: error.to_string(),
        })
        .collect()
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
