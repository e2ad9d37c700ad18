//! The analysis kinds a spec can run. Each kind is one module holding its
//! options (a serde struct with `deny_unknown_fields`, the TOML table of an
//! `[[analysis]]` entry minus `kind`), their checks, and a `run` that calls
//! the library and returns a [`Section`] of figures and tables.
//!
//! Adding a kind: write the module (see [`fit`] for the shape) and add one
//! line to the `kinds!` list below.

use gradrd_core::dist::FamilyKind;
use gradrd_core::quant::baseline::BaselineKind;
use gradrd_core::registry::{Analysis, AnalysisError, Failure, Observer, Source};
use gradrd_io::dump::{Dump, Selected, TensorMeta};

use super::figure::Figure;
use super::spec::{split_kind, KindError, SourceKeys};
use super::table::Table;
pub(crate) use super::table::{num, sig, Cell};

pub mod budget;
pub mod ef;
pub mod evolve;
pub mod fit;
pub mod iid;
pub mod quantize;
pub mod rd;
pub mod simulate;

/// What an analysis reads: the spec's dump and its selected tensors.
pub struct Input<'a> {
    pub dump: &'a Dump,
    /// The dump as the spec names it (for error messages).
    pub label: &'a str,
    pub selected: &'a [&'a TensorMeta],
    /// The selected tensors as the registry's analyses read them.
    pub source: &'a Selected<'a>,
}

/// What an analysis adds to the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Section {
    pub title: String,
    /// Paragraphs of plain text (what was run, how to read it).
    pub text: Vec<String>,
    pub figures: Vec<Figure>,
    pub tables: Vec<Table>,
    /// Tensors (or settings) that failed while the rest went on.
    pub failures: Vec<String>,
}

/// Called with a short label as an analysis moves from item to item.
pub type Progress<'p> = &'p mut dyn FnMut(&str);

/// A report's progress (a label per item) as a registry [`Observer`].
pub(crate) struct Labels<'p>(pub Progress<'p>);

impl Observer for Labels<'_> {
    fn item(&mut self, label: &str) {
        (self.0)(label)
    }
}

/// `"<tensor>: <error>"` of a registry failure.
pub(crate) fn tensor_failure(failure: &Failure) -> String {
    format!(
        "{}: {}",
        failure.tensor.as_deref().unwrap_or("-"),
        failure.error
    )
}

/// Runs the registry analysis `A` over `source`; when every tensor failed,
/// the error lists them (`"<tensor>: <error>; …"`).
pub(crate) fn run_registry<A: Analysis>(
    options: &A::Options,
    source: &dyn Source,
    progress: Progress,
) -> Result<A::Output, String> {
    A::run(options, source, &mut Labels(progress)).map_err(|error| match error {
        AnalysisError::AllFailed(errors) => errors
            .iter()
            .map(tensor_failure)
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    })
}

/// `work` on every item, in parallel on rayon's pool, with the results in
/// the items' order ([`gradrd_core::registry::parallel::per_item`]); each
/// item's `label` reaches `progress` as its work starts.
pub(crate) fn per_item<T: Sync, R: Send>(
    items: &[T],
    progress: Progress,
    label: impl Fn(&T) -> String + Sync,
    work: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    gradrd_core::registry::parallel::per_item(items, &mut Labels(progress), label, work)
}

