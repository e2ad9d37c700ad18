//! `cost`: bits per client and round under the communication cost models of
//! [`crate::compress::cost`] — FedAvg at full precision, sparse schemes
//! (top-k values + positions, at the stored width or as FP8/FP4 with one
//! 32-bit scale), a dense codebook, and prediction-space sharing (logits on
//! a public reference set) — and each one's reduction against FedAvg;
//! schema `gradrd.cost/1`.
//!
//! The model size d is either given (`params`, counted at 32 bits, f32) or
//! counted from the first step of the source's tensors, each at its stored
//! width ([`crate::compress::bits`]: 16 bits for bf16), top-k values at the
//! widest. Only the tensors' shapes and dtypes are used; nothing is read.
//!
//! ```
//! use gradrd_core::registry::{cost, source::InMemory, Analysis, Silent};
//!
//! let options = cost::CostOptions { params: Some(11.2e6), ..Default::default() };
//! let output = cost::Cost::run(&options, &InMemory::new("ResNet-18"), &mut Silent).unwrap();
//! assert_eq!(output.kept, 112_000, "top-1 % of 11.2 M");
//! assert_eq!(output.schemes[0].reduction, 1.0, "FedAvg against itself");
//! ```

use serde::{Deserialize, Serialize};

use super::{
    nothing_selected, Analysis, AnalysisError, Observer, OptionError, Outcome, Schema, Source,
    Validate,
};
use crate::compress::bits::{codebook_index_bits, stored_bits, widest, SCALE_BITS};
use crate::compress::cost::{
    fedavg_bits, prediction_space_bits, reference_size_for_ratio, sparse_bits,
};
use crate::compress::{fraction_to_count, BitModel, PositionCoding};
use crate::decimal::full_precision as shortest;
use crate::quant::minifloat::{FP4_E2M1, FP8_E4M3};

/// The `cost` analysis.
#[derive(Debug, Clone, Copy)]
pub struct Cost;

/// What `cost` is asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostOptions {
    /// The number of model parameters d (e.g. 11.2e6 for ResNet-18), at 32
    /// bits each; `None` counts them from the source's first step.
    pub params: Option<f64>,
    /// Top-k fraction of the sparse schemes, in (0, 1].
    pub k: f64,
    /// Bits per index of the dense codebook scheme, 1..=16.
    pub codebook_bits: u32,
    /// Public reference set size n of prediction-space sharing.
    pub reference_samples: u64,
    /// Classes C (logits per reference sample).
    pub classes: u64,
    /// Bits per logit.
    pub logit_bits: f64,
}

impl Default for CostOptions {
    fn default() -> Self {
        CostOptions {
            params: None,
            k: 0.01,
            codebook_bits: 3,
            reference_samples: 1000,
            classes: 10,
            logit_bits: 32.0,
        }
    }
}

/// The largest count of classes or reference samples taken.
const MAX_COUNT: u64 = 1_000_000_000_000;

impl Validate for CostOptions {
    fn validate(&self) -> Result<(), OptionError> {
        if !(self.k > 0.0 && self.k <= 1.0) {
            return Err(OptionError::new(
                "k",
                format!("must be a fraction in (0, 1], got {}", self.k),
            ));
        }
        if !(1..=16).contains(&self.codebook_bits) {
            return Err(OptionError::new(
                "codebook_bits",
                format!("must be between 1 and 16, got {}", self.codebook_bits),
            ));
        }
        for (field, value) in [
            ("classes", self.classes),
            ("reference_samples", self.reference_samples),
        ] {
            if !(1..=MAX_COUNT).contains(&value) {
                return Err(OptionError::new(
                    field,
                    format!("must be between 1 and 1e12, got {value}"),
                ));
            }
        }
        if !(self.logit_bits.is_finite() && self.logit_bits > 0.0) {
            return Err(OptionError::new(
                "logit_bits",
                format!("must be finite and > 0, got {}", self.logit_bits),
            ));
        }
        match self.params {
            Some(p) if !(1.0..=1e15).contains(&p) => Err(OptionError::new(
                "params",
                format!("must be a count between 1 and 1e15, got {p}"),
            )),
            _ => Ok(()),
        }
    }
}

