//! The small floating-point formats, one type for every user: the baselines
//! that code a whole tensor in FP8/FP4 ([`super::baseline`]), top-k with the
//! kept values in FP8/FP4 (the `topk-fp8`/`topk-fp4` baselines, the
//! error-feedback replay's `topk+float` in [`crate::compress::sparsify`]),
//! the federated simulator's uplink and the CLI's cost table.
//!
//! A [`MiniFloat`] is a sign bit, `exponent_bits` of biased exponent and
//! `mantissa_bits` of fraction, with subnormals at exponent field 0, as in
//! IEEE 754, plus how the format spends its top codes on non-finite values
//! ([`NonFinite`]); the largest finite magnitude follows from those. The
//! formats are constants:
//!
//! | constant | serialized | layout | non-finite codes | max |
//! |---|---|---|---|---|
//! | [`FP8_E4M3`] | `fp8_e4m3` | E4M3, bias 7 | NaN only (`…fn`) | 448 |
//! | [`FP8_E5M2`] | `fp8_e5m2` | E5M2, bias 15 | ±∞ and NaN | 57 344 |
//! | [`FP4_E2M1`] | `fp4_e2m1` | E2M1, bias 1 | none | 6 |
//!
//! as in P. Micikevicius et al., "FP8 formats for deep learning",
//! arXiv:2209.05433 (2022), the OCP 8-bit Floating Point Specification (OFP8)
//! rev. 1.0 (2023) and, for E2M1, the OCP Microscaling Formats (MX) v1.0
//! specification (2023); they are `ml_dtypes.float8_e4m3fn`,
//! `ml_dtypes.float8_e5m2` and `ml_dtypes.float4_e2m1fn`. Another signed
//! format with subnormals is one more constant made with [`MiniFloat::new`].
//!
//! **Rounding.** A value `v` (already divided by the scale) is rounded to the
//! nearest representable value, ties to even mantissa, and saturated to
//! ±max (the cast `np.clip(v, −max, max).astype(ml_dtypes.<format>)`,
//! checked bit for bit against `ml_dtypes`):
//!
//! ```text
//! e_min = 1 − bias,  quantum = 2^(max(⌊log2 |v|⌋, e_min) − mantissa_bits)
//! |v̂| = min(round_half_even(|v| / quantum) · quantum, max)
//! ```
//!
//! The code is `sign | exponent field | mantissa` (exponent field 0 for
//! subnormals); negative values, including −0, keep the sign bit.
//!
//! **Scaling.** A tensor or message is sent as codes of `x / s` with one
//! scale that maps its largest magnitude onto the largest finite value, so
//! nothing saturates:
//!
//! ```text
//! s = max_i |x_i| / max        (1 for an all-zero tensor)
//! y = round(x / s) · s
//! ```
//!
//! The baselines send `s` as an f32 and use that f32 on both sides
//! ([`MiniFloat::sent_scale`]); the error-feedback replay counts the scale
//! as 32 bits but keeps it in f64 ([`MiniFloat::quantize_scaled`]).

use serde::{Serialize, Serializer};

use super::baseline::{absmax, as_sent};

/// Which codes of a format are not finite numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonFinite {
    /// IEEE 754: the all-ones exponent field holds ±∞ (mantissa 0) and NaN
    /// (FP8 E5M2).
    InfinityAndNan,
    /// Only the all-ones code of each sign (exponent and mantissa) is NaN;
    /// no infinities, the "fn" formats (FP8 E4M3).
    NanOnly,
    /// Every code is a finite number (FP4 E2M1).
    None,
}

/// A sign–exponent–mantissa format of at most 8 bits. Serialized as its
/// name (`fp8_e4m3`, …).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MiniFloat {
    name: &'static str,
    exponent_bits: u32,
    mantissa_bits: u32,
    bias: i32,
    non_finite: NonFinite,
    /// Largest finite magnitude, from the fields above.
    max: f64,
}

/// FP8 E4M3 without infinities (`ml_dtypes.float8_e4m3fn`, `torch.float8_e4m3fn`).
pub const FP8_E4M3: MiniFloat = MiniFloat::new("fp8_e4m3", 4, 3, 7, NonFinite::NanOnly);

