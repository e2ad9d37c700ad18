//! How a replay compresses (`ef`, and the `stale` command): the compressor
//! of [`crate::compress::Compressor`] with its fraction, threshold, costs,
//! codebook or small float, the error feedback of [`Feedback`], the scope
//! and the bit model's position coding — as serde options
//! ([`CompressionOptions`], checked once by [`Validate`]), resolved with
//! their codebook and costs files read ([`Compression`]) into the
//! compressor factory of [`crate::compress::Run`].

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{OptionError, Validate};
use crate::compress::cwmp_costs::{parse_cost_map, tensor_costs, CostMap};
use crate::compress::{BitModel, Compressor, Feedback, PositionCoding, Scope};
use crate::quant::minifloat::{self, MiniFloat};
use crate::quant::Codebook;

/// The compressor of a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CompressorKind {
    Topk,
    Randk,
    Threshold,
    Cwmp,
    Codebook,
    /// Top-k, then the kept values through `codebook`.
    TopkCodebook,
    /// Top-k, then the kept values in `float` with one 32-bit scale per message.
    TopkFloat,
}

impl CompressorKind {
    /// The name of the options and of the output.
    pub fn name(self) -> &'static str {
        match self {
            CompressorKind::Topk => "topk",
            CompressorKind::Randk => "randk",
            CompressorKind::Threshold => "threshold",
            CompressorKind::Cwmp => "cwmp",
            CompressorKind::Codebook => "codebook",
            CompressorKind::TopkCodebook => "topk-codebook",
            CompressorKind::TopkFloat => "topk-float",
        }
    }
}

/// The small float format of `topk-float`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FloatKind {
    Fp8E4m3,
    Fp8E5m2,
    Fp4E2m1,
}

impl FloatKind {
    /// The format.
    pub fn format(self) -> MiniFloat {
        match self {
            FloatKind::Fp8E4m3 => minifloat::FP8_E4M3,
            FloatKind::Fp8E5m2 => minifloat::FP8_E5M2,
            FloatKind::Fp4E2m1 => minifloat::FP4_E2M1,
        }
    }
}

/// The error feedback of a replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeedbackKind {
    None,
    Full,
    /// The memory decays by `gamma` each step.
    Decay,
}

impl FeedbackKind {
    /// The feedback rule, decaying by `gamma` for [`FeedbackKind::Decay`].
    pub fn feedback(self, gamma: f64) -> Feedback {
        match self {
            FeedbackKind::None => Feedback::None,
            FeedbackKind::Full => Feedback::Full,
            FeedbackKind::Decay => Feedback::Decay { gamma },
        }
    }
}

/// How a replay compresses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompressionOptions {
    pub compressor: CompressorKind,
    /// Fraction of entries kept by top-k / rand-k, or of the total cost by
    /// cwmp, in (0, 1].
    pub k: f64,
    /// Hard threshold λ ≥ 0 of `threshold` (keep |p| ≥ λ).
    pub lambda: Option<f64>,
    /// CWMP costs file: JSON object {tensor: cost} or {tensor: [one cost per entry]}.
    pub costs: Option<PathBuf>,
    /// Codebook JSON file (as written by `quantize design`).
    pub codebook: Option<PathBuf>,
    /// Small float format of `topk-float`.
    pub float: FloatKind,
    /// Scale rand-k's kept entries by n/k (unbiased).
    pub unbiased: bool,
    pub feedback: FeedbackKind,
    /// Memory decay γ in [0, 1] of `feedback = "decay"`.
    pub gamma: f64,
    /// Compress all selected tensors as one vector (e.g. global top-k).
    pub global: bool,
    /// Position cost: `index` = min(k⌈log2 n⌉, n) bits, `entropy` = log2 C(n, k).
    pub positions: PositionCoding,
    /// Seed of rand-k.
    pub seed: u64,
}

