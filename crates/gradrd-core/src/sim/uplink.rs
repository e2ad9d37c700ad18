//! What a client sends: its update `u` after a sparsifier and a scalar
//! quantizer, layer by layer, with the bits counted from the real coded
//! message.
//!
//! ```text
//! kept     topk:      per layer, the k = ⌈f·n⌉ largest |u_i| (compress::top_k_indices;
//!                     all when f = 1)
//!          randk:     per layer, k = ⌈f·n⌉ positions drawn uniformly
//!                     (compress::rand_k_indices, unscaled: error feedback carries
//!                     the rest; Stich, Cordonnier & Jaggi, NeurIPS 2018); the
//!                     server redraws them from the message's 64-bit seed, so no
//!                     positions are sent
//!          threshold: per layer, every |u_i| ≥ λ (compress::threshold_indices), a
//!                     number of entries that varies from message to message
//!          cwmp:      across the layers of the whole update, cost-weighted
//!                     magnitude pruning (compress::cwmp_indices): the entries in
//!                     decreasing order of |u_i| / c_i, the longest prefix whose
//!                     cost Σ c_i stays within f · Σ_all c_i. With equal costs it
//!                     is top-k of the concatenated update with k = ⌊f·n⌋; an
//!                     expensive layer gives way to cheaper ones
//! values   none:      u_i at full precision, counted as 32-bit floats (the
//!                     simulator computes in f64; `none` is the uncompressed
//!                     reference, so it does not round)
//!          baseline:  a quant::baseline scheme on the kept values (uniform,
//!                     int8, FP8, FP4, TinyScript), its real coded size
//!                     (ANS-coded symbols + its side information)
//!          m22:       a GenNorm or double Weibull fitted by maximum likelihood
//!                     to the kept non-zero values (loc = 0), the M-weighted
//!                     Lloyd-Max codebook of 2^b levels designed on the fit,
//!                     the kept values coded with it: ANS-coded indices plus
//!                     the codebook sent (L centers and the scale, 32 bits each).
//!                     Centers beyond the largest kept magnitude `a` are
//!                     clipped to ±a: with M > 0 and a heavy-tailed fit (small
//!                     GenNorm β) the outer center `E[|X|^M X | X > t] / E[|X|^M | X > t]`
//!                     of the fitted density can lie orders of magnitude
//!                     beyond every value sent, and training diverges.
//!                     A message with fewer than [`M22_MIN_VALUES`] non-zero
//!                     kept values (a tiny layer, such as the teacher/student
//!                     `v`) has too little to fit: its values go as 32-bit
//!                     floats, as with `none`
//!          codebook:  a fixed codebook per layer that both sides hold (one
//!                     written by `gradrd quantize design`, design/formats.md):
//!                     index = bucketize(u_i / scale, thresholds), decoded
//!                     centers[index] · scale; ANS-coded indices, no codebook
//!                     sent. Its scale is the one it carries (a DDP hook with a
//!                     fixed codebook does the same), or with rescale = rms
//!                     scale · rms(kept) / rms(design), the codebook stretched
//!                     to the message's magnitude; that scale is sent (32 bits,
//!                     used as f32 on both sides; the carried scale when every
//!                     kept value is 0)
//! bits     values + positions (quant::coding::encode_positions per layer; none
//!          when every entry of the layer is kept; the 64-bit seed for randk)
//! ```

use std::borrow::Cow;
use std::ops::Range;

use serde::Serialize;

use crate::compress::cwmp_costs::{tensor_costs, CostMap, CostsError};
use crate::compress::sparsify::check_costs;
use crate::compress::{
    cwmp_indices, fraction_to_count, rand_k_indices, threshold_indices, top_k_indices,
    CompressError, SplitMix64,
};
use crate::dist::FamilyKind;
use crate::fit::{fit, FitError, FitOptions, LocMode};
use crate::quant::baseline::{self, BaselineError, BaselineKind, BaselineOptions};
use crate::quant::coding::{self, CodingError};
use crate::quant::export::CodebookDocument;
use crate::quant::lloyd::design_for_density;
use crate::quant::{Codebook, CodebookError, DesignSpec, LloydOptions, QuantError};

/// Fewest non-zero kept values an m22 message fits a density to.
pub const M22_MIN_VALUES: usize = 8;

/// Bits of the scale a rescaled fixed-codebook message carries.
pub const RESCALE_BITS: u64 = 32;

/// A codebook both sides hold, and the RMS of what it was designed for
/// (`quant::export::CodebookDocument::design_rms`), if known.
#[derive(Debug, Clone, PartialEq)]
pub struct FixedCodebook {
    pub codebook: Codebook,
    pub design_rms: Option<f64>,
}

/// How a fixed codebook's scale meets an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rescale {
    /// The codebook's own scale.
    None,
    /// `scale · rms(kept values) / design_rms`, sent with the message.
    Rms,
}

