//! Reference values, generated (never edited by hand):
//!
//! | module | contents | regenerate with |
//! |---|---|---|
//! | [`dist`] | special functions and the four families' pdf/cdf/ppf/moments (scipy, mpmath) | `python3 scripts/ref_dist.py > crates/gradrd-testkit/src/reference/dist.rs` |
//! | [`minifloat`] | FP8/FP4 codes (ml_dtypes) and INT8 rounding (numpy) | `python3 scripts/baseline_reference.py > crates/gradrd-testkit/src/reference/minifloat.rs` |
//! | [`stats`] | KS, Kolmogorov distribution, Spearman, Wasserstein, moments (scipy, numpy) | `python3 scripts/ref_stats.py > crates/gradrd-testkit/src/reference/stats.rs` |

#[rustfmt::skip]
pub mod dist;
#[rustfmt::skip]
pub mod minifloat;
#[rustfmt::skip]
pub mod stats;