/// FP8 E5M2 (`ml_dtypes.float8_e5m2`, `torch.float8_e5m2`).
pub const FP8_E5M2: MiniFloat = MiniFloat::new("fp8_e5m2", 5, 2, 15, NonFinite::InfinityAndNan);

/// FP4 E2M1 (`ml_dtypes.float4_e2m1fn`): ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}.
pub const FP4_E2M1: MiniFloat = MiniFloat::new("fp4_e2m1", 2, 1, 1, NonFinite::None);

impl MiniFloat {
    /// The format with one sign bit, `exponent_bits + mantissa_bits ≤ 7`,
    /// exponent `bias` and the given non-finite codes; `name` is what it
    /// serializes as.
    pub const fn new(
        name: &'static str,
        exponent_bits: u32,
        mantissa_bits: u32,
        bias: i32,
        non_finite: NonFinite,
    ) -> MiniFloat {
        assert!(exponent_bits >= 1 && exponent_bits + mantissa_bits <= 7);
        let mut top_field = (1i32 << exponent_bits) - 1;
        let mut top_mantissa = (1u32 << mantissa_bits) - 1;
        match non_finite {
            NonFinite::InfinityAndNan => top_field -= 1,
            NonFinite::NanOnly => top_mantissa -= 1,
            NonFinite::None => {}
        }
        let significand = ((1u32 << mantissa_bits) + top_mantissa) as f64;
        let shift = top_field - bias - mantissa_bits as i32;
        let max = if shift >= 0 {
            significand * (1u64 << shift) as f64
        } else {
            significand / (1u64 << -shift) as f64
        };
        MiniFloat {
            name,
            exponent_bits,
            mantissa_bits,
            bias,
            non_finite,
            max,
        }
    }

    /// `fp8_e4m3`, `fp8_e5m2` or `fp4_e2m1`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Bits per value: `1 + exponent_bits + mantissa_bits`.
    pub fn bits(&self) -> u32 {
        1 + self.exponent_bits + self.mantissa_bits
    }

    /// Number of codes, `2^bits`.
    pub fn alphabet(&self) -> u32 {
        1 << self.bits()
    }

    /// The largest finite magnitude.
    pub fn max_finite(&self) -> f64 {
        self.max
    }

    fn min_exponent(&self) -> i32 {
        1 - self.bias
    }

    /// The code of `v` (round half to even, saturating); `None` for NaN.
    pub fn encode(&self, v: f64) -> Option<u8> {
        if v.is_nan() {
            return None;
        }
        let sign = u8::from(v.is_sign_negative()) << (self.exponent_bits + self.mantissa_bits);
        let magnitude = v.abs().min(self.max);
        let exponent = floor_log2(magnitude).max(self.min_exponent());
        let quantum = pow2(exponent - self.mantissa_bits as i32);
        let rounded = ((magnitude / quantum).round_ties_even() * quantum).min(self.max);
        if rounded == 0.0 {
            return Some(sign);
        }
        let exponent = floor_log2(rounded);
        let code = if exponent < self.min_exponent() {
            (rounded / pow2(self.min_exponent() - self.mantissa_bits as i32)) as u8
        } else {
            let field = (exponent + self.bias) as u8;
            let mantissa = (rounded / pow2(exponent - self.mantissa_bits as i32)) as u32
                - (1 << self.mantissa_bits);
            (field << self.mantissa_bits) | mantissa as u8
        };
        Some(sign | code)
    }

    /// The value of a code (codes beyond `bits` use only the low bits);
    /// ±∞ or NaN for the format's non-finite codes.
    pub fn decode(&self, code: u8) -> f64 {
        let mantissa_mask = (1u8 << self.mantissa_bits) - 1;
        let exponent_mask = (1u8 << self.exponent_bits) - 1;
        let mantissa = code & mantissa_mask;
        let field = (code >> self.mantissa_bits) & exponent_mask;
        let magnitude = match self.non_finite {
            NonFinite::InfinityAndNan if field == exponent_mask && mantissa == 0 => f64::INFINITY,
            NonFinite::InfinityAndNan if field == exponent_mask => f64::NAN,
            NonFinite::NanOnly if field == exponent_mask && mantissa == mantissa_mask => f64::NAN,
            _ if field == 0 => {
                f64::from(mantissa) * pow2(self.min_exponent() - self.mantissa_bits as i32)
            }
            _ => {
                (f64::from(1u32 << self.mantissa_bits) + f64::from(mantissa))
                    * pow2(i32::from(field) - self.bias - self.mantissa_bits as i32)
            }
        };
        if (code >> (self.exponent_bits + self.mantissa_bits)) & 1 == 1 {
            -magnitude
        } else {
            magnitude
        }
    }