/// The scalar quantizer applied to the kept values.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Quantizer {
    /// Full-precision values, counted at 32 bits each.
    None,
    /// A `quant::baseline` scheme at `bits` (the bit width of uniform and
    /// TinyScript; int8, FP8 and FP4 have their own).
    Baseline {
        #[serde(serialize_with = "baseline_name")]
        scheme: BaselineKind,
        bits: u32,
    },
    /// The M22 pipeline: fit `family`, design the `m`-weighted Lloyd-Max
    /// codebook of `2^bits` levels.
    M22 {
        family: FamilyKind,
        m: f64,
        bits: u32,
    },
    /// A fixed codebook per layer, in layer order.
    Codebook {
        #[serde(skip)]
        codebooks: Vec<FixedCodebook>,
        rescale: Rescale,
    },
}

fn baseline_name<S: serde::Serializer>(kind: &BaselineKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.name())
}

/// Which entries of an update are sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind")]
pub enum Keep {
    /// The `⌈fraction·n⌉` largest magnitudes of each layer.
    #[serde(rename = "topk")]
    TopK { fraction: f64 },
    /// `⌈fraction·n⌉` uniformly random positions of each layer (unscaled).
    #[serde(rename = "randk")]
    RandK { fraction: f64 },
    /// Every entry with `|u_i| ≥ lambda`.
    #[serde(rename = "threshold")]
    Threshold { lambda: f64 },
    /// Cost-weighted magnitude pruning across layers within `fraction` of
    /// the total cost; `costs` has one cost per parameter.
    #[serde(rename = "cwmp")]
    Cwmp {
        fraction: f64,
        #[serde(skip)]
        costs: Vec<f64>,
    },
}

/// Bits of the seed a rand-k message carries instead of its positions.
pub const RAND_K_SEED_BITS: u64 = 64;

/// The uplink compressor: the entries kept and the quantizer of their values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Uplink {
    pub keep: Keep,
    pub quantizer: Quantizer,
}

