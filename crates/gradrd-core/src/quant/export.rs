//! The codebook document that training code consumes (`design/formats.md`):
//!
//! ```text
//! { "schema": "gradrd.codebook/1", "tensor": "fc1.weight", "step": 200,
//!   "family": "gennorm", "params": {"beta": 0.8, "loc": 0.0, "scale": 1.3e-4},
//!   "m": 2.0, "bits": 3, "levels": 8, "scale": 1.3e-4,
//!   "thresholds": [... L − 1 strictly increasing ...], "centers": [... L ...],
//!   "zero_level": false, "distortion": ..., "mse": ..., "entropy_bits": ...,
//!   "nmse": ..., "zero_choice": {...}, "note": "..." }
//! ```
//!
//! A design for a recorded tensor ([`CodebookDocument::from_tensor_design`])
//! also carries its `nmse` on the tensor as sent, how the automatic zero
//! level decided (`zero_choice`), and a `note` when the fitted model was not
//! used or the codebook is worse than sending zeros (see
//! [`crate::quant::tensor`]); the three are absent otherwise.
//!
//! Lookup is `torch.bucketize(x / scale, thresholds, right=False)`
//! (`numpy.searchsorted(thresholds, x / scale, side="left")`), decoding
//! `centers[index] * scale`. Several codebooks (one per layer, or an M sweep)
//! travel as a manifest `{"schema": "gradrd.codebooks/1", "codebooks": [...]}`.
//! Reading a document validates it through [`Codebook::new`] and checks that
//! `levels` and `bits` agree with the arrays.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::lloyd::design_for_density;
use super::tensor::{TensorDesign, ZeroChoice};
use super::{Codebook, CodebookError, Design, DesignSpec, LloydOptions, QuantError};
use crate::dist::{ContinuousDist, FamilyKind, Model};
use crate::solver::TerminationReason;

/// Schema tag of one codebook.
pub const CODEBOOK_SCHEMA: &str = "gradrd.codebook/1";
/// Schema tag of a manifest of codebooks.
pub const MANIFEST_SCHEMA: &str = "gradrd.codebooks/1";

/// How a codebook was designed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignInfo {
    /// `density` (Lloyd-Max on the fitted or given model) or `empirical`
    /// (Lloyd-Max on the samples).
    pub method: String,
    pub stop_reason: TerminationReason,
    pub iterations: usize,
    pub newton_steps: usize,
}

/// One codebook with its provenance and measured performance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodebookDocument {
    pub schema: String,
    /// The tensor it was designed for, if any.
    #[serde(default)]
    pub tensor: Option<String>,
    #[serde(default)]
    pub step: Option<u64>,
    /// The model family (`gennorm`, …), or `empirical`.
    pub family: String,
    /// The model's scipy-named parameters (empty for an empirical design).
    #[serde(default)]
    pub params: BTreeMap<String, f64>,
    pub m: f64,
    /// `log2(levels)` when the level count is a power of two.
    #[serde(default)]
    pub bits: Option<u32>,
    pub levels: usize,
    pub scale: f64,
    pub thresholds: Vec<f64>,
    pub centers: Vec<f64>,
    pub zero_level: bool,
    /// `E[|X|^M (X − Q(X))²]` in the tensor's units (mean over the samples
    /// for an empirical design).
    pub distortion: f64,
    pub mse: f64,
    /// Entropy of the cell index, bits per entry.
    pub entropy_bits: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design: Option<DesignInfo>,
    /// MSE on the tensor as sent over its mean square.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nmse: Option<f64>,
    /// How the automatic zero level decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zero_choice: Option<ZeroChoice>,
    /// Why the fitted model was not used, or that the codebook is worse
    /// than sending zeros.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A manifest of per-layer codebooks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodebookManifest {
    pub schema: String,
    pub codebooks: Vec<CodebookDocument>,
}

/// A document that is not a valid codebook.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DocumentError {
    #[error("not JSON of a codebook: {0}")]
    Json(String),
    #[error("schema is '{found}', expected '{CODEBOOK_SCHEMA}' or '{MANIFEST_SCHEMA}'")]
    Schema { found: String },
    #[error("{context}levels is {levels} but there are {centers} centers")]
    Levels {
        context: String,
        levels: usize,
        centers: usize,
    },
    #[error("{context}bits is {bits} but 2^{bits} != {levels} levels")]
    Bits {
        context: String,
        bits: u32,
        levels: usize,
    },
    #[error("{context}{cause}")]
    Codebook {
        context: String,
        cause: CodebookError,
    },
    #[error("the manifest holds no codebook")]
    EmptyManifest,
}

