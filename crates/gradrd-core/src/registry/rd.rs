//! `rd`: the rate-distortion function `R(D)` of a source under the
//! M-weighted distortion (Blahut–Arimoto; the Shannon lower bound for
//! M = 0), and where the quantizers people use sit against it
//! ([`crate::analysis::rd_study()`]); schema `gradrd.rd/1`.
//!
//! The source is a model given by its parameters (`params`), studied on
//! `samples` seeded draws, or the fit of the one tensor of the [`Source`]
//! (its non-zero values). Each quantizer runs on those values at each rate
//! of `bits`; its point is `(coded_bits, distortion)`, with the real
//! entropy-coded size, and its gap to the limit is `coded_bits −
//! R(distortion)` bits and `10 log10(distortion / D(coded_bits))` dB. M22 is
//! the M-weighted Lloyd-Max codebook designed on the model at that rate.
//!
//! ```
//! use std::collections::BTreeMap;
//! use gradrd_core::registry::{rd, source::InMemory, Analysis, Silent};
//!
//! // R(D) of a unit Laplace source, and uniform-opt at 2 bits against it.
//! let options = rd::RdOptions {
//!     family: gradrd_core::dist::FamilyKind::Laplace,
//!     params: Some(BTreeMap::new()),
//!     bits: vec![2],
//!     quantizers: vec!["uniform-opt".into()],
//!     samples: 10_000,
//!     cells: 128,
//!     ..Default::default()
//! };
//! let output = rd::Rd::run(&options, &InMemory::new("model"), &mut Silent).unwrap();
//! assert_eq!(output.schema, "gradrd.rd/1");
//! assert!(output.quantizers[0].gap_bits.unwrap() > 0.0, "no quantizer beats the limit");
//! ```

use std::collections::BTreeMap;

use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::{
    nothing_selected, Analysis, AnalysisError, Failure, Observer, OptionError, Outcome, Schema,
    Source, Validate,
};
use crate::analysis::{prepare, rd_study, NanPolicy, QuantizerFailure, QuantizerPoint};
use crate::analysis::{RdStudySettings, ZeroPolicy};
use crate::dist::{ContinuousDist, FamilyKind, Model};
use crate::fit::{fit, FitOptions, LocMode};
use crate::quant::baseline::BaselineKind;
use crate::quant::rd::{BaOptions, CurvePoint, MAX_CELLS, MIN_CELLS};
use crate::quant::tensor::sound_model;

/// The `rd` analysis.
#[derive(Debug, Clone, Copy)]
pub struct Rd;

/// What `rd` studies and how finely.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RdOptions {
    /// Family of the source: the model's, or the one fitted to the tensor.
    pub family: FamilyKind,
    /// The model's parameters by scipy name (loc 0 and scale 1 unless
    /// given); `None`: the source is the fit of the one selected tensor.
    pub params: Option<BTreeMap<String, f64>>,
    /// Draws from the model the quantizers run on (with `params`).
    pub samples: usize,
    /// Location of the tensor's fit: `"free"`, `"zero"` or a number.
    #[serde(with = "super::fit::loc_text")]
    pub loc: LocMode,
    /// NaN/Inf in the tensor: `error` fails it, `omit` leaves them out.
    pub nan: NanPolicy,
    /// Weight exponent M of the distortion `E|X|^M (X − Q(X))²`.
    pub m: f64,
    /// Rates (bits per entry) at which the quantizers run.
    pub bits: Vec<u32>,
    /// Quantizers placed against the limit (their names, or `all`; each
    /// runs once).
    pub quantizers: Vec<String>,
    /// Seed of the draws and of the CountSketch hashes.
    pub seed: u64,
    /// Source cells of the Blahut–Arimoto discretization.
    pub cells: usize,
    /// Points on the curve.
    pub points: usize,
    /// Blahut–Arimoto iterations per point (warm-started from the previous one).
    pub iterations: usize,
}

