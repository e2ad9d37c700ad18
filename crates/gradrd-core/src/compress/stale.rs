//! Clients that disappear: a client absent for h rounds returns with a
//! residual computed against a model h + 1 versions old. Each residual
//! carries the round (model version) it was last updated at; on return the
//! policy decides what is left of it:
//!
//! ```text
//! keep            e unchanged
//! reset           e ← 0 after any absence
//! decay γ         e ← γ^h e              (h = rounds missed)
//! reset-if-older  e ← 0 when the residual's version is more than `max_age`
//!                 rounds behind the current one, else unchanged
//! ```
//!
//! Memory thrown away is never sent, so it counts as error: the study
//! reports the compression error `Σ ‖p − C(p)‖²` over the rounds the client
//! took part in, the discarded error `Σ ‖e_before − e_after‖²`, and their
//! sum. (The harm of a stale direction on the model itself needs the model;
//! a replay of recorded gradients cannot measure it.)

use serde::Serialize;

use super::run::{Run, RunError};

/// What to do with a stale residual.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "policy")]
pub enum StalePolicy {
    Keep,
    Reset,
    Decay { gamma: f64 },
    ResetIfOlder { max_age: u64 },
}

impl StalePolicy {
    /// The factor applied to a residual of version `version` at round
    /// `round` (`round > version`).
    pub fn factor(&self, version: u64, round: u64) -> f64 {
        let missed = round - version - 1;
        match *self {
            StalePolicy::Keep => 1.0,
            StalePolicy::Reset => {
                if missed > 0 {
                    0.0
                } else {
                    1.0
                }
            }
            StalePolicy::Decay { gamma } => gamma.powi(i32::try_from(missed).unwrap_or(i32::MAX)),
            StalePolicy::ResetIfOlder { max_age } => {
                if round - version > max_age {
                    0.0
                } else {
                    1.0
                }
            }
        }
    }
}

/// Totals of a replay with absences.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StaleOutcome {
    pub policy: StalePolicy,
    pub rounds_present: usize,
    pub sent: u64,
    pub bits: f64,
    pub compression_error: f64,
    pub discarded_error: f64,
    pub total_error: f64,
    /// `‖e‖²` after the last round.
    pub residual_sq: f64,
}

/// Replays `rounds` (each: one gradient per tensor) through `run`, with the
/// client present in round `t` when `present[t]`; absent rounds are
/// skipped (the client computes nothing), and on return the residual is
/// treated by `policy`.
pub fn replay_with_absences<G: AsRef<[f64]>>(
    run: &mut Run,
    rounds: &[Vec<G>],
    present: &[bool],
    policy: StalePolicy,
) -> Result<StaleOutcome, RunError> {
    let mut version: Option<u64> = None;
    let mut discarded = 0.0;
    let mut rounds_present = 0;
    for (round, gradients) in rounds.iter().enumerate() {
        if !present.get(round).copied().unwrap_or(true) {
            continue;
        }
        let round = round as u64;
        if let Some(v) = version {
            let factor = policy.factor(v, round);
            if factor != 1.0 {
                let before = run.residual_sq();
                run.scale_residuals(factor);
                // ‖e − f e‖² = (1 − f)² ‖e‖²
                discarded += (1.0 - factor).powi(2) * before;
            }
        }
        run.step(gradients)?;
        version = Some(round);
        rounds_present += 1;
    }
    let totals = run.totals();
    Ok(StaleOutcome {
        policy,
        rounds_present,
        sent: totals.sent,
        bits: totals.bits,
        compression_error: totals.total_error,
        discarded_error: discarded,
        total_error: totals.total_error + discarded,
        residual_sq: run.residual_sq(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::{BitModel, Compressor, Feedback, PositionCoding, Scope};
    use gradrd_testkit::assert_close;

    #[test]
    fn policy_factors() {
        assert_close(StalePolicy::Keep.factor(2, 6), 1.0, 0.0, 0.0);
        assert_close(StalePolicy::Reset.factor(2, 3), 1.0, 0.0, 0.0);
        assert_close(StalePolicy::Reset.factor(2, 4), 0.0, 0.0, 0.0);
        assert_close(
            StalePolicy::Decay { gamma: 0.5 }.factor(2, 6),
            0.125,
            0.0,
            0.0,
        );
        let old = StalePolicy::ResetIfOlder { max_age: 3 };
        assert_close(old.factor(2, 5), 1.0, 0.0, 0.0);
        assert_close(old.factor(2, 6), 0.0, 0.0, 0.0);
    }

    #[test]
    fn a_reset_counts_the_dropped_memory_as_error() {
        // one tensor (3, 1), top-1 with full feedback: e = (0, 1) after round 0;
        // absent in round 1; round 2 with g = (0, 0): reset drops ‖e‖² = 1
        let rounds = vec![
            vec![vec![3.0, 1.0]],
            vec![vec![9.0, 9.0]],
            vec![vec![0.0, 0.0]],
        ];
        let present = [true, false, true];
        let mut totals = Vec::new();
        for policy in [StalePolicy::Keep, StalePolicy::Reset] {
            let mut run = Run::new(
                &[2],
                Scope::PerTensor,
                |_, _| Compressor::TopK { fraction: 0.5 },
                Feedback::Full,
                BitModel {
                    positions: PositionCoding::Index,
                    value_bits: 32.0,
                },
                0,
            )
            .unwrap();
            totals.push(replay_with_absences(&mut run, &rounds, &present, policy).unwrap());
        }
        // keep: round 2 sends the 1 of the memory; errors 1 + 0
        assert_close(totals[0].compression_error, 1.0, 0.0, 0.0);
        assert_close(totals[0].discarded_error, 0.0, 0.0, 0.0);
        // reset: the memory is dropped (1), round 2 loses nothing
        assert_close(totals[1].compression_error, 1.0, 0.0, 0.0);
        assert_close(totals[1].discarded_error, 1.0, 0.0, 0.0);
        assert_close(totals[1].total_error, 2.0, 0.0, 0.0);
        assert_eq!(totals[1].rounds_present, 2);
    }
}
