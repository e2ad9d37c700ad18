//! Spearman's rank correlation and its p-value, as `scipy.stats.spearmanr`:
//! the Pearson correlation of the average ranks, tested with Student's t.
//!
//! ```text
//! rho = Σ (r_i − r̄)(s_i − s̄) / √(Σ (r_i − r̄)² · Σ (s_i − s̄)²)
//! t   = rho · √((n − 2) / ((1 + rho)(1 − rho)))
//! p   = 2 · P(T_{n−2} > |t|)
//! ```
//!
//! With doubled, centred integer ranks the three sums are exact `i128`
//! integers, so rho carries a single rounding error.

use super::ranks::centred_doubled_ranks;
use super::StatsError;
use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Spearman's rho and the two-sided p-value of "no monotone association".
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SpearmanResult {
    /// In `[−1, 1]`.
    pub rho: f64,
    pub p_value: f64,
    pub n: usize,
}

/// Spearman's rho of the pairs `(a_i, b_i)` and its p-value.
///
/// Errors: different lengths, fewer than 3 pairs, non-finite values, and a
/// constant sample (`StatsError::ConstantInput`, where scipy returns nan).
pub fn spearman(a: &[f64], b: &[f64]) -> Result<SpearmanResult, StatsError> {
    if a.len() != b.len() {
        return Err(StatsError::LengthMismatch {
            statistic: "Spearman's rho",
            len_a: a.len(),
            len_b: b.len(),
        });
    }
    let n = a.len();
    if n < 3 {
        return Err(StatsError::TooSmall {
            sample: "first sample",
            statistic: "Spearman's rho with a p-value",
            n,
            min: 3,
        });
    }
    let (ranks_a, ranks_b) = rayon::join(
        || centred_doubled_ranks("first sample", a),
        || centred_doubled_ranks("second sample", b),
    );
    let (ranks_a, ranks_b) = (ranks_a?, ranks_b?);
    let (mut s_ab, mut s_aa, mut s_bb) = (0_i128, 0_i128, 0_i128);
    for (&ra, &rb) in ranks_a.iter().zip(&ranks_b) {
        let (ra, rb) = (i128::from(ra), i128::from(rb));
        s_ab += ra * rb;
        s_aa += ra * ra;
        s_bb += rb * rb;
    }
    for (sum_sq, sample) in [(s_aa, "first sample"), (s_bb, "second sample")] {
        if sum_sq == 0 {
            return Err(StatsError::ConstantInput {
                sample,
                statistic: "Spearman's rho",
            });
        }
    }
    // √(s_aa·s_bb) in one rounding: a perfect monotone relation gives exactly ±1
    let rho = (s_ab as f64 / (s_aa as f64 * s_bb as f64).sqrt()).clamp(-1.0, 1.0);
    Ok(SpearmanResult {
        rho,
        p_value: two_sided_t_p_value(rho, n),
        n,
    })
}

/// `2 · P(T_{n−2} > |t|)` with `t = rho √((n − 2)/((1 + rho)(1 − rho)))`.
fn two_sided_t_p_value(rho: f64, n: usize) -> f64 {
    let dof = (n - 2) as f64;
    let denominator = (1.0 + rho) * (1.0 - rho);
    if denominator <= 0.0 {
        return 0.0;
    }
    let t = rho * (dof / denominator).sqrt();
    match StudentsT::new(0.0, 1.0, dof) {
        Ok(student) => (2.0 * student.sf(t.abs())).clamp(0.0, 1.0),
        // dof ≥ 1 always here; a NaN keeps a construction failure visible
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// rho stays in [−1, 1], p in [0, 1], and rho is invariant under a
        /// strictly increasing transform of either sample.
        #[test]
        fn rho_bounded_and_rank_invariant(
            pairs in proptest::collection::vec((-1e-3f64..1e-3, -3i32..3), 3..300)
        ) {
            let a: Vec<f64> = pairs.iter().map(|p| p.0).collect();
            let b: Vec<f64> = pairs.iter().map(|p| f64::from(p.1)).collect();
            if let Ok(s) = spearman(&a, &b) {
                prop_assert!((-1.0..=1.0).contains(&s.rho));
                prop_assert!((0.0..=1.0).contains(&s.p_value));
                let cubed: Vec<f64> = a.iter().map(|v| v * v * v + 7.0 * v).collect();
                let t = spearman(&cubed, &b).unwrap();
                gradrd_testkit::assert_close(t.rho, s.rho, 0.0, 1e-15);
            }
        }
    }
}