impl CodebookDocument {
    /// The document of a finished design.
    pub fn from_design(
        design: &Design,
        family: String,
        params: BTreeMap<String, f64>,
        method: &str,
    ) -> Self {
        let codebook = &design.codebook;
        let levels = codebook.levels();
        CodebookDocument {
            schema: CODEBOOK_SCHEMA.to_string(),
            tensor: None,
            step: None,
            family,
            params,
            m: codebook.m(),
            bits: bits_of(levels),
            levels,
            scale: codebook.scale(),
            thresholds: codebook.thresholds().to_vec(),
            centers: codebook.centers().to_vec(),
            zero_level: codebook.zero_level(),
            distortion: design.distortion,
            mse: design.mse,
            entropy_bits: design.entropy_bits,
            design: Some(DesignInfo {
                method: method.to_string(),
                stop_reason: design.stop_reason,
                iterations: design.iterations,
                newton_steps: design.newton_steps,
            }),
            nmse: None,
            zero_choice: None,
            note: None,
        }
    }

    /// The document of a design on a given model (`--family`, `--param`).
    pub fn for_model(
        model: &Model,
        spec: &DesignSpec,
        options: &LloydOptions,
    ) -> Result<Self, QuantError> {
        let design = design_for_density(model, spec, options)?;
        Ok(Self::from_design(
            &design,
            model.kind().to_string(),
            params_of(model),
            "density",
        ))
    }

    /// The document of a design for a recorded tensor: the fitted `family`
    /// and `params` when the model was used, `empirical` otherwise.
    pub fn from_tensor_design(
        designed: &TensorDesign,
        family: String,
        params: BTreeMap<String, f64>,
    ) -> Self {
        let (family, params) = match designed.method {
            "density" => (family, params),
            _ => ("empirical".to_string(), BTreeMap::new()),
        };
        CodebookDocument {
            nmse: designed.nmse,
            zero_choice: designed.zero_choice,
            note: designed.note.clone(),
            ..Self::from_design(&designed.design, family, params, designed.method)
        }
    }

    /// The validated codebook (lengths, order, finiteness, scale, `levels`
    /// and `bits` consistent).
    pub fn codebook(&self) -> Result<Codebook, DocumentError> {
        let context = self.context();
        if self.levels != self.centers.len() {
            return Err(DocumentError::Levels {
                context,
                levels: self.levels,
                centers: self.centers.len(),
            });
        }
        if let Some(bits) = self.bits {
            if bits >= usize::BITS || 1usize << bits != self.levels {
                return Err(DocumentError::Bits {
                    context,
                    bits,
                    levels: self.levels,
                });
            }
        }
        Codebook::new(
            self.thresholds.clone(),
            self.centers.clone(),
            self.scale,
            self.m,
            self.zero_level,
        )
        .map_err(|cause| DocumentError::Codebook { context, cause })
    }

    /// The root mean square `sqrt(E[X²])` of what the codebook was designed
    /// for, in the tensor's units: the samples' RMS for an empirical design
    /// (its `scale`, see [`crate::quant::empirical::design_from_samples`]),
    /// `sqrt(variance + loc²)` of the model built from `family` and `params`
    /// for a density design; `None` when neither applies.
    pub fn design_rms(&self) -> Option<f64> {
        if self.family == "empirical" {
            return Some(self.scale);
        }
        let kind: FamilyKind = self.family.parse().ok()?;
        let params: Vec<(&str, f64)> = self.params.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let model = Model::from_params(kind, &params).ok()?;
        let rms = (model.variance() + model.loc().powi(2)).sqrt();
        (rms.is_finite() && rms > 0.0).then_some(rms)
    }

    /// `tensor 'name' (step N): ` for error messages, or nothing.
    fn context(&self) -> String {
        match (&self.tensor, self.step) {
            (Some(t), Some(s)) => format!("tensor '{t}' (step {s}): "),
            (Some(t), None) => format!("tensor '{t}': "),
            _ => String::new(),
        }
    }
}

/// A model's scipy-named parameters, as a document lists them.
pub fn params_of(model: &Model) -> BTreeMap<String, f64> {
    model
        .params()
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect()
}

/// `log2(levels)` for a power of two.
fn bits_of(levels: usize) -> Option<u32> {
    levels.is_power_of_two().then(|| levels.trailing_zeros())
}

/// Deserializes `text`, naming the field where it fails (`centers[3]: …`).
fn from_json<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, DocumentError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let field = e.path().to_string();
        let cause = e.into_inner();
        DocumentError::Json(if field == "." {
            cause.to_string()
        } else {
            format!("{field}: {cause}")
        })
    })
}

