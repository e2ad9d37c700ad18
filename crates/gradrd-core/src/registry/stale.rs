//! `stale`: a client that disappears ([`crate::compress::stale`]). The `ef`
//! replay runs with the client absent at the `absent` steps; on its return
//! the error-feedback memory is kept, reset, decayed by γ^h (`stale_gamma`,
//! h = rounds missed) or reset when more than `max_age` rounds old. Per
//! policy the output gives the compression error over the rounds present,
//! the memory thrown away, and their sum; schema `gradrd.stale/1`.
//!
//! The options are `ef`'s ([`CompressionOptions`]) plus the three above, in
//! one flat table (`{"absent": ["3..4"], "k": 0.1}`).
//!
//! ```
//! use gradrd_core::dtype::DType;
//! use gradrd_core::registry::{stale, source::InMemory, Analysis, Silent};
//!
//! let mut source = InMemory::new("four steps");
//! for step in 0..4u64 {
//!     let values = (0..50u64).map(|i| ((i * 13 + step * 7) % 50) as f64 / 50.0 - 0.5);
//!     source.push("w", Some(step), DType::F32, vec![50], values.collect());
//! }
//! let options = stale::StaleOptions {
//!     absent: vec!["1..2".parse().unwrap()],
//!     ..Default::default()
//! };
//! let output = stale::Stale::run(&options, &source, &mut Silent).unwrap();
//! assert_eq!(output.absent_steps, [1, 2]);
//! let reset = output.policies.iter().find(|p| p.policy == "reset").unwrap();
//! assert_eq!(reset.rounds_present, 2);
//! ```

use serde::{de, Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::compression::CompressionOptions;
use super::sequence::Sequence;
use super::{Analysis, AnalysisError, Observer, OptionError, Outcome, Schema, Source, Validate};
use crate::compress::bits::widest;
use crate::compress::stale::{replay_with_absences, StalePolicy};
use crate::compress::Run;
use crate::steps::StepRange;

/// The `stale` analysis.
#[derive(Debug, Clone, Copy)]
pub struct Stale;

/// What `stale` is asked: when the client is away, how its memory ages, and
/// how it compresses (`ef`'s options).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaleOptions {
    /// Steps at which the client is absent.
    pub absent: Vec<StepRange>,
    /// γ of the decay policy (memory × γ^h after h missed rounds), in [0, 1].
    pub stale_gamma: f64,
    /// Age in rounds above which `reset-if-older` resets the memory.
    pub max_age: u64,
    /// The compressor, feedback and bit model.
    #[serde(flatten)]
    pub compression: CompressionOptions,
}

impl Default for StaleOptions {
    fn default() -> Self {
        StaleOptions {
            absent: Vec::new(),
            stale_gamma: 0.5,
            max_age: 2,
            compression: CompressionOptions::default(),
        }
    }
}

/// The options from one flat table: the three of `stale` taken out, the
/// rest read as [`CompressionOptions`] (so an unknown key is still
/// rejected, which serde's `flatten` would let through).
impl<'de> Deserialize<'de> for StaleOptions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fn take<T: de::DeserializeOwned, E: de::Error>(
            table: &mut Map<String, Value>,
            key: &str,
            default: T,
        ) -> Result<T, E> {
            match table.remove(key) {
                None => Ok(default),
                Some(value) => {
                    serde_json::from_value(value).map_err(|e| E::custom(format!("{key}: {e}")))
                }
            }
        }
        let mut table = Map::<String, Value>::deserialize(deserializer)?;
        let defaults = StaleOptions::default();
        Ok(StaleOptions {
            absent: take(&mut table, "absent", defaults.absent)?,
            stale_gamma: take(&mut table, "stale_gamma", defaults.stale_gamma)?,
            max_age: take(&mut table, "max_age", defaults.max_age)?,
            compression: serde_json::from_value(Value::Object(table)).map_err(de::Error::custom)?,
        })
    }
}

impl Validate for StaleOptions {
    fn validate(&self) -> Result<(), OptionError> {
        if self.absent.is_empty() {
            return Err(OptionError::new(
                "absent",
                "name the steps at which the client is absent",
            ));
        }
        if !(0.0..=1.0).contains(&self.stale_gamma) {
            return Err(OptionError::new(
                "stale_gamma",
                format!("must be in [0, 1], got {}", self.stale_gamma),
            ));
        }
        self.compression.validate()
    }
}

