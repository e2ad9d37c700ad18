//! A tensor (or file, or tensor pair) that could not be analysed, listed in
//! an output's `errors` while the rest of the batch goes on.

use serde::Serialize;

/// One tensor (or file, or tensor pair) that failed, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_leaves_out_what_the_error_already_names() {
        let failure = Failure {
            file: Some("d/step_1.npy".into()),
            tensor: Some("w".into()),
            step: Some(1),
            error: "non-finite values: 3".into(),
        };
        assert_eq!(
            failure.describe(),
            "d/step_1.npy: tensor 'w' (step 1): non-finite values: 3"
        );
        let named = Failure {
            error: "d/step_1.npy: tensor `w`: truncated".into(),
            ..failure
        };
        assert_eq!(named.describe(), "d/step_1.npy: tensor `w`: truncated");
    }
}
