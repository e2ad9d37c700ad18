//! `fit`: per tensor and step, maximum-likelihood fits of the chosen
//! families with their goodness of fit ([`crate::analysis::fit_report`]);
//! schema `gradrd.fit/1`.
//!
//! Tensors stored in bf16 or f16 also get each fit's interval-censored
//! log-likelihood of their rounding (`loglik_censored`); for f32 and f64 it
//! would be the density's plus a constant of the data.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::parallel::per_item;
use super::{Analysis, AnalysisError, Failure, Observer, OptionError, Outcome, Schema, Source};
use super::{TensorInfo, Validate};
use crate::analysis::{fit_stored_tensor, FitSettings, NanPolicy, TensorFit, ZeroPolicy};
use crate::dist::FamilyKind;
use crate::dtype::DType;
use crate::fit::{LocMode, Rounding};

/// The `fit` analysis.
#[derive(Debug, Clone, Copy)]
pub struct Fit;

/// What `fit` does with each tensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FitOptions {
    /// Families to fit (repeats are fitted once).
    pub families: Vec<FamilyKind>,
    /// Exact zeros: `auto` fits the non-zeros and reports the zero-inflated
    /// mixture, `keep` fits every value, `drop` fits the non-zeros only.
    pub zeros: ZeroPolicy,
    /// Location: `"free"` (maximum likelihood), `"zero"`, or a number.
    #[serde(with = "loc_text")]
    pub loc: LocMode,
    /// NaN/Inf: `error` fails the tensor (naming the count), `omit` leaves
    /// them out.
    pub nan: NanPolicy,
    /// Compute KS, W1 and W2 of every fit (`false`: fits only, the
    /// statistics are `null`).
    pub goodness_of_fit: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            families: FamilyKind::ALL.to_vec(),
            zeros: ZeroPolicy::Auto,
            loc: LocMode::Free,
            nan: NanPolicy::Error,
            goodness_of_fit: true,
        }
    }
}

impl FitOptions {
    /// The per-tensor settings: each family once, in the order given.
    pub fn settings(&self) -> FitSettings {
        let mut families: Vec<FamilyKind> = Vec::new();
        for family in &self.families {
            if !families.contains(family) {
                families.push(*family);
            }
        }
        FitSettings {
            families,
            zeros: self.zeros,
            nan: self.nan,
            loc: self.loc,
            goodness_of_fit: self.goodness_of_fit,
        }
    }
}

impl Validate for FitOptions {
    fn validate(&self) -> Result<(), OptionError> {
        if self.families.is_empty() {
            return Err(OptionError::new("families", "name at least one family"));
        }
        if let LocMode::Fixed(v) = self.loc {
            if !v.is_finite() {
                return Err(OptionError::new("loc", format!("{v} is not finite")));
            }
        }
        Ok(())
    }
}

/// The settings a `gradrd.fit/1` output was made with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitSettingsEcho {
    pub families: Vec<FamilyKind>,
    pub zeros: ZeroPolicy,
    pub nan: NanPolicy,
    /// `null` when the location was free.
    pub loc: Option<f64>,
}

/// One tensor's fits.
#[derive(Debug, Clone, Serialize)]
pub struct TensorResult {
    pub tensor: String,
    pub step: Option<u64>,
    pub file: String,
    pub dtype: String,
    pub shape: Vec<u64>,
    #[serde(flatten)]
    pub fit: TensorFit,
}

/// `gradrd.fit/1`.
#[derive(Debug, Clone, Serialize)]
pub struct FitOutput {
    pub schema: Schema,
    pub dump: String,
    pub settings: FitSettingsEcho,
    pub results: Vec<TensorResult>,
    pub errors: Vec<Failure>,
}

impl Outcome for FitOutput {
    fn partial(&self) -> bool {
        !self.errors.is_empty() || self.results.iter().any(|r| r.fit.has_failures())
    }
}

impl Analysis for Fit {
    const KIND: &'static str = "fit";
    const SCHEMA: Schema = "gradrd.fit/1";
    type Options = FitOptions;
    type Output = FitOutput;

    fn run(
        options: &FitOptions,
        source: &dyn Source,
        observer: &mut dyn Observer,
    ) -> Result<FitOutput, AnalysisError> {
        options.validate()?;
        let tensors = source.tensors();
        if tensors.is_empty() && source.unreadable().is_empty() {
            return Err(AnalysisError::NothingSelected {
                source: source.label().to_string(),
            });
        }
        let settings = options.settings();
        let indices: Vec<usize> = (0..tensors.len()).collect();
        observer.begin(tensors.len() as u64, "fitting");
        let fits = per_item(
            &indices,
            observer,
            |&i| tensors[i].name.clone(),
            |&i| fit_one(source, i, &settings),
        );
        observer.end();
        let mut errors = source.unreadable().to_vec();
        let mut results = Vec::new();
        for (info, fit) in tensors.iter().zip(fits) {
            match fit {
                Ok(fit) => results.push(TensorResult {
                    tensor: info.name.clone(),
                    step: info.step,
                    file: info.origin.clone(),
                    dtype: info.dtype.to_string(),
                    shape: info.shape.clone(),
                    fit,
                }),
                Err(error) => errors.push(failure(info, error)),
            }
        }
        if results.is_empty() {
            return Err(AnalysisError::AllFailed(errors));
        }
        Ok(FitOutput {
            schema: Self::SCHEMA,
            dump: source.label().to_string(),
            settings: FitSettingsEcho {
                families: settings.families,
                zeros: settings.zeros,
                nan: settings.nan,
                loc: match settings.loc {
                    LocMode::Free => None,
                    LocMode::Fixed(v) => Some(v),
                },
            },
            results,
            errors,
        })
    }
}