/// One policy's totals.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyRow {
    pub policy: &'static str,
    pub rounds_present: usize,
    pub sent: u64,
    pub bits: f64,
    /// `Σ ‖p − C(p)‖²` over the rounds the client took part in.
    pub compression_error: f64,
    /// `Σ ‖e_before − e_after‖²`: the memory the policy threw away.
    pub discarded_error: f64,
    pub total_error: f64,
}

/// What `stale` found.
#[derive(Debug, Clone, Serialize)]
pub struct StaleOutput {
    pub schema: Schema,
    pub dump: String,
    pub compressor: &'static str,
    /// The selected steps at which the client was away.
    pub absent_steps: Vec<u64>,
    pub stale_gamma: f64,
    pub max_age: u64,
    pub policies: Vec<PolicyRow>,
    /// The policy with the smallest total error.
    pub best: &'static str,
}

impl Outcome for StaleOutput {
    fn partial(&self) -> bool {
        false
    }
}

fn policy_name(policy: &StalePolicy) -> &'static str {
    match policy {
        StalePolicy::Keep => "keep",
        StalePolicy::Reset => "reset",
        StalePolicy::Decay { .. } => "decay",
        StalePolicy::ResetIfOlder { .. } => "reset-if-older",
    }
}

impl Analysis for Stale {
    const KIND: &'static str = "stale";
    const SCHEMA: Schema = "gradrd.stale/1";
    type Options = StaleOptions;
    type Output = StaleOutput;

