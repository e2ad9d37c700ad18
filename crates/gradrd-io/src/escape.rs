//! Text from data (tensor names, file names, spec values) made inert for the
//! place it is shown. Names are whatever a dump holds — a tensor may be named
//! `"\x1b[2J"` or `"<script>"` — and every export shows them as text:
//!
//! - [`terminal`]: control characters (C0, DEL, C1) and the Unicode format
//!   characters that reorder or hide text (bidirectional overrides and
//!   isolates, zero-width characters) are written as Rust escapes (`\n`,
//!   `\u{1b}`, `\u{202e}`), so a message stays one line and no escape
//!   sequence reaches the terminal;
//! - [`markdown`]: the above, plus `& < >` as HTML entities (Markdown passes
//!   raw HTML through) and the characters that start Markdown markup
//!   (`` \ ` * _ [ ] | ``) backslash-escaped; a footnote marker `[3]` is kept;
//! - [`csv_field`]: the above control-character escapes, and a field that a
//!   spreadsheet would run as a formula (first character `= + - @` and not a
//!   number; a leading tab or carriage return is already escaped) prefixed
//!   with `'` (OWASP's CSV injection rule);
//! - [`html`] and [`latex`]: their special characters, and control
//!   characters as [`terminal`] writes them.
//!
//! JSON output keeps names exact (its own escaping is lossless).

use std::borrow::Cow;

/// Whether `c` must not reach a terminal raw.
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            | '\u{2028}' | '\u{2029}' | '\u{feff}')
}

fn push_visible(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        _ => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
    }
}

/// `text` with control and hidden format characters written as escapes.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hidden(c) {
            push_visible(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` shown literally in Markdown (GitHub's flavour).
pub fn markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let marker = footnote_marker(rest);
        if marker > 0 {
            out.push_str(&rest[..marker]);
            rest = &rest[marker..];
            continue;
        }
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' => {
                out.push('\\');
                out.push(c);
            }
            c if is_hidden(c) => push_visible(&mut out, c),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The length of a footnote marker `[digits]` at the start of `text` that is
/// not the start of a link (`[1](…)`), or 0.
fn footnote_marker(text: &str) -> usize {
    let Some(inner) = text.strip_prefix('[') else {
        return 0;
    };
    let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
    let after = &inner[digits..];
    if digits > 0 && after.starts_with(']') && !after[1..].starts_with('(') {
        digits + 2
    } else {
        0
    }
}

/// A CSV field that shows as text in a spreadsheet and on a terminal.
pub fn csv_field(text: &str) -> Cow<'_, str> {
    let visible = terminal(text);
    let formula = visible
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@'));
    if formula && visible.parse::<f64>().is_err() {
        Cow::Owned(format!("'{visible}"))
    } else {
        visible
    }
}

/// Escapes `& < > "` for HTML text and attributes; control characters as
/// [`terminal`] writes them (XML and HTML text may not hold most of them).
pub fn html(text: &str) -> String {
    terminal(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Escapes LaTeX's special characters (`\ & % $ # _ { } ~ ^`) and writes
/// `<`, `>` (which text fonts do not have) and the few non-ASCII symbols the
/// tables use in math mode; control characters as [`terminal`] writes them.
pub fn latex(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '\\' => out.push_str("\\textbackslash{}"),
            '&' | '%' | '$' | '#' | '_' | '{' | '}' => {
                out.push('\\');
                out.push(ch);
            }
            '~' => out.push_str("\\textasciitilde{}"),
            '^' => out.push_str("\\textasciicircum{}"),
            '–' => out.push_str("--"),
            '−' => out.push('-'),
            'β' => out.push_str("$\\beta$"),
            'λ' => out.push_str("$\\lambda$"),
            '≤' => out.push_str("$\\le$"),
            '<' => out.push_str("$<$"),
            '>' => out.push_str("$>$"),
            '×' => out.push_str("$\\times$"),
            c if is_hidden(c) => {
                let mut visible = String::new();
                push_visible(&mut visible, c);
                out.push_str(&latex(&visible));
            }
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_stays_one_line_without_escape_sequences() {
        assert_eq!(terminal("fc1.weight"), "fc1.weight");
        assert_eq!(
            terminal("a\nb\x1b[31mred\u{9b}\u{202e}x\u{7f}"),
            "a\\nb\\u{1b}[31mred\\u{9b}\\u{202e}x\\u{7f}"
        );
        assert!(matches!(terminal("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn markdown_shows_markup_and_html_as_text_and_keeps_footnotes() {
        assert_eq!(
            markdown("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;"
        );
        assert_eq!(
            markdown("[x](javascript:1) *a*_b_`c`|d\\"),
            "\\[x\\](javascript:1) \\*a\\*\\_b\\_\\`c\\`\\|d\\\\"
        );
        assert_eq!(markdown("0.52 [3]"), "0.52 [3]");
        assert_eq!(markdown("[3](http://e)"), "\\[3\\](http://e)");
        assert_eq!(markdown("a\nb"), "a\\nb");
    }

    #[test]
    fn csv_fields_never_start_a_formula_but_numbers_stay() {
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_field("+cmd"), "'+cmd");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("-1.5e-3"), "-1.5e-3");
        assert_eq!(csv_field("-inf"), "-inf");
        assert_eq!(csv_field("fc1.weight"), "fc1.weight");
        assert_eq!(csv_field("\tx"), "\\tx");
        assert_eq!(csv_field("a\x1b[2Jb"), "a\\u{1b}[2Jb");
    }

    #[test]
    fn html_escapes_markup() {
        assert_eq!(
            html("<a href=\"x\">&</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn latex_escape_covers_every_special_character() {
        assert_eq!(
            latex(r"\&%$#_{}~^<>"),
            r"\textbackslash{}\&\%\$\#\_\{\}\textasciitilde{}\textasciicircum{}$<$$>$"
        );
        assert_eq!(latex("a\nb"), r"a\textbackslash{}nb");
    }
}
