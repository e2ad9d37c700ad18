//! `ef`: the step sequence replayed through a compressor with error
//! feedback ([`crate::compress::Run`]: `p_t = g_t + e_t`, `e_{t+1} = p_t −
//! C(p_t)`; Seide et al. 2014, Karimireddy et al., ICML 2019), reporting
//! per step and in total the entries and bits sent, the compression error
//! ‖p − C(p)‖² and the residual norm ‖e‖; schema `gradrd.ef/1`. Bits count
//! the values at the widest stored width of the tensors, and the reduction
//! is against FedAvg at the stored widths ([`crate::compress::bits`]).
//!
//! ```
//! use gradrd_core::dtype::DType;
//! use gradrd_core::registry::{ef, source::InMemory, Analysis, Silent};
//!
//! let mut source = InMemory::new("two steps");
//! for step in 0..2u64 {
//!     let values = (0..100u64).map(|i| ((i * 37 + step * 11) % 100) as f64 / 100.0 - 0.5);
//!     source.push("w", Some(step), DType::F32, vec![100], values.collect());
//! }
//! let options = ef::EfOptions { k: 0.1, ..Default::default() };
//! let output = ef::Ef::run(&options, &source, &mut Silent).unwrap();
//! assert_eq!(output.total_sent, 20, "top-10% of 100 entries, twice");
//! ```

use serde::Serialize;

use super::compression::{CompressionOptions, Parameters};
use super::sequence::Sequence;
use super::{Analysis, AnalysisError, Observer, Outcome, Schema, Source};
use crate::compress::bits::{full_precision_bits, widest};
use crate::compress::{Run, Scope};

/// The `ef` analysis.
#[derive(Debug, Clone, Copy)]
pub struct Ef;

/// What `ef` is asked: how to compress.
pub type EfOptions = CompressionOptions;

/// One step of the replay.
#[derive(Debug, Clone, Serialize)]
pub struct StepRow {
    pub step: u64,
    pub sent: u64,
    pub bits: f64,
    pub error_sq: f64,
    pub residual_norm: f64,
}

/// One tensor's totals over the replay.
#[derive(Debug, Clone, Serialize)]
pub struct TensorRow {
    pub tensor: String,
    pub shape: Vec<u64>,
    pub n: usize,
    /// The width the tensor is stored in, bits per entry.
    pub stored_bits: f64,
    pub sent: u64,
    pub bits: f64,
    pub total_error: f64,
    pub residual_norm: f64,
}

/// `gradrd.ef/1`.
#[derive(Debug, Clone, Serialize)]
pub struct EfOutput {
    pub schema: Schema,
    pub dump: String,
    pub compressor: &'static str,
    pub feedback: &'static str,
    pub scope: Scope,
    pub parameters: Parameters,
    /// Per tensor totals (per-tensor scope only).
    pub tensors: Vec<TensorRow>,
    pub steps: Vec<StepRow>,
    pub total_sent: u64,
    pub total_entries: u64,
    pub total_bits: f64,
    /// Bits per value sent at full precision (top-k, rand-k, threshold and
    /// cwmp values): the widest stored width of the selected tensors.
    pub value_bits: f64,
    /// FedAvg at full precision: every entry of every step at its tensor's
    /// stored width.
    pub full_precision_bits: f64,
    /// `full_precision_bits / total_entries` (16 for a bf16 dump).
    pub full_precision_bits_per_entry: f64,
    /// `full_precision_bits / total_bits`.
    pub reduction: f64,
    pub total_error: f64,
    pub final_residual_norm: f64,
}

impl Outcome for EfOutput {
    fn partial(&self) -> bool {
        false
    }
}

impl Analysis for Ef {
    const KIND: &'static str = "ef";
    const SCHEMA: Schema = "gradrd.ef/1";
    type Options = EfOptions;
    type Output = EfOutput;

