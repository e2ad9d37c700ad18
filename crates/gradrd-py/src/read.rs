//! Every dump format the command line reads, from Python: `(name, step,
//! array)` for each tensor of a file or folder, one tensor in memory at a
//! time. A tensor (or file) that cannot be read is reported — raised, or
//! handed to Python's warnings — and the others go on.

use std::path::PathBuf;

use gradrd_io::dump::{unreadable, Dump};
use numpy::{IntoPyArray, PyArrayDyn, PyArrayMethods};
use pyo3::prelude::*;

use crate::errors::read_error;

/// What `__next__` yields: a tensor, or why one could not be read.
type Item<'py> = (String, Option<u64>, Bound<'py, PyArrayDyn<f64>>);

/// The tensors of a dump, in `(step, name)` order.
#[pyclass(name = "_Reader", module = "gradrd._gradrd")]
pub struct Reader {
    dump: Dump,
    next: usize,
    /// Files of the dump that could not be opened, not yet reported.
    unopened: Vec<String>,
}

#[pymethods]
impl Reader {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let dump = py
            .detach(|| Dump::open(&path))
            .map_err(|e| read_error(py, e))?;
        let unopened = unreadable(&dump).iter().map(|f| f.describe()).collect();
        Ok(Reader {
            dump,
            next: 0,
            unopened,
        })
    }

    /// Files that could not be opened (each once).
    fn take_unopened(&mut self) -> Vec<String> {
        std::mem::take(&mut self.unopened)
    }

    /// Number of tensors.
    fn __len__(&self) -> usize {
        self.dump.tensors().len()
    }

    /// The next tensor as float64 in its shape; `Ok(None)` at the end;
    /// `Err` (a `ReadError`) names the file and tensor that failed — the
    /// next call goes on with the tensor after it.
    fn read_next<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Item<'py>>> {
        let Some(meta) = self.dump.tensors().get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        let dump = &self.dump;
        let values = py
            .detach(|| dump.read(meta))
            .map_err(|e| read_error(py, e))?;
        let shape: Vec<usize> = meta.shape.iter().map(|&d| d as usize).collect();
        let array = values
            .into_pyarray(py)
            .reshape(shape)
            .map_err(|e| read_error(py, format!("{}: {e}", meta.name)))?;
        Ok(Some((meta.name.clone(), meta.step, array)))
    }
}
