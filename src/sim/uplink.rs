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

use crate::compress::sparsify::check_costs;
use crate::compress::{
    cwmp_indices, fraction_to_count, rand_k_indices, threshold_indices, top_k_indices,
    CompressError, SplitMix64,
};
use crate::dist::FamilyKind;
use crate::fit::{fit, FitError, FitOptions, LocMode};
use crate::quant::baseline::{self, BaselineError, BaselineKind, BaselineOptions};
use crate::quant::coding::{self, CodingError};
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
        let across = match &self.keep {
            Keep::Cwmp { fraction, costs } => Some(cwmp_indices(u, costs, *fraction)),
            _ => None,
        };
        let mut decoded = vec![0.0; u.len()];
        let mut bits = 0;
        for (layer, (name, range)) in layers.iter().enumerate() {
            let part = &u[range.clone()];
            let kept = match &across {
                Some(all) => {
                    let first = all.partition_point(|&i| i < range.start);
                    let last = all.partition_point(|&i| i < range.end);
                    all[first..last].iter().map(|i| i - range.start).collect()
                }
                None => self.keep_in_layer(part, seed(layer)),
            };
            let message = self
                .send(part, &kept, layer)
                .map_err(|error| LayerError { layer: name, error })?;
            decoded[range.clone()].copy_from_slice(&message.decoded);
            bits += message.bits;
        }
        Ok(Message { decoded, bits })
    }

    /// The kept entries of one layer's update, ascending (not for cwmp,
    /// which selects across layers).
    fn keep_in_layer(&self, u: &[f64], seed: u64) -> Vec<usize> {
        let n = u.len();
        match &self.keep {
            Keep::TopK { fraction } => top_k_indices(u, fraction_to_count(*fraction, n)),
            Keep::RandK { fraction } => rand_k_indices(
                n,
                fraction_to_count(*fraction, n),
                &mut SplitMix64::new(seed),
            ),
            Keep::Threshold { lambda } => threshold_indices(u, *lambda),
            Keep::Cwmp { .. } => unreachable!("cwmp selects across layers"),
        }
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
