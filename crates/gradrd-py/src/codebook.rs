//! Codebooks from Python: designed on a model or on an array, applied to
//! arrays (indices, the real ANS-coded bytes and back, `quantize eval`'s
//! measures), and read from and written to the `gradrd.codebook/1`
//! document the command line writes.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use gradrd_core::analysis::prepare::{prepare, NanPolicy, ZeroPolicy};
use gradrd_core::dist::{FamilyKind, Model};
use gradrd_core::quant::coding::{decode_symbols_at_most, encode_symbols, EncodedSymbols};
use gradrd_core::quant::evaluate::{encode_all, evaluate_tensor};
use gradrd_core::quant::export::{parse_codebooks, CodebookDocument};
use gradrd_core::quant::tensor::{design_documents, TensorDesignOptions, ZeroLevel};
use gradrd_core::quant::{levels_from_bits, Codebook, DesignSpec, LloydOptions, QuantError};
use gradrd_core::registry::fit::parse_loc;
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde::de::DeserializeOwned;

use crate::arrays::Held;
use crate::call::detached;
use crate::errors::{data_error, option_error};

/// A codebook and the document it came from.
#[pyclass(name = "_Codebook", module = "gradrd._gradrd", frozen)]
pub struct PyCodebook {
    document: CodebookDocument,
    codebook: Codebook,
}

impl PyCodebook {
    fn from_document(py: Python<'_>, document: CodebookDocument) -> PyResult<Self> {
        let codebook = document.codebook().map_err(|e| data_error(py, e))?;
        Ok(PyCodebook { document, codebook })
    }
}

/// An option's value parsed as its serde enum (`"auto"`, `"keep"`, …);
/// the error names the option.
fn parse_enum<T: DeserializeOwned>(py: Python<'_>, field: &str, text: &str) -> PyResult<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|e| option_error(py, field, format!("{field}: {e}")))
}

/// The number of levels from `bits` or `levels` (exactly one given).
fn level_count(py: Python<'_>, bits: Option<u32>, levels: Option<usize>) -> PyResult<usize> {
    match (bits, levels) {
        (Some(_), Some(_)) => Err(option_error(
            py,
            "levels",
            "levels: give bits or levels, not both".to_string(),
        )),
        (None, Some(levels)) => Ok(levels),
        (bits, None) => levels_from_bits(bits.unwrap_or(3))
            .map_err(|e| option_error(py, "bits", format!("bits: {e}"))),
    }
}

fn spec(py: Python<'_>, levels: usize, m: f64, zero_level: bool) -> PyResult<DesignSpec> {
    DesignSpec::new(levels, m, zero_level).map_err(|e| {
        let field = match e {
            QuantError::Levels { .. } => "levels",
            _ => "m",
        };
        option_error(py, field, format!("{field}: {e}"))
    })
}

/// The M-weighted Lloyd-Max codebook of a model given by its family and
/// scipy-named parameters (`quantize design --family … --param …`).
#[pyfunction]
#[pyo3(signature = (family, params, bits = None, levels = None, m = 0.0, zero_level = false))]
pub fn design(
    py: Python<'_>,
    family: &str,
    params: BTreeMap<String, f64>,
    bits: Option<u32>,
    levels: Option<usize>,
    m: f64,
    zero_level: bool,
) -> PyResult<PyCodebook> {
    let kind: FamilyKind = family
        .parse()
        .map_err(|e: String| option_error(py, "family", format!("family: {e}")))?;
    let named: Vec<(&str, f64)> = params.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let model = Model::from_params(kind, &named)
        .map_err(|e| option_error(py, "params", format!("params: {e}")))?;
    let spec = spec(py, level_count(py, bits, levels)?, m, zero_level)?;
    let stop = AtomicBool::new(false);
    let document = detached(py, &stop, || {
        CodebookDocument::for_model(&model, &spec, &LloydOptions::default())
    })?
    .map_err(|e| data_error(py, format!("cannot design: {e}")))?;
    PyCodebook::from_document(py, document)
}

/// The codebook of one tensor's values (`quantize design --from`): on its
/// fitted `family` unless `empirical`, judged on the values as sent.
#[pyfunction]
#[pyo3(signature = (
    dtype, x, bits = None, levels = None, m = 0.0, empirical = false, family = "gennorm",
    zero_level = "auto", zeros = None, nan = "error", loc = "free"
))]
#[allow(clippy::too_many_arguments)]
pub fn design_from(
    py: Python<'_>,
    dtype: &str,
    x: Bound<'_, PyAny>,
    bits: Option<u32>,
    levels: Option<usize>,
    m: f64,
    empirical: bool,
    family: &str,
    zero_level: &str,
    zeros: Option<&str>,
    nan: &str,
    loc: &str,
) -> PyResult<PyCodebook> {
    let options = TensorDesignOptions {
        family: family
            .parse()
            .map_err(|e: String| option_error(py, "family", format!("family: {e}")))?,
        empirical,
        zeros: zeros
            .map(|z| parse_enum::<ZeroPolicy>(py, "zeros", z))
            .transpose()?,
        nan: parse_enum::<NanPolicy>(py, "nan", nan)?,
        loc: parse_loc(loc).map_err(|e| option_error(py, "loc", format!("loc: {e}")))?,
        zero_level: parse_enum::<ZeroLevel>(py, "zero_level", zero_level)?,
        lloyd: LloydOptions::default(),
    };
    let spec = spec(py, level_count(py, bits, levels)?, m, false)?;
    let held = Held::borrow(&x, dtype, "x")?;
    let values = held.values("x")?;
    let stop = AtomicBool::new(false);
    let mut documents = detached(py, &stop, || {
        design_documents(values.to_f64(), &[spec], &options)
    })?
    .map_err(|e| data_error(py, e))?;
    PyCodebook::from_document(py, documents.remove(0))
}