impl Default for CompressionOptions {
    fn default() -> Self {
        CompressionOptions {
            compressor: CompressorKind::Topk,
            k: 0.01,
            lambda: None,
            costs: None,
            codebook: None,
            float: FloatKind::Fp8E4m3,
            unbiased: false,
            feedback: FeedbackKind::Full,
            gamma: 0.9,
            global: false,
            positions: PositionCoding::Index,
            seed: 0,
        }
    }
}

impl CompressionOptions {
    /// Whether the compressor keeps a fraction `k`.
    fn uses_k(&self) -> bool {
        use CompressorKind::*;
        matches!(
            self.compressor,
            Topk | Randk | Cwmp | TopkCodebook | TopkFloat
        )
    }

    /// Checks the options and reads the codebook and costs files.
    pub fn resolve(&self) -> Result<Compression, OptionError> {
        use CompressorKind::*;
        self.validate()?;
        let kind = self.compressor;
        let codebook = match (kind, &self.codebook) {
            (Codebook | TopkCodebook, Some(path)) => Some(read_codebook(path)?),
            _ => None,
        };
        let costs = match (kind, &self.costs) {
            (Cwmp, Some(path)) => Some((
                path.clone(),
                read_costs(path).map_err(|e| OptionError::new("costs", e))?,
            )),
            _ => None,
        };
        let feedback = self.feedback.feedback(self.gamma);
        let lambda = if kind == Threshold { self.lambda } else { None };
        let parameters = Parameters {
            k: self.uses_k().then_some(self.k),
            lambda,
            gamma: matches!(feedback, Feedback::Decay { .. }).then_some(self.gamma),
            unbiased: (kind == Randk).then_some(self.unbiased),
            codebook: self.codebook.as_ref().map(|p| p.display().to_string()),
            costs: self.costs.as_ref().map(|p| p.display().to_string()),
            float: (kind == TopkFloat).then_some(self.float.format()),
            global: self.global,
            positions: self.positions,
            seed: self.seed,
        };
        Ok(Compression {
            kind,
            feedback,
            positions: self.positions,
            scope: if self.global {
                Scope::Global
            } else {
                Scope::PerTensor
            },
            seed: self.seed,
            k: self.k,
            codebook,
            float: self.float.format(),
            costs,
            parameters,
        })
    }
}

impl Validate for CompressionOptions {
    fn validate(&self) -> Result<(), OptionError> {
        use CompressorKind::*;
        let kind = self.compressor;
        if self.uses_k() && !(self.k > 0.0 && self.k <= 1.0) {
            return Err(OptionError::new(
                "k",
                format!("must be a fraction in (0, 1], got {}", self.k),
            ));
        }
        match (kind, self.lambda) {
            (Threshold, None) => {
                return Err(OptionError::new(
                    "lambda",
                    "compressor 'threshold' needs a threshold",
                ))
            }
            (Threshold, Some(l)) if !(l.is_finite() && l >= 0.0) => {
                return Err(OptionError::new(
                    "lambda",
                    format!("must be finite and >= 0, got {l}"),
                ))
            }
            _ => {}
        }
        if self.feedback == FeedbackKind::Decay && !(0.0..=1.0).contains(&self.gamma) {
            return Err(OptionError::new(
                "gamma",
                format!("must be in [0, 1], got {}", self.gamma),
            ));
        }
        if matches!(kind, Codebook | TopkCodebook) && self.codebook.is_none() {
            return Err(OptionError::new(
                "codebook",
                format!("compressor '{}' needs a codebook file", kind.name()),
            ));
        }
        if kind == Cwmp && self.costs.is_none() {
            return Err(OptionError::new(
                "costs",
                "compressor 'cwmp' needs a costs file",
            ));
        }
        Ok(())
    }
}

/// The parameters echoed in an output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Parameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lambda: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unbiased: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codebook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub costs: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub float: Option<MiniFloat>,
    pub global: bool,
    pub positions: PositionCoding,
    pub seed: u64,
}

/// What the options resolve to, before the tensors are known.
pub struct Compression {
    pub kind: CompressorKind,
    pub feedback: Feedback,
    pub positions: PositionCoding,
    pub scope: Scope,
    pub seed: u64,
    k: f64,
    codebook: Option<Codebook>,
    float: MiniFloat,
    costs: Option<(PathBuf, CostMap)>,
    pub parameters: Parameters,
}

