//! The report's two pages: `index.html` (self-contained: inline CSS, no
//! script, no network; figures as `<img>` of the SVG files beside it) and
//! `report.md` (the same content in Markdown, figures as PNG).

use super::analyses::Section;
use gradrd_io::escape;

/// The facts a report's heading states.
pub struct Heading<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub spec: &'a str,
    pub dump: &'a str,
    pub selection: &'a str,
}

const CSS: &str = "body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}figcaption{font-size:.9em;color:#444}\
table{border-collapse:collapse;margin:1em 0;font-size:.85em}th,td{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:left}\
th{border-bottom:2px solid #444}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.files{font-size:.85em;color:#555}.failures{color:#a33}.notes{font-size:.9em;list-style:none;padding-left:0}code{background:#f4f4f4;padding:0 .2em}";

pub fn html(heading: &Heading, sections: &[Section]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        escape::html(heading.title),
        escape::html(heading.title)
    );
    if let Some(description) = heading.description {
        out.push_str(&format!("<p>{}</p>\n", escape::html(description)));
    }
    out.push_str(&format!(
        "<p class=\"files\">Spec <code>{}</code>, dump <code>{}</code>, {}. Rendered by gradrd {}.</p>\n",
        escape::html(heading.spec),
        escape::html(heading.dump),
        escape::html(heading.selection),
        env!("CARGO_PKG_VERSION")
    ));
    for (i, section) in sections.iter().enumerate() {
        out.push_str(&format!(
            "<h2>{}. {}</h2>\n",
            i + 1,
            escape::html(&section.title)
        ));
        for paragraph in &section.text {
            out.push_str(&format!("<p>{}</p>\n", escape::html(paragraph)));
        }
        for figure in &section.figures {
            out.push_str(&format!(
                "<figure>\n<img src=\"{name}.svg\" alt=\"{caption}\">\n<figcaption>{caption} <span class=\"files\">[<a href=\"{name}.svg\">SVG</a> · <a href=\"{name}.png\">PNG</a> · <a href=\"{name}.csv\">data</a>]</span></figcaption>\n</figure>\n",
                name = escape::html(&figure.name),
                caption = escape::html(&figure.caption)
            ));
        }
        for table in &section.tables {
            out.push_str(&format!(
                "<p><b>{}</b> <span class=\"files\">[<a href=\"{name}.csv\">CSV</a> · <a href=\"{name}.md\">Markdown</a> · <a href=\"{name}.tex\">LaTeX</a>]</span></p>\n",
                escape::html(&table.caption),
                name = escape::html(&table.name)
            ));
            out.push_str(&table.html());
        }
        if !section.failures.is_empty() {
            out.push_str("<ul class=\"failures\">\n");
            for failure in &section.failures {
                out.push_str(&format!("<li>failed: {}</li>\n", escape::html(failure)));
            }
            out.push_str("</ul>\n");
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

pub fn markdown(heading: &Heading, sections: &[Section]) -> String {
    let md = escape::markdown;
    let mut out = format!("# {}\n\n", md(heading.title));
    if let Some(description) = heading.description {
        out.push_str(&format!("{}\n\n", md(description)));
    }
    out.push_str(&format!(
        "Spec {}, dump {}, {}. Rendered by gradrd {}.\n",
        md(heading.spec),
        md(heading.dump),
        md(heading.selection),
        env!("CARGO_PKG_VERSION")
    ));
    for (i, section) in sections.iter().enumerate() {
        out.push_str(&format!("\n## {}. {}\n\n", i + 1, md(&section.title)));
        for paragraph in &section.text {
            out.push_str(&format!("{}\n\n", md(paragraph)));
        }
        for figure in &section.figures {
            out.push_str(&format!(
                "![{caption}]({name}.png)\n\n*{caption}* ([SVG]({name}.svg), [data]({name}.csv))\n\n",
                caption = md(&figure.caption),
                name = link_target(&figure.name)
            ));
        }
        for table in &section.tables {
            out.push_str(&format!(
                "**{}** ([CSV]({name}.csv), [LaTeX]({name}.tex))\n\n{}\n",
                md(&table.caption),
                table.markdown(),
                name = link_target(&table.name)
            ));
        }
        for failure in &section.failures {
            out.push_str(&format!("- failed: {}\n", md(failure)));
        }
    }
    out
}

/// A file name as a Markdown link target: percent-encoded where Markdown or
/// a URL would read the character otherwise.
fn link_target(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
