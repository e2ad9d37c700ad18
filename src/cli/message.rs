//! What gradrd prints on standard error: one line per message, names made
//! inert ([`gradrd_io::escape::terminal`]: a tensor named `"a\nb"` or
//! holding an ANSI escape cannot break a line or drive the terminal), and
//! clap's usage errors folded into the same one-line form.
//!
//! `gradrd: error: …` (exit 2), `gradrd: error: <file/tensor>: …` for one
//! failure of a batch that goes on (exit 1), `gradrd: note: …` for what
//! opening a dump left out or settled.

use gradrd_io::escape::terminal;

/// Prints `gradrd: <kind>: <text>` as one line.
pub fn print(kind: &str, text: &str) {
    eprintln!("gradrd: {kind}: {}", terminal(text));
}

pub fn error(text: &str) {
    print("error", text);
}

pub fn note(text: &str) {
    print("note", text);
}

/// clap's error (several lines: the message, tips, usage) as one line:
/// `gradrd: error: <message> (<tips>); try 'gradrd <command> --help'`, where
/// `<command>` is the (sub)command the user typed.
pub fn usage_error(error: &clap::Error, command: &str) -> String {
    let text = error.render().to_string();
    let mut message = String::new();
    let mut tips = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line.starts_with("For more information") || line.starts_with("Usage: ") {
            continue;
        }
        if let Some(tip) = line.strip_prefix("tip: ") {
            tips.push(tip.to_string());
        } else if message.is_empty() {
            message = line.strip_prefix("error: ").unwrap_or(line).to_string();
        } else {
            tips.push(line.to_string());
        }
    }
    let tips = if tips.is_empty() {
        String::new()
    } else {
        format!(" ({})", tips.join("; "))
    };
    format!(
        "gradrd: error: {}{}; try '{command} --help'",
        terminal(&message),
        terminal(&tips)
    )
}
