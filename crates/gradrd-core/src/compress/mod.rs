//! Gradient compression with error feedback, replayed over recorded gradient
//! sequences: sparsifiers, codebooks and small floats ([`sparsify`],
//! [`crate::quant::minifloat`]), the error-feedback memory ([`feedback`]) and the replay of
//! a whole dump ([`run`]), the bit accounting of a message ([`bits`]), the
//! total-error budgets and bit allocation ([`budget`]), the costs files of
//! cost-weighted pruning ([`cwmp_costs`]), and the studies:
//! DP noise against compression ([`privacy`]), clients that disappear
//! ([`stale`]) and communication cost models ([`cost`]).
//!
//! Every replay is checked against the independent numpy reference
//! `scripts/ref_ef.py` on the real dump `data/digits-mlp`
//! (`tests/ef_reference.rs`, totals to 1e-9 relative).
//!
//! Error feedback (EF-SGD; Karimireddy et al., ICML 2019) with memory decay
//! (CO3):
//!
//! ```text
//! p_t     = g_t + e_t
//! Δ_t     = C(p_t)                 (what is sent)
//! e_{t+1} = γ · (p_t − Δ_t)        γ = 0: no feedback, γ = 1: full feedback
//! ```
//!
//! The compression error of a step is `‖p_t − C(p_t)‖²`; the total error of a
//! run is its sum over steps (Sahu et al., "Rethinking gradient sparsification
//! as total error minimization", NeurIPS 2021).

pub mod bits;
pub mod budget;
pub mod cost;
pub mod cwmp_costs;
pub mod feedback;
pub mod privacy;
mod rng;
pub mod run;
pub mod sparsify;
pub mod stale;

pub use bits::{BitModel, PositionCoding};
pub use feedback::{ErrorFeedback, Feedback, StepOutcome};
pub use rng::SplitMix64;
pub use run::{replay_totals, Run, RunError, RunStep, RunTotals, Scope};
pub use sparsify::{
    cwmp_indices, fraction_to_count, rand_k_indices, threshold_indices, top_k_indices, Compressor,
};

/// Why a compression replay cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompressError {
    #[error("{field} must be a fraction in (0, 1], got {value}")]
    Fraction { field: &'static str, value: f64 },
    #[error("lambda must be finite and >= 0, got {0}")]
    Lambda(f64),
    #[error("gamma must be in [0, 1], got {0}")]
    Gamma(f64),
    #[error("costs: {count} cost(s) for {expected} entries")]
    CostsLength { count: usize, expected: usize },
    #[error("costs[{index}] = {value} is not a finite positive number")]
    Cost { index: usize, value: f64 },
    #[error("gradient has {got} entries, but the replay was set up for {expected} (shapes must not change between steps)")]
    Length { got: usize, expected: usize },
    #[error("gradient entry {index} is not finite ({value})")]
    NonFinite { index: usize, value: f64 },
    #[error("total budget must be finite and >= 0, got {0}")]
    Budget(f64),
    #[error("{field} must be finite and positive, got {value}")]
    Parameter { field: &'static str, value: f64 },
    #[error("rate-distortion curve of '{0}' is empty or has a non-finite point")]
    Curve(String),
}