impl Default for RdOptions {
    fn default() -> Self {
        RdOptions {
            family: FamilyKind::GenNorm,
            params: None,
            samples: 100_000,
            loc: LocMode::Free,
            nan: NanPolicy::Error,
            m: 0.0,
            bits: vec![2, 3, 4],
            quantizers: [
                "m22",
                "uniform-opt",
                "uniform-minmax",
                "tinyscript",
                "fp8-e4m3",
                "fp4-e2m1",
                "topk-fp8",
                "countsketch",
            ]
            .map(str::to_string)
            .to_vec(),
            seed: 0,
            cells: 512,
            points: 16,
            iterations: BaOptions::default().max_iterations,
        }
    }
}

impl RdOptions {
    /// The quantizers, each once in the order given (`all`: every one).
    pub fn kinds(&self) -> Result<Vec<BaselineKind>, OptionError> {
        if self.quantizers.iter().any(|n| n == "all") {
            return Ok(BaselineKind::ALL.to_vec());
        }
        let mut kinds = Vec::new();
        for name in &self.quantizers {
            let kind: BaselineKind = name
                .trim()
                .parse()
                .map_err(|e| OptionError::new("quantizers", format!("{e}")))?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        if kinds.is_empty() {
            return Err(OptionError::new(
                "quantizers",
                "name at least one quantizer",
            ));
        }
        Ok(kinds)
    }

    /// The model `params` give.
    fn model(&self, params: &BTreeMap<String, f64>) -> Result<Model, OptionError> {
        let params: Vec<(&str, f64)> = params.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        Model::from_params(self.family, &params)
            .map_err(|e| OptionError::new("params", e.to_string()))
    }
}

impl Validate for RdOptions {
    fn validate(&self) -> Result<(), OptionError> {
        self.kinds()?;
        if self.bits.is_empty() || self.bits.iter().any(|b| !(1..=16).contains(b)) {
            return Err(OptionError::new(
                "bits",
                "every rate must be between 1 and 16",
            ));
        }
        if !(1..=100_000).contains(&self.iterations) {
            return Err(OptionError::new(
                "iterations",
                format!("must be between 1 and 100000, got {}", self.iterations),
            ));
        }
        if !(self.m.is_finite() && self.m >= 0.0) {
            return Err(OptionError::new(
                "m",
                format!("must be finite and >= 0, got {}", self.m),
            ));
        }
        if !(MIN_CELLS..=MAX_CELLS).contains(&self.cells) {
            return Err(OptionError::new(
                "cells",
                format!(
                    "must be between {MIN_CELLS} and {MAX_CELLS}, got {}",
                    self.cells
                ),
            ));
        }
        if !(2..=10_000).contains(&self.points) {
            return Err(OptionError::new(
                "points",
                format!("must be between 2 and 10000, got {}", self.points),
            ));
        }
        if let LocMode::Fixed(v) = self.loc {
            if !v.is_finite() {
                return Err(OptionError::new("loc", format!("{v} is not finite")));
            }
        }
        if let Some(params) = &self.params {
            self.model(params)?;
            if !(1..=100_000_000).contains(&self.samples) {
                return Err(OptionError::new(
                    "samples",
                    format!("must be between 1 and 10^8, got {}", self.samples),
                ));
            }
        }
        Ok(())
    }
}

/// `gradrd.rd/1`.
#[derive(Debug, Clone, Serialize)]
pub struct RdOutput {
    pub schema: Schema,
    /// The tensor whose fit is the source (absent for a model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tensor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<u64>,
    pub family: FamilyKind,
    pub params: BTreeMap<String, f64>,
    pub m: f64,
    /// Values the quantizers were run on.
    pub n: usize,
    pub max_distortion: f64,
    /// Source cells of the discretization and iterations per point.
    pub cells: usize,
    pub iterations: usize,
    /// Why the fitted family was replaced (see `quant::tensor::sound_model`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Largest Blahut bracket at a stop, bits (a loose certificate, see `quant::rd`).
    pub max_bracket_bits: f64,
    pub curve: Vec<CurvePoint>,
    /// The Shannon lower bound at the curve's distortions (M = 0 only).
    pub slb: Option<Vec<CurvePoint>>,
    pub quantizers: Vec<QuantizerPoint>,
    /// Quantizers that failed at a rate (the others went on).
    pub errors: Vec<QuantizerFailure>,
    /// Rates too low for a scheme's side information on this tensor (no
    /// point, not an error).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub too_low: Vec<QuantizerFailure>,
}

impl Outcome for RdOutput {
    fn partial(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// The source of a study: the model, the values the quantizers run on, the
/// tensor and step they came from, and why the fitted family was replaced.
struct Studied {
    model: Model,
    values: Vec<f64>,
    tensor: Option<String>,
    step: Option<u64>,
    note: Option<String>,
}

impl Analysis for Rd {
    const KIND: &'static str = "rd";
    const SCHEMA: Schema = "gradrd.rd/1";
    type Options = RdOptions;
    type Output = RdOutput;

    fn run(
        options: &RdOptions,
        source: &dyn Source,
        _observer: &mut dyn Observer,
    ) -> Result<RdOutput, AnalysisError> {
        options.validate()?;
        let studied = match &options.params {
            Some(params) => {
                if !source.tensors().is_empty() {
                    return Err(OptionError::new(
                        "params",
                        "give a model or a tensor to fit, not both",
                    )
                    .into());
                }
                let model = options.model(params)?;
                let mut rng = rand_pcg::Pcg64::seed_from_u64(options.seed);
                let values = model.sample(&mut rng, options.samples);
                Studied {
                    model,
                    values,
                    tensor: None,
                    step: None,
                    note: None,
                }
            }
            None => fitted(options, source)?,
        };
        let settings = RdStudySettings {
            m: options.m,
            bits: options.bits.clone(),
            quantizers: options.kinds()?,
            seed: options.seed,
            cells: options.cells,
            points: options.points,
            iterations: options.iterations,
        };
        let study = rd_study(&studied.model, &studied.values, &settings)
            .map_err(|e| AnalysisError::Unusable(format!("cannot compute R(D): {e}")))?;
        Ok(RdOutput {
            schema: Self::SCHEMA,
            tensor: studied.tensor,
            step: studied.step,
            family: studied.model.kind(),
            params: studied
                .model
                .params()
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
            m: options.m,
            n: studied.values.len(),
            max_distortion: study.curve.max_distortion,
            cells: study.curve.source_cells,
            iterations: options.iterations,
            note: studied.note,
            max_bracket_bits: study.max_bracket_bits(),
            curve: study.curve.curve_points(),
            slb: study.slb,
            quantizers: study.quantizers,
            errors: study.failures,
            too_low: study.too_low,
        })
    }
}

/// The fit of the source's one tensor (its non-zero values); a tensor that
/// cannot be read or fitted is the one failure.
fn fitted(options: &RdOptions, source: &dyn Source) -> Result<Studied, AnalysisError> {
    let info = match source.tensors() {
        [] => return Err(nothing_selected(source)),
        [one] => one,
        many => {
            return Err(AnalysisError::Unusable(format!(
                "{}: the selection matches {} tensors; choose one",
                source.label(),
                many.len()
            )))
        }
    };
    let failed = |error: String| {
        AnalysisError::AllFailed(vec![Failure {
            file: Some(info.origin.clone()),
            tensor: Some(info.name.clone()),
            step: info.step,
            error,
        }])
    };
    let values = source.read(0).map_err(failed)?;
    let prepared =
        prepare(values, ZeroPolicy::Auto, options.nan).map_err(|e| failed(e.to_string()))?;
    let fit_options = FitOptions {
        loc: options.loc,
        ..FitOptions::default()
    };
    let model = fit(options.family, &prepared.values, &fit_options)
        .map_err(|e| failed(format!("{} fit: {e}", options.family)))?
        .model;
    let (model, note) = sound_model(model, &prepared.values, options.m)
        .map_err(|e| failed(format!("laplace fit: {e}")))?;
    Ok(Studied {
        model,
        values: prepared.values,
        tensor: Some(info.name.clone()),
        step: info.step,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::registry::source::InMemory;
    use crate::registry::Silent;

    #[test]
    fn a_gaussian_model_gives_half_the_log_ratio_and_the_gaps_against_it() {
        // R(D) = ½ log2(σ²/D) for the Gaussian, and its Shannon lower bound
        // is the same curve (references.md, Rate-distortion).
        let sigma = 2.0;
        let options = RdOptions {
            family: FamilyKind::Normal,
            params: Some(BTreeMap::from([("scale".to_string(), sigma)])),
            bits: vec![2, 3],
            quantizers: vec!["uniform-opt".into()],
            samples: 20_000,
            ..RdOptions::default()
        };
        let output = Rd::run(&options, &InMemory::new("model"), &mut Silent).unwrap();
        let exact = |d: f64| (0.5 * (sigma * sigma / d).log2()).max(0.0);
        assert!(output.curve.len() > 10);
        for p in &output.curve {
            let r = exact(p.distortion);
            assert!(
                (p.rate - r).abs() < 0.005,
                "D {:e}: {} vs {r}",
                p.distortion,
                p.rate
            );
        }
        for p in output.slb.as_ref().expect("M = 0 has the bound") {
            assert!((p.rate - exact(p.distortion)).abs() < 1e-9, "{p:?}");
        }
        assert_eq!(output.quantizers.len(), 2);
        for q in &output.quantizers {
            let gap = q.result.coded_bits - exact(q.result.distortion);
            let computed = q.gap_bits.expect("on the curve");
            assert!((computed - gap).abs() < 0.01, "{computed} vs {gap}");
        }
        assert_eq!((output.n, output.tensor.as_deref()), (20_000, None));
        assert_eq!(output.params["scale"], sigma);
    }

    #[test]
    fn a_tensor_is_fitted_and_the_options_name_their_field() {
        // Laplace(0, 1) quantiles: the fit's scale is their mean |x|.
        let values: Vec<f64> = (1..=2000)
            .map(|i| {
                let u = i as f64 / 2001.0;
                if u < 0.5 {
                    (2.0 * u).ln()
                } else {
                    -(2.0 * (1.0 - u)).ln()
                }
            })
            .collect();
        let mean_abs = values.iter().map(|x| x.abs()).sum::<f64>() / values.len() as f64;
        let mut source = InMemory::new("mem");
        source.push("w", Some(3), DType::F32, vec![2000], values.clone());
        let options = RdOptions {
            family: FamilyKind::Laplace,
            loc: LocMode::Fixed(0.0),
            bits: vec![2],
            quantizers: vec!["uniform-opt".into(), "uniform-opt".into()],
            cells: 128,
            ..RdOptions::default()
        };
        let output = Rd::run(&options, &source, &mut Silent).unwrap();
        assert_eq!(
            (output.tensor.as_deref(), output.step),
            (Some("w"), Some(3))
        );
        assert!((output.params["scale"] - mean_abs).abs() < 1e-9 * mean_abs);
        assert_eq!(output.quantizers.len(), 1, "a repeated quantizer runs once");

        source.push("v", Some(3), DType::F32, vec![2000], values);
        let two = Rd::run(&options, &source, &mut Silent).unwrap_err();
        assert!(two.to_string().contains("matches 2 tensors"), "{two}");
        let both = RdOptions {
            params: Some(BTreeMap::new()),
            ..options.clone()
        };
        let error = Rd::run(&both, &source, &mut Silent).unwrap_err();
        assert!(
            matches!(&error, AnalysisError::Options(e) if e.field == "params"),
            "{error}"
        );
        for (bad, field) in [
            (
                RdOptions {
                    bits: vec![0],
                    ..RdOptions::default()
                },
                "bits",
            ),
            (
                RdOptions {
                    m: -1.0,
                    ..RdOptions::default()
                },
                "m",
            ),
            (
                RdOptions {
                    cells: 3,
                    ..RdOptions::default()
                },
                "cells",
            ),
            (
                RdOptions {
                    quantizers: vec!["nonsense".into()],
                    ..RdOptions::default()
                },
                "quantizers",
            ),
            (
                RdOptions {
                    params: Some(BTreeMap::from([("beta".to_string(), 0.0)])),
                    ..RdOptions::default()
                },
                "params",
            ),
        ] {
            assert_eq!(bad.validate().unwrap_err().field, field);
        }
        let unknown = serde_json::from_str::<RdOptions>(r#"{"bit": [2]}"#).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown field `bit`"),
            "{unknown}"
        );
    }
}
