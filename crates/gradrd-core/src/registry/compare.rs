//! `compare`: two tensors side by side — Spearman's rank correlation of
//! their paired entries ([`crate::stats::spearman`]), the two-sample
//! Kolmogorov–Smirnov test ([`crate::stats::ks_two_sample`]) and the
//! Wasserstein distances W1, W2 between their empirical distributions
//! ([`crate::stats::wasserstein_samples`]); schema `gradrd.compare/1`.
//!
//! The two tensors are `a` and `b`, positions in the source's tensor list
//! (by default its first two). A front end comparing tensors of two
//! different files builds one source holding both (the command line: one
//! [`super::source::InMemory`] whose tensors' `origin` is each file as the
//! user wrote it) and points `a` and `b` at them.
//!
//! ```
//! use gradrd_core::dtype::DType;
//! use gradrd_core::registry::{compare, source::InMemory, Analysis, Silent};
//!
//! // b = 2a: ranks agree (ρ = 1); W1 between the two samples is mean |a|.
//! let a: Vec<f64> = (1..=200).map(|i| (i as f64 - 100.5) / 50.0).collect();
//! let b: Vec<f64> = a.iter().map(|x| 2.0 * x).collect();
//! let mut source = InMemory::new("two tensors");
//! source.push("a", Some(0), DType::F32, vec![200], a.clone());
//! source.push("b", Some(1), DType::F32, vec![200], b);
//! let output = compare::Compare::run(&Default::default(), &source, &mut Silent).unwrap();
//! assert!((output.spearman_rho.unwrap() - 1.0).abs() < 1e-12);
//! let mean_abs = a.iter().map(|x| x.abs()).sum::<f64>() / 200.0;
//! assert!((output.w1 - mean_abs).abs() < 1e-12);
//! ```

use serde::{Deserialize, Serialize};

use super::{Analysis, AnalysisError, Failure, Observer, OptionError, Outcome, Schema, Source};
use super::{TensorInfo, Validate};
use crate::stats;

/// The `compare` analysis.
#[derive(Debug, Clone, Copy)]
pub struct Compare;

/// Which two tensors `compare` reads, and what it does with zeros.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompareOptions {
    /// The first tensor: its position in the source's tensor list.
    pub a: usize,
    /// The second tensor: its position in the source's tensor list.
    pub b: usize,
    /// Exact zeros: `true` compares all entries, `false` leaves zeros out
    /// (Spearman then uses the positions where neither tensor is zero).
    pub keep_zeros: bool,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            a: 0,
            b: 1,
            keep_zeros: true,
        }
    }
}

impl Validate for CompareOptions {
    fn validate(&self) -> Result<(), OptionError> {
        if self.a == self.b {
            return Err(OptionError::new(
                "b",
                format!("names tensor {} again; compare needs two tensors", self.b),
            ));
        }
        Ok(())
    }
}

/// One of the two tensors.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// Its origin (the file as the user wrote it).
    pub file: String,
    pub tensor: String,
    pub step: Option<u64>,
}

/// `gradrd.compare/1`.
#[derive(Debug, Clone, Serialize)]
pub struct CompareOutput {
    pub schema: Schema,
    pub a: Side,
    pub b: Side,
    /// Entries compared (zeros left out when they are dropped).
    pub n_a: usize,
    pub n_b: usize,
    /// `null` (with `spearman_reason`) when the entries cannot be paired.
    pub spearman_rho: Option<f64>,
    pub spearman_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spearman_reason: Option<String>,
    pub ks: f64,
    pub ks_p: f64,
    pub w1: f64,
    pub w2: f64,
}

impl Outcome for CompareOutput {
    fn partial(&self) -> bool {
        false
    }
}

/// `Err` names the origin, the tensor and the count of NaN/infinite values.
pub fn check_finite(origin: &str, tensor: &str, values: &[f64]) -> Result<(), String> {
    match values.iter().filter(|v| !v.is_finite()).count() {
        0 => Ok(()),
        n => Err(format!(
            "{origin}: tensor '{tensor}': {n} NaN/infinite values"
        )),
    }
}

fn side(info: &TensorInfo) -> Side {
    Side {
        file: info.origin.clone(),
        tensor: info.name.clone(),
        step: info.step,
    }
}

fn failed(error: String) -> AnalysisError {
    AnalysisError::AllFailed(vec![Failure {
        file: None,
        tensor: None,
        step: None,
        error,
    }])
}

impl Analysis for Compare {
    const KIND: &'static str = "compare";
    const SCHEMA: Schema = "gradrd.compare/1";
    type Options = CompareOptions;
    type Output = CompareOutput;

