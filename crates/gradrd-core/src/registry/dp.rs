//! `dp`: differential privacy against compression
//! ([`crate::compress::privacy`]); schema `gradrd.dp/1`.
//!
//! Each step's tensors are flattened into one update, clipped to L2 norm
//! `clip`, and noised with `N(0, (σ·clip)²)` noise for every σ of `sigmas`
//! (the Gaussian mechanism of DP-SGD, Abadi et al., CCS 2016). Reported per
//! σ: the mean overlap of the noisy top-k support with the noiseless one
//! (a random support overlaps by `k`), and the entropy-coded size of the
//! uniformly quantized update (step `quant_step`) with its growth over
//! σ = 0 and the reduction against FedAvg at the stored width.
//!
//! ```
//! use gradrd_core::dtype::DType;
//! use gradrd_core::registry::{dp, source::InMemory, Analysis, Silent};
//!
//! let mut source = InMemory::new("two steps");
//! for step in 0..2u64 {
//!     let values = (0..1000u64).map(|i| ((i * 7919 + step * 13) % 1000) as f64 / 1000.0 - 0.5);
//!     source.push("w", Some(step), DType::F32, vec![1000], values.collect());
//! }
//! let options = dp::DpOptions { sigmas: vec![0.0, 1.0], k: 0.1, ..Default::default() };
//! let output = dp::Dp::run(&options, &source, &mut Silent).unwrap();
//! // without noise the top-k support is the noiseless one, and the size grows by 1×
//! assert_eq!(output.sigmas[0].support_overlap, 1.0);
//! assert_eq!(output.sigmas[0].growth, 1.0);
//! // noise as large as the clip norm: more bits than without it
//! assert!(output.sigmas[1].coded_bits > output.sigmas[0].coded_bits);
//! ```

use serde::{Deserialize, Serialize};

use super::sequence::Sequence;
use super::{Analysis, AnalysisError, Observer, OptionError, Outcome, Schema, Source, Validate};
use crate::compress::bits::full_precision_bits;
use crate::compress::privacy::{clip, dp_noise_curve};

/// The `dp` analysis.
#[derive(Debug, Clone, Copy)]
pub struct Dp;

/// What `dp` measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DpOptions {
    /// L2 clipping norm C of each step's whole update.
    pub clip: f64,
    /// Noise multipliers σ (noise std σ·C); σ = 0 is always measured, as
    /// the reference of the growth.
    pub sigmas: Vec<f64>,
    /// Top-k fraction for the support comparison, in (0, 1].
    pub k: f64,
    /// Step Δ of the uniform quantizer (`None`: the RMS of the clipped
    /// noiseless update of the first step divided by 4).
    pub quant_step: Option<f64>,
    /// Seed of the noise (step t uses seed + t).
    pub seed: u64,
}

impl Default for DpOptions {
    fn default() -> Self {
        DpOptions {
            clip: 1.0,
            sigmas: vec![0.0, 0.01, 0.03, 0.1, 0.3, 1.0],
            k: 0.01,
            quant_step: None,
            seed: 0,
        }
    }
}

impl Validate for DpOptions {
    fn validate(&self) -> Result<(), OptionError> {
        if !(self.k > 0.0 && self.k <= 1.0) {
            return Err(OptionError::new(
                "k",
                format!("must be a fraction in (0, 1], got {}", self.k),
            ));
        }
        if !(self.clip.is_finite() && self.clip > 0.0) {
            return Err(OptionError::new(
                "clip",
                format!("must be finite and > 0, got {}", self.clip),
            ));
        }
        if let Some(s) = self.sigmas.iter().find(|s| !(s.is_finite() && **s >= 0.0)) {
            return Err(OptionError::new(
                "sigmas",
                format!("must be finite and >= 0, got {s}"),
            ));
        }
        if let Some(q) = self.quant_step.filter(|q| !(q.is_finite() && *q > 0.0)) {
            return Err(OptionError::new(
                "quant_step",
                format!("must be finite and > 0, got {q}"),
            ));
        }
        Ok(())
    }
}

/// The measurements at one noise multiplier.
#[derive(Debug, Clone, Serialize)]
pub struct SigmaRow {
    pub sigma: f64,
    pub support_overlap: f64,
    pub coded_bits: f64,
    pub bits_per_entry: f64,
    /// `coded_bits / coded_bits(σ = 0)`.
    pub growth: f64,
    /// FedAvg at the stored width over `coded_bits`.
    pub reduction: f64,
}

/// `gradrd.dp/1`.
#[derive(Debug, Clone, Serialize)]
pub struct DpOutput {
    pub schema: Schema,
    pub dump: String,
    pub clip: f64,
    pub k: f64,
    pub quant_step: f64,
    pub seed: u64,
    pub steps: usize,
    pub entries_per_step: usize,
    /// FedAvg bits per entry: each tensor at its stored width (16 for bf16).
    pub full_precision_bits_per_entry: f64,
    /// Support overlap of a random top-k: k/n.
    pub random_overlap: f64,
    pub sigmas: Vec<SigmaRow>,
}

impl Outcome for DpOutput {
    fn partial(&self) -> bool {
        false
    }
}

