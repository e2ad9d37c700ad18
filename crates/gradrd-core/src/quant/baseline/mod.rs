//! The quantizers the literature compares M22 with, evaluated on one tensor's
//! samples at a matched rate `R` (bits per entry), each returning the decoded
//! values and the bit accounting of a [`BaselineResult`]:
//!
//! | name | what is sent |
//! |---|---|
//! | `uniform-minmax` | `2^R` levels spanning `[min, max]`; indices + min, max |
//! | `uniform-opt` | symmetric mid-rise uniform quantizer, step minimizing d_M; indices + step |
//! | `int8` | `clip(round_half_even(x/s), −127, 127)`, `s = absmax/127`; codes + s |
//! | `fp8-e4m3`, `fp8-e5m2`, `fp4-e2m1` | minifloat codes of `x/s`, `s = absmax/max`; codes + s |
//! | `topk-fp8`, `topk-fp4` | the k largest magnitudes as FP8 E4M3 / FP4 E2M1 codes, their positions, s |
//! | `countsketch` | a d × w table of f32 (Charikar, Chen & Farach-Colton 2002) + the hash seed |
//! | `tinyscript` | M = 0 Lloyd-Max on a fitted double Weibull (Fu et al., ICML 2020); indices + (c, loc, scale) |
//! | `m22` | a given [`Codebook`] (the M22 design); indices + its centers and scale |
//!
//! **Rate.** `uniform-*`, `tinyscript` take `R` as the bit width (an integer
//! 1..=16, `2^R` levels); `m22` has the codebook's `log2 L`; `int8`, `fp8-*`
//! and `fp4-*` have their format's width and only check `R`; `topk-*` and
//! `countsketch` spend `R · n` bits including their side information.
//!
//! **Accounting** (all per entry, over the `n` entries of the tensor):
//! - `bits`: nominal rate without entropy coding or side information —
//!   `log2 L`, the format width, `(k · b + position bits) / n` for top-k,
//!   `32 · w · d / n` for CountSketch;
//! - `entropy_bits`: `n · H(symbols)` (empirical entropy of the sent symbols)
//!   plus the side information, over n; for top-k the positions count as
//!   `log2 C(n, k)`; the CountSketch table is raw f32 (its entropy is not
//!   estimated), so there `entropy_bits = coded_bits`;
//! - `coded_bits`: the real size from [`crate::quant::coding`] (ANS stream of
//!   the symbols with its header, real position coding) plus side information.
//!
//! Side information (scales, min/max, fitted parameters, codebook centers,
//! the sketch seed) is 32 bits per float (64 bits for the seed); floats are
//! rounded to f32 and used as f32 on both sides.
//!
//! **Distortion**: `d_M = (1/n) Σ |x_j|^M (x_j − x̂_j)²` and `mse = (1/n) Σ (x_j − x̂_j)²`.

use serde::Serialize;

use super::coding::{self, CodingError};
use super::minifloat::{self, MiniFloat};
use super::{Codebook, QuantError};
use crate::fit::FitError;

pub mod countsketch;
mod designed;
pub mod int8;
pub mod topk;
pub mod uniform;

#[cfg(test)]
mod tests;

/// Largest rate accepted, in bits per entry (a raw f32 costs 32).
pub const MAX_RATE: f64 = 32.0;

/// Bits of one side-information float (scale, min/max, fitted parameter,
/// codebook center): an f32, whatever width the tensor is stored in, since
/// the scales are computed and applied in f32 on both sides (see the module
/// docs). This is not the width of the data: a baseline's rate is compared
/// with the tensor's stored width by its caller.
pub const SIDE_FLOAT_BITS: u64 = 32;

/// The baselines by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BaselineKind {
    UniformMinMax,
    UniformOpt,
    Int8,
    Fp8E4M3,
    Fp8E5M2,
    Fp4E2M1,
    TopkFp8,
    TopkFp4,
    CountSketch,
    TinyScript,
    M22,
}