/// One scheme's bits.
#[derive(Debug, Clone, Serialize)]
pub struct SchemeRow {
    pub scheme: String,
    pub bits_per_client: f64,
    /// FedAvg bits over these bits.
    pub reduction: f64,
}

/// What `cost` found.
#[derive(Debug, Clone, Serialize)]
pub struct CostOutput {
    pub schema: Schema,
    pub parameters: u64,
    /// FedAvg bits per parameter: the stored width (32 with `params`).
    pub full_precision_bits_per_entry: f64,
    /// Bits per top-k value sent at full precision (the widest stored width).
    pub value_bits: f64,
    pub k: f64,
    pub kept: u64,
    pub reference_samples: u64,
    pub classes: u64,
    pub logit_bits: f64,
    pub schemes: Vec<SchemeRow>,
    /// The reference-set size at which prediction space costs 1/1100 of FedAvg.
    pub reference_samples_for_1100: f64,
}

impl Outcome for CostOutput {
    fn partial(&self) -> bool {
        false
    }
}

/// `(d, FedAvg bits, the widest stored width)` of the source's first step.
fn counted(source: &dyn Source) -> Result<(u64, f64, f64), AnalysisError> {
    if let Some(failure) = source.unreadable().first() {
        return Err(AnalysisError::Unusable(format!(
            "{}: cannot count the parameters: {} is unreadable: {}",
            source.label(),
            failure.file.as_deref().unwrap_or("a file"),
            failure.error
        )));
    }
    let tensors = source.tensors();
    let first = tensors.iter().filter_map(|t| t.step).min();
    let at_first: Vec<_> = tensors.iter().filter(|t| t.step == first).collect();
    let total: u64 = at_first.iter().map(|t| t.len()).sum();
    if total == 0 {
        return Err(nothing_selected(source));
    }
    let widths: Vec<f64> = at_first.iter().map(|t| stored_bits(t.dtype)).collect();
    let fedavg = at_first
        .iter()
        .zip(&widths)
        .map(|(t, &bits)| fedavg_bits(t.len(), bits))
        .sum();
    Ok((total, fedavg, widest(&widths)))
}

impl Analysis for Cost {
    const KIND: &'static str = "cost";
    const SCHEMA: Schema = "gradrd.cost/1";
    type Options = CostOptions;
    type Output = CostOutput;

