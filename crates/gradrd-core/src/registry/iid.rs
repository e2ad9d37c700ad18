//! `iid`: the Spearman / Kolmogorov–Smirnov pass-ratio study of the M22
//! talk ([`crate::analysis::iid`]) per tensor — or per pair of neighbouring
//! tensors in depth order — and sample size; schema `gradrd.iid/1`.
//!
//! Each sample size stands alone: a tensor too small for one size has that
//! size's cells empty with a note, and the other sizes' results.
//!
//! ```
//! use gradrd_core::dtype::DType;
//! use gradrd_core::registry::{iid, source::InMemory, Analysis, Silent};
//!
//! let mut source = InMemory::new("two steps");
//! for step in 0..2u64 {
//!     let values = (0..500u64).map(|i| ((i * 7919 + step * 104_729) % 500) as f64 - 249.5);
//!     source.push("w", Some(step), DType::F32, vec![500], values.collect());
//! }
//! let options = iid::IidOptions { sample_sizes: vec![50, 1000], trials: 20, ..Default::default() };
//! let output = iid::Iid::run(&options, &source, &mut Silent).unwrap();
//! let cells = &output.results[0].cells;
//! // Spearman and KS at size 50; size 1000 is too large for 500 entries: noted, not run
//! let ran: Vec<_> = cells.iter().filter(|c| c.pass_ratio.is_some()).collect();
//! assert_eq!(ran.len(), 2);
//! assert!(ran.iter().all(|c| c.sample_size == 50 && c.trials == 20));
//! assert!(cells.iter().any(|c| c.sample_size == 1000 && c.note.is_some()));
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Validate;
use super::{Analysis, AnalysisError, Failure, Observer, OptionError, Outcome, Schema, Source};
use crate::analysis::depth::OrderSource;
use crate::analysis::iid::{self, IidCell, IidSettings, PairKind, TestKind};

/// The `iid` analysis.
#[derive(Debug, Clone, Copy)]
pub struct Iid;

/// What `iid` tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IidOptions {
    /// `temporal` (same coordinates at consecutive steps), `spatial` (two
    /// disjoint coordinate sets at one step) or `layers` (coordinates of two
    /// neighbouring tensors at one step).
    pub pairs: PairKind,
    pub tests: Vec<TestKind>,
    /// Entries per sample.
    pub sample_sizes: Vec<usize>,
    /// Trials per tensor and sample size.
    pub trials: usize,
    /// A trial passes when its p-value exceeds `alpha`.
    pub alpha: f64,
    /// Seed of the random coordinate draws.
    pub seed: u64,
    /// Draw exact zeros too (default: never draw a zero entry).
    pub keep_zeros: bool,
}

impl Default for IidOptions {
    fn default() -> Self {
        IidOptions {
            pairs: PairKind::Temporal,
            tests: vec![TestKind::Spearman, TestKind::Ks],
            sample_sizes: vec![100, 3000],
            trials: 100,
            alpha: 0.05,
            seed: 0,
            keep_zeros: false,
        }
    }
}

impl Validate for IidOptions {
    fn validate(&self) -> Result<(), OptionError> {
        if self.tests.is_empty() {
            return Err(OptionError::new("tests", "name at least one test"));
        }
        if self.sample_sizes.is_empty() {
            return Err(OptionError::new("sample_sizes", "name at least one size"));
        }
        if let Some(m) = self.sample_sizes.iter().find(|&&m| m < 3) {
            return Err(OptionError::new(
                "sample_sizes",
                format!("must be at least 3, got {m}"),
            ));
        }
        if self.trials == 0 {
            return Err(OptionError::new("trials", "must be at least 1"));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(OptionError::new(
                "alpha",
                format!("must be in (0, 1), got {}", self.alpha),
            ));
        }
        Ok(())
    }
}

