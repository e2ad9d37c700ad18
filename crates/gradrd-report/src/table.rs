//! Tables and their exporters — the one table type of gradrd, behind the
//! command line's `--format table` and every report: aligned plain text for
//! a terminal, CSV (RFC 4180, via the `csv` crate), Markdown (GitHub pipe
//! tables) and LaTeX (booktabs: `\toprule`, `\midrule`, `\bottomrule`),
//! each to bytes, plus the HTML `<table>` of the report page. A [`Cell`] is text formatted once by the analysis, and what
//! the CSV holds where that differs: the page, Markdown and LaTeX show a
//! number rounded and a footnote marker beside a value, the CSV holds the
//! full number (the shortest decimal that reads back as the same `f64`) and
//! the bare value, so the data behind a table can be used without losing
//! digits. Numbers are right-aligned in Markdown and LaTeX. Every export
//! escapes its cells for its format ([`escape`]).

use gradrd_io::escape;

/// One table: of a report, or a command's `--format table`.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// File stem: `<name>.csv`, `<name>.md`, `<name>.tex`.
    pub name: String,
    pub caption: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Numbered notes that cells refer to (`[1] …`, see [`footnoted`]),
    /// printed under the table in every export but the CSV.
    pub notes: Vec<String>,
}

/// One table cell: the text a reader sees and, where it differs, what the
/// CSV holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub shown: String,
    pub exact: Option<String>,
}

/// A number cell shown with `digits` significant digits ([`sig`]).
pub fn num(value: f64, digits: usize) -> Cell {
    Cell {
        shown: sig(value, digits),
        exact: Some(full_precision(value)),
    }
}

/// `text` shown with the marker of note `note` (1-based, of
/// [`Table::notes`]); the CSV holds `text`.
pub fn footnoted(text: String, note: usize) -> Cell {
    Cell {
        shown: format!("{text} [{note}]"),
        exact: Some(text),
    }
}

impl Cell {
    /// What the CSV holds.
    fn exact(&self) -> &str {
        self.exact.as_deref().unwrap_or(&self.shown)
    }
}

impl From<String> for Cell {
    fn from(shown: String) -> Cell {
        Cell { shown, exact: None }
    }
}

impl From<&str> for Cell {
    fn from(shown: &str) -> Cell {
        shown.to_string().into()
    }
}