    /// `v` rounded to the format (nearest, ties to even; capped at the
    /// largest finite value); NaN and ±∞ give NaN.
    pub fn round(&self, v: f64) -> f64 {
        if !v.is_finite() {
            return f64::NAN;
        }
        self.encode(v).map_or(f64::NAN, |code| self.decode(code))
    }

    /// The scale `absmax / max` that maps the largest magnitude onto the
    /// largest finite value; 1 for `absmax = 0`.
    pub fn scale(&self, absmax: f64) -> f64 {
        if absmax == 0.0 {
            1.0
        } else {
            absmax / self.max
        }
    }

    /// [`Self::scale`] as sent, rounded to f32; 1 when that is not a finite
    /// positive number (an all-zero tensor, or one whose scale under- or
    /// overflows f32).
    pub fn sent_scale(&self, absmax: f64) -> f64 {
        let scale = as_sent(self.scale(absmax));
        if scale > 0.0 && scale.is_finite() {
            scale
        } else {
            1.0
        }
    }

    /// The code of finite `x` at `scale > 0` and its decoded value.
    pub fn encode_scaled(&self, x: f64, scale: f64) -> (u8, f64) {
        // finite x and scale > 0: x / scale is not NaN
        let code = self.encode(x / scale).unwrap_or(0);
        (code, self.decode(code) * scale)
    }

    /// Rounds `values` in place at [`Self::scale`] of their largest
    /// magnitude (kept in f64); returns the scale.
    pub fn quantize_scaled(&self, values: &mut [f64]) -> f64 {
        let scale = self.scale(absmax(values));
        for x in values.iter_mut() {
            *x = self.round(*x / scale) * scale;
        }
        scale
    }
}

impl Serialize for MiniFloat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name)
    }
}

/// `2^e` for the small exponents used here.
fn pow2(e: i32) -> f64 {
    2f64.powi(e)
}

