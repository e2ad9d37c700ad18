//! Small floating-point formats with a per-tensor scale: FP8 E4M3 ("fn":
//! no infinities, max 448), FP8 E5M2 (max 57 344) and FP4 E2M1 (max 6), as in
//! P. Micikevicius et al., "FP8 formats for deep learning", arXiv:2209.05433
//! (2022), and the OCP Microscaling spec v1.0 (2023) for E2M1.
//!
//! A value `v` (already divided by the scale) is rounded to the nearest
//! representable value, ties to even mantissa, and saturated to ±max (the
//! cast `np.clip(v, −max, max).astype(ml_dtypes.<format>)`):
//!
//! ```text
//! e_min = 1 − bias,  quantum = 2^(max(⌊log2 |v|⌋, e_min) − mantissa_bits)
//! |v̂| = min(round_half_even(|v| / quantum) · quantum, max)
//! ```
//!
//! The code is `sign | exponent field | mantissa` (exponent field 0 for
//! subnormals); negative values, including −0, keep the sign bit.
//!
//! The per-tensor scale is `absmax / max` (1 for an all-zero tensor), sent as
//! an f32 and used as that f32 on both sides.

/// A sign–exponent–mantissa format of at most 8 bits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MiniFloat {
    pub exponent_bits: u32,
    pub mantissa_bits: u32,
    pub bias: i32,
    /// Largest finite magnitude.
    pub max: f64,
}

/// FP8 E4M3 without infinities (`ml_dtypes.float8_e4m3fn`, `torch.float8_e4m3fn`).
pub const FP8_E4M3: MiniFloat = MiniFloat {
    exponent_bits: 4,
    mantissa_bits: 3,
    bias: 7,
    max: 448.0,
};

/// FP8 E5M2 (`ml_dtypes.float8_e5m2`, `torch.float8_e5m2`).
pub const FP8_E5M2: MiniFloat = MiniFloat {
    exponent_bits: 5,
    mantissa_bits: 2,
    bias: 15,
    max: 57_344.0,
};

/// FP4 E2M1 (`ml_dtypes.float4_e2m1fn`): ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}.
pub const FP4_E2M1: MiniFloat = MiniFloat {
    exponent_bits: 2,
    mantissa_bits: 1,
    bias: 1,
    max: 6.0,
};

impl MiniFloat {
    /// Bits per value: `1 + exponent_bits + mantissa_bits`.
    pub fn bits(&self) -> u32 {
        1 + self.exponent_bits + self.mantissa_bits
    }

    /// Number of codes, `2^bits`.
    pub fn alphabet(&self) -> u32 {
        1 << self.bits()
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

    /// The value of a code (codes beyond `bits` use only the low bits).
    pub fn decode(&self, code: u8) -> f64 {
        let mantissa_mask = (1u8 << self.mantissa_bits) - 1;
        let exponent_mask = (1u8 << self.exponent_bits) - 1;
        let mantissa = f64::from(code & mantissa_mask);
        let field = (code >> self.mantissa_bits) & exponent_mask;
        let magnitude = if field == 0 {
            mantissa * pow2(self.min_exponent() - self.mantissa_bits as i32)
        } else {
            (f64::from(1u32 << self.mantissa_bits) + mantissa)
                * pow2(i32::from(field) - self.bias - self.mantissa_bits as i32)
        };
        if (code >> (self.exponent_bits + self.mantissa_bits)) & 1 == 1 {
            -magnitude
        } else {
            magnitude
        }
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
                if value.abs() > format.max {
                    continue; // E5M2 inf/NaN codes
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
        assert_eq!(FP8_E4M3.encode(f64::NAN), None);
        assert_eq!(FP8_E4M3.encode(f64::INFINITY), Some(0x7e));
        assert_eq!(FP8_E4M3.encode(f64::NEG_INFINITY), Some(0xfe));
    }
}