/// One tensor's (or tensor pair's) cells.
#[derive(Debug, Clone, Serialize)]
pub struct IidResult {
    pub tensor: String,
    /// The second tensor of a `layers` pair.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tensor_b: Option<String>,
    /// Recorded steps the study used.
    pub steps: usize,
    pub cells: Vec<IidCell>,
}

/// `gradrd.iid/1`.
#[derive(Debug, Clone, Serialize)]
pub struct IidOutput {
    pub schema: Schema,
    pub dump: String,
    pub pairs: PairKind,
    /// The order of the tensors (and so which tensors are `layers`
    /// neighbours).
    pub order: OrderSource,
    pub alpha: f64,
    pub trials: usize,
    pub seed: u64,
    pub results: Vec<IidResult>,
    pub errors: Vec<Failure>,
}

impl Outcome for IidOutput {
    fn partial(&self) -> bool {
        !self.errors.is_empty()
    }
}

impl Analysis for Iid {
    const KIND: &'static str = "iid";
    const SCHEMA: Schema = "gradrd.iid/1";
    type Options = IidOptions;
    type Output = IidOutput;

    fn run(
        options: &IidOptions,
        source: &dyn Source,
        observer: &mut dyn Observer,
    ) -> Result<IidOutput, AnalysisError> {
        options.validate()?;
        let settings = IidSettings {
            tests: options.tests.clone(),
            sample_sizes: options.sample_sizes.clone(),
            trials: options.trials,
            alpha: options.alpha,
            seed: options.seed,
            skip_zeros: !options.keep_zeros,
        };
        let tensors = source.tensors();
        if tensors.is_empty() {
            return Err(super::nothing_selected(source));
        }
        // Each tensor's indices in step order.
        let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (index, info) in tensors.iter().enumerate() {
            by_name.entry(info.name.as_str()).or_default().push(index);
        }
        let (names, order) = source.depth_order().sort(by_name.keys().copied());
        let columns: Vec<&[&str]> = match options.pairs {
            PairKind::Layers => names.windows(2).collect(),
            PairKind::Temporal | PairKind::Spatial => names.chunks(1).collect(),
        };
        let mut results = Vec::new();
        let mut errors = source.unreadable().to_vec();
        observer.begin(columns.len() as u64, "testing");
        for (index, column) in columns.into_iter().enumerate() {
            observer.item(column[0]);
            let stream = index as u64;
            let outcome = match column {
                [a, b] => common_steps(source, &by_name[a], &by_name[b])
                    .and_then(|(a, b)| Ok((read_steps(source, &a)?, read_steps(source, &b)?)))
                    .and_then(|(a, b)| {
                        iid::layers(&a, &b, &settings, stream)
                            .map(|cells| (a.len(), cells))
                            .map_err(|e| e.to_string())
                    }),
                _ => read_steps(source, &by_name[column[0]]).and_then(|steps| {
                    let cells = match options.pairs {
                        PairKind::Spatial => iid::spatial(&steps, &settings, stream),
                        _ => iid::temporal(&steps, &settings, stream),
                    };
                    cells.map(|c| (steps.len(), c)).map_err(|e| e.to_string())
                }),
            };
            let (tensor, tensor_b) = (column[0].to_string(), column.get(1).map(|b| b.to_string()));
            match outcome {
                Ok((steps, cells)) => results.push(IidResult {
                    tensor,
                    tensor_b,
                    steps,
                    cells,
                }),
                Err(error) => errors.push(Failure {
                    file: None,
                    tensor: Some(match tensor_b {
                        Some(b) => format!("{tensor} | {b}"),
                        None => tensor,
                    }),
                    step: None,
                    error,
                }),
            }
            observer.advance(1);
        }
        observer.end();
        if options.pairs == PairKind::Layers && names.len() < 2 {
            errors.push(Failure {
                file: None,
                tensor: names.first().map(|n| n.to_string()),
                step: None,
                error: "layer pairs need at least two tensors".to_string(),
            });
        }
        if results.is_empty() {
            return Err(AnalysisError::AllFailed(errors));
        }
        Ok(IidOutput {
            schema: Self::SCHEMA,
            dump: source.label().to_string(),
            pairs: options.pairs,
            order,
            alpha: options.alpha,
            trials: options.trials,
            seed: options.seed,
            results,
            errors,
        })
    }
}

