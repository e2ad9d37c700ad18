//! Ranges of training steps, as the command line's `--steps` and
//! `--absent`, a spec's `steps` and the options of the step-sequence
//! analyses write them: `N`, `A..B`, `..B` or `A..` with both bounds
//! inclusive. In serde options a range is that string, or a bare step
//! number.

use std::fmt;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

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

impl Serialize for StepRange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StepRange {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RangeVisitor;
        impl de::Visitor<'_> for RangeVisitor {
            type Value = StepRange;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a step number or a step range (N, A..B, ..B, A..)")
            }

            fn visit_u64<E: de::Error>(self, step: u64) -> Result<StepRange, E> {
                Ok(StepRange {
                    start: Some(step),
                    last: Some(step),
                })
            }

            fn visit_i64<E: de::Error>(self, step: i64) -> Result<StepRange, E> {
                u64::try_from(step)
                    .map_err(|_| E::custom(format!("a step is not negative, got {step}")))
                    .and_then(|step| self.visit_u64(step))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<StepRange, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(RangeVisitor)
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

    #[test]
    fn serde_takes_a_step_number_or_a_range_string() {
        let ranges: Vec<StepRange> = serde_json::from_str(r#"[3, "10..20", "..5"]"#).unwrap();
        assert_eq!(
            ranges,
            [
                bounds(Some(3), Some(3)),
                bounds(Some(10), Some(20)),
                bounds(None, Some(5))
            ]
        );
        assert_eq!(
            serde_json::to_string(&ranges).unwrap(),
            r#"["3","10..20","..5"]"#
        );
        for bad in ["-1", r#""5..3""#, "1.5", "true"] {
            assert!(
                serde_json::from_str::<StepRange>(bad).is_err(),
                "{bad} parsed"
            );
        }
    }
}
