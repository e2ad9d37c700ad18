//! Runs a registry analysis for a subcommand: its progress drawn as a bar on
//! standard error, and its errors in the command line's words (an option
//! field becomes the flag that sets it).

use gradrd_core::registry::{Analysis, AnalysisError, Observer, OptionError, Source, Validate};

use super::progress::{self, Bar};

/// Draws an analysis's progress ([`progress::bar`]: only on a terminal).
#[derive(Default)]
struct BarObserver(Option<Bar>);

impl Observer for BarObserver {
    fn begin(&mut self, total: u64, verb: &str) {
        self.0 = Some(progress::bar_of(total, verb, "tensors"));
    }

    fn item(&mut self, label: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(label);
        }
    }

    fn advance(&mut self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    fn end(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}

/// Runs `A` over `source`; `flag` names the flag of an option field.
pub fn run<A: Analysis>(
    options: &A::Options,
    source: &dyn Source,
    flag: fn(&str) -> String,
) -> anyhow::Result<A::Output> {
    let mut observer = BarObserver::default();
    let result = A::run(options, source, &mut observer);
    observer.end();
    result.map_err(|error| match error {
        AnalysisError::Options(error) => in_flags(error, flag),
        other => anyhow::anyhow!("{other}"),
    })
}

/// Checks options before anything is read; the error names the flag.
pub fn validate(options: &impl Validate, flag: fn(&str) -> String) -> anyhow::Result<()> {
    options.validate().map_err(|error| in_flags(error, flag))
}

fn in_flags(error: OptionError, flag: fn(&str) -> String) -> anyhow::Error {
    anyhow::anyhow!("{}: {}", flag(error.field), error.message)
}

/// The flag of a field that has one of the same name (`bins` → `--bins`,
/// `goodness_of_fit` → `--goodness-of-fit`).
pub fn same_name(field: &str) -> String {
    format!("--{}", field.replace('_', "-"))
}