    fn run(
        options: &EfOptions,
        source: &dyn Source,
        observer: &mut dyn Observer,
    ) -> Result<EfOutput, AnalysisError> {
        let compression = options.resolve()?;
        let what = source.label();
        let sequence = Sequence::new(source, what).map_err(AnalysisError::unusable)?;
        let factory = compression
            .factory(&sequence.names, &sequence.sizes)
            .map_err(AnalysisError::Unusable)?;
        let widths = sequence.stored_bits();
        let value_bits = widest(&widths);
        let mut replay = Run::new(
            &sequence.sizes,
            compression.scope,
            factory,
            compression.feedback,
            compression.bit_model(value_bits),
            compression.seed,
        )
        .map_err(|e| {
            AnalysisError::Unusable(format!("tensor '{}': {}", sequence.name(e.tensor), e.error))
        })?;
        let per_tensor_scope = compression.scope == Scope::PerTensor;
        let mut steps = Vec::with_capacity(sequence.steps.len());
        let mut per_tensor = vec![(0u64, 0.0f64, 0.0f64); sequence.names.len()];
        observer.begin(sequence.steps.len() as u64, "replaying");
        for index in 0..sequence.steps.len() {
            let step = sequence.steps[index].0;
            let gradients = sequence.read(index).map_err(AnalysisError::unusable)?;
            let outcome = replay.step(&gradients).map_err(|e| {
                AnalysisError::Unusable(format!(
                    "tensor '{}' (step {step}): {}",
                    sequence.name(e.tensor),
                    e.error
                ))
            })?;
            if per_tensor_scope {
                for (acc, unit) in per_tensor.iter_mut().zip(&outcome.units) {
                    acc.0 += unit.sent as u64;
                    acc.1 += unit.bits;
                    acc.2 += unit.error_sq;
                }
            }
            steps.push(StepRow {
                step,
                sent: outcome.sent,
                bits: outcome.bits,
                error_sq: outcome.error_sq,
                residual_norm: outcome.residual_sq.sqrt(),
            });
            observer.advance(1);
        }
        let totals = replay.totals();
        let total_entries = sequence.sizes.iter().sum::<usize>() as u64 * totals.steps as u64;
        let tensors = if per_tensor_scope {
            sequence
                .names
                .iter()
                .zip(&sequence.shapes)
                .zip(&sequence.sizes)
                .zip(&widths)
                .zip(per_tensor)
                .zip(replay.units())
                .map(
                    |(((((name, shape), &n), &stored_bits), acc), unit)| TensorRow {
                        tensor: name.clone(),
                        shape: shape.clone(),
                        n,
                        stored_bits,
                        sent: acc.0,
                        bits: acc.1,
                        total_error: acc.2,
                        residual_norm: unit.residual().iter().map(|e| e * e).sum::<f64>().sqrt(),
                    },
                )
                .collect()
        } else {
            Vec::new()
        };
        let full_precision = full_precision_bits(&sequence.sizes, &widths) * totals.steps as f64;
        Ok(EfOutput {
            schema: Self::SCHEMA,
            dump: what.to_string(),
            compressor: compression.kind.name(),
            feedback: compression.feedback.name(),
            scope: compression.scope,
            parameters: compression.parameters.clone(),
            tensors,
            steps,
            total_sent: totals.sent,
            total_entries,
            total_bits: totals.bits,
            value_bits,
            full_precision_bits: full_precision,
            full_precision_bits_per_entry: full_precision / total_entries as f64,
            reduction: full_precision / totals.bits,
            total_error: totals.total_error,
            final_residual_norm: totals.residual_sq.sqrt(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::registry::compression::{CompressorKind, FeedbackKind};
    use crate::registry::source::InMemory;
    use crate::registry::{Silent, Validate};

    #[test]
    fn without_feedback_each_step_leaves_its_unsent_energy() {
        let steps = [
            vec![0.9, -0.1, 0.5, -0.7, 0.2, 0.05, -0.3, 0.6],
            vec![-0.15, 0.8, 0.25, -0.45, 0.35, -0.55, 0.12, 0.02],
        ];
        let mut source = InMemory::new("mem");
        for (step, values) in steps.iter().enumerate() {
            source.push("w", Some(step as u64), DType::F32, vec![8], values.clone());
        }
        let options = EfOptions {
            k: 0.25,
            feedback: FeedbackKind::None,
            ..EfOptions::default()
        };
        let output = Ef::run(&options, &source, &mut Silent).unwrap();
        for (row, values) in output.steps.iter().zip(&steps) {
            let mut squares: Vec<f64> = values.iter().map(|x| x * x).collect();
            squares.sort_by(f64::total_cmp);
            let unsent: f64 = squares[..6].iter().sum();
            assert_eq!(row.sent, 2);
            assert!((row.error_sq - unsent).abs() < 1e-12, "{}", row.error_sq);
        }
        assert_eq!((output.total_sent, output.total_entries), (4, 16));
        assert_eq!(output.schema, "gradrd.ef/1");
    }

    #[test]
    fn options_name_their_field() {
        for (bad, field) in [
            (
                EfOptions {
                    k: 0.0,
                    ..EfOptions::default()
                },
                "k",
            ),
            (
                EfOptions {
                    compressor: CompressorKind::Threshold,
                    ..EfOptions::default()
                },
                "lambda",
            ),
            (
                EfOptions {
                    compressor: CompressorKind::TopkCodebook,
                    ..EfOptions::default()
                },
                "codebook",
            ),
            (
                EfOptions {
                    compressor: CompressorKind::Cwmp,
                    ..EfOptions::default()
                },
                "costs",
            ),
            (
                EfOptions {
                    feedback: FeedbackKind::Decay,
                    gamma: 1.5,
                    ..EfOptions::default()
                },
                "gamma",
            ),
        ] {
            assert_eq!(bad.validate().unwrap_err().field, field);
        }
    }
}
