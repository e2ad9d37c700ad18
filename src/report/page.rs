//! The report's two pages: `index.html` (self-contained: inline CSS, no
//! script, no network; figures as `<img>` of the SVG files beside it) and
//! `report.md` (the same content in Markdown, figures as PNG).

use super::analyses::Section;
use super::table::html_escape;

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
        html_escape(heading.title),
        html_escape(heading.title)
    );
    if let Some(description) = heading.description {
        out.push_str(&format!("<p>{}</p>\n", html_escape(description)));
    }
    out.push_str(&format!(
        "<p class=\"files\">Spec <code>{}</code>, dump <code>{}</code>, {}. Rendered by gradrd {}.</p>\n",
        html_escape(heading.spec),
        html_escape(heading.dump),
        html_escape(heading.selection),
        env!("CARGO_PKG_VERSION")
    ));
    for (i, section) in sections.iter().enumerate() {
        out.push_str(&format!(
            "<h2>{}. {}</h2>\n",
            i + 1,
            html_escape(&section.title)
        ));
        for paragraph in &section.text {
            out.push_str(&format!("<p>{}</p>\n", html_escape(paragraph)));
        }
        for figure in &section.figures {
            out.push_str(&format!(
                "<figure>\n<img src=\"{name}.svg\" alt=\"{caption}\">\n<figcaption>{caption} <span class=\"files\">[<a href=\"{name}.svg\">SVG</a> · <a href=\"{name}.png\">PNG</a> · <a href=\"{name}.csv\">data</a>]</span></figcaption>\n</figure>\n",
                name = html_escape(&figure.name),
                caption = html_escape(&figure.caption)
            ));
        }
        for table in &section.tables {
            out.push_str(&format!(
                "<p><b>{}</b> <span class=\"files\">[<a href=\"{name}.csv\">CSV</a> · <a href=\"{name}.md\">Markdown</a> · <a href=\"{name}.tex\">LaTeX</a>]</span></p>\n",
                html_escape(&table.caption),
                name = html_escape(&table.name)
            ));
            out.push_str(&table.html());
        }
        if !section.failures.is_empty() {
            out.push_str("<ul class=\"failures\">\n");
            for failure in &section.failures {
                out.push_str(&format!("<li>failed: {}</li>\n", html_escape(failure)));
            }
            out.push_str("</ul>\n");
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

pub fn markdown(heading: &Heading, sections: &[Section]) -> String {
    let mut out = format!("# {}\n\n", heading.title);
    if let Some(description) = heading.description {
        out.push_str(&format!("{description}\n\n"));
    }
    out.push_str(&format!(
        "Spec `{}`, dump `{}`, {}. Rendered by gradrd {}.\n",
        heading.spec,
        heading.dump,
        heading.selection,
        env!("CARGO_PKG_VERSION")
    ));
    for (i, section) in sections.iter().enumerate() {
        out.push_str(&format!("\n## {}. {}\n\n", i + 1, section.title));
        for paragraph in &section.text {
            out.push_str(&format!("{paragraph}\n\n"));
        }
        for figure in &section.figures {
            out.push_str(&format!(
                "![{caption}]({name}.png)\n\n*{caption}* ([SVG]({name}.svg), [data]({name}.csv))\n\n",
                caption = figure.caption,
                name = figure.name
            ));
        }
        for table in &section.tables {
            out.push_str(&format!(
                "**{}** ([CSV]({name}.csv), [LaTeX]({name}.tex))\n\n{}\n",
                table.caption,
                table.markdown(),
                name = table.name
            ));
        }
        for failure in &section.failures {
            out.push_str(&format!("- failed: {failure}\n"));
        }
    }
    out
}
