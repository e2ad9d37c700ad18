//! Reports: an analysis [`spec`] (TOML) is run against its dump and
//! rendered to `reports/<name>/` — `index.html`, `report.md`, each figure
//! as SVG, PNG and the CSV of its points ([`figure`]), each table as CSV,
//! Markdown and LaTeX ([`table`]).
//!
//! A run is deterministic (no clock, no unordered maps, seeded draws) and
//! atomic: everything is computed first, then written into a temporary
//! folder beside the target, which replaces the target by renames only at
//! the end — a failed run leaves the previous report as it was.
//!
//! Plotting and file formats live here; the numerical modules never import
//! this one.

pub mod analyses;
pub mod figure;
mod page;
pub mod spec;
mod staging;
pub mod table;

use std::path::{Path, PathBuf};

use gradrd_io::dump::Dump;

pub use analyses::{AnalysisSpec, Section};
pub use spec::{Analysis, Source, Spec, SpecError};

/// Where a run is.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// 0-based index of the analysis running.
    pub analysis: usize,
    pub analyses: usize,
    pub kind: &'static str,
    /// The tensor (or setting) being worked on.
    pub item: &'a str,
}

/// A rendered report.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub folder: PathBuf,
    /// File names written, in writing order.
    pub files: Vec<String>,
    /// Tensors or settings that failed while the rest went on.
    pub failures: Vec<String>,
    /// What opening the dumps left out or settled (entries not read, names
    /// settled by the collision rule), one line each.
    pub notes: Vec<String>,
}

/// Why no report was written (the previous one is intact).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{0}")]
    Write(String),
}

/// Runs every analysis of `spec` and writes `reports_dir/<name>/`. A
/// `reports_dir` this call created is removed again if no report is written.
pub fn render(
    spec: &Spec,
    reports_dir: &Path,
    observer: &mut dyn FnMut(Event),
) -> Result<Rendered, ReportError> {
    let existed = reports_dir.exists();
    let rendered = render_into(spec, reports_dir, observer);
    if rendered.is_err() && !existed {
        // Only an empty folder goes (`remove_dir` refuses anything else).
        let _ = std::fs::remove_dir(reports_dir);
    }
    rendered
}

fn render_into(
    spec: &Spec,
    reports_dir: &Path,
    observer: &mut dyn FnMut(Event),
) -> Result<Rendered, ReportError> {
    let at = |line: Option<usize>, message: String| SpecError {
        file: spec.path.display().to_string(),
        line,
        message,
    };
    std::fs::create_dir_all(reports_dir).map_err(|e| {
        ReportError::Write(format!(
            "cannot create the reports folder {}: {e}",
            reports_dir.display()
        ))
    })?;
    let mut notes: Vec<String> = staging::remove_stale(reports_dir, &spec.name);
    let staging = staging::Staging::new(reports_dir, &spec.name).map_err(|e| {
        ReportError::Write(format!("cannot write into {}: {e}", reports_dir.display()))
    })?;
    let total = spec.analyses.len();
    let mut dumps: Vec<(PathBuf, Dump)> = Vec::new();
    let mut sections = Vec::with_capacity(total);
    let mut unreadable: Vec<String> = Vec::new();
    for (index, analysis) in spec.analyses.iter().enumerate() {
        let source = &analysis.source;
        let label = source.dump.item.display().to_string();
        let position = match dumps.iter().position(|(path, _)| *path == source.dump.item) {
            Some(position) => position,
            None => {
                let dump = Dump::open(&source.dump.item)
                    .map_err(|e| at(Some(source.dump.line), format!("dump: {e}")))?;
                // A reader's error names its file.
                unreadable.extend(dump.skipped().iter().map(|(_, error)| error.to_string()));
                notes.extend(dump.notes().iter().map(ToString::to_string));
                dumps.push((source.dump.item.clone(), dump));
                dumps.len() - 1
            }
        };
        let dump = &dumps[position].1;
        let selected = dump.select(&source.selection());
        if selected.is_empty() {
            let (line, what) = match &source.tensor {
                Some(t) => (t.line, format!("tensor: '{}' matches no tensor", t.item)),
                None => (source.dump.line, "dump: no tensor".to_string()),
            };
            let steps = source
                .steps
                .as_ref()
                .map_or(String::new(), |_| " at the selected steps".to_string());
            return Err(at(Some(line), format!("{what} of {label}{steps}")).into());
        }
        let tensors = gradrd_io::dump::Selected::new(dump, label.clone(), selected.clone());
        let input = analyses::Input {
            dump,
            label: &label,
            selected: &selected,
            source: &tensors,
        };
        let kind = analysis.spec.kind();
        observer(Event {
            analysis: index,
            analyses: total,
            kind,
            item: "",
        });
        let mut progress = |item: &str| {
            observer(Event {
                analysis: index,
                analyses: total,
                kind,
                item,
            })
        };
        let mut section = analysis
            .spec
            .run(&input, &mut progress)
            .map_err(|e| at(Some(analysis.line), format!("analysis '{kind}': {e}")))?;
        if *source != spec.source {
            section
                .text
                .insert(0, format!("Dump {label}, {}.", describe_selection(source)));
        }
        for figure in &mut section.figures {
            figure.name = format!("{:02}-{}", index + 1, figure.name);
        }
        for table in &mut section.tables {
            table.name = format!("{:02}-{}", index + 1, table.name);
        }
        sections.push(section);
    }
    let heading = page::Heading {
        title: &spec.title,
        description: spec.description.as_deref(),
        spec: &spec.path.display().to_string(),
        dump: &spec.source.dump.item.display().to_string(),
        selection: &describe_selection(&spec.source),
    };
    let files = write_files(staging.path(), &heading, &sections).map_err(ReportError::Write)?;
    let folder = reports_dir.join(&spec.name);
    replace(staging, &folder).map_err(ReportError::Write)?;
    Ok(Rendered {
        folder,
        files,
        failures: unreadable
            .into_iter()
            .chain(sections.into_iter().flat_map(|s| s.failures))
            .collect(),
        notes,
    })
}