/// A model's layers: names and ranges in the parameter vector, in order.
pub type Layers = [(&'static str, Range<usize>)];

/// Why a message could not be formed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UplinkError {
    #[error("topk/randk/cwmp must be a fraction in (0, 1], got {0}")]
    Fraction(f64),
    #[error("threshold λ must be finite and >= 0, got {0}")]
    Threshold(f64),
    #[error("quantizer {0} sparsifies or sketches by itself and is not an uplink quantizer; use --topk with a dense quantizer")]
    NotDense(&'static str),
    #[error("{name}: bits must be an integer from 1 to 16, got {bits}")]
    Bits { name: &'static str, bits: u32 },
    #[error("m must be finite and >= 0, got {0}")]
    WeightExponent(f64),
    #[error("cwmp: {0}")]
    Costs(CompressError),
    #[error("{count} codebook(s) for {layers} layer(s)")]
    Codebooks { count: usize, layers: usize },
    #[error("no codebook for layer '{layer}' (the file has {available}; one codebook applies to every layer, several are matched to the layers by their tensor names)")]
    NoCodebook {
        layer: &'static str,
        available: String,
    },
    #[error("{count} codebooks for layer '{layer}' (keep one per layer, e.g. one M of a sweep)")]
    SeveralCodebooks { layer: &'static str, count: usize },
    #[error("the codebook of layer '{0}' has no design model or samples to rescale from (its family is neither a known one with parameters nor 'empirical')")]
    NoDesignRms(&'static str),
    // Causes in the message, not `#[source]` (a `{:#}` chain would repeat them).
    #[error("codebook rescale: {0}")]
    Rescale(CodebookError),
    #[error("m22 fit: {0}")]
    Fit(FitError),
    #[error("m22 design: {0}")]
    Design(QuantError),
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error(transparent)]
    Coding(#[from] CodingError),
}

impl From<FitError> for UplinkError {
    fn from(error: FitError) -> Self {
        UplinkError::Fit(error)
    }
}

impl From<QuantError> for UplinkError {
    fn from(error: QuantError) -> Self {
        UplinkError::Design(error)
    }
}

/// An uplink error in one layer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("layer {layer}: {error}")]
pub struct LayerError {
    pub layer: &'static str,
    pub error: UplinkError,
}

/// A decoded message and its size.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// What the server reconstructs, dense.
    pub decoded: Vec<f64>,
    /// Coded size in bits (values, side information, positions).
    pub bits: u64,
}

impl Uplink {
    /// Checks the settings before any training.
    pub fn validate(&self) -> Result<(), UplinkError> {
        match &self.keep {
            Keep::TopK { fraction } | Keep::RandK { fraction } | Keep::Cwmp { fraction, .. } => {
                if !(*fraction > 0.0 && *fraction <= 1.0) {
                    return Err(UplinkError::Fraction(*fraction));
                }
            }
            Keep::Threshold { lambda } => {
                if !(lambda.is_finite() && *lambda >= 0.0) {
                    return Err(UplinkError::Threshold(*lambda));
                }
            }
        }
        let check_bits = |name, bits: u32| {
            if (1..=crate::quant::MAX_BITS).contains(&bits) {
                Ok(())
            } else {
                Err(UplinkError::Bits { name, bits })
            }
        };
        match self.quantizer {
            Quantizer::None | Quantizer::Codebook { .. } => Ok(()),
            Quantizer::Baseline { scheme, bits } => match scheme {
                BaselineKind::TopkFp8
                | BaselineKind::TopkFp4
                | BaselineKind::CountSketch
                | BaselineKind::M22 => Err(UplinkError::NotDense(scheme.name())),
                BaselineKind::UniformMinMax
                | BaselineKind::UniformOpt
                | BaselineKind::TinyScript => check_bits(scheme.name(), bits),
                BaselineKind::Int8
                | BaselineKind::Fp8E4M3
                | BaselineKind::Fp8E5M2
                | BaselineKind::Fp4E2M1 => Ok(()),
            },
            Quantizer::M22 { m, bits, .. } => {
                if !(m.is_finite() && m >= 0.0) {
                    return Err(UplinkError::WeightExponent(m));
                }
                check_bits("m22", bits)
            }
        }
    }

    /// Checks the per-parameter costs and per-layer codebooks against the
    /// model's `layers`.
    pub fn check_layers(&self, layers: &Layers) -> Result<(), UplinkError> {
        if let Keep::Cwmp { costs, .. } = &self.keep {
            let n = layers.last().map_or(0, |(_, range)| range.end);
            check_costs(costs, n).map_err(UplinkError::Costs)?;
        }
        if let Quantizer::Codebook { codebooks, rescale } = &self.quantizer {
            if codebooks.len() != layers.len() {
                return Err(UplinkError::Codebooks {
                    count: codebooks.len(),
                    layers: layers.len(),
                });
            }
            if *rescale == Rescale::Rms {
                if let Some(((name, _), _)) = layers
                    .iter()
                    .zip(codebooks)
                    .find(|(_, book)| book.design_rms.is_none())
                {
                    return Err(UplinkError::NoDesignRms(name));
                }
            }
        }
        Ok(())
    }

    /// Compresses the update `u` of a model with `layers` (checked by
    /// [`Uplink::check_layers`]); `seed(layer)` drives rand-k's draw in that
    /// layer (the server gets it with the message).
    pub fn compress(
        &self,
        u: &[f64],
        layers: &Layers,
        seed: impl Fn(usize) -> u64,
    ) -> Result<Message, LayerError> {
        // cwmp selects across the layers, once for the whole update
        let across = match &self.keep {
            Keep::Cwmp { fraction, costs } => cwmp_indices(u, costs, *fraction),
            _ => Vec::new(),
        };
        let mut decoded = vec![0.0; u.len()];
        let mut bits = 0;
        for (layer, (name, range)) in layers.iter().enumerate() {
            let part = &u[range.clone()];
            let n = part.len();
            let kept = match &self.keep {
                Keep::TopK { fraction } => top_k_indices(part, fraction_to_count(*fraction, n)),
                Keep::RandK { fraction } => rand_k_indices(
                    n,
                    fraction_to_count(*fraction, n),
                    &mut SplitMix64::new(seed(layer)),
                ),
                Keep::Threshold { lambda } => threshold_indices(part, *lambda),
                Keep::Cwmp { .. } => {
                    let first = across.partition_point(|&i| i < range.start);
                    let last = across.partition_point(|&i| i < range.end);
                    across[first..last]
                        .iter()
                        .map(|i| i - range.start)
                        .collect()
                }
            };
            let message = self
                .send(part, &kept, layer)
                .map_err(|error| LayerError { layer: name, error })?;
            decoded[range.clone()].copy_from_slice(&message.decoded);
            bits += message.bits;
        }
        Ok(Message { decoded, bits })
    }

    /// The message of one layer's update `u` with its `kept` entries.
    fn send(&self, u: &[f64], kept: &[usize], layer: usize) -> Result<Message, UplinkError> {
        let n = u.len();
        let position_bits = if kept.len() == n {
            0
        } else if matches!(self.keep, Keep::RandK { .. }) {
            RAND_K_SEED_BITS
        } else {
            coding::encode_positions(n, kept)?.total_bits()
        };
        let values: Vec<f64> = kept.iter().map(|&i| u[i]).collect();
        let (decoded_values, value_bits) = self.quantize(&values, layer)?;
        let mut decoded = vec![0.0; n];
        for (&i, v) in kept.iter().zip(decoded_values) {
            decoded[i] = v;
        }
        Ok(Message {
            decoded,
            bits: value_bits + position_bits,
        })
    }

    fn quantize(&self, values: &[f64], layer: usize) -> Result<(Vec<f64>, u64), UplinkError> {
        if values.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let uncompressed = || Ok((values.to_vec(), 32 * values.len() as u64));
        let (kind, options) = match &self.quantizer {
            Quantizer::None => return uncompressed(),
            Quantizer::Codebook { codebooks, rescale } => {
                return fixed_codebook(&codebooks[layer], *rescale, values)
            }
            Quantizer::Baseline { scheme, bits } => (
                *scheme,
                BaselineOptions {
                    rate: f64::from(*bits),
                    ..BaselineOptions::default()
                },
            ),
            Quantizer::M22 { family, m, bits } => {
                let non_zero: Vec<f64> = values.iter().copied().filter(|v| *v != 0.0).collect();
                if non_zero.len() < M22_MIN_VALUES {
                    return uncompressed();
                }
                let options = FitOptions {
                    loc: LocMode::Fixed(0.0),
                    ..FitOptions::default()
                };
                let fitted = fit(*family, &non_zero, &options)?;
                let spec = DesignSpec::from_bits(*bits, *m, false)?;
                let design = design_for_density(&fitted.model, &spec, &LloydOptions::default())?;
                (
                    BaselineKind::M22,
                    BaselineOptions {
                        rate: f64::from(*bits),
                        m: *m,
                        codebook: Some(clip_centers(design.codebook, values)?),
                        ..BaselineOptions::default()
                    },
                )
            }
        };
        let evaluation = baseline::evaluate(kind, values, &options)?;
        // coded_bits is per entry over the values: back to the exact total
        let bits = (evaluation.result.coded_bits * values.len() as f64).round() as u64;
        Ok((evaluation.decoded, bits))
    }
}

/// The per-parameter costs of `map` (a costs file, `compress::cwmp_costs`)
/// over the model's `layers`, in parameter order.
pub fn layer_costs(map: &CostMap, layers: &Layers) -> Result<Vec<f64>, CostsError> {
    let mut costs = Vec::new();
    for (name, range) in layers {
        costs.extend(tensor_costs(map, name, range.len())?);
    }
    Ok(costs)
}

/// One codebook per layer from the documents of a codebook file: a single
/// codebook applies to every layer; several are matched to the layers by
/// their `tensor` names (a layer without one, or with several, is an error).
pub fn layer_codebooks(
    documents: &[(CodebookDocument, Codebook)],
    layers: &Layers,
) -> Result<Vec<FixedCodebook>, UplinkError> {
    let fixed = |(doc, codebook): &(CodebookDocument, Codebook)| FixedCodebook {
        codebook: codebook.clone(),
        design_rms: doc.design_rms(),
    };
    if let [only] = documents {
        return Ok(vec![fixed(only); layers.len()]);
    }
    layers
        .iter()
        .map(|(layer, _)| {
            let mut matching = documents
                .iter()
                .filter(|(doc, _)| doc.tensor.as_deref() == Some(*layer));
            match (matching.next(), matching.count()) {
                (Some(found), 0) => Ok(fixed(found)),
                (Some(_), more) => Err(UplinkError::SeveralCodebooks {
                    layer,
                    count: more + 1,
                }),
                (None, _) => Err(UplinkError::NoCodebook {
                    layer,
                    available: available_tensors(documents),
                }),
            }
        })
        .collect()
}

/// `tensors 'a', 'b'` (or how many codebooks have no tensor name).
fn available_tensors(documents: &[(CodebookDocument, Codebook)]) -> String {
    let names: Vec<String> = documents
        .iter()
        .filter_map(|(doc, _)| doc.tensor.as_ref().map(|t| format!("'{t}'")))
        .collect();
    let unnamed = documents.len() - names.len();
    match (names.is_empty(), unnamed) {
        (false, 0) => format!("tensors {}", names.join(", ")),
        (false, u) => format!("tensors {} and {u} unnamed", names.join(", ")),
        (true, u) => format!("{u} codebooks without tensor names"),
    }
}

/// The non-empty `values` coded with a fixed codebook (see the module docs):
/// decoded values and bits (ANS-coded indices, the scale when rescaled).
fn fixed_codebook(
    book: &FixedCodebook,
    rescale: Rescale,
    values: &[f64],
) -> Result<(Vec<f64>, u64), UplinkError> {
    let (codebook, side_bits) = match (rescale, book.design_rms) {
        (Rescale::None, _) => (Cow::Borrowed(&book.codebook), 0),
        (Rescale::Rms, design_rms) => {
            let rms = (values.iter().map(|v| v * v).sum::<f64>() / values.len() as f64).sqrt();
            // check_layers guarantees the design RMS under Rescale::Rms
            let design_rms = design_rms.unwrap_or(rms);
            let codebook = if rms > 0.0 {
                let scale = (book.codebook.scale() * rms / design_rms) as f32;
                Cow::Owned(
                    book.codebook
                        .with_scale(f64::from(scale))
                        .map_err(UplinkError::Rescale)?,
                )
            } else {
                Cow::Borrowed(&book.codebook)
            };
            (codebook, RESCALE_BITS)
        }
    };
    let (symbols, decoded) = codebook.encode_all(values);
    let index_bits = coding::coded_bits(&symbols, codebook.levels() as u32)?;
    Ok((decoded, index_bits + side_bits))
}

/// The codebook with its centers clipped to `±max |values|`.
fn clip_centers(codebook: Codebook, values: &[f64]) -> Result<Codebook, QuantError> {
    let limit = values.iter().fold(0.0f64, |a, v| a.max(v.abs())) / codebook.scale();
    let centers = codebook
        .centers()
        .iter()
        .map(|c| c.clamp(-limit, limit))
        .collect();
    Ok(Codebook::new(
        codebook.thresholds().to_vec(),
        centers,
        codebook.scale(),
        codebook.m(),
        codebook.zero_level(),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `u` as the update of a model with one layer.
    fn one_layer(up: &Uplink, u: &[f64], seed: u64) -> Result<Message, LayerError> {
        up.compress(u, &[("w", 0..u.len())], |_| seed)
    }

    fn ramp(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0 + 1e-3 * i as f64)
            .collect()
    }

    #[test]
    fn uncompressed_message_is_the_update_at_32_bits_per_entry() {
        let u = ramp(50);
        let up = Uplink {
            keep: Keep::TopK { fraction: 1.0 },
            quantizer: Quantizer::None,
        };
        let msg = one_layer(&up, &u, 0).unwrap();
        assert_eq!(msg.bits, 32 * 50);
        assert_eq!(msg.decoded, u);
    }

    #[test]
    fn top_k_sends_the_largest_entries_and_their_positions() {
        let u = ramp(200);
        let up = Uplink {
            keep: Keep::TopK { fraction: 0.05 },
            quantizer: Quantizer::None,
        };
        let msg = one_layer(&up, &u, 0).unwrap();
        let kept = top_k_indices(&u, 10);
        let positions = coding::encode_positions(200, &kept).unwrap().total_bits();
        assert_eq!(msg.bits, 32 * 10 + positions);
        let nonzero: Vec<usize> = (0..200).filter(|&i| msg.decoded[i] != 0.0).collect();
        assert_eq!(nonzero, kept);
    }

    #[test]
    fn rand_k_sends_random_positions_as_a_seed() {
        let u = ramp(200);
        let up = Uplink {
            keep: Keep::RandK { fraction: 0.1 },
            quantizer: Quantizer::None,
        };
        let msg = one_layer(&up, &u, 7).unwrap();
        assert_eq!(msg.bits, 32 * 20 + RAND_K_SEED_BITS);
        let sent: Vec<usize> = (0..200).filter(|&i| msg.decoded[i] != 0.0).collect();
        // The server redraws the same positions from the seed; values unscaled.
        assert_eq!(sent, rand_k_indices(200, 20, &mut SplitMix64::new(7)));
        assert!(sent.iter().all(|&i| msg.decoded[i] == u[i]));
        let other = one_layer(&up, &u, 8).unwrap();
        assert_ne!(
            msg.decoded, other.decoded,
            "another seed draws other positions"
        );
        assert_ne!(sent, top_k_indices(&u, 20));
    }

    #[test]
    fn hard_threshold_sends_every_entry_at_least_lambda() {
        let u = ramp(200);
        let lambda = 0.9;
        let up = Uplink {
            keep: Keep::Threshold { lambda },
            quantizer: Quantizer::None,
        };
        let msg = one_layer(&up, &u, 0).unwrap();
        let kept: Vec<usize> = (0..200).filter(|&i| u[i].abs() >= lambda).collect();
        assert!(!kept.is_empty() && kept.len() < 200);
        let positions = coding::encode_positions(200, &kept).unwrap().total_bits();
        assert_eq!(msg.bits, 32 * kept.len() as u64 + positions);
        let sent: Vec<usize> = (0..200).filter(|&i| msg.decoded[i] != 0.0).collect();
        assert_eq!(sent, kept);
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let up = Uplink {
                keep: Keep::Threshold { lambda: bad },
                quantizer: Quantizer::None,
            };
            assert!(matches!(up.validate(), Err(UplinkError::Threshold(_))));
        }
        let up = Uplink {
            keep: Keep::RandK { fraction: 0.0 },
            quantizer: Quantizer::None,
        };
        assert!(matches!(up.validate(), Err(UplinkError::Fraction(_))));
    }

    #[test]
    fn m22_codes_with_the_designed_codebook_and_counts_it() {
        let u = ramp(400);
        let up = Uplink {
            keep: Keep::TopK { fraction: 1.0 },
            quantizer: Quantizer::M22 {
                family: FamilyKind::GenNorm,
                m: 1.0,
                bits: 3,
            },
        };
        let msg = one_layer(&up, &u, 0).unwrap();
        let distinct = {
            let mut d: Vec<u64> = msg.decoded.iter().map(|v| v.to_bits()).collect();
            d.sort_unstable();
            d.dedup();
            d.len()
        };
        assert!(distinct <= 8, "{distinct} levels");
        // at least the codebook (9 floats) and fewer than 3 bits per entry + header
        assert!(
            msg.bits > 9 * 32 && msg.bits < 9 * 32 + 3 * 400 + 200,
            "{}",
            msg.bits
        );
    }

    #[test]
    fn m22_centers_never_exceed_the_largest_value_sent() {
        // heavy tails: a GenNorm fit with a small β, whose M = 2 outer
        // centers lie far beyond the sample maximum
        let u: Vec<f64> = (1..=400)
            .map(|i| {
                let p = i as f64 / 401.0;
                let magnitude = (-(1.0 - p).ln()).powi(4) * 1e-3;
                if i % 2 == 0 {
                    magnitude
                } else {
                    -magnitude
                }
            })
            .collect();
        let largest = u.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        let up = Uplink {
            keep: Keep::TopK { fraction: 1.0 },
            quantizer: Quantizer::M22 {
                family: FamilyKind::GenNorm,
                m: 2.0,
                bits: 3,
            },
        };
        let msg = one_layer(&up, &u, 0).unwrap();
        let decoded_max = msg.decoded.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        assert!(
            decoded_max <= largest * (1.0 + 1e-12),
            "{decoded_max} > {largest}"
        );
        // the clip is active here: the unclipped design reaches beyond
        let fitted = fit(
            FamilyKind::GenNorm,
            &u,
            &FitOptions {
                loc: LocMode::Fixed(0.0),
                ..FitOptions::default()
            },
        )
        .unwrap();
        let design = design_for_density(
            &fitted.model,
            &DesignSpec::from_bits(3, 2.0, false).unwrap(),
            &LloydOptions::default(),
        )
        .unwrap();
        let outer = design.codebook.centers()[7] * design.codebook.scale();
        assert!(outer > largest, "outer center {outer} vs {largest}");
    }

    #[test]
    fn m22_sends_too_few_values_for_a_fit_uncompressed() {
        let u = [0.5, -0.25, 0.0, 0.125, 2.0, -1.0, 0.75];
        let up = Uplink {
            keep: Keep::TopK { fraction: 1.0 },
            quantizer: Quantizer::M22 {
                family: FamilyKind::GenNorm,
                m: 2.0,
                bits: 2,
            },
        };
        let msg = one_layer(&up, &u, 0).unwrap();
        assert_eq!(msg.decoded, u.to_vec());
        assert_eq!(msg.bits, 7 * 32);
    }

    #[test]
    fn rates_the_quantizer_cannot_meet_are_refused() {
        let bad = [
            Uplink {
                keep: Keep::TopK { fraction: 0.0 },
                quantizer: Quantizer::None,
            },
            Uplink {
                keep: Keep::TopK { fraction: 1.0 },
                quantizer: Quantizer::M22 {
                    family: FamilyKind::GenNorm,
                    m: 0.0,
                    bits: 17,
                },
            },
            Uplink {
                keep: Keep::TopK { fraction: 1.0 },
                quantizer: Quantizer::Baseline {
                    scheme: BaselineKind::UniformMinMax,
                    bits: 0,
                },
            },
            Uplink {
                keep: Keep::TopK { fraction: 1.0 },
                quantizer: Quantizer::Baseline {
                    scheme: BaselineKind::CountSketch,
                    bits: 4,
                },
            },
        ];
        for up in bad {
            assert!(up.validate().is_err(), "{up:?}");
        }
    }
}

#[cfg(test)]
mod across_layers {
    use super::*;
    use crate::quant::lloyd::design_for_density;

    fn layers() -> [(&'static str, Range<usize>); 2] {
        [("a", 0..150), ("b", 150..200)]
    }

    /// Layer a in [0.01, 0.5], layer b in [1, 2], no ties.
    fn update() -> Vec<f64> {
        (0..200)
            .map(|i| {
                let x = ((i * 53) % 200) as f64 / 200.0;
                let sign = if i % 3 == 0 { -1.0 } else { 1.0 };
                sign * if i < 150 { 0.01 + 0.49 * x } else { 1.0 + x }
            })
            .collect()
    }

    fn cwmp(fraction: f64, costs: Vec<f64>) -> Uplink {
        Uplink {
            keep: Keep::Cwmp { fraction, costs },
            quantizer: Quantizer::None,
        }
    }

    fn sent(msg: &Message) -> Vec<usize> {
        (0..msg.decoded.len())
            .filter(|&i| msg.decoded[i] != 0.0)
            .collect()
    }

    fn position_bits(n: usize, kept: &[usize]) -> u64 {
        if kept.len() == n {
            0
        } else {
            coding::encode_positions(n, kept).unwrap().total_bits()
        }
    }

    #[test]
    fn with_equal_costs_cwmp_is_top_k_of_the_concatenated_update() {
        let u = update();
        for fraction in [0.01, 0.1, 0.37, 1.0] {
            let up = cwmp(fraction, vec![1.5; 200]);
            up.check_layers(&layers()).unwrap();
            let msg = up.compress(&u, &layers(), |_| 0).unwrap();
            // budget f · 200 · 1.5 buys ⌊f · 200⌋ entries
            let k = (fraction * 200.0).floor() as usize;
            let expected = top_k_indices(&u, k);
            assert_eq!(sent(&msg), expected, "f = {fraction}");
            assert!(expected.iter().all(|&i| msg.decoded[i] == u[i]));
            // values at 32 bits, positions coded per layer
            let (in_a, in_b): (Vec<usize>, Vec<usize>) = expected.iter().partition(|&&i| i < 150);
            let in_b: Vec<usize> = in_b.iter().map(|i| i - 150).collect();
            assert_eq!(
                msg.bits,
                32 * k as u64 + position_bits(150, &in_a) + position_bits(50, &in_b),
                "f = {fraction}"
            );
        }
    }

    #[test]
    fn an_expensive_layer_gives_way_to_a_cheap_one() {
        let u = update();
        // top-k by magnitude would send layer b first ...
        assert!(top_k_indices(&u, 20).iter().all(|&i| i >= 150));
        // ... but at 1000 per entry its best ratio 2/1000 is below layer a's
        // worst 0.01: the budget 0.003 · (150 + 50 000) = 150.45 buys all of a
        let costs = [vec![1.0; 150], vec![1000.0; 50]].concat();
        let msg = cwmp(0.003, costs).compress(&u, &layers(), |_| 0).unwrap();
        assert_eq!(&msg.decoded[..150], &u[..150]);
        assert!(msg.decoded[150..].iter().all(|&v| v == 0.0));
        assert_eq!(msg.bits, 32 * 150 + position_bits(50, &[]));
    }

    #[test]
    fn costs_must_cover_every_parameter() {
        let err = cwmp(0.5, vec![1.0; 199])
            .check_layers(&layers())
            .unwrap_err();
        assert!(
            err.to_string().contains("199 cost(s) for 200 entries"),
            "{err}"
        );
        let mut costs = vec![1.0; 200];
        costs[7] = 0.0;
        assert!(matches!(
            cwmp(0.5, costs).check_layers(&layers()),
            Err(UplinkError::Costs(CompressError::Cost { index: 7, .. }))
        ));
        assert!(matches!(
            cwmp(0.0, vec![1.0; 200]).validate(),
            Err(UplinkError::Fraction(_))
        ));
    }

    /// The 2-bit minimum-MSE codebook of a standard Laplace (scale 1).
    fn laplace_book() -> FixedCodebook {
        let source = crate::dist::Laplace::new(0.0, 1.0).unwrap();
        let spec = DesignSpec::from_bits(2, 0.0, false).unwrap();
        let design = design_for_density(&source, &spec, &LloydOptions::default()).unwrap();
        FixedCodebook {
            codebook: design.codebook,
            // E[X²] = 2 b² for Laplace(0, b)
            design_rms: Some(2f64.sqrt()),
        }
    }

    fn with_codebook(rescale: Rescale, fraction: f64) -> Uplink {
        Uplink {
            keep: Keep::TopK { fraction },
            quantizer: Quantizer::Codebook {
                codebooks: vec![laplace_book(), laplace_book()],
                rescale,
            },
        }
    }

    #[test]
    fn a_fixed_codebook_codes_the_kept_values_with_its_own_scale() {
        let u = update();
        let up = with_codebook(Rescale::None, 0.2);
        up.check_layers(&layers()).unwrap();
        let msg = up.compress(&u, &layers(), |_| 0).unwrap();
        let book = laplace_book().codebook;
        let mut expected_bits = 0;
        for (_, range) in layers() {
            let part = &u[range.clone()];
            let kept = top_k_indices(part, fraction_to_count(0.2, part.len()));
            let values: Vec<f64> = kept.iter().map(|&i| part[i]).collect();
            let symbols: Vec<u32> = values.iter().map(|&v| book.encode(v) as u32).collect();
            for (&i, &v) in kept.iter().zip(&values) {
                assert_eq!(msg.decoded[range.start + i], book.quantize(v));
            }
            // indices ANS-coded, positions, and no codebook
            expected_bits +=
                coding::coded_bits(&symbols, 4).unwrap() + position_bits(part.len(), &kept);
        }
        assert_eq!(msg.bits, expected_bits);
        let levels: std::collections::BTreeSet<u64> = msg
            .decoded
            .iter()
            .filter(|v| **v != 0.0)
            .map(|v| v.to_bits())
            .collect();
        assert!(levels.len() <= 4, "{levels:?}");
    }

    #[test]
    fn rms_rescaling_follows_the_magnitude_of_the_update() {
        let u = update();
        let tiny: Vec<f64> = u.iter().map(|v| v * 1e-4).collect();
        let plain = with_codebook(Rescale::None, 1.0);
        let rescaled = with_codebook(Rescale::Rms, 1.0);
        let at = |up: &Uplink, u: &[f64]| up.compress(u, &layers(), |_| 0).unwrap();
        // the fixed scale puts every tiny value into the two inner cells
        let inner = laplace_book().codebook.quantize(1e-12);
        assert!(at(&plain, &tiny)
            .decoded
            .iter()
            .all(|v| v.abs() == inner.abs()));
        // rescaled, the message is the same up to the factor (and f32 scales)
        let (big, small) = (at(&rescaled, &u), at(&rescaled, &tiny));
        for (b, s) in big.decoded.iter().zip(&small.decoded) {
            gradrd_testkit::assert_close(*s, b * 1e-4, 1e-6, 0.0);
        }
        assert_eq!(big.bits, small.bits);
        // the scale travels: 32 bits per layer more than the same cells unscaled
        let symbols = |range: Range<usize>, scale: f64| -> Vec<u32> {
            let book = laplace_book().codebook.with_scale(scale).unwrap();
            u[range].iter().map(|&v| book.encode(v) as u32).collect()
        };
        let mut expected = 0;
        for (_, range) in layers() {
            let part = &u[range.clone()];
            let rms = (part.iter().map(|v| v * v).sum::<f64>() / part.len() as f64).sqrt();
            let scale = f64::from((rms / 2f64.sqrt()) as f32);
            expected += coding::coded_bits(&symbols(range, scale), 4).unwrap() + RESCALE_BITS;
        }
        assert_eq!(big.bits, expected);
    }

    fn document(tensor: Option<&str>) -> (CodebookDocument, Codebook) {
        let design = design_for_density(
            &crate::dist::Laplace::new(0.0, 1.0).unwrap(),
            &DesignSpec::from_bits(2, 0.0, false).unwrap(),
            &LloydOptions::default(),
        )
        .unwrap();
        let params = [("loc", 0.0), ("scale", 1.0)].map(|(k, v)| (k.to_string(), v));
        let mut doc =
            CodebookDocument::from_design(&design, "laplace".into(), params.into(), "density");
        doc.tensor = tensor.map(str::to_string);
        (doc, design.codebook)
    }

    #[test]
    fn one_codebook_serves_every_layer_and_several_are_matched_by_name() {
        let only = layer_codebooks(&[document(Some("elsewhere"))], &layers()).unwrap();
        assert_eq!(only, vec![laplace_book(), laplace_book()]);
        let mut b = document(Some("b"));
        b.1 = b.1.with_scale(3.0).unwrap();
        let books = layer_codebooks(&[b.clone(), document(Some("a"))], &layers()).unwrap();
        assert_eq!(books[0].codebook.scale(), 1.0);
        assert_eq!(books[1].codebook.scale(), 3.0);
        assert_eq!(
            layer_codebooks(&[b.clone(), document(None)], &layers()),
            Err(UplinkError::NoCodebook {
                layer: "a",
                available: "tensors 'b' and 1 unnamed".into()
            })
        );
        assert_eq!(
            layer_codebooks(&[b.clone(), document(Some("a")), b], &layers()),
            Err(UplinkError::SeveralCodebooks {
                layer: "b",
                count: 2
            })
        );
    }

    #[test]
    fn a_costs_file_becomes_one_cost_per_parameter_in_layer_order() {
        let map = crate::compress::cwmp_costs::parse_cost_map(&format!(
            r#"{{"b": [{}], "a": 2.0, "unused": 1.0}}"#,
            (0..50)
                .map(|i| i.to_string() + ".5")
                .collect::<Vec<_>>()
                .join(",")
        ))
        .unwrap();
        let costs = layer_costs(&map, &layers()).unwrap();
        assert_eq!(&costs[..150], &[2.0; 150][..]);
        assert_eq!(costs[150], 0.5);
        assert_eq!(costs[199], 49.5);
        let map = crate::compress::cwmp_costs::parse_cost_map(r#"{"b": 1.0}"#).unwrap();
        assert!(matches!(
            layer_costs(&map, &layers()),
            Err(CostsError::Missing { tensor }) if tensor == "a"
        ));
    }

    #[test]
    fn codebooks_must_match_the_layers() {
        let mut up = with_codebook(Rescale::Rms, 1.0);
        up.check_layers(&layers()).unwrap();
        if let Quantizer::Codebook { codebooks, .. } = &mut up.quantizer {
            codebooks[1].design_rms = None;
        }
        assert_eq!(
            up.check_layers(&layers()),
            Err(UplinkError::NoDesignRms("b"))
        );
        if let Quantizer::Codebook { codebooks, rescale } = &mut up.quantizer {
            *rescale = Rescale::None;
            codebooks.pop();
        }
        assert_eq!(
            up.check_layers(&layers()),
            Err(UplinkError::Codebooks {
                count: 1,
                layers: 2
            })
        );
    }
}
