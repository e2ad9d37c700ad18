//! The package's exceptions, raised from Rust with the same one-line
//! messages as the command line. The classes live in `gradrd/_errors.py`
//! (so that `OptionError` can also be a `ValueError` and `ReadError` an
//! `OSError`):
//!
//! | exception | raised when |
//! |---|---|
//! | `GradrdError` | base of all below |
//! | `OptionError(GradrdError, ValueError)` | an option value cannot be used; `.field` names it |
//! | `DataError(GradrdError)` | the data cannot be analysed (every tensor failed, non-finite values, a corrupt stream) |
//! | `ReadError(GradrdError, OSError)` | a file cannot be read |

use gradrd_core::registry::AnalysisError;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// The exception class `name` of `gradrd._errors` called with `message`
/// (and `field`, for an `OptionError`).
fn raise(py: Python<'_>, name: &str, message: String, field: Option<&str>) -> PyErr {
    let built = py.import("gradrd._errors").and_then(|module| {
        let class = module.getattr(name)?;
        match field {
            Some(field) => class.call1((message.clone(), field)),
            None => class.call1((message.clone(),)),
        }
    });
    match built {
        Ok(error) => PyErr::from_value(error),
        // only when the extension is imported outside its package
        Err(_) => PyRuntimeError::new_err(message),
    }
}

/// A defect of gradrd itself (a Rust panic, caught).
pub fn internal_error(py: Python<'_>, message: String) -> PyErr {
    raise(py, "GradrdError", message, None)
}

/// An option value that cannot be used; `field` names the option.
pub fn option_error(py: Python<'_>, field: &str, message: String) -> PyErr {
    raise(py, "OptionError", message, Some(field))
}

/// Data that cannot be analysed.
pub fn data_error(py: Python<'_>, message: impl std::fmt::Display) -> PyErr {
    raise(py, "DataError", message.to_string(), None)
}

/// A file that cannot be read.
pub fn read_error(py: Python<'_>, message: impl std::fmt::Display) -> PyErr {
    raise(py, "ReadError", message.to_string(), None)
}

/// The exception of an analysis that produced nothing.
pub fn analysis_error(py: Python<'_>, error: AnalysisError) -> PyErr {
    match &error {
        // options read from JSON name their path in the message
        // (`families[1]: unknown variant …`): the field is its first part
        AnalysisError::Options(option) if option.field == "options" => {
            let field = option
                .message
                .split_once(": ")
                .and_then(|(path, _)| path.split(['[', '.']).next())
                .filter(|f| !f.is_empty() && f.chars().all(|c| c.is_alphanumeric() || c == '_'))
                .unwrap_or(option.field);
            option_error(py, field, option.message.clone())
        }
        AnalysisError::Options(option) => option_error(py, option.field, error.to_string()),
        AnalysisError::NothingReadable { .. } => read_error(py, error),
        _ => data_error(py, error),
    }
}
