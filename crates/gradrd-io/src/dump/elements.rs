//! Element types and the conversion of raw tensor bytes to `f64`, plus the
//! streaming [`Summary`] (counts of zeros and non-finite values, finite
//! range) computed chunk by chunk without a full `f64` copy.
//!
//! f16 and bf16 are widened with the `half` crate (IEEE 754 binary16 and
//! bfloat16 are exact subsets of binary64, so the conversion is exact).

use rayon::prelude::*;
use serde::Serialize;

pub use gradrd_core::dtype::DType;

/// How the elements of a tensor are laid out in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Encoding {
    pub dtype: DType,
    pub big_endian: bool,
}

impl Encoding {
    pub(crate) fn little(dtype: DType) -> Self {
        Encoding {
            dtype,
            big_endian: false,
        }
    }

    /// Calls `sink` with every element of `bytes` (whose length is a
    /// multiple of the element size; a trailing partial element is ignored).
    #[inline]
    pub(crate) fn for_each(self, bytes: &[u8], mut sink: impl FnMut(f64)) {
        macro_rules! each {
            ($n:literal, $conv:expr) => {
                for chunk in bytes.chunks_exact($n) {
                    let mut raw = [0u8; $n];
                    raw.copy_from_slice(chunk);
                    sink($conv(raw));
                }
            };
        }
        let be = self.big_endian;
        match self.dtype {
            DType::F16 => each!(2, |r| half::f16::from_bits(if be {
                u16::from_be_bytes(r)
            } else {
                u16::from_le_bytes(r)
            })
            .to_f64()),
            DType::BF16 => each!(2, |r| half::bf16::from_bits(if be {
                u16::from_be_bytes(r)
            } else {
                u16::from_le_bytes(r)
            })
            .to_f64()),
            DType::F32 => each!(4, |r| f64::from(if be {
                f32::from_be_bytes(r)
            } else {
                f32::from_le_bytes(r)
            })),
            DType::F64 => each!(8, |r| if be {
                f64::from_be_bytes(r)
            } else {
                f64::from_le_bytes(r)
            }),
        }
    }

    /// All elements of `bytes` as `f64`, in storage order.
    pub(crate) fn decode(self, bytes: &[u8]) -> Vec<f64> {
        let mut out = Vec::with_capacity(bytes.len() / self.dtype.size_in_bytes());
        self.for_each(bytes, |v| out.push(v));
        out
    }
}

/// What `gradrd inspect` shows about a tensor, computed in one pass.
///
/// ```text
/// zeros = #{x : x == 0}  (+0 and −0)     nan = #{x : x is NaN}
/// inf   = #{x : |x| = ∞}                 min, max over the finite x
/// ```
/// When no value is finite, `min` and `max` are NaN.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    pub len: u64,
    pub zeros: u64,
    pub nan: u64,
    pub inf: u64,
    pub min: f64,
    pub max: f64,
}

/// Bytes per parallel work item (a multiple of every element size).
const CHUNK_BYTES: usize = 1 << 20;
/// Elements widened at a time into a stack buffer before scanning.
const BLOCK: usize = 2048;

/// Branch-free scan of a slice into `summary` (the compiler vectorizes it);
/// the f32 version serves F16, BF16 and F32, which f32 holds exactly.
macro_rules! scan_slice {
    ($name:ident, $float:ty) => {
        fn $name(values: &[$float], summary: &mut Summary) {
            let (mut zeros, mut nan, mut inf) = (0u64, 0u64, 0u64);
            let (mut min, mut max) = (<$float>::INFINITY, <$float>::NEG_INFINITY);
            for &v in values {
                zeros += u64::from(v == 0.0);
                nan += u64::from(v.is_nan());
                inf += u64::from(v.is_infinite());
                let finite = v.is_finite();
                min = min.min(if finite { v } else { <$float>::INFINITY });
                max = max.max(if finite { v } else { <$float>::NEG_INFINITY });
            }
            summary.len += values.len() as u64;
            summary.zeros += zeros;
            summary.nan += nan;
            summary.inf += inf;
            summary.min = summary.min.min(f64::from(min));
            summary.max = summary.max.max(f64::from(max));
        }
    };
}
scan_slice!(scan_f32, f32);
scan_slice!(scan_f64, f64);

