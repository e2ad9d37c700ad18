//! `budget`: the total-error budget studies of [`crate::compress::budget`]
//! on a step sequence; schema `gradrd.budget/1`.
//!
//! 1. **Hard threshold vs top-k at an equal total budget** (Sahu et al.,
//!    NeurIPS 2021): at the budget top-k (`k`, per tensor) spends over the
//!    run — entries, or bits of values and positions — the constant hard
//!    threshold λ that spends at most as much (bisection), and which of the
//!    two has the smaller total error `Σ_t ‖p_t − C(p_t)‖²`.
//! 2. **Per-tensor bit allocation** of `bits_per_entry` × (entries per
//!    step) (Shoham & Gersho 1988): each tensor's operational D(R) (sample
//!    Lloyd-Max designs at 0..`max_bits` bits on its values pooled over the
//!    steps), allocated exactly where the table is small enough, else by the
//!    greedy hull, against the same bits spread equally.
//!
//! Either study may be left out (`k` or `bits_per_entry` `None`). The whole
//! selection is held in memory (the replays run many times).
//!
//! ```
//! use gradrd_core::dtype::DType;
//! use gradrd_core::registry::{budget, source::InMemory, Analysis, Silent};
//!
//! let mut source = InMemory::new("two steps");
//! for step in 0..2u64 {
//!     let values = (0..100u64).map(|i| ((i * 37 + step * 11) % 100) as f64 / 100.0 - 0.5);
//!     source.push("w", Some(step), DType::F32, vec![100], values.collect());
//! }
//! let options = budget::BudgetOptions { k: Some(0.1), bits_per_entry: None, ..Default::default() };
//! let output = budget::Budget::run(&options, &source, &mut Silent).unwrap();
//! assert_eq!(output.sparsity.unwrap().budget_entries, 20, "top-10% of 100 entries, twice");
//! ```

use serde::{Deserialize, Serialize};

use super::sequence::Sequence;
use super::{Analysis, AnalysisError, Observer, OptionError, Outcome, Schema, Source, Validate};
use crate::compress::bits::{full_precision_bits, widest};
use crate::compress::budget::{
    allocate_bits, allocate_bits_exact, pooled_curves, threshold_for, Budget as Total, RatePoint,
};
use crate::compress::{
    replay_totals, BitModel, Compressor, Feedback, PositionCoding, RunError, RunTotals, Scope,
};

/// The `budget` analysis.
#[derive(Debug, Clone, Copy)]
pub struct Budget;

/// What the equal budget of the threshold study counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetUnit {
    /// Entries sent.
    Entries,
    /// Bits sent (values and positions).
    Bits,
}

pub use super::compression::FeedbackKind;

/// What `budget` studies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetOptions {
    /// Top-k fraction per tensor, in (0, 1], whose spend sets the equal
    /// budget (`None`: no threshold study).
    pub k: Option<f64>,
    /// What the equal budget counts.
    pub budget_unit: BudgetUnit,
    /// How the positions of the sent entries are counted in bits.
    pub positions: PositionCoding,
    /// Error feedback of both replays.
    pub feedback: FeedbackKind,
    /// Memory decay γ in [0, 1] of `feedback = "decay"`.
    pub gamma: f64,
    /// Average bits per entry of the allocation, 1..=`max_bits` (`None`: no
    /// allocation).
    pub bits_per_entry: Option<u32>,
    /// Largest rate of a tensor's quantizer, in bits (1..=12).
    pub max_bits: u32,
    /// Weight exponent M of the allocation's distortion |g|^M (g − ĝ)².
    pub m: f64,
}

impl Default for BudgetOptions {
    fn default() -> Self {
        BudgetOptions {
            k: Some(0.01),
            budget_unit: BudgetUnit::Entries,
            positions: PositionCoding::Index,
            feedback: FeedbackKind::Full,
            gamma: 0.9,
            bits_per_entry: Some(3),
            max_bits: 8,
            m: 0.0,
        }
    }
}

impl BudgetOptions {
    /// The replays' feedback rule.
    pub fn feedback(&self) -> Feedback {
        self.feedback.feedback(self.gamma)
    }
}

