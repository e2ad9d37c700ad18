//! Progress on standard error for runs over many tensors; drawn only when
//! standard error is a terminal, so pipes, files and CI logs stay clean.

use std::io::IsTerminal;
use std::ops::Deref;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar whose message (a tensor name) is shown inert
/// ([`gradrd_io::escape::terminal`]).
pub struct Bar(ProgressBar);

impl Bar {
    pub fn set_message(&self, text: impl AsRef<str>) {
        self.0
            .set_message(gradrd_io::escape::terminal(text.as_ref()).into_owned());
    }
}

impl Deref for Bar {
    type Target = ProgressBar;

    fn deref(&self) -> &ProgressBar {
        &self.0
    }
}

/// A bar over `len` tensors, hidden unless stderr is a terminal.
pub fn bar(len: u64, verb: &'static str) -> Bar {
    bar_of(len, verb, "tensors")
}

/// A bar over `len` items called `unit`, hidden unless stderr is a terminal.
pub fn bar_of(len: u64, verb: &str, unit: &str) -> Bar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    if std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
    let style = ProgressStyle::with_template(&format!(
        "{verb} {{bar:30}} {{pos}}/{{len}} {unit}, {{elapsed}} elapsed, ~{{eta}} left  {{msg}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Bar(bar)
}