impl Summary {
    fn empty() -> Self {
        Summary {
            len: 0,
            zeros: 0,
            nan: 0,
            inf: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn merge(self, other: Summary) -> Summary {
        Summary {
            len: self.len + other.len,
            zeros: self.zeros + other.zeros,
            nan: self.nan + other.nan,
            inf: self.inf + other.inf,
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }

    /// Replaces the ±∞ identities by NaN when no value was finite.
    fn finish(mut self) -> Summary {
        if self.len == self.nan + self.inf {
            self.min = f64::NAN;
            self.max = f64::NAN;
        }
        self
    }

    /// Summary of values already in memory.
    pub fn of_values(values: &[f64]) -> Summary {
        values
            .par_chunks(CHUNK_BYTES / 8)
            .map(|chunk| {
                let mut s = Summary::empty();
                scan_f64(chunk, &mut s);
                s
            })
            .reduce(Summary::empty, Summary::merge)
            .finish()
    }

    /// Summary of raw tensor bytes, in parallel over 1 MiB chunks.
    pub(crate) fn of_bytes(bytes: &[u8], encoding: Encoding) -> Summary {
        bytes
            .par_chunks(CHUNK_BYTES)
            .map(|chunk| {
                let mut s = Summary::empty();
                let part_bytes = BLOCK * encoding.dtype.size_in_bytes();
                if encoding.dtype == DType::F64 {
                    let mut block = [0f64; BLOCK];
                    for part in chunk.chunks(part_bytes) {
                        let n = widen_f64(part, encoding.big_endian, &mut block);
                        scan_f64(&block[..n], &mut s);
                    }
                } else {
                    let mut block = [0f32; BLOCK];
                    for part in chunk.chunks(part_bytes) {
                        let n = match encoding.dtype {
                            DType::F32 => widen_f32(part, encoding.big_endian, &mut block),
                            _ => widen_half(part, encoding, &mut block),
                        };
                        scan_f32(&block[..n], &mut s);
                    }
                }
                s
            })
            .reduce(Summary::empty, Summary::merge)
            .finish()
    }
}

/// Decodes F64 `bytes` (at most `out.len()` elements) into `out`; returns the count.
fn widen_f64(bytes: &[u8], big_endian: bool, out: &mut [f64; BLOCK]) -> usize {
    let mut n = 0;
    for (slot, raw) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(raw);
        *slot = if big_endian {
            f64::from_be_bytes(b)
        } else {
            f64::from_le_bytes(b)
        };
        n += 1;
    }
    n
}

/// Decodes F32 `bytes` (at most `BLOCK` elements) into `out`; returns the count.
fn widen_f32(bytes: &[u8], big_endian: bool, out: &mut [f32; BLOCK]) -> usize {
    let mut n = 0;
    for (slot, raw) in out.iter_mut().zip(bytes.chunks_exact(4)) {
        let b = [raw[0], raw[1], raw[2], raw[3]];
        *slot = if big_endian {
            f32::from_be_bytes(b)
        } else {
            f32::from_le_bytes(b)
        };
        n += 1;
    }
    n
}

/// Decodes F16 or BF16 `bytes` (at most `BLOCK` elements) into `out` as f32
/// (exact) with `half`'s vectorized slice conversion; returns the count.
fn widen_half(bytes: &[u8], encoding: Encoding, out: &mut [f32; BLOCK]) -> usize {
    use half::slice::{HalfBitsSliceExt, HalfFloatSliceExt};
    let mut bits = [0u16; BLOCK];
    let mut n = 0;
    for (slot, raw) in bits.iter_mut().zip(bytes.chunks_exact(2)) {
        let b = [raw[0], raw[1]];
        *slot = if encoding.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        };
        n += 1;
    }
    if encoding.dtype == DType::BF16 {
        bits[..n]
            .reinterpret_cast::<half::bf16>()
            .convert_to_f32_slice(&mut out[..n]);
    } else {
        bits[..n]
            .reinterpret_cast::<half::f16>()
            .convert_to_f32_slice(&mut out[..n]);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradrd_testkit::assert_close;
    use proptest::prelude::*;

    #[test]
    fn decodes_each_dtype_and_byte_order() {
        // 1.5 in binary16 is 0x3E00, in bfloat16 0x3FC0, in binary32 0x3FC00000.
        let f16 = Encoding::little(DType::F16).decode(&[0x00, 0x3E]);
        let bf16 = Encoding::little(DType::BF16).decode(&[0xC0, 0x3F]);
        let f32_be = Encoding {
            dtype: DType::F32,
            big_endian: true,
        }
        .decode(&[0x3F, 0xC0, 0, 0]);
        let f64_le = Encoding::little(DType::F64).decode(&(-2.25f64).to_le_bytes());
        assert_close(f16[0], 1.5, 0.0, 0.0);
        assert_close(bf16[0], 1.5, 0.0, 0.0);
        assert_close(f32_be[0], 1.5, 0.0, 0.0);
        assert_close(f64_le[0], -2.25, 0.0, 0.0);
    }

    #[test]
    fn summary_counts_specials_and_ranges_finite_values() {
        let s = Summary::of_values(&[
            0.0,
            -0.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1.5,
            -2.5,
        ]);
        assert_eq!((s.len, s.zeros, s.nan, s.inf), (7, 2, 1, 2));
        assert_close(s.min, -2.5, 0.0, 0.0);
        assert_close(s.max, 1.5, 0.0, 0.0);
    }

    #[test]
    fn summary_without_finite_values_has_nan_range() {
        let s = Summary::of_values(&[f64::NAN, f64::INFINITY]);
        assert!(s.min.is_nan() && s.max.is_nan());
        let empty = Summary::of_values(&[]);
        assert_eq!(empty.len, 0);
        assert!(empty.min.is_nan());
    }

    /// Sequential reference summary of already-decoded values.
    fn reference(wide: &[f64]) -> (u64, u64, u64, u64, Option<f64>, Option<f64>) {
        let finite: Vec<f64> = wide.iter().copied().filter(|v| v.is_finite()).collect();
        (
            wide.len() as u64,
            wide.iter().filter(|v| **v == 0.0).count() as u64,
            wide.iter().filter(|v| v.is_nan()).count() as u64,
            wide.iter().filter(|v| v.is_infinite()).count() as u64,
            finite.iter().copied().reduce(f64::min),
            finite.iter().copied().reduce(f64::max),
        )
    }

    proptest! {
        /// For every dtype and byte order, the block-wise byte summary equals a
        /// sequential scan of the decoded values (5000 elements span blocks).
        #[test]
        fn byte_summary_matches_decode_for_every_dtype(
            raw in prop::collection::vec(any::<u8>(), 0..40_000),
            dtype in prop_oneof![Just(DType::F16), Just(DType::BF16), Just(DType::F32), Just(DType::F64)],
            big_endian: bool,
        ) {
            let encoding = Encoding { dtype, big_endian };
            let s = Summary::of_bytes(&raw, encoding);
            let (len, zeros, nan, inf, min, max) = reference(&encoding.decode(&raw));
            prop_assert_eq!((s.len, s.zeros, s.nan, s.inf), (len, zeros, nan, inf));
            match (min, max) {
                (Some(min), Some(max)) => {
                    assert_close(s.min, min, 0.0, 0.0);
                    assert_close(s.max, max, 0.0, 0.0);
                }
                _ => prop_assert!(s.min.is_nan() && s.max.is_nan()),
            }
        }

        /// The chunked parallel byte summary equals a plain sequential scan.
        #[test]
        fn byte_summary_matches_sequential(values in prop::collection::vec(
            prop_oneof![any::<f32>(), Just(0.0f32), Just(f32::NAN)], 0..3000)) {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            let s = Summary::of_bytes(&bytes, Encoding::little(DType::F32));
            let wide: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
            prop_assert_eq!(s.len, wide.len() as u64);
            prop_assert_eq!(s.zeros, wide.iter().filter(|v| **v == 0.0).count() as u64);
            prop_assert_eq!(s.nan, wide.iter().filter(|v| v.is_nan()).count() as u64);
            prop_assert_eq!(s.inf, wide.iter().filter(|v| v.is_infinite()).count() as u64);
            let finite: Vec<f64> = wide.iter().copied().filter(|v| v.is_finite()).collect();
            if let Some(min) = finite.iter().copied().reduce(f64::min) {
                prop_assert!(s.min.to_bits() == min.to_bits() || (s.min == 0.0 && min == 0.0));
            } else {
                prop_assert!(s.min.is_nan());
            }
        }
    }
}