/// `⌊log2 x⌋` for finite `x > 0` (f64 subnormals included); `i32::MIN` for 0.
fn floor_log2(x: f64) -> i32 {
    if x == 0.0 {
        return i32::MIN;
    }
    let biased = ((x.to_bits() >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // f64 subnormal: far below every format's e_min; only the order matters
        -1075
    } else {
        biased - 1023
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradrd_testkit::assert_close;
    use gradrd_testkit::reference::minifloat::*;

    fn check(format: &MiniFloat, inputs: &[f64], codes: &[u8]) {
        for (&x, &expected) in inputs.iter().zip(codes) {
            let got = format.encode(x).unwrap();
            assert_eq!(
                got, expected,
                "{format:?}: encode({x:e}) = {got:#04x}, ml_dtypes {expected:#04x}"
            );
        }
    }

    #[test]
    fn fp8_e4m3_matches_ml_dtypes_bit_exactly() {
        check(&FP8_E4M3, &FP8_E4M3_INPUTS, &FP8_E4M3_CODES);
    }

    #[test]
    fn fp8_e5m2_matches_ml_dtypes_bit_exactly() {
        check(&FP8_E5M2, &FP8_E5M2_INPUTS, &FP8_E5M2_CODES);
    }

    #[test]
    fn fp4_e2m1_matches_ml_dtypes_bit_exactly() {
        check(&FP4_E2M1, &FP4_E2M1_INPUTS, &FP4_E2M1_CODES);
    }

    proptest::proptest! {
        #[test]
        fn encode_picks_the_nearest_value(exponent in -20.0f64..18.0, negative: bool, which in 0usize..3) {
            // log-uniform magnitudes: subnormals, normals and saturation
            let v = if negative { -exponent.exp2() } else { exponent.exp2() };
            let format = [FP8_E4M3, FP8_E5M2, FP4_E2M1][which];
            let code = format.encode(v).unwrap();
            let got = format.decode(code);
            let target = v.clamp(-format.max, format.max);
            // brute force over every finite code (ties: the ml_dtypes tables)
            let best = (0..format.alphabet())
                .map(|c| format.decode(c as u8))
                .filter(|y| y.abs() <= format.max)
                .map(|y| (y - target).abs())
                .fold(f64::INFINITY, f64::min);
            proptest::prop_assert!((got - target).abs() <= best, "{v}: {got} vs distance {best}");
        }
    }

    #[test]
    fn decode_inverts_encode_on_every_finite_code() {
        for format in [FP8_E4M3, FP8_E5M2, FP4_E2M1] {
            for code in 0..format.alphabet() {
                let code = code as u8;
                let value = format.decode(code);
                if !value.is_finite() {
                    continue; // E5M2 ±inf/NaN, E4M3 NaN
                }
                assert_eq!(format.encode(value), Some(code), "{format:?} code {code}");
            }
        }
        // E4M3 0x7e = 448, E5M2 0x7b = 57344, E2M1 0x7 = 6; smallest subnormals
        assert_close(FP8_E4M3.decode(0x7e), 448.0, 0.0, 0.0);
        assert_close(FP8_E5M2.decode(0x7b), 57344.0, 0.0, 0.0);
        assert_close(FP4_E2M1.decode(0x7), 6.0, 0.0, 0.0);
        assert_close(FP8_E4M3.decode(0x01), 2f64.powi(-9), 0.0, 0.0);
        assert_close(FP8_E5M2.decode(0x01), 2f64.powi(-16), 0.0, 0.0);
        assert_close(FP4_E2M1.decode(0x1), 0.5, 0.0, 0.0);
        // the largest finite magnitude follows from the layout
        assert_eq!(
            [FP8_E4M3, FP8_E5M2, FP4_E2M1].map(|f| f.max_finite()),
            [448.0, 57344.0, 6.0]
        );
        // non-finite codes: E4M3 0x7f/0xff NaN; E5M2 0x7c ∞, 0xfc −∞, 0x7d NaN
        assert!(FP8_E4M3.decode(0x7f).is_nan() && FP8_E4M3.decode(0xff).is_nan());
        assert_eq!(FP8_E5M2.decode(0x7c), f64::INFINITY);
        assert_eq!(FP8_E5M2.decode(0xfc), f64::NEG_INFINITY);
        assert!(FP8_E5M2.decode(0x7d).is_nan());
        assert_eq!(FP4_E2M1.decode(0xf), -6.0);
        assert_eq!(FP8_E4M3.encode(f64::NAN), None);
        assert_eq!(FP8_E4M3.encode(f64::INFINITY), Some(0x7e));
        assert_eq!(FP8_E4M3.encode(f64::NEG_INFINITY), Some(0xfe));
    }

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
        for (format, expected) in [(FP8_E4M3, e4m3), (FP8_E5M2, e5m2), (FP4_E2M1, e2m1)] {
            for (v, want) in x.iter().zip(expected) {
                assert_close(format.round(*v), want, 0.0, 0.0);
            }
        }
        assert!(FP8_E4M3.round(f64::INFINITY).is_nan());
    }

    #[test]
    fn scaled_quantization_maps_the_peak_exactly() {
        let mut v = [1e-3, -4e-3, 2.5e-3];
        let scale = FP8_E4M3.quantize_scaled(&mut v);
        assert_close(scale, 4e-3 / 448.0, 1e-15, 0.0);
        assert_close(v[1], -4e-3, 1e-15, 0.0);
        // sent scales are f32, and 1 when there is nothing to scale
        assert_eq!(FP8_E4M3.sent_scale(4e-3), f64::from((4e-3 / 448.0) as f32));
        assert_eq!(FP8_E4M3.sent_scale(0.0), 1.0);
        assert_eq!(FP8_E4M3.sent_scale(1e-300), 1.0);
        assert_eq!(FP8_E4M3.quantize_scaled(&mut [0.0, -0.0]), 1.0);
    }

    #[test]
    fn serializes_as_its_name() {
        let names = [FP8_E4M3, FP8_E5M2, FP4_E2M1].map(|f| serde_json::to_string(&f).unwrap());
        assert_eq!(names, ["\"fp8_e4m3\"", "\"fp8_e5m2\"", "\"fp4_e2m1\""]);
    }
}