impl BaselineKind {
    /// Every baseline, in the order of the table above.
    pub const ALL: [BaselineKind; 11] = [
        BaselineKind::UniformMinMax,
        BaselineKind::UniformOpt,
        BaselineKind::Int8,
        BaselineKind::Fp8E4M3,
        BaselineKind::Fp8E5M2,
        BaselineKind::Fp4E2M1,
        BaselineKind::TopkFp8,
        BaselineKind::TopkFp4,
        BaselineKind::CountSketch,
        BaselineKind::TinyScript,
        BaselineKind::M22,
    ];

    /// The bit width of a fixed-width format (INT8, FP8, FP4), which runs at
    /// that width whatever rate is asked; `None` for the rate-driven schemes.
    pub fn fixed_width(self) -> Option<u32> {
        match self {
            BaselineKind::Int8 | BaselineKind::Fp8E4M3 | BaselineKind::Fp8E5M2 => Some(8),
            BaselineKind::Fp4E2M1 => Some(4),
            _ => None,
        }
    }

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            BaselineKind::UniformMinMax => "uniform-minmax",
            BaselineKind::UniformOpt => "uniform-opt",
            BaselineKind::Int8 => "int8",
            BaselineKind::Fp8E4M3 => "fp8-e4m3",
            BaselineKind::Fp8E5M2 => "fp8-e5m2",
            BaselineKind::Fp4E2M1 => "fp4-e2m1",
            BaselineKind::TopkFp8 => "topk-fp8",
            BaselineKind::TopkFp4 => "topk-fp4",
            BaselineKind::CountSketch => "countsketch",
            BaselineKind::TinyScript => "tinyscript",
            BaselineKind::M22 => "m22",
        }
    }
}

impl std::fmt::Display for BaselineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for BaselineKind {
    type Err = BaselineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BaselineKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| BaselineError::UnknownName(s.to_string()))
    }
}

/// Why a baseline could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BaselineError {
    #[error("unknown quantizer {0:?}; expected one of uniform-minmax, uniform-opt, int8, fp8-e4m3, fp8-e5m2, fp4-e2m1, topk-fp8, topk-fp4, countsketch, tinyscript, m22")]
    UnknownName(String),
    #[error("samples: no values to quantize")]
    EmptySamples,
    #[error("samples: {count} non-finite value(s), first at index {first_index}")]
    NonFinite { count: usize, first_index: usize },
    #[error("samples[{index}] = {value:e} is beyond the f32 range (±3.4e38) in which scales and sketches are sent")]
    OutOfRange { index: usize, value: f64 },
    #[error("rate must be finite, > 0 and <= {MAX_RATE} bits per entry, got {0}")]
    Rate(f64),
    #[error("{name}: rate is the bit width and must be an integer from 1 to 16, got {rate}")]
    RateNotBitWidth { name: &'static str, rate: f64 },
    #[error("{name}: rate {rate} bits/entry over {n} entries cannot pay for {what}")]
    RateTooLow {
        name: &'static str,
        rate: f64,
        n: usize,
        what: &'static str,
    },
    #[error("weight exponent m must be finite and >= 0, got {0}")]
    WeightExponent(f64),
    #[error("countsketch: depth must be between 1 and {max}, got {depth}", max = countsketch::MAX_DEPTH)]
    SketchDepth { depth: usize },
    #[error("m22: no codebook given")]
    MissingCodebook,
    // The causes are part of the message and deliberately not `#[source]`:
    // an error chain printed with `{:#}` would repeat them.
    #[error("tinyscript: double Weibull fit failed: {0}")]
    Fit(FitError),
    #[error("quantizer design failed: {0}")]
    Design(QuantError),
    #[error(transparent)]
    Coding(#[from] CodingError),
}

impl BaselineError {
    /// Whether the rate cannot pay for the scheme's side information on
    /// this many entries: a point that does not exist rather than a
    /// failure.
    pub fn is_rate_too_low(&self) -> bool {
        matches!(self, BaselineError::RateTooLow { .. })
    }
}

impl From<FitError> for BaselineError {
    fn from(error: FitError) -> Self {
        BaselineError::Fit(error)
    }
}

impl From<QuantError> for BaselineError {
    fn from(error: QuantError) -> Self {
        BaselineError::Design(error)
    }
}

/// Settings shared by the baselines.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineOptions {
    /// Rate R in bits per entry (see the module docs for each scheme).
    pub rate: f64,
    /// Weight exponent M of the reported distortion (and of the
    /// `uniform-opt` step search).
    pub m: f64,
    /// Seed of the CountSketch hash functions.
    pub seed: u64,
    /// CountSketch depth d (rows); the estimate is the median of the d rows.
    pub sketch_depth: usize,
    /// The codebook of `m22`.
    pub codebook: Option<Codebook>,
}

