//! The Python extension `gradrd._gradrd`: the library's registry of
//! analyses, its codebooks and entropy coder, its dump readers and its
//! report runner, for the `gradrd` package (`python/gradrd`), which gives
//! them their Python signatures, docstrings and array conversions.

mod analysis;
mod arrays;
mod call;
mod codebook;
mod errors;
mod read;
mod report;

use pyo3::prelude::*;

#[pymodule]
fn _gradrd(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add("KINDS", gradrd_core::registry::by_kind::KINDS.to_vec())?;
    module.add_function(wrap_pyfunction!(analysis::run_analysis, module)?)?;
    module.add_function(wrap_pyfunction!(codebook::design, module)?)?;
    module.add_function(wrap_pyfunction!(codebook::design_from, module)?)?;
    module.add_function(wrap_pyfunction!(report::render_report, module)?)?;
    module.add_class::<codebook::PyCodebook>()?;
    module.add_class::<read::Reader>()?;
    Ok(())
}