impl Table {
    pub fn new(name: &str, caption: &str, headers: &[&str]) -> Self {
        Table {
            name: name.to_string(),
            caption: caption.to_string(),
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// A table with only headers (no file name or caption): a command's
    /// `--format table`.
    pub fn plain<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        Table {
            name: String::new(),
            caption: String::new(),
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn push<C: Into<Cell>>(&mut self, row: Vec<C>) {
        debug_assert_eq!(row.len(), self.headers.len());
        self.rows.push(row.into_iter().map(Into::into).collect());
    }

    /// Whether every cell of column `c` reads as a number (or is empty, `–`
    /// or `-`).
    fn numeric(&self, c: usize) -> bool {
        self.rows.iter().all(|row| {
            row.get(c).is_none_or(|cell| {
                let cell = cell.shown.trim_end_matches('%');
                cell.is_empty() || cell == "–" || cell == "-" || cell.parse::<f64>().is_ok()
            })
        })
    }

    /// Aligned columns for a terminal: text left-aligned, numbers right,
    /// two spaces between columns; every cell made inert
    /// ([`escape::terminal`]). Notes are not printed.
    pub fn text(&self) -> String {
        let shown: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|row| {
                row.iter()
                    .map(|cell| escape::terminal(&cell.shown).into_owned())
                    .collect()
            })
            .collect();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &shown {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let numeric: Vec<bool> = (0..self.headers.len()).map(|c| self.numeric(c)).collect();
        let mut out = String::new();
        let mut line = |cells: &mut dyn Iterator<Item = &str>| {
            let parts: Vec<String> = cells
                .enumerate()
                .map(|(c, cell)| {
                    let pad = " ".repeat(widths[c].saturating_sub(cell.chars().count()));
                    if numeric[c] {
                        format!("{pad}{cell}")
                    } else {
                        format!("{cell}{pad}")
                    }
                })
                .collect();
            out.push_str(parts.join("  ").trim_end());
            out.push('\n');
        };
        line(&mut self.headers.iter().map(String::as_str));
        for row in &shown {
            line(&mut row.iter().map(String::as_str));
        }
        out
    }

    pub fn csv(&self) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        // Writing strings into memory cannot fail.
        writer.write_record(&self.headers).expect("in memory");
        for row in &self.rows {
            writer
                .write_record(
                    row.iter()
                        .map(|cell| escape::csv_field(cell.exact()).into_owned()),
                )
                .expect("in memory");
        }
        writer.into_inner().expect("in memory")
    }

    pub fn markdown(&self) -> String {
        let mut out = format!(
            "| {} |\n|",
            self.headers
                .iter()
                .map(|h| escape::markdown(h))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        for c in 0..self.headers.len() {
            out.push_str(if self.numeric(c) { "---:|" } else { "---|" });
        }
        out.push('\n');
        for row in &self.rows {
            out.push_str(&format!(
                "| {} |\n",
                row.iter()
                    .map(|cell| escape::markdown(&cell.shown))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                out.push_str(&format!("- {}\n", escape::markdown(note)));
            }
        }
        out
    }

    /// A booktabs `table` float with the caption and a `tab:<name>` label.
    pub fn latex(&self) -> String {
        let align: String = (0..self.headers.len())
            .map(|c| if self.numeric(c) { 'r' } else { 'l' })
            .collect();
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            cells.map(escape::latex).collect::<Vec<_>>().join(" & ") + " \\\\\n"
        };
        let mut out =
            String::from("% requires \\usepackage{booktabs}\n\\begin{table}\n\\centering\n");
        out.push_str(&format!(
            "\\caption{{{}}}\n\\label{{tab:{}}}\n",
            escape::latex(&self.caption),
            escape::latex(&self.name)
        ));
        out.push_str(&format!("\\begin{{tabular}}{{{align}}}\n\\toprule\n"));
        out.push_str(&line(&mut self.headers.iter().map(String::as_str)));
        out.push_str("\\midrule\n");
        for row in &self.rows {
            out.push_str(&line(&mut row.iter().map(|c| c.shown.as_str())));
        }
        out.push_str("\\bottomrule\n\\end{tabular}\n");
        for note in &self.notes {
            out.push_str(&format!(
                "\\par{{\\footnotesize {}}}\n",
                escape::latex(note)
            ));
        }
        out.push_str("\\end{table}\n");
        out
    }

    pub fn html(&self) -> String {
        let mut out = String::from("<table>\n<thead><tr>");
        for h in &self.headers {
            out.push_str(&format!("<th>{}</th>", escape::html(h)));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        let numeric: Vec<bool> = (0..self.headers.len()).map(|c| self.numeric(c)).collect();
        for row in &self.rows {
            out.push_str("<tr>");
            for (cell, &num) in row.iter().zip(&numeric) {
                let class = if num { " class=\"num\"" } else { "" };
                out.push_str(&format!("<td{class}>{}</td>", escape::html(&cell.shown)));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        if !self.notes.is_empty() {
            out.push_str("<ul class=\"notes\">\n");
            for note in &self.notes {
                out.push_str(&format!("<li>{}</li>\n", escape::html(note)));
            }
            out.push_str("</ul>\n");
        }
        out
    }
}

/// A number with `digits` significant digits, in plain or scientific
/// notation, whichever a reader takes in faster.
pub fn sig(value: f64, digits: usize) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value == 0.0 {
        return "0".to_string();
    }
    let magnitude = value.abs().log10().floor() as i32;
    if (-3..6).contains(&magnitude) {
        let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
        format!("{value:.decimals$}")
    } else {
        format!("{:.*e}", digits.saturating_sub(1), value)
    }
}

pub use gradrd_core::decimal::full_precision;

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut t = Table::new("fit_summary", "Fits & 50% of x_1", &["tensor", "β", "p"]);
        t.push::<Cell>(vec!["fc1.weight".into(), "0.81".into(), "1e-3".into()]);
        t.push::<Cell>(vec!["a|b_c".into(), "–".into(), "12%".into()]);
        t
    }

    #[test]
    fn markdown_escapes_pipes_and_right_aligns_numbers() {
        assert_eq!(
            table().markdown(),
            "| tensor | β | p |\n|---|---:|---:|\n| fc1.weight | 0.81 | 1e-3 |\n| a\\|b\\_c | – | 12% |\n"
        );
    }

    #[test]
    fn latex_is_booktabs_with_escaped_specials() {
        let tex = table().latex();
        assert!(tex.contains("\\caption{Fits \\& 50\\% of x\\_1}"), "{tex}");
        assert!(tex.contains("\\label{tab:fit\\_summary}"), "{tex}");
        assert!(
            tex.contains(
                "\\begin{tabular}{lrr}\n\\toprule\ntensor & $\\beta$ & p \\\\\n\\midrule\n"
            ),
            "{tex}"
        );
        assert!(
            tex.contains("a|b\\_c & -- & 12\\% \\\\\n\\bottomrule"),
            "{tex}"
        );
    }

    #[test]
    fn every_export_shows_a_hostile_name_as_text() {
        let mut t = Table::new("t", "c", &["tensor", "x"]);
        t.push::<Cell>(vec!["<script>x</script>\n=1+1".into(), num(-0.5, 2)]);
        let md = t.markdown();
        assert!(
            md.contains("| &lt;script&gt;x&lt;/script&gt;\\n=1+1 | -0.50 |"),
            "{md}"
        );
        let csv = String::from_utf8(t.csv()).unwrap();
        assert_eq!(csv, "tensor,x\n<script>x</script>\\n=1+1,-0.5\n");
        assert!(t.latex().contains("$>$\\textbackslash{}n=1+1 & -0.50"));
        let mut t = Table::new("t", "c", &["tensor"]);
        t.push::<Cell>(vec!["=cmd|' /C calc'!A0".into()]);
        let csv = String::from_utf8(t.csv()).unwrap();
        assert_eq!(csv, "tensor\n'=cmd|' /C calc'!A0\n");
        assert!(t.html().contains("<td>=cmd|' /C calc'!A0</td>"));
    }

    #[test]
    fn csv_quotes_cells_with_commas() {
        let mut t = Table::new("t", "c", &["a", "b"]);
        t.push::<Cell>(vec!["x,y".into(), "\"q\"".into()]);
        assert_eq!(
            String::from_utf8(t.csv()).unwrap(),
            "a,b\n\"x,y\",\"\"\"q\"\"\"\n"
        );
    }

    #[test]
    fn html_escapes_markup() {
        let mut t = Table::new("t", "c", &["<a>"]);
        t.push::<Cell>(vec!["x & \"y\"".into()]);
        let html = t.html();
        assert!(html.contains("<th>&lt;a&gt;</th>"));
        assert!(html.contains("x &amp; &quot;y&quot;"));
    }

    #[test]
    fn csv_holds_numbers_in_full_while_the_other_exports_round_them() {
        let mut t = Table::new("t", "c", &["name", "x", "y"]);
        t.push::<Cell>(vec!["a".into(), num(0.123456789, 3), num(-2.5e-9 / 3.0, 2)]);
        assert_eq!(
            String::from_utf8(t.csv()).unwrap(),
            "name,x,y\na,0.123456789,-8.333333333333334e-10\n"
        );
        assert!(t.markdown().contains("| a | 0.123 | -8.3e-10 |"));
        assert!(t.latex().contains("a & 0.123 & -8.3e-10 \\\\"));
        assert!(t.html().contains("<td class=\"num\">0.123</td>"));
    }

    #[test]
    fn a_footnote_marker_is_shown_but_not_in_the_csv() {
        let mut t = Table::new("t", "c", &["family"]);
        t.push(vec![footnoted("dweibull".to_string(), 2)]);
        assert_eq!(String::from_utf8(t.csv()).unwrap(), "family\ndweibull\n");
        assert!(t.markdown().contains("| dweibull [2] |"));
    }

    #[test]
    fn text_aligns_text_left_and_numbers_right_and_shows_cells_inert() {
        let mut t = Table::plain(["name", "n"]);
        t.push(vec!["fc1.weight".to_string(), "5".to_string()]);
        t.push(vec!["b".to_string(), "12345".to_string()]);
        assert_eq!(
            t.text(),
            "name            n\nfc1.weight      5\nb           12345\n"
        );
        t.push(vec!["x\u{1b}[31m".to_string(), "-".to_string()]);
        let text = t.text();
        assert!(
            !text.contains('\u{1b}') && text.contains("x\\u{1b}[31m"),
            "{text}"
        );
        assert!(
            text.ends_with("    -\n"),
            "'-' stays in the numbers' column: {text}"
        );
    }
}
