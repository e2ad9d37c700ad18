//! gradrd-core — the numerics of gradrd, the information-theoretic study of
//! neural-network gradients for communication-efficient federated learning.
//!
//! This crate holds no file formats, plots or command line: gradient dumps
//! are read by `gradrd-io`, reports rendered by `gradrd-report`, and the
//! `gradrd` binary is a thin front end over the three.
//!
//! Data flow: a gradient dump is read tensor by tensor, each tensor's
//! values are modelled by a [`dist`] family fitted by maximum likelihood
//! ([`fit`]), and the fit is judged with the statistics of [`stats`]
//! (Kolmogorov–Smirnov, Wasserstein, moments). [`analysis`] joins them into
//! the per-tensor results that the command line exports. [`quant`] designs
//! quantizers, and [`compress`] replays recorded gradient sequences through
//! compressors with error feedback and answers the total-error budget
//! questions. [`sim`] produces gradients (teacher/student networks) and
//! trains with compression in the loop (a federated-averaging simulator).
//! [`registry`] is the entry point for a caller that wants a whole study:
//! each analysis kind (`fit`, `iid`, `evolve`, `dp`, …) is one type with
//! serde `Options`, a `run` over a [`registry::Source`] of tensors (a dump
//! read by `gradrd-io`, or arrays in memory) and a serializable `Output`
//! carrying its schema (`gradrd.fit/1`, …) — the same results the `gradrd`
//! command line and report specs give. [`solver::TerminationReason`] says
//! why each iterative solver (Lloyd-Max, Blahut–Arimoto, the MLE) stopped.
//!
//! Every computation is a plain function over slices and small structs; the
//! library never prints.
#![deny(unsafe_code)]
// The module docs cite the formulas where they are implemented, often in
// private modules; read them with `cargo doc --document-private-items`.
#![allow(rustdoc::private_intra_doc_links)]

pub mod analysis;
pub mod compress;
pub mod decimal;
pub mod dist;
pub mod dtype;
pub mod fit;
pub mod quant;
pub mod registry;
pub mod sim;
pub mod solver;
pub mod stats;
pub mod steps;