#[pymethods]
impl PyCodebook {
    /// Reads a `gradrd.codebook/1` document (or a manifest holding one).
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        let mut parsed = parse_codebooks(text).map_err(|e| data_error(py, e))?;
        if parsed.len() != 1 {
            return Err(data_error(
                py,
                format!(
                    "the manifest holds {} codebooks; read one document at a time",
                    parsed.len()
                ),
            ));
        }
        let (document, codebook) = parsed.remove(0);
        Ok(PyCodebook { document, codebook })
    }

    /// The document as the command line prints it.
    fn to_json(&self, py: Python<'_>) -> PyResult<String> {
        serde_json::to_string_pretty(&self.document).map_err(|e| data_error(py, e))
    }

    #[getter]
    fn thresholds<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, self.codebook.thresholds())
    }

    #[getter]
    fn centers<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, self.codebook.centers())
    }

    #[getter]
    fn scale(&self) -> f64 {
        self.codebook.scale()
    }

    #[getter]
    fn levels(&self) -> usize {
        self.codebook.levels()
    }

    #[getter]
    fn m(&self) -> f64 {
        self.codebook.m()
    }

    #[getter]
    fn zero_level(&self) -> bool {
        self.codebook.zero_level()
    }

    /// The cell index of every value (`numpy.searchsorted(thresholds,
    /// x / scale, side="left")`), flat.
    fn quantize<'py>(
        &self,
        py: Python<'py>,
        dtype: &str,
        x: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let held = Held::borrow(&x, dtype, "x")?;
        let values = held.values("x")?;
        let stop = AtomicBool::new(false);
        let indices = detached(py, &stop, || encode_all(&self.codebook, &values.to_f64()))?;
        Ok(indices.into_pyarray(py))
    }

    /// The indices of `x` through the entropy coder, as the bytes sent.
    fn encode<'py>(
        &self,
        py: Python<'py>,
        dtype: &str,
        x: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let held = Held::borrow(&x, dtype, "x")?;
        let values = held.values("x")?;
        let stop = AtomicBool::new(false);
        let alphabet = self.codebook.levels() as u32;
        let bytes = detached(py, &stop, || {
            let values = values.to_f64();
            if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
                return Err(format!("x[{bad}] = {} is not finite", values[bad]));
            }
            encode_symbols(&encode_all(&self.codebook, &values), alphabet)
                .map(|encoded| encoded.to_bytes())
                .map_err(|e| e.to_string())
        })?
        .map_err(|e| data_error(py, e))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// The values `data` (from [`PyCodebook::encode`]) decodes to, refusing
    /// a stream that announces more than `max_entries` values.
    fn decode<'py>(
        &self,
        py: Python<'py>,
        data: &[u8],
        max_entries: u64,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let alphabet = self.codebook.levels() as u32;
        let stop = AtomicBool::new(false);
        let values = detached(py, &stop, || {
            let encoded = EncodedSymbols::from_bytes(data, alphabet, max_entries)?;
            let indices = decode_symbols_at_most(&encoded, max_entries)?;
            Ok::<_, gradrd_core::quant::coding::CodingError>(
                indices
                    .into_iter()
                    .map(|i| self.codebook.centers()[i as usize] * self.codebook.scale())
                    .collect::<Vec<f64>>(),
            )
        })?
        .map_err(|e| data_error(py, e))?;
        Ok(values.into_pyarray(py))
    }

    /// `quantize eval`'s measures of the codebook on `x`, as JSON.
    #[pyo3(signature = (dtype, x, m = None, nan = "error"))]
    fn evaluate(
        &self,
        py: Python<'_>,
        dtype: &str,
        x: Bound<'_, PyAny>,
        m: Option<f64>,
        nan: &str,
    ) -> PyResult<String> {
        let nan = parse_enum::<NanPolicy>(py, "nan", nan)?;
        let held = Held::borrow(&x, dtype, "x")?;
        let values = held.values("x")?;
        let stop = AtomicBool::new(false);
        let measured = detached(py, &stop, || {
            let prepared =
                prepare(values.to_f64(), ZeroPolicy::Keep, nan).map_err(|e| e.to_string())?;
            evaluate_tensor(&self.codebook, "x".to_string(), None, &prepared, m)
                .map_err(|e| e.to_string())
        })?
        .map_err(|e| data_error(py, e))?;
        serde_json::to_string(&measured).map_err(|e| data_error(py, e))
    }

    fn __repr__(&self) -> String {
        let family = &self.document.family;
        format!(
            "Codebook({family}, levels={}, m={}, scale={:e}{})",
            self.codebook.levels(),
            self.codebook.m(),
            self.codebook.scale(),
            if self.codebook.zero_level() {
                ", zero_level=True"
            } else {
                ""
            }
        )
    }
}