fn describe_selection(source: &Source) -> String {
    let tensors = match &source.tensor {
        Some(t) => format!("tensors matching '{}'", t.item),
        None => "all tensors".to_string(),
    };
    match source.steps.as_ref().map(|s| &s.item) {
        Some(range) => format!(
            "{tensors}, steps {}..{}",
            range.start.map_or(String::new(), |s| s.to_string()),
            range.last.map_or(String::new(), |s| s.to_string())
        ),
        None => format!("{tensors}, all steps"),
    }
}

fn write_files(
    dir: &Path,
    heading: &page::Heading,
    sections: &[Section],
) -> Result<Vec<String>, String> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for section in sections {
        for figure in &section.figures {
            files.push((format!("{}.svg", figure.name), figure.svg()?.into_bytes()));
            files.push((format!("{}.csv", figure.name), figure.csv()));
            let png = format!("{}.png", figure.name);
            figure.write_png(&dir.join(&png))?;
            files.push((png, Vec::new()));
        }
        for table in &section.tables {
            files.push((format!("{}.csv", table.name), table.csv()));
            files.push((format!("{}.md", table.name), table.markdown().into_bytes()));
            files.push((format!("{}.tex", table.name), table.latex().into_bytes()));
        }
    }
    files.push((
        "index.html".to_string(),
        page::html(heading, sections).into_bytes(),
    ));
    files.push((
        "report.md".to_string(),
        page::markdown(heading, sections).into_bytes(),
    ));
    for (name, bytes) in &files {
        if name.ends_with(".png") {
            continue;
        }
        std::fs::write(dir.join(name), bytes)
            .map_err(|e| format!("cannot write {}: {e}", dir.join(name).display()))?;
    }
    Ok(files.into_iter().map(|(name, _)| name).collect())
}

/// Moves the staged folder to `target`, replacing a previous report: the
/// old one is first moved aside, then removed once the new one is in place
/// (and moved back if the new one cannot be).
fn replace(staging: staging::Staging, target: &Path) -> Result<(), String> {
    let parent = staging.path().parent().unwrap_or(Path::new("."));
    let cannot = |e: std::io::Error| format!("cannot replace {}: {e}", target.display());
    let aside = if target.exists() {
        let holder = tempfile::Builder::new()
            .prefix(".previous-")
            .tempdir_in(parent)
            .map_err(cannot)?;
        let old = holder.path().join("report");
        std::fs::rename(target, &old).map_err(cannot)?;
        Some((holder, old))
    } else {
        None
    };
    let (staged, _lock) = staging.keep();
    if let Err(e) = std::fs::rename(&staged, target) {
        if let Some((_, old)) = &aside {
            let _ = std::fs::rename(old, target);
        }
        let _ = std::fs::remove_dir_all(&staged);
        return Err(cannot(e));
    }
    // `holder` is removed with the previous report when it goes out of scope.
    drop(aside);
    Ok(())
}
