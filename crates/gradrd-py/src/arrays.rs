//! Arrays handed over by Python, read in place: a [`Source`] over the
//! buffers of numpy arrays (float64, float32, float16, and bfloat16 as the
//! uint16 bit patterns of a torch tensor), borrowed for the length of a call
//! — no copy on the Python side; each tensor is widened to f64 once, when
//! the analysis reads it, as a dump's tensors are.

use std::sync::atomic::{AtomicBool, Ordering};

use gradrd_core::dtype::DType;
use gradrd_core::registry::{Source, TensorInfo};
use half::{bf16, f16};
use numpy::{PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// A numpy array held (read-only borrowed) for one call.
pub enum Held<'py> {
    F64(PyReadonlyArrayDyn<'py, f64>),
    F32(PyReadonlyArrayDyn<'py, f32>),
    F16(PyReadonlyArrayDyn<'py, f16>),
    /// bfloat16 values as their bit patterns.
    Bf16(PyReadonlyArrayDyn<'py, u16>),
}

impl<'py> Held<'py> {
    /// Borrows `array`, stored as `dtype` (`"f64"`, `"f32"`, `"f16"`,
    /// `"bf16"` — the latter as uint16 bits); `name` is the tensor the
    /// errors name.
    pub fn borrow(array: &Bound<'py, PyAny>, dtype: &str, name: &str) -> PyResult<Self> {
        fn take<'py, T: numpy::Element>(
            array: &Bound<'py, PyAny>,
            name: &str,
            dtype: &str,
        ) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
            let typed = array.cast::<PyArrayDyn<T>>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "tensor '{name}': expected a numpy array of {dtype} values"
                ))
            })?;
            let held = typed.try_readonly().map_err(|e| {
                PyValueError::new_err(format!("tensor '{name}': cannot borrow the array ({e})"))
            })?;
            Ok(held)
        }
        Ok(match dtype {
            "f64" => Held::F64(take(array, name, "float64")?),
            "f32" => Held::F32(take(array, name, "float32")?),
            "f16" => Held::F16(take(array, name, "float16")?),
            "bf16" => Held::Bf16(take(array, name, "uint16 (bfloat16 bits)")?),
            other => {
                return Err(PyValueError::new_err(format!(
                    "tensor '{name}': dtype '{other}' is not one of f64, f32, f16, bf16"
                )))
            }
        })
    }

    fn dtype(&self) -> DType {
        match self {
            Held::F64(_) => DType::F64,
            Held::F32(_) => DType::F32,
            Held::F16(_) => DType::F16,
            Held::Bf16(_) => DType::BF16,
        }
    }

    fn shape(&self) -> Vec<u64> {
        let shape = match self {
            Held::F64(a) => a.shape(),
            Held::F32(a) => a.shape(),
            Held::F16(a) => a.shape(),
            Held::Bf16(a) => a.shape(),
        };
        shape.iter().map(|&d| d as u64).collect()
    }

    /// The values in place (C order); `name` is the tensor the error names.
    pub fn values(&self, name: &str) -> PyResult<Values<'_>> {
        let not_contiguous = |_| {
            PyValueError::new_err(format!(
                "tensor '{name}': the array is not C-contiguous (gradrd's Python \
                 functions copy such arrays once before they get here)"
            ))
        };
        Ok(match self {
            Held::F64(a) => Values::F64(a.as_slice().map_err(not_contiguous)?),
            Held::F32(a) => Values::F32(a.as_slice().map_err(not_contiguous)?),
            Held::F16(a) => Values::F16(a.as_slice().map_err(not_contiguous)?),
            Held::Bf16(a) => Values::Bf16(a.as_slice().map_err(not_contiguous)?),
        })
    }

    /// How the tensor is listed: `name` at `step`, stored as its dtype.
    pub fn info(&self, name: String, step: Option<u64>) -> TensorInfo {
        TensorInfo {
            name,
            step,
            dtype: self.dtype(),
            shape: self.shape(),
            origin: "<array>".to_string(),
        }
    }
}

/// The values of a held array, in place.
#[derive(Clone, Copy)]
pub enum Values<'a> {
    F64(&'a [f64]),
    F32(&'a [f32]),
    F16(&'a [f16]),
    Bf16(&'a [u16]),
}

impl Values<'_> {
    /// The values widened to f64 (exactly: every narrower float is an f64).
    pub fn to_f64(self) -> Vec<f64> {
        match self {
            Values::F64(v) => v.to_vec(),
            Values::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Values::F16(v) => v.iter().map(|&x| x.to_f64()).collect(),
            Values::Bf16(v) => v.iter().map(|&x| bf16::from_bits(x).to_f64()).collect(),
        }
    }
}

/// Arrays as the tensors of a source, sorted by `(step, name)`; reading
/// stops (each further read fails) once `stop` is set — how a Ctrl-C
/// ends a running analysis at the next tensor.
pub struct ArraySource<'a> {
    label: String,
    tensors: Vec<TensorInfo>,
    values: Vec<Values<'a>>,
    stop: &'a AtomicBool,
}

impl<'a> ArraySource<'a> {
    /// `tensors` in any order; `label` names the source in outputs.
    pub fn new(
        label: impl Into<String>,
        tensors: Vec<(TensorInfo, Values<'a>)>,
        stop: &'a AtomicBool,
    ) -> Self {
        let mut tensors = tensors;
        tensors.sort_by(|(a, _), (b, _)| (a.step, &a.name).cmp(&(b.step, &b.name)));
        let (tensors, values) = tensors.into_iter().unzip();
        ArraySource {
            label: label.into(),
            tensors,
            values,
            stop,
        }
    }
}

impl Source for ArraySource<'_> {
    fn label(&self) -> &str {
        &self.label
    }

    fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    fn read(&self, index: usize) -> Result<Vec<f64>, String> {
        if self.stop.load(Ordering::Relaxed) {
            return Err("interrupted".to_string());
        }
        Ok(self.values[index].to_f64())
    }
}
