//! Progress on standard error for runs over many tensors; drawn only when
//! standard error is a terminal, so pipes, files and CI logs stay clean.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `len` tensors, hidden unless stderr is a terminal.
pub fn bar(len: u64, verb: &'static str) -> ProgressBar {
    bar_of(len, verb, "tensors")
}

/// A bar over `len` items called `unit`, hidden unless stderr is a terminal.
pub fn bar_of(len: u64, verb: &str, unit: &str) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    if std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::stderr());
    }
    let style = ProgressStyle::with_template(&format!(
        "{verb} {{bar:30}} {{pos}}/{{len}} {unit}, {{elapsed}} elapsed, ~{{eta}} left  {{msg}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
