//! The training step a file or directory name gives.
//!
//! Two strengths of evidence, because the numbers in checkpoint names are
//! not all steps (`model-00002-of-00003.safetensors` is shard 2, `rank1.pt`
//! is a rank, `__0_1.distcp` a DCP storage file):
//!
//! ```text
//! Keyword   the number after step, global_step, iter, iteration,
//!           checkpoint or ckpt (case-insensitive, optional - _ = .)
//!           step_000300, checkpoint-300, global_step300, iter_0000300 -> 300
//! Number    otherwise the last number, once shard, rank and part
//!           counters are removed
//!           grads_100 -> 100, model-00001-of-00003 -> none, rank0 -> none
//! ```
//! The dump's step rule (`discover.rs`) ranks a keyword in any name of a
//! path above a bare number.

use std::sync::LazyLock;

use regex::Regex;

/// What a name says about its step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameStep {
    /// A step keyword followed by this number.
    Keyword(u64),
    /// A bare number that is not a shard, rank or part counter.
    Number(u64),
    /// No step in the name.
    None,
}

impl NameStep {
    pub(crate) fn keyword(self) -> Option<u64> {
        match self {
            NameStep::Keyword(step) => Some(step),
            _ => None,
        }
    }

    pub(crate) fn number(self) -> Option<u64> {
        match self {
            NameStep::Number(step) => Some(step),
            _ => None,
        }
    }
}

static KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:^|[^a-z])(?:global_step|step|iteration|iter|checkpoint|ckpt)[-_=.]?([0-9]+)",
    )
    .expect("valid regex")
});

/// Numbers that are not steps: HF shards `-00001-of-00003`, DCP storage
/// files `__0_1`, `rank`, `shard`, `part`, `worker`, `device` counters, and
/// number formats (`gpt_bf16.pt` is not step 16).
static COUNTERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:[-_.]?[0-9]+-of-[0-9]+)|(?:__[0-9]+_[0-9]+)|(?:(?:^|[^a-z])(?:rank|shard|part|worker|device|gpu|tp|pp|dp|mp)[-_=.]?[0-9]+)|(?:(?:^|[^a-z0-9])(?:b?float(?:8|16|32|64)|bf16|fp(?:4|6|8|16|32|64)|f(?:16|32|64)|u?int(?:4|8|16|32|64)|e[2-5]m[0-3]|nf4|mx(?:fp|int)[0-9]+)(?:[^0-9]|$))",
    )
    .expect("valid regex")
});

/// The step `name` gives (a file stem or one directory name).
pub(crate) fn step_in_name(name: &str) -> NameStep {
    if let Some(step) = KEYWORD
        .captures_iter(name)
        .last()
        .and_then(|c| c[1].parse().ok())
    {
        return NameStep::Keyword(step);
    }
    // a match takes the separator after it, so neighbours (`mxfp4_e2m1`)
    // need another pass
    let mut rest = name.to_string();
    loop {
        let next = COUNTERS.replace_all(&rest, "-").into_owned();
        if next == rest {
            break;
        }
        rest = next;
    }
    last_number(&rest).map_or(NameStep::None, NameStep::Number)
}

/// Whether `name` says nothing but a step (`step_000100`, `000100`,
/// `checkpoint-7`): a file so named holds one tensor at that step, and its
/// name is no tensor name.
pub(crate) fn is_only_a_step(name: &str) -> bool {
    if step_in_name(name) == NameStep::None {
        return false;
    }
    let rest = KEYWORD.replace_all(name, "");
    !rest.chars().any(|c| c.is_ascii_alphanumeric())
        || rest
            .chars()
            .all(|c| c.is_ascii_digit() || "-_=.".contains(c))
}

/// The last run of ASCII digits in `text`, if it fits in a `u64`.
pub(crate) fn last_number(text: &str) -> Option<u64> {
    let end = text.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = text[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    text[start..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_name_the_step() {
        for (name, step) in [
            ("step_000300", 300),
            ("checkpoint-300", 300),
            ("global_step300", 300),
            ("iter_0000300", 300),
            ("grads_rank0_step300", 300),
            ("step7.rank0", 7),
            ("layer3_step200", 200),
            ("STEP=12", 12),
            ("ckpt_5", 5),
        ] {
            assert_eq!(step_in_name(name), NameStep::Keyword(step), "{name}");
        }
    }

    #[test]
    fn counters_are_not_steps() {
        for name in [
            "model-00001-of-00003",
            "pytorch_model-00002-of-00002",
            "__0_1",
            "rank1",
            "grads_shard_3",
            "part-0",
            "pytorch_model",
            "gpt_bf16",
            "grads_fp16",
            "model.float32",
            "mxfp4_e2m1",
            "weights",
            "",
        ] {
            assert_eq!(step_in_name(name), NameStep::None, "{name}");
        }
    }

    #[test]
    fn bare_numbers_are_weak_steps() {
        assert_eq!(step_in_name("grads_100"), NameStep::Number(100));
        assert_eq!(step_in_name("000050"), NameStep::Number(50));
        assert_eq!(step_in_name("g_300_rank2"), NameStep::Number(300));
        assert_eq!(step_in_name("grads_bf16_400"), NameStep::Number(400));
        // "steps" is a word, not the keyword followed by a number
        assert_eq!(step_in_name("mysteps9"), NameStep::Number(9));
        assert_eq!(step_in_name("99999999999999999999999"), NameStep::None);
    }

    #[test]
    fn names_that_are_only_a_step() {
        for name in ["step_000100", "000100", "checkpoint-7", "STEP=3", "iter_12"] {
            assert!(is_only_a_step(name), "{name}");
        }
        for name in ["fc1.weight", "grads_step_100", "grads_100", "weights", ""] {
            assert!(!is_only_a_step(name), "{name}");
        }
    }

    #[test]
    fn last_number_takes_the_last_digit_run() {
        assert_eq!(last_number("grads_step_000100"), Some(100));
        assert_eq!(last_number("step7.rank0"), Some(0));
        assert_eq!(last_number("weights"), None);
    }
}