impl Analysis for Dp {
    const KIND: &'static str = "dp";
    const SCHEMA: Schema = "gradrd.dp/1";
    type Options = DpOptions;
    type Output = DpOutput;

    fn run(
        options: &DpOptions,
        source: &dyn Source,
        observer: &mut dyn Observer,
    ) -> Result<DpOutput, AnalysisError> {
        options.validate()?;
        let what = source.label();
        let sequence = Sequence::new(source, what).map_err(AnalysisError::unusable)?;
        let mut sigmas = vec![0.0];
        sigmas.extend(options.sigmas.iter().copied().filter(|s| *s != 0.0));
        let mut overlap = vec![0.0; sigmas.len()];
        let mut coded = vec![0.0; sigmas.len()];
        let mut quant_step = options.quant_step;
        let n: usize = sequence.sizes.iter().sum();
        observer.begin(sequence.steps.len() as u64, "noising");
        for index in 0..sequence.steps.len() {
            observer.item(&format!("step {}", sequence.steps[index].0));
            let update: Vec<f64> = sequence
                .read(index)
                .map_err(AnalysisError::unusable)?
                .concat();
            let step = match quant_step {
                Some(q) => q,
                None => {
                    let clipped = clip(&update, options.clip);
                    let rms = (clipped.iter().map(|x| x * x).sum::<f64>() / n.max(1) as f64).sqrt();
                    if rms.is_nan() || rms <= 0.0 {
                        return Err(OptionError::new(
                            "quant_step",
                            format!(
                                "{what}: the first step's update is all zeros, so it has no default; set one"
                            ),
                        )
                        .into());
                    }
                    quant_step = Some(rms / 4.0);
                    rms / 4.0
                }
            };
            let curve = dp_noise_curve(
                &update,
                options.clip,
                &sigmas,
                options.k,
                step,
                options.seed.wrapping_add(index as u64),
            )
            .map_err(AnalysisError::unusable)?;
            for (i, point) in curve.iter().enumerate() {
                overlap[i] += point.support_overlap;
                coded[i] += point.coded_bits;
            }
            observer.advance(1);
        }
        observer.end();
        let steps = sequence.steps.len();
        let total_entries = (n * steps) as f64;
        let full_precision_bits_per_entry =
            full_precision_bits(&sequence.sizes, &sequence.stored_bits()) / n as f64;
        let rows = sigmas
            .iter()
            .enumerate()
            .filter(|(i, s)| *i > 0 || options.sigmas.contains(s))
            .map(|(i, &sigma)| SigmaRow {
                sigma,
                support_overlap: overlap[i] / steps as f64,
                coded_bits: coded[i],
                bits_per_entry: coded[i] / total_entries,
                growth: coded[i] / coded[0],
                reduction: full_precision_bits_per_entry * total_entries / coded[i],
            })
            .collect();
        Ok(DpOutput {
            schema: Self::SCHEMA,
            dump: what.to_string(),
            clip: options.clip,
            k: options.k,
            quant_step: quant_step.unwrap_or(f64::NAN),
            seed: options.seed,
            steps,
            entries_per_step: n,
            full_precision_bits_per_entry,
            random_overlap: options.k,
            sigmas: rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::registry::source::InMemory;
    use crate::registry::Silent;

    fn source() -> InMemory {
        let mut source = InMemory::new("mem");
        for step in 0..3u64 {
            let values = (0..1000u64)
                .map(|i| ((i * 7919 + step * 31) % 997) as f64 / 997.0 - 0.5)
                .collect();
            source.push("w", Some(step), DType::BF16, vec![1000], values);
        }
        source
    }

    #[test]
    fn noise_grows_the_coded_size_and_blurs_the_support() {
        let options = DpOptions {
            sigmas: vec![0.0, 1.0],
            k: 0.1,
            ..DpOptions::default()
        };
        let output = Dp::run(&options, &source(), &mut Silent).unwrap();
        assert_eq!((output.steps, output.entries_per_step), (3, 1000));
        assert_eq!(
            output.full_precision_bits_per_entry, 16.0,
            "bf16 is sent at 16 bits"
        );
        let [clean, noisy] = &output.sigmas[..] else {
            panic!("two rows")
        };
        assert_eq!((clean.growth, clean.support_overlap), (1.0, 1.0));
        assert!(noisy.growth > 1.0, "{noisy:?}");
        assert!(noisy.support_overlap < 1.0, "{noisy:?}");
    }

    #[test]
    fn a_zero_update_without_a_step_names_quant_step() {
        let mut zeros = InMemory::new("mem");
        for step in 0..2u64 {
            zeros.push("w", Some(step), DType::F32, vec![4], vec![0.0; 4]);
        }
        let error = Dp::run(&DpOptions::default(), &zeros, &mut Silent).unwrap_err();
        assert!(
            matches!(&error, AnalysisError::Options(e) if e.field == "quant_step"),
            "{error}"
        );
        let bad = DpOptions {
            clip: 0.0,
            ..DpOptions::default()
        };
        let error = Dp::run(&bad, &source(), &mut Silent).unwrap_err();
        assert!(
            matches!(&error, AnalysisError::Options(e) if e.field == "clip"),
            "{error}"
        );
    }
}
