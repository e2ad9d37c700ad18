//! The registry of analyses: every study gradrd runs, as one library call
//! that the command line, the report runner and the Python package all use.
//!
//! An analysis kind is a type implementing [`Analysis`]:
//!
//! - its `Options` (serde, unknown keys rejected, defaults in one place —
//!   `Default` — and checked once by [`Validate`]: an error names the option
//!   *field*, and each front end translates it to its flag or spec key);
//! - a `run` over a [`Source`] of selected tensors (a dump read by
//!   `gradrd-io`, or arrays held in memory: [`source::InMemory`]) that
//!   reports its progress to an [`Observer`];
//! - an `Output` (serde `Serialize`) whose first field is its schema name
//!   and version ([`Schema`], e.g. `gradrd.fit/1`), and which lists the
//!   tensors that failed ([`Failure`]) while the rest went on.
//!
//! | kind | analysis | schema |
//! |---|---|---|
//! | `fit` | [`fit::Fit`] | `gradrd.fit/1` |
//! | `iid` | [`iid::Iid`] | `gradrd.iid/1` |
//! | `evolve` | [`evolve::Evolve`] | `gradrd.evolve/1` |
//! | `compare` | [`compare::Compare`] | `gradrd.compare/1` |
//! | `dp` | [`dp::Dp`] | `gradrd.dp/1` |
//! | `rd` | [`rd::Rd`] | `gradrd.rd/1` |
//! | `budget` | [`budget::Budget`] | `gradrd.budget/1` |
//! | `ef` | [`ef::Ef`] | `gradrd.ef/1` |
//! | `stale` | [`stale::Stale`] | `gradrd.stale/1` |
//! | `cost` | [`cost::Cost`] | `gradrd.cost/1` |
//!
//! A front end handed a kind by name (the Python package, a spec) runs it
//! through [`by_kind::run`], with the options as JSON.
//!
//! ```
//! use gradrd_core::dtype::DType;
//! use gradrd_core::registry::{fit, source::InMemory, Analysis, Silent};
//!
//! // A Laplace-like tensor held in memory, one step.
//! let values: Vec<f64> = (1..=2000)
//!     .map(|i| {
//!         let u = i as f64 / 2001.0;
//!         if u < 0.5 { (2.0 * u).ln() } else { -(2.0 * (1.0 - u)).ln() }
//!     })
//!     .collect();
//! let mut source = InMemory::new("example");
//! source.push("layer.weight", Some(0), DType::F32, vec![2000], values);
//! let options = fit::FitOptions {
//!     families: vec![gradrd_core::dist::FamilyKind::Laplace],
//!     ..Default::default()
//! };
//! let output = fit::Fit::run(&options, &source, &mut Silent).unwrap();
//! assert_eq!(output.schema, "gradrd.fit/1");
//! let serde_json::Value::Object(json) = serde_json::to_value(&output).unwrap() else { panic!() };
//! assert!(json["results"][0]["fits"][0]["params"]["scale"].as_f64().unwrap() > 0.9);
//! ```

pub mod budget;
pub mod by_kind;
pub mod compare;
pub mod compression;
pub mod cost;
pub mod dp;
pub mod ef;
pub mod evolve;
pub mod failure;
pub mod fit;
pub mod iid;
pub mod observer;
pub mod parallel;
pub mod rd;
pub mod sequence;
pub mod source;
pub mod stale;

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use failure::Failure;
pub use observer::{Observer, Silent};
pub use source::{Source, TensorInfo};

/// A result schema: its name and version, written `name/version`
/// (`gradrd.fit/1`) as the first field of every output.
pub type Schema = &'static str;

/// One analysis kind of the registry.
pub trait Analysis {
    /// The kind's name: the subcommand and the spec's `kind = "…"`.
    const KIND: &'static str;
    /// The schema of [`Analysis::Output`].
    const SCHEMA: Schema;
    /// What the analysis is asked to do.
    type Options: Default + Serialize + DeserializeOwned + Validate;
    /// What it found.
    type Output: Serialize + Outcome;

    /// Runs the analysis over the tensors of `source`, reporting progress to
    /// `observer`. Tensors that fail are listed in the output and the rest go
    /// on; `Err` means nothing could be analysed.
    fn run(
        options: &Self::Options,
        source: &dyn Source,
        observer: &mut dyn Observer,
    ) -> Result<Self::Output, AnalysisError>;
}

/// Checks options once, before a run.
pub trait Validate {
    /// `Err` names the offending field.
    fn validate(&self) -> Result<(), OptionError>;
}

/// Whether an output is complete.
pub trait Outcome {
    /// Whether some tensor (or part of one, such as one family's fit) failed.
    fn partial(&self) -> bool;
}

/// An option value that cannot be used: the field (the Rust and spec name,
/// which a front end maps to its flag) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionError {
    pub field: &'static str,
    pub message: String,
}

impl OptionError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        OptionError {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for OptionError {}

/// Why an analysis produced nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum AnalysisError {
    /// The options cannot be used.
    Options(OptionError),
    /// The source holds no tensor to analyse (and no unreadable file that
    /// might have held one).
    NothingSelected { source: String },
    /// No tensor to analyse was read, and files that might have held one
    /// could not be opened (`first` of them).
    NothingReadable { source: String, first: Failure },
    /// Every tensor failed; the first failure describes the others.
    AllFailed(Vec<Failure>),
    /// The data cannot be used as a whole (a replay's steps do not line up,
    /// a value is not finite); the one-line reason names the data.
    Unusable(String),
}

impl AnalysisError {
    /// [`AnalysisError::Unusable`] with `error`'s message.
    pub fn unusable(error: impl fmt::Display) -> Self {
        AnalysisError::Unusable(error.to_string())
    }
}

impl fmt::Display for AnalysisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnalysisError::Options(error) => error.fmt(f),
            AnalysisError::NothingSelected { source } => {
                write!(f, "{source}: no tensor matches the selection")
            }
            AnalysisError::NothingReadable { source, first } => write!(
                f,
                "{source}: no readable tensor matches the selection; {}",
                first.describe()
            ),
            AnalysisError::Unusable(reason) => f.write_str(reason),
            AnalysisError::AllFailed(failures) => {
                let first = failures
                    .first()
                    .map_or_else(|| "nothing to analyse".to_string(), Failure::describe);
                match failures.len() {
                    0 | 1 => write!(f, "{first}"),
                    n => write!(f, "{first} ({} more failed)", n - 1),
                }
            }
        }
    }
}

impl std::error::Error for AnalysisError {}

/// The error of a source with no tensor: nothing was selected, or files that
/// might have held the selection could not be opened.
pub(crate) fn nothing_selected(source: &dyn Source) -> AnalysisError {
    match source.unreadable().first() {
        Some(first) => AnalysisError::NothingReadable {
            source: source.label().to_string(),
            first: first.clone(),
        },
        None => AnalysisError::NothingSelected {
            source: source.label().to_string(),
        },
    }
}

impl From<OptionError> for AnalysisError {
    fn from(error: OptionError) -> Self {
        AnalysisError::Options(error)
    }
}
