//! Per-tensor analyses that join the pieces: a tensor's values are prepared
//! (exact zeros and non-finite values handled by policy, see [`prepare`](mod@prepare)),
//! fitted by every requested family and judged by goodness-of-fit statistics
//! ([`fit_report`]); the i.i.d. study of [`iid`] draws paired samples and
//! tests them; [`rd_study`](mod@rd_study) places quantizers against the rate-distortion
//! limit of a fitted source. The command line only reads dumps, calls these and
//! exports the result structs.

pub mod depth;
pub mod fit_report;
pub mod iid;
pub mod prepare;
pub mod rd_study;

pub use fit_report::{fit_stored_tensor, fit_tensor, FamilyOutcome, FitSettings, TensorFit};
pub use prepare::{prepare, NanPolicy, PrepareError, Prepared, ZeroPolicy};
pub use rd_study::{rd_study, QuantizerFailure, QuantizerPoint, RdStudy, RdStudySettings};
