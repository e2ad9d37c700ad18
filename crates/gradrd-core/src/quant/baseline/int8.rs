//! INT8 per tensor, symmetric: scale `s = absmax / 127` (sent as f32),
//!
//! ```text
//! q = clip(round_half_even(x / s), −127, 127),   x̂ = q · s
//! ```
//!
//! the restricted symmetric range of `torch.ao.quantization` with
//! `qscheme=torch.per_tensor_symmetric, quant_min=-127, quant_max=127`
//! (the default `qint8` observer uses `[−128, 127]` and `s = absmax / 127.5`;
//! the restricted range keeps the codebook symmetric). numpy's
//! `np.clip(np.round(x / s), -127, 127)` is the reference (numpy rounds half
//! to even). The code sent is the byte `q + 128`.

use super::{absmax, as_sent, BaselineError, Coded, SIDE_FLOAT_BITS};

/// `clip(round_half_even(x / scale), −127, 127)`.
pub fn int8_code(x: f64, scale: f64) -> i8 {
    (x / scale).round_ties_even().clamp(-127.0, 127.0) as i8
}

/// The per-tensor scale as sent (`1` for an all-zero tensor).
pub fn int8_scale(samples: &[f64]) -> f64 {
    let scale = as_sent(absmax(samples) / 127.0);
    if scale > 0.0 && scale.is_finite() {
        scale
    } else {
        1.0
    }
}

pub(crate) fn quantize(samples: &[f64]) -> Result<Coded, BaselineError> {
    let scale = int8_scale(samples);
    let mut symbols = Vec::with_capacity(samples.len());
    let mut decoded = Vec::with_capacity(samples.len());
    for &x in samples {
        let q = int8_code(x, scale);
        symbols.push((i32::from(q) + 128) as u32);
        decoded.push(f64::from(q) * scale);
    }
    Coded::dense(decoded, &symbols, 256, 8.0, SIDE_FLOAT_BITS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradrd_testkit::reference::minifloat::{INT8_CODES, INT8_INPUTS, INT8_SCALE};

    #[test]
    fn int8_codes_match_numpy_round_half_even() {
        for (&x, &expected) in INT8_INPUTS.iter().zip(&INT8_CODES) {
            assert_eq!(int8_code(x, INT8_SCALE), expected, "x = {x:e}");
        }
    }

    #[test]
    fn scale_maps_absmax_to_127() {
        let samples = [0.5, -1.27, 0.0];
        let scale = int8_scale(&samples);
        gradrd_testkit::assert_close(scale, f64::from(0.01f32), 0.0, 0.0);
        assert_eq!(int8_code(-1.27, scale), -127);
        assert_eq!(int8_code(0.5, scale), 50);
    }
}
