//! Every analysis of the registry from Python: the kind, its options as
//! JSON (the fields of the kind's `Options`, as a spec table gives them) and
//! the arrays; the output is the kind's schema as JSON — the same document
//! `gradrd <kind> --format json` prints.

use std::sync::atomic::AtomicBool;

use gradrd_core::registry::{by_kind, Silent};
use pyo3::prelude::*;

use crate::arrays::{ArraySource, Held};
use crate::call::detached;
use crate::errors::{analysis_error, option_error};

/// One tensor as Python passes it: name, step, dtype tag, array.
type Tensor<'py> = (String, Option<u64>, String, Bound<'py, PyAny>);

/// Runs the analysis `kind` with `options` (a JSON object) over `tensors`
/// (`(name, step, dtype, array)`, dtype one of `f64`, `f32`, `f16`, `bf16`
/// with bfloat16 given as uint16 bits) and returns its output as JSON.
#[pyfunction]
#[pyo3(signature = (kind, options, tensors, label = "<arrays>"))]
pub fn run_analysis(
    py: Python<'_>,
    kind: &str,
    options: &str,
    tensors: Vec<Tensor<'_>>,
    label: &str,
) -> PyResult<String> {
    let options: serde_json::Value = serde_json::from_str(options)
        .map_err(|e| option_error(py, "options", format!("options: not JSON ({e})")))?;
    let held = tensors
        .iter()
        .map(|(name, _, dtype, array)| Held::borrow(array, dtype, name))
        .collect::<PyResult<Vec<_>>>()?;
    let mut listed = Vec::with_capacity(held.len());
    for ((name, step, _, _), held) in tensors.iter().zip(&held) {
        listed.push((held.info(name.clone(), *step), held.values(name)?));
    }
    let stop = AtomicBool::new(false);
    let source = ArraySource::new(label, listed, &stop);
    let output = detached(py, &stop, || {
        by_kind::run(kind, &options, &source, &mut Silent)
    })?;
    let output = output.map_err(|error| analysis_error(py, error))?;
    Ok(output.to_string())
}
