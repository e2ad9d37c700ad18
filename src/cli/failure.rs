//! Tensors that could not be analysed: listed in the output (the batch goes
//! on, exit code 1), or — when nothing could be analysed — turned into the
//! one-line error of exit code 2.

use serde::Serialize;

use super::Outcome;

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

/// The failure lines printed under a table.
pub fn lines(failures: &[Failure]) -> Vec<u8> {
    failures
        .iter()
        .map(|f| format!("error: {}\n", f.describe()))
        .collect::<String>()
        .into_bytes()
}
