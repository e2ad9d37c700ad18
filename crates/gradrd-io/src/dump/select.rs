//! Tensor selection: a name regex and a step range.

use std::fmt;
use std::str::FromStr;

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

/// A range of training steps; both bounds are inclusive (as the CLI's
/// `--steps` help says), and `..=` is accepted as a synonym of `..`:
///
/// ```text
/// "100"        step == 100
/// "100..200"   100 <= step <= 200      (also "100..=200")
/// "..200"      step <= 200
/// "100.."      step >= 100
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRange {
    /// First step included, if bounded below.
    pub start: Option<u64>,
    /// Last step included, if bounded above (inclusive).
    pub last: Option<u64>,
}

impl StepRange {
    /// Whether `step` lies in the range.
    pub fn contains(&self, step: u64) -> bool {
        self.start.is_none_or(|s| step >= s) && self.last.is_none_or(|l| step <= l)
    }
}

/// A step range that does not parse; the message quotes the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid step range `{input}`: {reason} (expected N, A..B, ..B or A.., bounds inclusive)")]
pub struct StepRangeError {
    input: String,
    reason: &'static str,
}

impl FromStr for StepRange {
    type Err = StepRangeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let error = |reason| StepRangeError {
            input: input.to_string(),
            reason,
        };
        let number = |text: &str| -> Result<Option<u64>, StepRangeError> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse::<u64>()
                .map(Some)
                .map_err(|_| error("a bound is not a non-negative integer"))
        };
        let Some((low, high)) = input.split_once("..") else {
            let step = number(input)?.ok_or_else(|| error("empty"))?;
            return Ok(StepRange {
                start: Some(step),
                last: Some(step),
            });
        };
        let start = number(low)?;
        let last = match high.strip_prefix('=') {
            Some(inclusive) => Some(number(inclusive)?.ok_or_else(|| error("`..=` needs an end"))?),
            None => number(high)?,
        };
        if let (Some(s), Some(l)) = (start, last) {
            if s > l {
                return Err(error("the range is empty"));
            }
        }
        Ok(StepRange { start, last })
    }
}

impl fmt::Display for StepRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.start, self.last) {
            (Some(s), Some(l)) if s == l => write!(f, "{s}"),
            (Some(s), Some(l)) => write!(f, "{s}..{l}"),
            (Some(s), None) => write!(f, "{s}.."),
            (None, Some(l)) => write!(f, "..{l}"),
            (None, None) => write!(f, ".."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(text: &str) -> StepRange {
        text.parse().unwrap()
    }

    fn bounds(start: Option<u64>, last: Option<u64>) -> StepRange {
        StepRange { start, last }
    }

    #[test]
    fn parses_every_form_with_inclusive_bounds() {
        assert_eq!(range("100"), bounds(Some(100), Some(100)));
        assert_eq!(range("100..200"), bounds(Some(100), Some(200)));
        assert_eq!(range("100..=200"), bounds(Some(100), Some(200)));
        assert_eq!(range("..200"), bounds(None, Some(200)));
        assert_eq!(range("100.."), bounds(Some(100), None));
        assert_eq!(range(".."), bounds(None, None));
        assert_eq!(range("5..5"), bounds(Some(5), Some(5)));
    }

    #[test]
    fn both_ends_are_included() {
        let r = range("100..200");
        assert!(r.contains(100) && r.contains(200));
        assert!(!r.contains(99) && !r.contains(201));
    }

    #[test]
    fn rejects_garbage_and_empty_ranges() {
        for bad in ["", "x", "-1", "5..3", "1..=", "1..2..3", "1.5", "..-2"] {
            assert!(bad.parse::<StepRange>().is_err(), "`{bad}` parsed");
        }
    }

    proptest::proptest! {
        #[test]
        fn display_round_trips(start in proptest::option::of(0u64..1000), len in proptest::option::of(0u64..1000)) {
            let last = match (start, len) { (Some(s), Some(l)) => Some(s + l), (None, l) => l, (Some(_), None) => None };
            let r = StepRange { start, last };
            proptest::prop_assert_eq!(r.to_string().parse::<StepRange>().unwrap(), r);
        }
    }
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
