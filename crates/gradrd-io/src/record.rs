//! A recorded step as a safetensors file: every tensor as little-endian
//! `F32` under its parameter name, and `__metadata__ = {"step": "<n>"}`;
//! the file name `step_NNNNNN.safetensors` carries the step, so a folder of
//! them is a dump that [`crate::dump::Dump`] reads as a time series.

use std::collections::HashMap;

use safetensors::tensor::{Dtype, TensorView};

/// A named tensor: shape and values.
pub struct Named<'a> {
    pub name: &'a str,
    pub shape: Vec<usize>,
    pub values: &'a [f64],
}

/// `step_NNNNNN.safetensors` (six digits, more when needed).
pub fn file_name(step: u64) -> String {
    format!("step_{step:06}.safetensors")
}

/// The bytes of one safetensors file holding `tensors` as F32.
pub fn safetensors_bytes(
    step: u64,
    tensors: &[Named<'_>],
) -> Result<Vec<u8>, safetensors::SafeTensorError> {
    let raw: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| {
            t.values
                .iter()
                .flat_map(|&v| (v as f32).to_le_bytes())
                .collect()
        })
        .collect();
    let mut views = Vec::with_capacity(tensors.len());
    for (t, bytes) in tensors.iter().zip(&raw) {
        views.push((t.name, TensorView::new(Dtype::F32, t.shape.clone(), bytes)?));
    }
    let metadata = HashMap::from([("step".to_string(), step.to_string())]);
    safetensors::serialize(views, Some(metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_tensors_read_back_as_f32() {
        let w = [1.5, -2.25, 0.0, 3.0];
        let v = [0.1];
        let bytes = safetensors_bytes(
            42,
            &[
                Named {
                    name: "w1",
                    shape: vec![2, 2],
                    values: &w,
                },
                Named {
                    name: "v",
                    shape: vec![1],
                    values: &v,
                },
            ],
        )
        .unwrap();
        let read = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let w1 = read.tensor("w1").unwrap();
        assert_eq!(w1.shape(), &[2, 2]);
        let values: Vec<f32> = w1
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(values, vec![1.5, -2.25, 0.0, 3.0]);
        assert_eq!(read.tensor("v").unwrap().data(), 0.1f32.to_le_bytes());
        assert_eq!(file_name(42), "step_000042.safetensors");
    }
}