/// Declares the kinds: `"name" => Variant(module::Options)`.
macro_rules! kinds {
    ($($name:literal => $variant:ident($options:ty)),+ $(,)?) => {
        /// One `[[analysis]]` entry of a spec.
        #[derive(Debug, Clone, PartialEq)]
        pub enum AnalysisSpec {
            $($variant($options),)+
        }

        impl AnalysisSpec {
            /// The `kind` names, in the order of the enum.
            pub const KINDS: &'static [&'static str] = &[$($name),+];

            /// The kind's name.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(AnalysisSpec::$variant(_) => $name,)+
                }
            }

            /// The options of an `[[analysis]]` table and its source keys.
            pub(crate) fn from_toml(
                entry: toml::Spanned<toml::de::DeValue<'_>>,
            ) -> Result<(Self, SourceKeys), KindError> {
                let (kind, keys, options) = split_kind(entry)?;
                let parsed = match kind.as_str() {
                    $($name => serde::Deserialize::deserialize(options).map(AnalysisSpec::$variant),)+
                    _ => unreachable!("split_kind checks the kind"),
                };
                parsed.map(|spec| (spec, keys)).map_err(KindError::Toml)
            }

            /// Checks the option values; the message names the key.
            pub fn validate(&self) -> Result<(), String> {
                match self {
                    $(AnalysisSpec::$variant(options) => options.validate(),)+
                }
            }

            /// Runs the analysis; `Err` is the one-line reason it could not run at all.
            pub fn run(&self, input: &Input, progress: Progress) -> Result<Section, String> {
                match self {
                    $(AnalysisSpec::$variant(options) => options.run(input, progress),)+
                }
            }
        }
    };
}

kinds! {
    "fit" => Fit(fit::FitOptions),
    "iid" => Iid(iid::IidSpec),
    "evolve" => Evolve(evolve::EvolveSpec),
    "quantize" => Quantize(quantize::QuantizeOptions),
    "ef" => Ef(ef::EfOptions),
    "budget" => Budget(budget::BudgetOptions),
    "rd" => Rd(rd::RdOptions),
    "simulate" => Simulate(simulate::SimulateOptions),
}

/// Why a scheme has no point at a rate: its side information alone exceeds
/// the budget.
pub(crate) const RATE_TOO_LOW: &str =
    "the rate cannot pay for the side information (scale, positions) on this tensor";

/// The paragraph `"<tensor>: not run, <why>: <a>, <b>."`, if anything was not run.
pub(crate) fn not_run(tensor: &str, why: &str, items: &[String]) -> Option<String> {
    (!items.is_empty()).then(|| format!("{tensor}: not run, {why}: {}.", items.join(", ")))
}

/// [`per_item`] over tensors, each labelled by its name.
pub(crate) fn per_tensor<R: Send>(
    metas: &[&TensorMeta],
    progress: Progress,
    work: impl Fn(&TensorMeta) -> R + Sync,
) -> Vec<R> {
    per_item(metas, progress, |meta| meta.name.clone(), |meta| work(meta))
}

/// The selected tensors at `step` (the last selected step when `None`), in
/// depth order; an error names the step when it holds none.
pub(crate) fn at_step<'a>(
    input: &Input<'a>,
    step: Option<u64>,
) -> Result<(Option<u64>, Vec<&'a TensorMeta>), String> {
    let step = step.or_else(|| input.selected.iter().filter_map(|m| m.step).max());
    let metas: Vec<&TensorMeta> = input
        .selected
        .iter()
        .filter(|m| step.is_none() || m.step == step)
        .copied()
        .collect();
    if metas.is_empty() {
        return Err(format!(
            "step: {} holds no selected tensor at step {}",
            input.label,
            step.map_or("-".to_string(), |s| s.to_string())
        ));
    }
    let (order, _) = input
        .dump
        .depth_order()
        .sort(metas.iter().map(|m| m.name.as_str()));
    let mut sorted = metas.clone();
    sorted.sort_by_key(|m| order.iter().position(|n| *n == m.name));
    Ok((step, sorted))
}

/// [`num`] of an optional value, `–` when absent.
pub(crate) fn opt(value: Option<f64>, digits: usize) -> Cell {
    value.map_or_else(|| "–".into(), |v| num(v, digits))
}

/// The spec's default family: GenNorm (the M22 model).
pub(crate) fn gennorm() -> FamilyKind {
    FamilyKind::GenNorm
}

/// Quantizer names of a spec (`quantizers = [...]`) as baseline kinds.
pub(crate) fn baseline_kinds(names: &[String]) -> Result<Vec<BaselineKind>, String> {
    names
        .iter()
        .map(|name| name.parse().map_err(|e| format!("quantizers: {e}")))
        .collect()
}
