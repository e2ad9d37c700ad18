//! `gradrd run` from Python: a TOML spec rendered into a report folder.

use std::path::PathBuf;

use gradrd_report::{render, Spec};
use pyo3::prelude::*;

use crate::errors::{data_error, read_error};

/// What a render wrote: the folder, its files, notes and failures.
type Written = (String, Vec<String>, Vec<String>, Vec<String>);

/// Renders the spec at `spec` into `reports/<name>/`; returns the folder,
/// the files written, the notes and the failures (one line each).
#[pyfunction]
pub fn render_report(py: Python<'_>, spec: PathBuf, reports: PathBuf) -> PyResult<Written> {
    let spec = Spec::read(&spec).map_err(|e| read_error(py, e))?;
    let rendered = py
        .detach(|| render(&spec, &reports, &mut |_| {}))
        .map_err(|e| data_error(py, e))?;
    Ok((
        rendered.folder.display().to_string(),
        rendered.files,
        rendered.notes,
        rendered.failures,
    ))
}
