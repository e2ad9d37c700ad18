//! `evolve`: how the fitted models move over training steps and network
//! depth — one row per tensor × step × family with the fitted parameters,
//! the excess kurtosis and the distances to each fit, in depth order
//! ([`crate::analysis::depth`]) then step; schema `gradrd.evolve/1`.
//!
//! The options are `fit`'s ([`FitOptions`]): the same families, zeros,
//! location and goodness-of-fit choices at every step.
//!
//! ```
//! use gradrd_core::dist::FamilyKind;
//! use gradrd_core::dtype::DType;
//! use gradrd_core::registry::{evolve, fit::FitOptions, source::InMemory, Analysis, Silent};
//!
//! // The same Laplace quantiles at scale 1 (step 0) and scale 2 (step 10).
//! let quantiles: Vec<f64> = (1..=999)
//!     .map(|i| {
//!         let u = i as f64 / 1000.0;
//!         if u < 0.5 { (2.0 * u).ln() } else { -(2.0 * (1.0 - u)).ln() }
//!     })
//!     .collect();
//! let mut source = InMemory::new("two steps");
//! for (step, scale) in [(0u64, 1.0), (10, 2.0)] {
//!     let values = quantiles.iter().map(|q| q * scale).collect();
//!     source.push("w", Some(step), DType::F64, vec![999], values);
//! }
//! let options = FitOptions { families: vec![FamilyKind::Laplace], ..Default::default() };
//! let output = evolve::Evolve::run(&options, &source, &mut Silent).unwrap();
//! let [first, last] = &output.rows[..] else { panic!("a row per step") };
//! assert_eq!((first.step, last.step), (Some(0), Some(10)));
//! assert!((last.scale / first.scale - 2.0).abs() < 1e-9, "the scale doubles");
//! ```

use serde::Serialize;

use super::fit::{failure, FitOptions};
use super::parallel::per_item;
use super::{Analysis, AnalysisError, Failure, Observer, Outcome, Schema, Source, Validate};
use crate::analysis::{fit_tensor, FamilyOutcome};
use crate::dist::FamilyKind;

/// The `evolve` analysis.
#[derive(Debug, Clone, Copy)]
pub struct Evolve;

/// One fitted tensor × step × family.
#[derive(Debug, Clone, Serialize)]
pub struct EvolveRow {
    pub tensor: String,
    /// Rank of the tensor in the model's order.
    pub depth: usize,
    pub step: Option<u64>,
    pub family: FamilyKind,
    /// β of gennorm, c of dweibull; `null` for laplace and normal.
    pub shape: Option<f64>,
    pub loc: f64,
    pub scale: f64,
    pub n_fit: usize,
    pub zero_fraction: f64,
    pub excess_kurtosis: Option<f64>,
    pub loglik: f64,
    pub ks: Option<f64>,
    pub w1: Option<f64>,
    pub w2: Option<f64>,
}

/// `gradrd.evolve/1`.
#[derive(Debug, Clone, Serialize)]
pub struct EvolveOutput {
    pub schema: Schema,
    pub dump: String,
    pub rows: Vec<EvolveRow>,
    pub errors: Vec<Failure>,
}

impl Outcome for EvolveOutput {
    fn partial(&self) -> bool {
        !self.errors.is_empty()
    }
}

impl Analysis for Evolve {
    const KIND: &'static str = "evolve";
    const SCHEMA: Schema = "gradrd.evolve/1";
    type Options = FitOptions;
    type Output = EvolveOutput;

    fn run(
        options: &FitOptions,
        source: &dyn Source,
        observer: &mut dyn Observer,
    ) -> Result<EvolveOutput, AnalysisError> {
        options.validate()?;
        let tensors = source.tensors();
        if tensors.is_empty() {
            return Err(super::nothing_selected(source));
        }
        let settings = options.settings();
        let (order, _) = source
            .depth_order()
            .sort(tensors.iter().map(|t| t.name.as_str()));
        let depth_of = |name: &str| order.iter().position(|n| *n == name).unwrap_or(0);
        let mut indices: Vec<usize> = (0..tensors.len()).collect();
        indices.sort_by_key(|&i| (depth_of(&tensors[i].name), tensors[i].step));
        observer.begin(indices.len() as u64, "fitting");
        let fits = per_item(
            &indices,
            observer,
            |&i| match tensors[i].step {
                Some(step) => format!("{} step {step}", tensors[i].name),
                None => tensors[i].name.clone(),
            },
            |&i| {
                source
                    .read(i)
                    .and_then(|values| fit_tensor(values, &settings).map_err(|e| e.to_string()))
            },
        );
        observer.end();
        let mut rows = Vec::new();
        let mut errors = source.unreadable().to_vec();
        for (&i, fit) in indices.iter().zip(fits) {
            let info = &tensors[i];
            let fit = match fit {
                Ok(fit) => fit,
                Err(error) => {
                    errors.push(failure(info, error));
                    continue;
                }
            };
            for outcome in &fit.fits {
                match outcome {
                    FamilyOutcome::Fitted(f) => rows.push(EvolveRow {
                        tensor: info.name.clone(),
                        depth: depth_of(&info.name),
                        step: info.step,
                        family: f.family,
                        shape: f.params.get("beta").or(f.params.get("c")).copied(),
                        loc: f.params["loc"],
                        scale: f.params["scale"],
                        n_fit: fit.n_fit,
                        zero_fraction: fit.zero_fraction,
                        excess_kurtosis: fit.moments.excess_kurtosis,
                        loglik: f.loglik,
                        ks: f.ks,
                        w1: f.w1,
                        w2: f.w2,
                    }),
                    FamilyOutcome::Failed { family, error } => {
                        errors.push(failure(info, format!("{family}: {error}")))
                    }
                }
            }
        }
        if rows.is_empty() {
            return Err(AnalysisError::AllFailed(errors));
        }
        Ok(EvolveOutput {
            schema: Self::SCHEMA,
            dump: source.label().to_string(),
            rows,
            errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;
    use crate::registry::source::InMemory;
    use crate::registry::Silent;

    #[test]
    fn rows_run_in_depth_then_step_order() {
        let mut source = InMemory::new("mem");
        for step in [20u64, 10] {
            for name in ["layer10.w", "layer2.w"] {
                let values = (0..400u64)
                    .map(|i| ((i * 7919 + step) % 401) as f64 / 400.0 - 0.5)
                    .collect();
                source.push(name, Some(step), DType::F32, vec![400], values);
            }
        }
        let options = FitOptions {
            families: vec![FamilyKind::Normal],
            ..FitOptions::default()
        };
        let output = Evolve::run(&options, &source, &mut Silent).unwrap();
        let order: Vec<(&str, usize, Option<u64>)> = output
            .rows
            .iter()
            .map(|r| (r.tensor.as_str(), r.depth, r.step))
            .collect();
        assert_eq!(
            order,
            [
                ("layer2.w", 0, Some(10)),
                ("layer2.w", 0, Some(20)),
                ("layer10.w", 1, Some(10)),
                ("layer10.w", 1, Some(20)),
            ]
        );
    }
}