/// The most bytes of a codebook or cost table read: both are small text
/// files, and a larger one is not read into memory.
const MAX_TEXT_BYTES: u64 = 64 << 20;

/// A small text file's contents; a FIFO, device or directory is refused
/// before it is opened (so it cannot block), and so is a huge file.
fn read_text(path: &Path, what: &str) -> Result<String, String> {
    let cannot = |why: String| format!("cannot read {what} {}: {why}", path.display());
    let metadata = std::fs::metadata(path).map_err(|e| cannot(e.to_string()))?;
    if !metadata.is_file() {
        return Err(cannot("not a regular file".into()));
    }
    if metadata.len() > MAX_TEXT_BYTES {
        return Err(cannot(format!(
            "larger than {} MiB, not a text file gradrd reads",
            MAX_TEXT_BYTES >> 20
        )));
    }
    std::fs::read_to_string(path).map_err(|e| cannot(e.to_string()))
}

fn read_codebook(path: &Path) -> Result<Codebook, OptionError> {
    let text = read_text(path, "codebook").map_err(|e| OptionError::new("codebook", e))?;
    serde_json::from_str::<Codebook>(&text).map_err(|e| {
        OptionError::new(
            "codebook",
            format!("codebook {} is not a valid codebook: {e}", path.display()),
        )
    })
}

/// Reads a costs file (`compress::cwmp_costs`).
pub fn read_costs(path: &Path) -> Result<CostMap, String> {
    let text = read_text(path, "costs")?;
    parse_cost_map(&text).map_err(|e| {
        format!(
            "costs {}: expected a JSON object {{tensor: cost}} or {{tensor: [cost per entry]}}: {e}",
            path.display()
        )
    })
}

impl Compression {
    /// The bit model of a replay whose values cost `value_bits` each at full
    /// precision (the widest stored width of its tensors).
    pub fn bit_model(&self, value_bits: f64) -> BitModel {
        BitModel {
            positions: self.positions,
            value_bits,
        }
    }

    /// Per-entry costs of every tensor, checked against the selection.
    fn tensor_costs(&self, names: &[String], sizes: &[usize]) -> Result<Vec<Vec<f64>>, String> {
        let Some((path, map)) = &self.costs else {
            return Ok(Vec::new());
        };
        names
            .iter()
            .zip(sizes)
            .map(|(name, &n)| {
                tensor_costs(map, name, n).map_err(|e| format!("costs {}: {e}", path.display()))
            })
            .collect()
    }

    /// The compressor factory of a run over tensors `names` with `sizes`;
    /// `Err` when the costs do not cover them.
    pub fn factory(
        &self,
        names: &[String],
        sizes: &[usize],
    ) -> Result<impl FnMut(usize, usize) -> Compressor + '_, String> {
        let costs = self.tensor_costs(names, sizes)?;
        let (k, lambda) = (self.k, self.parameters.lambda.unwrap_or(0.0));
        let codebook = || self.codebook.clone().expect("read in resolve");
        Ok(move |unit: usize, _n: usize| match self.kind {
            CompressorKind::Topk => Compressor::TopK { fraction: k },
            CompressorKind::Randk => Compressor::RandK {
                fraction: k,
                unbiased: self.parameters.unbiased.unwrap_or(false),
            },
            CompressorKind::Threshold => Compressor::Threshold { lambda },
            CompressorKind::Cwmp => Compressor::Cwmp {
                fraction: k,
                costs: match self.scope {
                    Scope::PerTensor => costs[unit].clone(),
                    Scope::Global => costs.concat(),
                },
            },
            CompressorKind::Codebook => Compressor::Codebook(codebook()),
            CompressorKind::TopkCodebook => Compressor::TopKCodebook {
                fraction: k,
                codebook: codebook(),
            },
            CompressorKind::TopkFloat => Compressor::TopKFloat {
                fraction: k,
                format: self.float,
            },
        })
    }
}