    fn run(
        options: &StaleOptions,
        source: &dyn Source,
        observer: &mut dyn Observer,
    ) -> Result<StaleOutput, AnalysisError> {
        options.validate()?;
        let compression = options.compression.resolve()?;
        let what = source.label();
        let sequence = Sequence::new(source, what).map_err(AnalysisError::unusable)?;
        let present: Vec<bool> = sequence
            .steps
            .iter()
            .map(|(step, _)| !options.absent.iter().any(|r| r.contains(*step)))
            .collect();
        let absent_steps: Vec<u64> = sequence
            .steps
            .iter()
            .zip(&present)
            .filter(|(_, present)| !**present)
            .map(|((step, _), _)| *step)
            .collect();
        if absent_steps.is_empty() {
            return Err(OptionError::new("absent", "matches none of the selected steps").into());
        }
        if absent_steps.len() == sequence.steps.len() {
            return Err(OptionError::new(
                "absent",
                "covers every selected step: the client never takes part",
            )
            .into());
        }
        observer.begin(sequence.steps.len() as u64, "reading");
        let mut rounds = Vec::with_capacity(sequence.steps.len());
        for index in 0..sequence.steps.len() {
            rounds.push(sequence.read(index).map_err(AnalysisError::unusable)?);
            observer.advance(1);
        }
        observer.end();
        let bits = compression.bit_model(widest(&sequence.stored_bits()));
        let policies = [
            StalePolicy::Keep,
            StalePolicy::Reset,
            StalePolicy::Decay {
                gamma: options.stale_gamma,
            },
            StalePolicy::ResetIfOlder {
                max_age: options.max_age,
            },
        ];
        let in_tensor = |tensor: usize, error: String| {
            AnalysisError::Unusable(format!("tensor '{}': {error}", sequence.name(tensor)))
        };
        let mut rows = Vec::with_capacity(policies.len());
        for policy in policies {
            let factory = compression
                .factory(&sequence.names, &sequence.sizes)
                .map_err(AnalysisError::Unusable)?;
            let mut run = Run::new(
                &sequence.sizes,
                compression.scope,
                factory,
                compression.feedback,
                bits,
                compression.seed,
            )
            .map_err(|e| in_tensor(e.tensor, e.error.to_string()))?;
            let outcome = replay_with_absences(&mut run, &rounds, &present, policy)
                .map_err(|e| in_tensor(e.tensor, e.error.to_string()))?;
            rows.push(PolicyRow {
                policy: policy_name(&policy),
                rounds_present: outcome.rounds_present,
                sent: outcome.sent,
                bits: outcome.bits,
                compression_error: outcome.compression_error,
                discarded_error: outcome.discarded_error,
                total_error: outcome.total_error,
            });
        }
        let best = rows
            .iter()
            .min_by(|a, b| a.total_error.total_cmp(&b.total_error))
            .map_or("keep", |row| row.policy);
        Ok(StaleOutput {
            schema: Self::SCHEMA,
            dump: what.to_string(),
            compressor: compression.kind.name(),
            absent_steps,
            stale_gamma: options.stale_gamma,
            max_age: options.max_age,
            policies: rows,
            best,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::registry::compression::FeedbackKind;
    use crate::registry::source::InMemory;
    use crate::registry::{by_kind, Silent};

    /// Three steps of one 4-entry tensor; top-1 keeps the largest |p|.
    fn source() -> InMemory {
        let mut source = InMemory::new("mem");
        for (step, values) in [
            vec![1.0, 0.5, 0.0, 0.0],
            vec![0.0, 0.0, 0.0, 0.0],
            vec![0.0, 0.0, 0.0, 0.6],
        ]
        .into_iter()
        .enumerate()
        {
            source.push("w", Some(step as u64), DType::F32, vec![4], values);
        }
        source
    }

    #[test]
    fn policies_by_hand_with_the_client_away_at_step_one() {
        let options = StaleOptions {
            absent: vec!["1".parse().unwrap()],
            stale_gamma: 0.5,
            max_age: 2,
            compression: CompressionOptions {
                k: 0.25,
                feedback: FeedbackKind::Full,
                ..CompressionOptions::default()
            },
        };
        let output = Stale::run(&options, &source(), &mut Silent).unwrap();
        assert_eq!(output.absent_steps, [1]);
        let row = |name| output.policies.iter().find(|r| r.policy == name).unwrap();
        // step 0: send 1.0, memory (0, 0.5, 0, 0), error 0.25.
        // keep: step 2 sees (0, 0.5, 0, 0.6): sends 0.6, error 0.25.
        let keep = row("keep");
        assert_eq!((keep.rounds_present, keep.sent), (2, 2));
        assert!((keep.compression_error - 0.5).abs() < 1e-12);
        assert_eq!(keep.discarded_error, 0.0);
        // reset: the memory 0.5 is thrown away (0.25), step 2 sends 0.6 alone.
        let reset = row("reset");
        assert!((reset.compression_error - 0.25).abs() < 1e-12);
        assert!((reset.discarded_error - 0.25).abs() < 1e-12);
        // decay 0.5 after one missed round: e = 0.25, (0.5 − 0.25)² thrown away.
        let decay = row("decay");
        assert!((decay.discarded_error - 0.0625).abs() < 1e-12);
        assert!((decay.compression_error - (0.25 + 0.0625)).abs() < 1e-12);
        // the memory is 2 rounds old at step 2: not older than max_age 2.
        assert_eq!(row("reset-if-older").discarded_error, 0.0);
        assert_eq!(output.best, "decay");
    }

    #[test]
    fn options_come_from_one_flat_table_and_unknown_keys_are_refused() {
        let value = serde_json::json!({"absent": [1], "k": 0.25, "stale_gamma": 0.25});
        let options = by_kind::options::<Stale>(&value).unwrap();
        assert_eq!(options.compression.k, 0.25);
        assert_eq!(options.stale_gamma, 0.25);
        let unknown = by_kind::options::<Stale>(&serde_json::json!({"absent": [1], "kk": 1}));
        assert!(unknown.unwrap_err().message.contains("unknown field `kk`"));
        let bad = by_kind::options::<Stale>(&serde_json::json!({"absent": ["5..3"]}));
        assert!(bad
            .unwrap_err()
            .message
            .contains("absent: invalid step range `5..3`"));
    }

    #[test]
    fn absences_outside_the_steps_name_the_field() {
        for (absent, message) in [
            ("7", "matches none of the selected steps"),
            ("..", "covers every selected step"),
        ] {
            let options = StaleOptions {
                absent: vec![absent.parse().unwrap()],
                ..StaleOptions::default()
            };
            match Stale::run(&options, &source(), &mut Silent) {
                Err(AnalysisError::Options(error)) => {
                    assert_eq!(error.field, "absent");
                    assert!(error.message.starts_with(message), "{}", error.message);
                }
                other => panic!("{absent}: {other:?}"),
            }
        }
        let gamma = StaleOptions {
            absent: vec!["1".parse().unwrap()],
            stale_gamma: 1.5,
            ..StaleOptions::default()
        };
        assert_eq!(gamma.validate().unwrap_err().field, "stale_gamma");
    }
}
