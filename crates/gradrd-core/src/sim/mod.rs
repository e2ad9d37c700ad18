//! Gradient sources and training with compression in the loop:
//!
//! - [`teacher_student`]: the two-layer teacher/student networks of Goldt et
//!   al. (NeurIPS 2019) trained by online SGD, whose per-step gradients
//!   `gradrd_io::record` writes as safetensors dumps that every other
//!   command reads;
//! - [`digits`], [`split`], [`mlp`], [`task`], [`uplink`], [`fl`]: a small
//!   federated-learning simulator (FedAvg, McMahan et al., AISTATS 2017) on
//!   scikit-learn's digits (or on the teacher/student task) with non-IID
//!   clients, partial participation, local SGD steps and a compressed,
//!   error-fed-back uplink.

pub mod activation;
pub mod digits;
pub mod fl;
pub mod memory;
pub mod mlp;
pub mod split;
pub mod task;
pub mod teacher_student;
pub mod uplink;

pub use activation::Activation;
pub use teacher_student::{TeacherStudent, TeacherStudentConfig};

/// Why a simulation cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    #[error("{field} must be at least 1")]
    Zero { field: &'static str },
    #[error("{field} must be finite and positive, got {value}")]
    NotPositive { field: &'static str, value: f64 },
    #[error("digits data, line {line}: {reason}")]
    Data { line: usize, reason: String },
    #[error("classes-per-client must be between 1 and {classes}, got {value}")]
    ClassesPerClient { value: usize, classes: usize },
    #[error("{0}")]
    Setting(String),
    #[error("{what} needs {needed} of memory, more than the {available} available")]
    TooLarge {
        what: String,
        needed: String,
        available: String,
    },
    #[error(transparent)]
    Uplink(#[from] uplink::UplinkError),
    #[error("round {round}, client {client}, layer {layer}: {error}")]
    Round {
        round: usize,
        client: usize,
        layer: &'static str,
        error: uplink::UplinkError,
    },
}
