//! The rate-distortion study of one source: `R(D)` of a model under the
//! M-weighted distortion (Blahut–Arimoto, [`crate::quant::rd`]), the Shannon
//! lower bound for M = 0, and each quantizer run on real values at each rate
//! with its gap to the limit, `coded_bits − R(distortion)` bits and
//! `10 log10(distortion / D(coded_bits))` dB. M22 is the M-weighted
//! Lloyd-Max codebook designed on the model at that rate.
//!
//! The curve is computed after the quantizers, down to just below their
//! smallest distortion and up to just above their highest coded rate, so
//! every gap can be looked up (never below `10⁻⁴ D_max`).

use serde::Serialize;

use crate::dist::Model;
use crate::quant::baseline::{evaluate, BaselineKind, BaselineOptions, BaselineResult};
use crate::quant::lloyd::design_for_density;
use crate::quant::rd::{
    gap_bits, gap_db, rate_distortion_curve, shannon_lower_bound_curve, BaOptions, CurvePoint,
    RdCurve, RdError, RdOptions,
};
use crate::quant::{DesignSpec, LloydOptions};

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub struct RdStudySettings {
    /// Weight exponent M of `d_M = E|X|^M (X − Q(X))²`.
    pub m: f64,
    /// Rates (bits per entry) at which the quantizers are run; the fixed-width
    /// formats (INT8, FP8, FP4) run once.
    pub bits: Vec<u32>,
    pub quantizers: Vec<BaselineKind>,
    /// Seed of CountSketch's hashes.
    pub seed: u64,
    /// Source cells of the discretization, points of the sweep and
    /// Blahut–Arimoto iterations per point.
    pub cells: usize,
    pub points: usize,
    pub iterations: usize,
}

/// One quantizer at one rate against the limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuantizerPoint {
    #[serde(flatten)]
    pub result: BaselineResult,
    /// `coded_bits − R(distortion)`; `null` outside the computed curve.
    pub gap_bits: Option<f64>,
    /// `10 log10(distortion / D(coded_bits))`; `null` outside the curve.
    pub gap_db: Option<f64>,
    /// Set when the quantizer is worse than sending zeros (MSE above the
    /// values' mean square).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A quantizer that could not run at a rate (the others went on).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuantizerFailure {
    pub name: String,
    pub bits: u32,
    pub error: String,
}

/// The study's result.
#[derive(Debug, Clone, PartialEq)]
pub struct RdStudy {
    pub curve: RdCurve,
    /// The Shannon lower bound at the curve's distortions (M = 0 only).
    pub slb: Option<Vec<CurvePoint>>,
    pub quantizers: Vec<QuantizerPoint>,
    pub failures: Vec<QuantizerFailure>,
    /// Quantizers whose side information (scale, positions) alone exceeds
    /// the rate's budget on this tensor: no point at that rate, and not a
    /// failure (a 20-entry bias at 1 bit/entry has 20 bits for a 32-bit
    /// scale).
    pub too_low: Vec<QuantizerFailure>,
}

impl RdStudy {
    /// Largest Blahut bracket at a stop, bits (a loose certificate, see
    /// [`crate::quant::rd`]).
    pub fn max_bracket_bits(&self) -> f64 {
        self.curve
            .points
            .iter()
            .map(|p| p.bracket_bits)
            .fold(0.0, f64::max)
    }
}

/// Runs every quantizer on `values` and places it against `R(D)` of `model`.
pub fn rd_study(
    model: &Model,
    values: &[f64],
    settings: &RdStudySettings,
) -> Result<RdStudy, RdError> {
    let (mut quantizers, failures, too_low) = place_quantizers(model, values, settings);
    let deepest = quantizers
        .iter()
        .map(|q| q.result.distortion)
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min);
    let highest = quantizers
        .iter()
        .map(|q| q.result.coded_bits)
        .fold(0.0, f64::max);
    let options = RdOptions {
        cells: settings.cells,
        points: settings.points,
        min_distortion_ratio: 1e-4,
        deepest_distortion: deepest.is_finite().then_some(0.9 * deepest),
        highest_rate: Some(highest + 0.1),
        ba: BaOptions {
            max_iterations: settings.iterations,
            ..BaOptions::default()
        },
        ..RdOptions::default()
    };
    let curve = rate_distortion_curve(model, settings.m, &options)?;
    for q in &mut quantizers {
        q.gap_bits = gap_bits(&curve, q.result.coded_bits, q.result.distortion);
        q.gap_db = gap_db(&curve, q.result.coded_bits, q.result.distortion);
    }
    let distortions: Vec<f64> = curve.points.iter().map(|p| p.distortion).collect();
    let slb = shannon_lower_bound_curve(model, settings.m, &distortions);
    Ok(RdStudy {
        curve,
        slb,
        quantizers,
        failures,
        too_low,
    })
}

/// The placed quantizers, the failures, and the rates too low for a scheme.
type Placed = (
    Vec<QuantizerPoint>,
    Vec<QuantizerFailure>,
    Vec<QuantizerFailure>,
);

fn place_quantizers(model: &Model, values: &[f64], settings: &RdStudySettings) -> Placed {
    let mut points = Vec::new();
    let (mut failures, mut too_low) = (Vec::new(), Vec::new());
    let power = values.iter().map(|x| x * x).sum::<f64>() / values.len().max(1) as f64;
    for &kind in &settings.quantizers {
        let rates = if kind.fixed_width().is_some() {
            &settings.bits[..settings.bits.len().min(1)]
        } else {
            &settings.bits[..]
        };
        for &bits in rates {
            match place(kind, bits, model, values, settings) {
                Ok(result) => points.push(QuantizerPoint {
                    note: (result.mse > power).then(|| {
                        format!("nmse {:.3}: worse than sending zeros", result.mse / power)
                    }),
                    result,
                    gap_bits: None,
                    gap_db: None,
                }),
                Err((error, rate_too_low)) => {
                    let failure = QuantizerFailure {
                        name: kind.to_string(),
                        bits,
                        error,
                    };
                    if rate_too_low {
                        too_low.push(failure);
                    } else {
                        failures.push(failure);
                    }
                }
            }
        }
    }
    (points, failures, too_low)
}

fn place(
    kind: BaselineKind,
    bits: u32,
    model: &Model,
    values: &[f64],
    settings: &RdStudySettings,
) -> Result<BaselineResult, (String, bool)> {
    let failed = |e: &dyn std::fmt::Display| (e.to_string(), false);
    let codebook = if kind == BaselineKind::M22 {
        let spec = DesignSpec::from_bits(bits, settings.m, false).map_err(|e| failed(&e))?;
        let design =
            design_for_density(model, &spec, &LloydOptions::default()).map_err(|e| failed(&e))?;
        Some(design.codebook)
    } else {
        None
    };
    let options = BaselineOptions {
        rate: f64::from(bits),
        m: settings.m,
        seed: settings.seed,
        codebook,
        ..BaselineOptions::default()
    };
    evaluate(kind, values, &options)
        .map(|evaluation| evaluation.result)
        .map_err(|e| (e.to_string(), e.is_rate_too_low()))
}