/// The values of the tensors `indices`, in order.
fn read_steps(source: &dyn Source, indices: &[usize]) -> Result<Vec<Vec<f64>>, String> {
    indices.iter().map(|&i| source.read(i)).collect()
}

/// The indices of two tensors at the steps both have, paired in `a`'s
/// order.
fn common_steps(
    source: &dyn Source,
    a: &[usize],
    b: &[usize],
) -> Result<(Vec<usize>, Vec<usize>), String> {
    let tensors = source.tensors();
    let (left, right): (Vec<usize>, Vec<usize>) = a
        .iter()
        .filter_map(|&ia| {
            b.iter()
                .find(|&&ib| tensors[ib].step == tensors[ia].step)
                .map(|&ib| (ia, ib))
        })
        .unzip();
    if left.is_empty() {
        return Err("the two tensors share no recorded step".to_string());
    }
    Ok((left, right))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::registry::source::InMemory;
    use crate::registry::Silent;

    /// Two tensors of 500 distinct entries at three steps.
    fn source() -> InMemory {
        let mut source = InMemory::new("mem");
        for step in 0..3u64 {
            for (name, offset) in [("a", 0u64), ("b", 1)] {
                let values = (0..500u64)
                    .map(|i| ((i * 7919 + step * 104_729 + offset * 31) % 1009) as f64 - 504.0)
                    .collect();
                source.push(name, Some(step), DType::F32, vec![500], values);
            }
        }
        source
    }

    #[test]
    fn a_size_too_large_for_a_tensor_keeps_the_other_sizes() {
        let options = IidOptions {
            sample_sizes: vec![50, 3000],
            trials: 10,
            ..IidOptions::default()
        };
        let output = Iid::run(&options, &source(), &mut Silent).unwrap();
        assert_eq!(output.results.len(), 2);
        for result in &output.results {
            let at = |m: usize| result.cells.iter().filter(move |c| c.sample_size == m);
            assert!(at(50).all(|c| c.trials == 10 && c.pass_ratio.is_some()));
            assert!(at(3000).all(|c| c.trials == 0 && c.note.is_some()));
        }
        assert!(!output.partial());
    }

    #[test]
    fn layer_pairs_are_neighbours_in_depth_order() {
        let options = IidOptions {
            pairs: PairKind::Layers,
            sample_sizes: vec![50],
            trials: 5,
            ..IidOptions::default()
        };
        let output = Iid::run(&options, &source(), &mut Silent).unwrap();
        assert_eq!(output.results.len(), 1);
        assert_eq!(output.results[0].tensor, "a");
        assert_eq!(output.results[0].tensor_b.as_deref(), Some("b"));
        assert_eq!(output.results[0].steps, 3);
    }

    #[test]
    fn bad_options_name_their_field() {
        for (options, field) in [
            (
                IidOptions {
                    trials: 0,
                    ..IidOptions::default()
                },
                "trials",
            ),
            (
                IidOptions {
                    alpha: 1.0,
                    ..IidOptions::default()
                },
                "alpha",
            ),
            (
                IidOptions {
                    sample_sizes: vec![2],
                    ..IidOptions::default()
                },
                "sample_sizes",
            ),
            (
                IidOptions {
                    tests: vec![],
                    ..IidOptions::default()
                },
                "tests",
            ),
        ] {
            let error = Iid::run(&options, &source(), &mut Silent).unwrap_err();
            assert!(
                matches!(&error, AnalysisError::Options(e) if e.field == field),
                "{error}"
            );
        }
    }
}