/// Reads a codebook document or a manifest, validating every codebook.
pub fn parse_codebooks(text: &str) -> Result<Vec<(CodebookDocument, Codebook)>, DocumentError> {
    #[derive(Deserialize)]
    struct Tag {
        schema: String,
    }
    let tag: Tag = from_json(text)?;
    let documents = match tag.schema.as_str() {
        CODEBOOK_SCHEMA => vec![from_json::<CodebookDocument>(text)?],
        MANIFEST_SCHEMA => from_json::<CodebookManifest>(text)?.codebooks,
        _ => return Err(DocumentError::Schema { found: tag.schema }),
    };
    if documents.is_empty() {
        return Err(DocumentError::EmptyManifest);
    }
    documents
        .into_iter()
        .map(|doc| doc.codebook().map(|codebook| (doc, codebook)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::lloyd::design_for_density;
    use crate::quant::{DesignSpec, LloydOptions};

    fn document() -> CodebookDocument {
        let source = crate::dist::Laplace::new(0.0, 2.0).unwrap();
        let spec = DesignSpec::from_bits(2, 0.0, false).unwrap();
        let design = design_for_density(&source, &spec, &LloydOptions::default()).unwrap();
        let params = BTreeMap::from([("loc".to_string(), 0.0), ("scale".to_string(), 2.0)]);
        CodebookDocument::from_design(&design, "laplace".into(), params, "density")
    }

    #[test]
    fn round_trip_through_json() {
        let doc = document();
        assert_eq!(doc.bits, Some(2));
        assert_eq!(doc.levels, 4);
        let text = serde_json::to_string(&doc).unwrap();
        let parsed = parse_codebooks(&text).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].0, doc);
        assert_eq!(parsed[0].1.centers(), doc.centers.as_slice());
    }

    #[test]
    fn design_rms_is_the_models_or_the_samples_root_mean_square() {
        // Laplace(0, b): E[X²] = 2 b², so b = 2 gives sqrt(8)
        gradrd_testkit::assert_close(document().design_rms().unwrap(), 8f64.sqrt(), 1e-12, 0.0);
        // GenNorm(β = 2, scale s): E[X²] = s² Γ(3/β) / Γ(1/β) = s² / 2
        // python3 -c "from scipy.stats import gennorm; print(gennorm(2, 0, 3).std())" -> 2.121320343559643
        let mut doc = document();
        doc.family = "gennorm".into();
        doc.params = BTreeMap::from([
            ("beta".to_string(), 2.0),
            ("loc".to_string(), 0.0),
            ("scale".to_string(), 3.0),
        ]);
        gradrd_testkit::assert_close(doc.design_rms().unwrap(), 2.121320343559643, 1e-12, 0.0);
        doc.family = "empirical".into();
        doc.params.clear();
        doc.scale = 0.25;
        assert_eq!(doc.design_rms(), Some(0.25));
        doc.family = "histogram".into();
        assert_eq!(doc.design_rms(), None);
    }

    #[test]
    fn manifest_round_trip() {
        let mut second = document();
        second.tensor = Some("fc2.weight".into());
        let manifest = CodebookManifest {
            schema: MANIFEST_SCHEMA.into(),
            codebooks: vec![document(), second],
        };
        let parsed = parse_codebooks(&serde_json::to_string(&manifest).unwrap()).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1].0.tensor.as_deref(), Some("fc2.weight"));
    }

    #[test]
    fn inconsistent_documents_are_errors_naming_the_field() {
        let mut doc = document();
        doc.tensor = Some("fc1.weight".into());
        doc.thresholds.swap(0, 2);
        let err = parse_codebooks(&serde_json::to_string(&doc).unwrap()).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "tensor 'fc1.weight': codebook: thresholds must be strictly increasing"
            ),
            "{err}"
        );

        let mut doc = document();
        doc.levels = 5;
        let err = parse_codebooks(&serde_json::to_string(&doc).unwrap()).unwrap_err();
        assert!(matches!(
            err,
            DocumentError::Levels {
                levels: 5,
                centers: 4,
                ..
            }
        ));

        let mut doc = document();
        doc.bits = Some(3);
        let err = parse_codebooks(&serde_json::to_string(&doc).unwrap()).unwrap_err();
        assert!(matches!(err, DocumentError::Bits { bits: 3, .. }));

        let mut doc = document();
        doc.bits = Some(200);
        assert!(parse_codebooks(&serde_json::to_string(&doc).unwrap()).is_err());

        let mut doc = document();
        doc.centers.pop();
        doc.levels = 3;
        doc.bits = None;
        let err = parse_codebooks(&serde_json::to_string(&doc).unwrap()).unwrap_err();
        assert!(
            err.to_string()
                .contains("3 centers need 2 thresholds, got 3"),
            "{err}"
        );
    }

    #[test]
    fn wrong_schema_and_garbage_are_errors() {
        let err = parse_codebooks(r#"{"schema": "gradrd.fit/1"}"#).unwrap_err();
        assert!(matches!(err, DocumentError::Schema { .. }));
        assert!(matches!(parse_codebooks("{"), Err(DocumentError::Json(_))));
        assert!(matches!(
            parse_codebooks("[1, 2]"),
            Err(DocumentError::Json(_))
        ));
        let empty = r#"{"schema": "gradrd.codebooks/1", "codebooks": []}"#;
        assert_eq!(parse_codebooks(empty), Err(DocumentError::EmptyManifest));
    }
}