impl Validate for BudgetOptions {
    fn validate(&self) -> Result<(), OptionError> {
        match self.k {
            None if self.bits_per_entry.is_none() => {
                return Err(OptionError::new(
                    "k",
                    "give a threshold study (k), an allocation (bits_per_entry), or both",
                ))
            }
            Some(k) if !(k > 0.0 && k <= 1.0) => {
                return Err(OptionError::new(
                    "k",
                    format!("must be a fraction in (0, 1], got {k}"),
                ))
            }
            _ => {}
        }
        if !(1..=12).contains(&self.max_bits) {
            return Err(OptionError::new(
                "max_bits",
                format!("must be between 1 and 12, got {}", self.max_bits),
            ));
        }
        if let Some(b) = self
            .bits_per_entry
            .filter(|b| !(1..=self.max_bits).contains(b))
        {
            return Err(OptionError::new(
                "bits_per_entry",
                format!(
                    "must be between 1 and the largest rate ({}), got {b}",
                    self.max_bits
                ),
            ));
        }
        if !(self.m.is_finite() && self.m >= 0.0) {
            return Err(OptionError::new(
                "m",
                format!("must be finite and >= 0, got {}", self.m),
            ));
        }
        if self.feedback == FeedbackKind::Decay && !(0.0..=1.0).contains(&self.gamma) {
            return Err(OptionError::new(
                "gamma",
                format!("must be in [0, 1], got {}", self.gamma),
            ));
        }
        Ok(())
    }
}

/// A replay's totals over the run.
#[derive(Debug, Clone, Serialize)]
pub struct Replay {
    pub sent: u64,
    pub bits: f64,
    pub total_error: f64,
}

impl From<RunTotals> for Replay {
    fn from(t: RunTotals) -> Self {
        Replay {
            sent: t.sent,
            bits: t.bits,
            total_error: t.total_error,
        }
    }
}

/// The threshold's replay at the equal budget.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdReplay {
    pub lambda: f64,
    pub sent: u64,
    pub bits: f64,
    pub total_error: f64,
    /// Replays the bisection ran.
    pub evaluations: usize,
}

/// Hard threshold vs top-k at an equal total budget.
#[derive(Debug, Clone, Serialize)]
pub struct SparsityBudget {
    pub k: f64,
    /// The equal total budget: `{"entries": N}` or `{"bits": B}` (top-k's spend).
    pub budget: Total,
    pub budget_entries: u64,
    pub topk: Replay,
    /// Global top-k at the same fraction (its spend differs by rounding).
    pub topk_global: Replay,
    pub threshold: ThresholdReplay,
    /// `threshold` or `topk`: the smaller total error at the equal budget.
    pub winner: &'static str,
    /// Total error of the threshold over that of top-k.
    pub error_ratio: f64,
}

/// One tensor's bits.
#[derive(Debug, Clone, Serialize)]
pub struct AllocationRow {
    pub tensor: String,
    pub n: usize,
    /// The width the tensor is stored in, bits per entry.
    pub stored_bits: f64,
    pub bits: u32,
    pub distortion: f64,
    /// The greedy hull allocation's rate (equal to `bits` when greedy is exact).
    pub greedy_bits: u32,
    pub equal_bits: u32,
    pub equal_distortion: f64,
}

/// The per-tensor bit allocation.
#[derive(Debug, Clone, Serialize)]
pub struct BitAllocation {
    pub bits_per_entry: u32,
    pub budget_bits: f64,
    /// FedAvg bits of one step (every entry at its stored width) over
    /// `budget_bits`.
    pub reduction: f64,
    /// `exact` (dynamic programming) or `greedy` (hull greedy, when the
    /// exact table is too large).
    pub method: &'static str,
    pub spent_bits: f64,
    pub m: f64,
    pub total_distortion: f64,
    /// The greedy marginal-return allocation on the convex hulls.
    pub greedy_total_distortion: f64,
    pub equal_total_distortion: f64,
    /// `10 log10(equal / allocated)`.
    pub gain_db: f64,
    pub greedy_gain_db: f64,
    /// Greedy never passed over a better segment (then it is optimal for
    /// the bits it spent).
    pub greedy_lagrangian_optimal: bool,
    pub tensors: Vec<AllocationRow>,
    /// Per tensor: D(R) per entry for R = 0..max_bits.
    pub curves: Vec<Vec<RatePoint>>,
}

/// `gradrd.budget/1`.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetOutput {
    pub schema: Schema,
    pub dump: String,
    pub feedback: &'static str,
    pub steps: usize,
    pub entries_per_step: usize,
    /// Bits per value sent at full precision by top-k and the threshold: the
    /// widest stored width of the selected tensors.
    pub value_bits: f64,
    /// FedAvg bits of one step over its entries (16 for a bf16 dump).
    pub full_precision_bits_per_entry: f64,
    /// Absent when `k` is `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sparsity: Option<SparsityBudget>,
    /// Absent when `bits_per_entry` is `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation: Option<BitAllocation>,
}

impl Outcome for BudgetOutput {
    fn partial(&self) -> bool {
        false
    }
}