impl Default for BaselineOptions {
    fn default() -> Self {
        Self {
            rate: 4.0,
            m: 0.0,
            seed: 0,
            sketch_depth: 3,
            codebook: None,
        }
    }
}

/// One evaluation, as exported (`quantizers[]` of `gradrd rd`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineResult {
    pub name: String,
    /// Nominal rate in bits per entry (no entropy coding, no side information).
    pub bits: f64,
    /// `(1/n) Σ |x|^M (x − x̂)²`.
    pub distortion: f64,
    /// `(1/n) Σ (x − x̂)²`.
    pub mse: f64,
    /// Empirical entropy of what is sent, side information included, bits per entry.
    pub entropy_bits: f64,
    /// Real coded size, side information and positions included, bits per entry.
    pub coded_bits: f64,
    /// Entries (or sketch cells) sent.
    pub sent: usize,
}

/// The decoded tensor and its accounting.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub result: BaselineResult,
    pub decoded: Vec<f64>,
}

/// Quantizes `samples` with baseline `kind` and reports it.
pub fn evaluate(
    kind: BaselineKind,
    samples: &[f64],
    options: &BaselineOptions,
) -> Result<Evaluation, BaselineError> {
    validate(samples, options)?;
    let coded = match kind {
        BaselineKind::UniformMinMax => uniform::min_max(samples, bit_width(kind, options.rate)?)?,
        BaselineKind::UniformOpt => {
            uniform::optimal_step(samples, bit_width(kind, options.rate)?, options.m)?
        }
        BaselineKind::Int8 => int8::quantize(samples)?,
        BaselineKind::Fp8E4M3 => minifloat_tensor(samples, &minifloat::FP8_E4M3)?,
        BaselineKind::Fp8E5M2 => minifloat_tensor(samples, &minifloat::FP8_E5M2)?,
        BaselineKind::Fp4E2M1 => minifloat_tensor(samples, &minifloat::FP4_E2M1)?,
        BaselineKind::TopkFp8 => {
            topk::quantize(samples, options.rate, &minifloat::FP8_E4M3, kind.name())?
        }
        BaselineKind::TopkFp4 => {
            topk::quantize(samples, options.rate, &minifloat::FP4_E2M1, kind.name())?
        }
        BaselineKind::CountSketch => {
            countsketch::quantize(samples, options.rate, options.sketch_depth, options.seed)?
        }
        BaselineKind::TinyScript => designed::tinyscript(samples, bit_width(kind, options.rate)?)?,
        BaselineKind::M22 => designed::with_codebook(
            samples,
            options
                .codebook
                .as_ref()
                .ok_or(BaselineError::MissingCodebook)?,
        )?,
    };
    let n = samples.len() as f64;
    let (distortion, mse) = weighted_distortion(samples, &coded.decoded, options.m);
    Ok(Evaluation {
        result: BaselineResult {
            name: kind.name().to_string(),
            bits: coded.nominal_bits / n,
            distortion,
            mse,
            entropy_bits: coded.entropy_bits / n,
            coded_bits: coded.coded_bits as f64 / n,
            sent: coded.sent,
        },
        decoded: coded.decoded,
    })
}

