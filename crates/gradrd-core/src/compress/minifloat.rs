//! The small floating-point formats a sparse message's values can travel in
//! (FP8 E4M3 / E5M2 of the OCP 8-bit floating point specification, 2023, and
//! FP4 E2M1 of the OCP Microscaling formats (MX) v1.0, 2023), after a
//! per-message scale:
//!
//! ```text
//! s = max_i |x_i| / max_finite          (sent once, 32 bits)
//! y = round_format(x / s) · s
//! ```
//!
//! Rounding (nearest, ties to even, saturating) is that of
//! [`crate::quant::baseline::minifloat`], checked bit for bit against
//! `ml_dtypes`; this module only names the formats for the replay. The scale
//! maps the largest value exactly onto the largest finite number, so nothing
//! saturates.

use serde::Serialize;

use crate::quant::baseline::minifloat::{self as format, FP4_E2M1, FP8_E4M3, FP8_E5M2};

/// A small float format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MiniFloat {
    /// 1 sign, 4 exponent (bias 7), 3 mantissa bits; max 448 (no infinities).
    #[serde(rename = "fp8_e4m3")]
    Fp8E4M3,
    /// 1 sign, 5 exponent (bias 15), 2 mantissa bits; max 57 344.
    #[serde(rename = "fp8_e5m2")]
    Fp8E5M2,
    /// 1 sign, 2 exponent (bias 1), 1 mantissa bit; max 6.
    #[serde(rename = "fp4_e2m1")]
    Fp4E2M1,
}

impl MiniFloat {
    /// `fp8_e4m3`, `fp8_e5m2` or `fp4_e2m1`.
    pub fn name(&self) -> &'static str {
        match self {
            MiniFloat::Fp8E4M3 => "fp8_e4m3",
            MiniFloat::Fp8E5M2 => "fp8_e5m2",
            MiniFloat::Fp4E2M1 => "fp4_e2m1",
        }
    }

    fn format(&self) -> format::MiniFloat {
        match self {
            MiniFloat::Fp8E4M3 => FP8_E4M3,
            MiniFloat::Fp8E5M2 => FP8_E5M2,
            MiniFloat::Fp4E2M1 => FP4_E2M1,
        }
    }

    /// Bits per value.
    pub fn bits(&self) -> f64 {
        f64::from(self.format().bits())
    }

    /// The largest finite value.
    pub fn max_finite(&self) -> f64 {
        self.format().max
    }

    /// `v` rounded to the format (nearest, ties to even; capped at the
    /// largest finite value); NaN and ±∞ give NaN.
    pub fn round(&self, v: f64) -> f64 {
        if !v.is_finite() {
            return f64::NAN;
        }
        let format = self.format();
        format
            .encode(v)
            .map_or(f64::NAN, |code| format.decode(code))
    }

    /// Rounds `values` in place with the per-message scale; returns the scale.
    pub fn quantize_scaled(&self, values: &mut [f64]) -> f64 {
        let peak = values.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        if peak == 0.0 {
            return 1.0;
        }
        let scale = peak / self.max_finite();
        for x in values.iter_mut() {
            *x = self.round(*x / scale) * scale;
        }
        scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradrd_testkit::assert_close;

    #[test]
    fn rounding_matches_ml_dtypes() {
        // python3 -c "import numpy as np, ml_dtypes as m; x=np.array([0.3,1.0625,1.1875,-447.,500.,0.001,0.0009765625,2.5,5.0,0.25,-0.76], np.float32);
        //   print([float(v) for v in x.astype(m.float8_e4m3fn).astype(np.float64)]);
        //   print([float(v) for v in x.astype(m.float8_e5m2).astype(np.float64)]);
        //   print([float(v) for v in x.astype(m.float4_e2m1fn).astype(np.float64)])"   (ml_dtypes 0.6.0)
        // -> [0.3125, 1.0, 1.25, -448.0, nan, 0.001953125, 0.0, 2.5, 5.0, 0.25, -0.75]
        //    [0.3125, 1.0, 1.25, -448.0, 512.0, 0.0009765625, 0.0009765625, 2.5, 5.0, 0.25, -0.75]
        //    [0.5, 1.0, 1.0, -6.0, 6.0, 0.0, 0.0, 2.0, 4.0, 0.0, -1.0]
        let x = [
            0.3,
            1.0625,
            1.1875,
            -447.0,
            500.0,
            0.001,
            0.0009765625,
            2.5,
            5.0,
            0.25,
            -0.76,
        ];
        // ml_dtypes casts 500 to NaN in float8_e4m3fn; here it is capped at 448 (documented)
        let e4m3 = [
            0.3125,
            1.0,
            1.25,
            -448.0,
            448.0,
            0.001953125,
            0.0,
            2.5,
            5.0,
            0.25,
            -0.75,
        ];
        let e5m2 = [
            0.3125,
            1.0,
            1.25,
            -448.0,
            512.0,
            0.0009765625,
            0.0009765625,
            2.5,
            5.0,
            0.25,
            -0.75,
        ];
        let e2m1 = [0.5, 1.0, 1.0, -6.0, 6.0, 0.0, 0.0, 2.0, 4.0, 0.0, -1.0];
        for (format, expected) in [
            (MiniFloat::Fp8E4M3, e4m3),
            (MiniFloat::Fp8E5M2, e5m2),
            (MiniFloat::Fp4E2M1, e2m1),
        ] {
            for (v, want) in x.iter().zip(expected) {
                assert_close(format.round(*v), want, 0.0, 0.0);
            }
        }
    }

    #[test]
    fn scaled_quantization_maps_the_peak_exactly() {
        let mut v = [1e-3, -4e-3, 2.5e-3];
        let scale = MiniFloat::Fp8E4M3.quantize_scaled(&mut v);
        assert_close(scale, 4e-3 / 448.0, 1e-15, 0.0);
        assert_close(v[1], -4e-3, 1e-15, 0.0);
    }
}