    fn run(
        options: &CostOptions,
        source: &dyn Source,
        _observer: &mut dyn Observer,
    ) -> Result<CostOutput, AnalysisError> {
        options.validate()?;
        let (d, fedavg, value_bits) = match options.params {
            Some(_) if !source.tensors().is_empty() => {
                return Err(OptionError::new(
                    "params",
                    "give a parameter count or tensors to count, not both",
                )
                .into())
            }
            Some(p) => {
                let d = p.round() as u64;
                (d, fedavg_bits(d, 32.0), 32.0)
            }
            None => counted(source)?,
        };
        let full_precision_bits_per_entry = fedavg / d as f64;
        let width = shortest(value_bits);
        let kept = fraction_to_count(options.k, usize::try_from(d).unwrap_or(usize::MAX)) as u64;
        let index = BitModel {
            positions: PositionCoding::Index,
            value_bits,
        };
        let entropy = BitModel {
            positions: PositionCoding::Entropy,
            value_bits,
        };
        let mut schemes: Vec<(String, f64)> = vec![
            (
                format!(
                    "fedavg at the stored width ({} bits/entry)",
                    shortest(full_precision_bits_per_entry)
                ),
                fedavg,
            ),
            (
                format!("top-k {width}-bit values + index positions"),
                sparse_bits(d, kept, value_bits, &index),
            ),
            (
                format!("top-k {width}-bit values + entropy-bound positions"),
                sparse_bits(d, kept, value_bits, &entropy),
            ),
        ];
        for format in [FP8_E4M3, FP4_E2M1] {
            schemes.push((
                format!("top-k {} + index positions (+32-bit scale)", format.name()),
                sparse_bits(d, kept, f64::from(format.bits()), &index) + SCALE_BITS,
            ));
        }
        schemes.push((
            format!("dense {}-bit codebook", options.codebook_bits),
            d as f64 * codebook_index_bits(1usize << options.codebook_bits),
        ));
        schemes.push((
            format!(
                "prediction space ({} samples x {} classes x {} bits)",
                options.reference_samples, options.classes, options.logit_bits
            ),
            prediction_space_bits(
                options.reference_samples,
                options.classes,
                options.logit_bits,
            ),
        ));
        Ok(CostOutput {
            schema: Self::SCHEMA,
            parameters: d,
            full_precision_bits_per_entry,
            value_bits,
            k: options.k,
            kept,
            reference_samples: options.reference_samples,
            classes: options.classes,
            logit_bits: options.logit_bits,
            schemes: schemes
                .into_iter()
                .map(|(scheme, bits)| SchemeRow {
                    scheme,
                    bits_per_client: bits,
                    reduction: fedavg / bits,
                })
                .collect(),
            reference_samples_for_1100: reference_size_for_ratio(
                d,
                full_precision_bits_per_entry,
                options.classes,
                options.logit_bits,
                1100.0,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::registry::source::InMemory;
    use crate::registry::Silent;

    #[test]
    fn a_dump_counts_its_first_step_at_the_stored_widths() {
        let mut source = InMemory::new("mem");
        source.push("a", Some(0), DType::BF16, vec![2, 50], vec![0.0; 100]);
        source.push("b", Some(0), DType::F32, vec![100], vec![0.0; 100]);
        source.push("a", Some(1), DType::BF16, vec![2, 50], vec![0.0; 100]);
        let output = Cost::run(&CostOptions::default(), &source, &mut Silent).unwrap();
        assert_eq!(output.parameters, 200);
        // 100 · 16 + 100 · 32 bits over 200 entries
        assert_eq!(output.full_precision_bits_per_entry, 24.0);
        assert_eq!(output.value_bits, 32.0);
        assert_eq!(output.schemes[0].bits_per_client, 4800.0);
        // top-1 % of 200 = 2 values at 32 bits + 2 · ⌈log2 200⌉ = 8 bits
        assert_eq!(output.kept, 2);
        assert_eq!(output.schemes[1].bits_per_client, 2.0 * (32.0 + 8.0));
        // dense 3-bit codebook: 3 bits per entry
        assert_eq!(output.schemes[5].bits_per_client, 600.0);
        // 1000 samples · 10 classes · 32 bits
        assert_eq!(output.schemes[6].bits_per_client, 320_000.0);
    }

    #[test]
    fn options_name_their_field() {
        for (bad, field) in [
            (
                CostOptions {
                    k: 1.5,
                    ..Default::default()
                },
                "k",
            ),
            (
                CostOptions {
                    codebook_bits: 17,
                    ..Default::default()
                },
                "codebook_bits",
            ),
            (
                CostOptions {
                    classes: 0,
                    ..Default::default()
                },
                "classes",
            ),
            (
                CostOptions {
                    logit_bits: f64::INFINITY,
                    ..Default::default()
                },
                "logit_bits",
            ),
            (
                CostOptions {
                    params: Some(-5.0),
                    ..Default::default()
                },
                "params",
            ),
        ] {
            assert_eq!(bad.validate().unwrap_err().field, field);
        }
        let mut source = InMemory::new("mem");
        source.push("a", Some(0), DType::F32, vec![4], vec![0.0; 4]);
        let both = CostOptions {
            params: Some(10.0),
            ..Default::default()
        };
        match Cost::run(&both, &source, &mut Silent) {
            Err(AnalysisError::Options(error)) => assert_eq!(error.field, "params"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Cost::run(
                &CostOptions::default(),
                &InMemory::new("empty"),
                &mut Silent
            ),
            Err(AnalysisError::NothingSelected { .. })
        ));
    }
}