/// What a scheme produced, in total bits over the tensor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Coded {
    pub decoded: Vec<f64>,
    pub nominal_bits: f64,
    pub entropy_bits: f64,
    pub coded_bits: u64,
    pub sent: usize,
}

impl Coded {
    /// A dense stream of `symbols` (one per entry) from `0..alphabet`, with
    /// `side_bits` of side information and `nominal` bits per symbol.
    pub(crate) fn dense(
        decoded: Vec<f64>,
        symbols: &[u32],
        alphabet: u32,
        nominal: f64,
        side_bits: u64,
    ) -> Result<Self, BaselineError> {
        let n = symbols.len();
        let coded = coding::encode_symbols(symbols, alphabet)?;
        Ok(Coded {
            decoded,
            nominal_bits: nominal * n as f64,
            entropy_bits: n as f64 * coding::empirical_entropy_bits(symbols) + side_bits as f64,
            coded_bits: coded.total_bits() + side_bits,
            sent: n,
        })
    }
}

fn validate(samples: &[f64], options: &BaselineOptions) -> Result<(), BaselineError> {
    if samples.is_empty() {
        return Err(BaselineError::EmptySamples);
    }
    let mut non_finite = samples.iter().enumerate().filter(|(_, x)| !x.is_finite());
    if let Some((first_index, _)) = non_finite.next() {
        return Err(BaselineError::NonFinite {
            count: 1 + non_finite.count(),
            first_index,
        });
    }
    if let Some((index, &value)) = samples
        .iter()
        .enumerate()
        .find(|(_, x)| x.abs() > f64::from(f32::MAX))
    {
        return Err(BaselineError::OutOfRange { index, value });
    }
    if !(options.rate.is_finite() && options.rate > 0.0 && options.rate <= MAX_RATE) {
        return Err(BaselineError::Rate(options.rate));
    }
    if !(options.m.is_finite() && options.m >= 0.0) {
        return Err(BaselineError::WeightExponent(options.m));
    }
    Ok(())
}

/// The rate as a bit width 1..=16.
fn bit_width(kind: BaselineKind, rate: f64) -> Result<u32, BaselineError> {
    if rate.fract() == 0.0 && (1.0..=f64::from(super::MAX_BITS)).contains(&rate) {
        Ok(rate as u32)
    } else {
        Err(BaselineError::RateNotBitWidth {
            name: kind.name(),
            rate,
        })
    }
}

/// `(d_M, mse)`: `(1/n) Σ |x|^M (x − x̂)²` and `(1/n) Σ (x − x̂)²`.
pub fn weighted_distortion(samples: &[f64], decoded: &[f64], m: f64) -> (f64, f64) {
    let n = samples.len().max(1) as f64;
    let (weighted, plain) = samples
        .iter()
        .zip(decoded)
        .fold((0.0, 0.0), |(w, p), (&x, &y)| {
            let e2 = (x - y) * (x - y);
            (w + x.abs().powf(m) * e2, p + e2)
        });
    (weighted / n, plain / n)
}

/// `v` rounded to f32, as sent.
pub(crate) fn as_sent(v: f64) -> f64 {
    f64::from(v as f32)
}

/// The largest magnitude of the samples.
pub(crate) fn absmax(samples: &[f64]) -> f64 {
    samples.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// A minifloat format applied to the whole tensor with scale `absmax / max`.
fn minifloat_tensor(samples: &[f64], format: &MiniFloat) -> Result<Coded, BaselineError> {
    let scale = format.sent_scale(absmax(samples));
    let mut symbols = Vec::with_capacity(samples.len());
    let mut decoded = Vec::with_capacity(samples.len());
    for &x in samples {
        let (code, value) = format.encode_scaled(x, scale);
        symbols.push(u32::from(code));
        decoded.push(value);
    }
    Coded::dense(
        decoded,
        &symbols,
        format.alphabet(),
        f64::from(format.bits()),
        SIDE_FLOAT_BITS,
    )
}
