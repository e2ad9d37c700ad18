//! Tensor selection: a name regex and a step range.

pub use gradrd_core::steps::{StepRange, StepRangeError};

use super::TensorMeta;

/// Which tensors an analysis looks at. `None` fields select everything.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Tensors whose name matches this regex anywhere (use `^…$` to anchor).
    pub tensor: Option<regex::Regex>,
    /// Steps in this range; tensors without a step never match a range.
    pub steps: Option<StepRange>,
}

impl Selection {
    /// Whether `meta` passes both filters.
    pub fn matches(&self, meta: &TensorMeta) -> bool {
        let name_ok = self
            .tensor
            .as_ref()
            .is_none_or(|re| re.is_match(&meta.name));
        let step_ok = match &self.steps {
            None => true,
            Some(range) => meta.step.is_some_and(|s| range.contains(s)),
        };
        name_ok && step_ok
    }
}

/// Compiles a tensor-name pattern; the error is one line quoting the
/// pattern (regex's own message spans several lines with a caret).
pub fn tensor_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|e| {
        let text = e.to_string();
        let reason = text.lines().last().unwrap_or_default();
        let reason = reason.strip_prefix("error: ").unwrap_or(reason);
        format!("`{pattern}` is not a valid regular expression: {reason}")
    })
}

#[cfg(test)]
mod regex_tests {
    use super::tensor_regex;

    #[test]
    fn a_bad_pattern_is_one_line_quoting_it() {
        let message = tensor_regex("fc(").unwrap_err();
        assert_eq!(
            message,
            "`fc(` is not a valid regular expression: unclosed group"
        );
        assert!(tensor_regex("^fc[12]\\.weight$")
            .unwrap()
            .is_match("fc2.weight"));
    }
}