impl Analysis for Budget {
    const KIND: &'static str = "budget";
    const SCHEMA: Schema = "gradrd.budget/1";
    type Options = BudgetOptions;
    type Output = BudgetOutput;

    fn run(
        options: &BudgetOptions,
        source: &dyn Source,
        observer: &mut dyn Observer,
    ) -> Result<BudgetOutput, AnalysisError> {
        options.validate()?;
        let what = source.label();
        let sequence = Sequence::new(source, what).map_err(AnalysisError::unusable)?;
        let steps: Vec<Vec<Vec<f64>>> = (0..sequence.steps.len())
            .map(|i| sequence.read(i))
            .collect::<Result<_, _>>()
            .map_err(AnalysisError::unusable)?;
        let widths = sequence.stored_bits();
        let bits = BitModel {
            positions: options.positions,
            value_bits: widest(&widths),
        };
        let feedback = options.feedback();
        let sparsity = match options.k {
            Some(k) => {
                observer.item("top-k and threshold replays");
                Some(sparsity(
                    &sequence,
                    &steps,
                    k,
                    options.budget_unit,
                    feedback,
                    bits,
                )?)
            }
            None => None,
        };
        let allocation = match options.bits_per_entry {
            Some(bits_per_entry) => {
                observer.item("rate-distortion curves");
                Some(allocate(
                    &sequence,
                    &steps,
                    &widths,
                    bits_per_entry,
                    options,
                )?)
            }
            None => None,
        };
        let entries_per_step: usize = sequence.sizes.iter().sum();
        Ok(BudgetOutput {
            schema: Self::SCHEMA,
            dump: what.to_string(),
            feedback: feedback.name(),
            steps: steps.len(),
            entries_per_step,
            value_bits: bits.value_bits,
            full_precision_bits_per_entry: full_precision_bits(&sequence.sizes, &widths)
                / entries_per_step as f64,
            sparsity,
            allocation,
        })
    }
}

fn sparsity(
    sequence: &Sequence,
    steps: &[Vec<Vec<f64>>],
    k: f64,
    unit: BudgetUnit,
    feedback: Feedback,
    bits: BitModel,
) -> Result<SparsityBudget, AnalysisError> {
    let named = |e: RunError| {
        AnalysisError::Unusable(format!("tensor '{}': {}", sequence.name(e.tensor), e.error))
    };
    let top = |_, _| Compressor::TopK { fraction: k };
    let topk = replay_totals(steps, Scope::PerTensor, top, feedback, bits, 0).map_err(named)?;
    let topk_global = replay_totals(steps, Scope::Global, top, feedback, bits, 0).map_err(named)?;
    let budget = match unit {
        BudgetUnit::Entries => Total::Entries(topk.sent),
        BudgetUnit::Bits => Total::Bits(topk.bits),
    };
    let search = threshold_for(steps, feedback, bits, budget).map_err(named)?;
    let winner = if search.totals.total_error < topk.total_error {
        "threshold"
    } else {
        "topk"
    };
    Ok(SparsityBudget {
        k,
        budget,
        budget_entries: topk.sent,
        topk: topk.into(),
        topk_global: topk_global.into(),
        threshold: ThresholdReplay {
            lambda: search.lambda,
            sent: search.totals.sent,
            bits: search.totals.bits,
            total_error: search.totals.total_error,
            evaluations: search.evaluations,
        },
        winner,
        error_ratio: search.totals.total_error / topk.total_error,
    })
}