/// The failure of the tensor `info`.
pub(crate) fn failure(info: &TensorInfo, error: String) -> Failure {
    Failure {
        file: Some(info.origin.clone()),
        tensor: Some(info.name.clone()),
        step: info.step,
        error,
    }
}

fn fit_one(source: &dyn Source, index: usize, settings: &FitSettings) -> Result<TensorFit, String> {
    let values = source.read(index)?;
    // The interval-censored log-likelihood for the 16-bit formats only: for
    // float32 and float64 it is the density one plus a constant of the data.
    let rounding = match source.tensors()[index].dtype {
        DType::BF16 => Some(Rounding::BFloat16),
        DType::F16 => Some(Rounding::Float16),
        DType::F32 | DType::F64 => None,
    };
    fit_stored_tensor(values, settings, rounding).map_err(|e| e.to_string())
}

/// `LocMode` as the text users write: `"free"`, `"zero"` or a number (for
/// `#[serde(with = "loc_text")]`).
pub mod loc_text {
    use super::*;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Number(f64),
        Text(String),
    }

    pub fn serialize<S: Serializer>(loc: &LocMode, serializer: S) -> Result<S::Ok, S::Error> {
        match loc {
            LocMode::Free => serializer.serialize_str("free"),
            LocMode::Fixed(v) => serializer.serialize_f64(*v),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<LocMode, D::Error> {
        match Written::deserialize(deserializer)? {
            Written::Number(v) => Ok(LocMode::Fixed(v)),
            Written::Text(text) => super::parse_loc(&text).map_err(serde::de::Error::custom),
        }
    }
}

/// `free`, `zero` or a finite number.
pub fn parse_loc(text: &str) -> Result<LocMode, String> {
    match text {
        "free" => Ok(LocMode::Free),
        "zero" => Ok(LocMode::Fixed(0.0)),
        number => match number.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(LocMode::Fixed(v)),
            _ => Err(format!("'{number}' is not free, zero or a finite number")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::source::InMemory;
    use crate::registry::Silent;

    fn source() -> InMemory {
        let mut source = InMemory::new("mem");
        // multiples of 2^-8 in [-0.5, 0.5): exact in bf16
        let values: Vec<f64> = (0..500)
            .map(|i| ((i * 7919) % 256) as f64 / 256.0 - 0.5)
            .collect();
        source.push("b", Some(1), DType::F32, vec![500], values.clone());
        source.push("a", Some(1), DType::BF16, vec![500], values);
        source.push("c", Some(1), DType::F32, vec![2], vec![f64::NAN, 1.0]);
        source
    }

    #[test]
    fn a_failed_tensor_is_listed_and_the_rest_is_fitted() {
        let options = FitOptions {
            families: vec![FamilyKind::Normal, FamilyKind::Normal],
            ..FitOptions::default()
        };
        let output = Fit::run(&options, &source(), &mut Silent).unwrap();
        let names: Vec<&str> = output.results.iter().map(|r| r.tensor.as_str()).collect();
        assert_eq!(
            names,
            ["a", "b"],
            "(step, name) order, the NaN tensor failed"
        );
        assert_eq!(
            output.results[0].fit.fits.len(),
            1,
            "repeated families fit once"
        );
        assert_eq!(output.errors.len(), 1);
        assert_eq!(output.errors[0].tensor.as_deref(), Some("c"));
        assert!(output.partial());
        let json = serde_json::to_value(&output).unwrap();
        assert!(
            json["results"][0]["fits"][0]
                .get("loglik_censored")
                .is_some(),
            "bf16"
        );
        assert!(
            json["results"][1]["fits"][0]
                .get("loglik_censored")
                .is_none(),
            "f32"
        );
    }

    #[test]
    fn nothing_and_all_failed_are_errors() {
        let empty = InMemory::new("mem");
        let error = Fit::run(&FitOptions::default(), &empty, &mut Silent).unwrap_err();
        assert_eq!(error.to_string(), "mem: no tensor matches the selection");
        let mut bad = InMemory::new("mem");
        bad.push("c", None, DType::F32, vec![1], vec![f64::INFINITY]);
        let error = Fit::run(&FitOptions::default(), &bad, &mut Silent).unwrap_err();
        assert!(
            matches!(error, AnalysisError::AllFailed(ref f) if f.len() == 1),
            "{error}"
        );
    }

    #[test]
    fn options_name_the_field_and_reject_unknown_keys() {
        let empty = FitOptions {
            families: vec![],
            ..FitOptions::default()
        };
        assert_eq!(empty.validate().unwrap_err().field, "families");
        let parsed: FitOptions =
            serde_json::from_str(r#"{"loc": "zero", "zeros": "keep"}"#).unwrap();
        assert_eq!(parsed.loc, LocMode::Fixed(0.0));
        assert_eq!(parsed.zeros, ZeroPolicy::Keep);
        assert_eq!(
            parsed.families,
            FamilyKind::ALL.to_vec(),
            "defaults fill the rest"
        );
        let loc: FitOptions = serde_json::from_str(r#"{"loc": 0.5}"#).unwrap();
        assert_eq!(loc.loc, LocMode::Fixed(0.5));
        let unknown = serde_json::from_str::<FitOptions>(r#"{"famlies": []}"#).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown field `famlies`"),
            "{unknown}"
        );
    }
}