    fn run(
        options: &CompareOptions,
        source: &dyn Source,
        observer: &mut dyn Observer,
    ) -> Result<CompareOutput, AnalysisError> {
        options.validate()?;
        let tensors = source.tensors();
        if tensors.is_empty() {
            return Err(super::nothing_selected(source));
        }
        for (field, index) in [("a", options.a), ("b", options.b)] {
            if index >= tensors.len() {
                return Err(OptionError::new(
                    field,
                    format!(
                        "{}: holds {} tensor(s), no tensor {index}",
                        source.label(),
                        tensors.len()
                    ),
                )
                .into());
            }
        }
        observer.begin(2, "reading");
        let mut read = |index: usize| -> Result<Vec<f64>, AnalysisError> {
            let info = &tensors[index];
            observer.item(&info.name);
            let values = source.read(index).map_err(failed)?;
            check_finite(&info.origin, &info.name, &values).map_err(failed)?;
            observer.advance(1);
            Ok(values)
        };
        let a = read(options.a)?;
        let b = read(options.b)?;
        observer.end();
        let drop_zeros = !options.keep_zeros;
        let spearman = if a.len() != b.len() {
            Err(format!(
                "Spearman needs paired values: {} and {} entries",
                a.len(),
                b.len()
            ))
        } else {
            let (x, y): (Vec<f64>, Vec<f64>) = a
                .iter()
                .zip(&b)
                .filter(|(x, y)| !drop_zeros || (**x != 0.0 && **y != 0.0))
                .map(|(x, y)| (*x, *y))
                .unzip();
            stats::spearman(&x, &y).map_err(|e| e.to_string())
        };
        let keep = |v: &[f64]| -> Vec<f64> {
            v.iter()
                .copied()
                .filter(|x| !drop_zeros || *x != 0.0)
                .collect()
        };
        let (a, b) = (keep(&a), keep(&b));
        let ks = stats::ks_two_sample(&a, &b).map_err(|e| failed(e.to_string()))?;
        let distances = stats::wasserstein_samples(&a, &b).map_err(|e| failed(e.to_string()))?;
        Ok(CompareOutput {
            schema: Self::SCHEMA,
            a: side(&tensors[options.a]),
            b: side(&tensors[options.b]),
            n_a: a.len(),
            n_b: b.len(),
            spearman_rho: spearman.as_ref().ok().map(|s| s.rho),
            spearman_p: spearman.as_ref().ok().map(|s| s.p_value),
            spearman_reason: spearman.err(),
            ks: ks.statistic,
            ks_p: ks.p_value,
            w1: distances.w1,
            w2: distances.w2,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::registry::source::InMemory;
    use crate::registry::Silent;

    fn source(a: Vec<f64>, b: Vec<f64>) -> InMemory {
        let mut source = InMemory::new("mem");
        source.push("a", None, DType::F32, vec![a.len() as u64], a);
        source.push("b", None, DType::F32, vec![b.len() as u64], b);
        source
    }

    #[test]
    fn a_shifted_copy_is_rank_identical_at_the_shift() {
        let a: Vec<f64> = (0..200).map(|i| i as f64 / 10.0).collect();
        let b: Vec<f64> = a.iter().map(|x| x + 0.5).collect();
        let output = Compare::run(&CompareOptions::default(), &source(a, b), &mut Silent).unwrap();
        assert_eq!(output.schema, "gradrd.compare/1");
        assert_eq!(
            (output.a.tensor.as_str(), output.b.tensor.as_str()),
            ("a", "b")
        );
        assert_eq!((output.n_a, output.n_b), (200, 200));
        assert!((output.spearman_rho.unwrap() - 1.0).abs() < 1e-12);
        assert!((output.w1 - 0.5).abs() < 1e-9, "w1 = {}", output.w1);
        assert!((output.w2 - 0.5).abs() < 1e-9, "w2 = {}", output.w2);
    }

    #[test]
    fn dropped_zeros_leave_unpaired_lengths_without_spearman() {
        let options = CompareOptions {
            keep_zeros: false,
            ..CompareOptions::default()
        };
        let output = Compare::run(
            &options,
            &source(vec![0.0, 1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0]),
            &mut Silent,
        )
        .unwrap();
        assert_eq!((output.n_a, output.n_b), (3, 3));
        assert_eq!(output.spearman_rho, None);
        assert_eq!(
            output.spearman_reason.as_deref(),
            Some("Spearman needs paired values: 4 and 3 entries")
        );
    }

    #[test]
    fn the_same_tensor_twice_names_the_field() {
        let options = CompareOptions {
            b: 0,
            ..CompareOptions::default()
        };
        let error = Compare::run(&options, &source(vec![1.0], vec![2.0]), &mut Silent).unwrap_err();
        let AnalysisError::Options(error) = error else {
            panic!("{error}")
        };
        assert_eq!(error.field, "b");
        let unknown = serde_json::from_str::<CompareOptions>(r#"{"zeros": "drop"}"#);
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `zeros`"));
    }

    #[test]
    fn non_finite_values_name_the_tensor() {
        let error = Compare::run(
            &CompareOptions::default(),
            &source(vec![1.0, f64::NAN], vec![2.0, 3.0]),
            &mut Silent,
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "mem: tensor 'a': 1 NaN/infinite values");
    }
}