fn allocate(
    sequence: &Sequence,
    steps: &[Vec<Vec<f64>>],
    widths: &[f64],
    bits_per_entry: u32,
    options: &BudgetOptions,
) -> Result<BitAllocation, AnalysisError> {
    let curves = pooled_curves(steps, options.max_bits, options.m).map_err(|(i, e)| {
        AnalysisError::Unusable(format!(
            "tensor '{}': quantizer design failed: {e}",
            sequence.names[i]
        ))
    })?;
    let sizes = &sequence.sizes;
    let entries: usize = sizes.iter().sum();
    let budget = f64::from(bits_per_entry) * entries as f64;
    let greedy = allocate_bits(sizes, &curves, budget).map_err(AnalysisError::unusable)?;
    let exact = allocate_bits_exact(sizes, &curves, budget).map_err(AnalysisError::unusable)?;
    let greedy_total_distortion = greedy.total_distortion;
    let greedy_bits: Vec<u32> = greedy.tensors.iter().map(|t| t.bits).collect();
    let greedy_lagrangian_optimal = greedy.lagrangian_optimal;
    let (method, chosen) = match exact {
        Some(exact) => ("exact", exact),
        None => ("greedy", greedy),
    };
    let equal = bits_per_entry as usize;
    let equal_total: f64 = sizes
        .iter()
        .zip(&curves)
        .map(|(&n, c)| n as f64 * c[equal].distortion)
        .sum();
    let tensors = sequence
        .names
        .iter()
        .zip(sizes)
        .zip(widths)
        .zip(&chosen.tensors)
        .zip(&curves)
        .zip(greedy_bits)
        .map(
            |(((((name, &n), &stored_bits), a), c), greedy_bits)| AllocationRow {
                tensor: name.clone(),
                n,
                stored_bits,
                bits: a.bits,
                greedy_bits,
                distortion: a.distortion,
                equal_bits: bits_per_entry,
                equal_distortion: c[equal].distortion,
            },
        )
        .collect();
    Ok(BitAllocation {
        bits_per_entry,
        budget_bits: budget,
        reduction: full_precision_bits(sizes, widths) / budget,
        method,
        spent_bits: chosen.spent_bits,
        m: options.m,
        total_distortion: chosen.total_distortion,
        greedy_total_distortion,
        equal_total_distortion: equal_total,
        gain_db: 10.0 * (equal_total / chosen.total_distortion).log10(),
        greedy_gain_db: 10.0 * (equal_total / greedy_total_distortion).log10(),
        greedy_lagrangian_optimal,
        tensors,
        curves,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::registry::source::InMemory;
    use crate::registry::Silent;

    /// Two steps of one tensor of 8 distinct magnitudes each.
    fn steps() -> [Vec<f64>; 2] {
        [
            vec![0.9, -0.1, 0.5, -0.7, 0.2, 0.05, -0.3, 0.6],
            vec![-0.15, 0.8, 0.25, -0.45, 0.35, -0.55, 0.12, 0.02],
        ]
    }

    fn source() -> InMemory {
        let mut source = InMemory::new("mem");
        for (step, values) in steps().into_iter().enumerate() {
            source.push("w", Some(step as u64), DType::F32, vec![8], values);
        }
        source
    }

    #[test]
    fn without_feedback_the_errors_are_the_energy_left_unsent() {
        // No memory: top-k (k = 1/4: two of eight) leaves each step's six
        // smallest squares; the threshold at the same four entries sends the
        // run's four largest magnitudes and leaves the rest.
        let options = BudgetOptions {
            k: Some(0.25),
            feedback: FeedbackKind::None,
            bits_per_entry: None,
            ..BudgetOptions::default()
        };
        let output = Budget::run(&options, &source(), &mut Silent).unwrap();
        let squares = |v: &[f64]| -> Vec<f64> {
            let mut s: Vec<f64> = v.iter().map(|x| x * x).collect();
            s.sort_by(f64::total_cmp);
            s
        };
        let topk_error: f64 = steps()
            .iter()
            .map(|v| squares(v)[..6].iter().sum::<f64>())
            .sum();
        let all = squares(&steps().concat());
        let threshold_error: f64 = all[..all.len() - 4].iter().sum();
        let s = output.sparsity.expect("k is set");
        assert_eq!((s.budget_entries, s.threshold.sent), (4, 4));
        assert!(
            (s.topk.total_error - topk_error).abs() < 1e-12,
            "{}",
            s.topk.total_error
        );
        assert!(
            (s.threshold.total_error - threshold_error).abs() < 1e-12,
            "{}",
            s.threshold.total_error
        );
        assert_eq!(s.winner, "threshold");
        assert!(output.allocation.is_none());
        let json = serde_json::to_value(&BudgetOutput {
            sparsity: None,
            ..output
        })
        .unwrap();
        assert!(json.get("sparsity").is_none() && json.get("allocation").is_none());
    }

    #[test]
    fn options_name_their_field() {
        for (bad, field) in [
            (
                BudgetOptions {
                    k: None,
                    bits_per_entry: None,
                    ..BudgetOptions::default()
                },
                "k",
            ),
            (
                BudgetOptions {
                    k: Some(1.5),
                    ..BudgetOptions::default()
                },
                "k",
            ),
            (
                BudgetOptions {
                    bits_per_entry: Some(9),
                    ..BudgetOptions::default()
                },
                "bits_per_entry",
            ),
            (
                BudgetOptions {
                    feedback: FeedbackKind::Decay,
                    gamma: 2.0,
                    ..BudgetOptions::default()
                },
                "gamma",
            ),
        ] {
            assert_eq!(bad.validate().unwrap_err().field, field);
        }
        let parsed: BudgetOptions =
            serde_json::from_str(r#"{"positions": "entropy", "budget_unit": "bits"}"#).unwrap();
        assert_eq!(parsed.positions, PositionCoding::Entropy);
        assert_eq!(parsed.budget_unit, BudgetUnit::Bits);
    }
}
