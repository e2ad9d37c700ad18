//! Analysis specs: a TOML file naming the report, the dump, the tensor and
//! step selection, and the analyses to run in order.
//!
//! ```toml
//! name = "quickstart"                  # the report folder: reports/<name>/
//! title = "Quickstart"                 # optional heading
//! dump = "../data/digits-mlp"          # relative to the spec file
//! tensor = "weight$"                   # optional regex
//! steps = "0..400"                     # optional: N, A..B, A.., ..B
//!
//! [[analysis]]
//! kind = "fit"                         # one of the kinds of analyses::AnalysisSpec
//! bins = 60                            # the kind's options
//!
//! [[analysis]]
//! kind = "fit"
//! dump = "../data/digits-cnn"          # an analysis may name its own dump,
//! tensor = "^conv"                     # tensor regex or steps
//! ```
//!
//! Every table is read with `deny_unknown_fields`; an unknown key or a value
//! of the wrong type is an error naming the key and the spec line (from the
//! span toml gives each key and value).

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::de::{DeTable, DeValue, ValueDeserializer};
use toml::Spanned;

use super::analyses::AnalysisSpec;
use gradrd_io::dump::{Selection, StepRange};

/// A parsed spec.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The spec file, as given.
    pub path: PathBuf,
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    /// The top level's dump and selection (each analysis may override them).
    pub source: Source,
    pub analyses: Vec<Analysis>,
}

/// What an analysis reads: a dump (resolved against the spec file's folder)
/// and the tensor / step selection, each with its spec line.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub dump: Located<PathBuf>,
    pub tensor: Option<Located<String>>,
    pub steps: Option<Located<StepRange>>,
}

/// One `[[analysis]]` entry: its line, options and source.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub line: usize,
    pub spec: AnalysisSpec,
    pub source: Source,
}

/// The source keys (`dump`, `tensor`, `steps`) of a table, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SourceKeys {
    dump: Option<Spanned<PathBuf>>,
    tensor: Option<Spanned<String>>,
    steps: Option<Spanned<String>>,
}

/// The most `[[analysis]]` tables one spec may hold (a report of more would
/// not be read; a larger count is a generated or hostile file).
pub const MAX_ANALYSES: usize = 1000;

/// The names of the source keys.
const SOURCE_KEYS: [&str; 3] = ["dump", "tensor", "steps"];

/// An item of the spec and the line (1-based) it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    pub line: usize,
    pub item: T,
}

/// A spec that cannot be used; the message names the file, line and key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}{}: {message}", line.map_or(String::new(), |l| format!(" line {l}")))]
pub struct SpecError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

/// The keys of the spec's top level (everything but `[[analysis]]` and the source keys).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    name: Spanned<String>,
    title: Option<String>,
    description: Option<String>,
}

impl Spec {
    /// Reads and parses the spec file at `path`.
    pub fn read(path: &Path) -> Result<Spec, SpecError> {
        let text = gradrd_io::files::read_to_string(path).map_err(|e| SpecError {
            file: path.display().to_string(),
            line: None,
            message: format!("cannot read the spec: {e}"),
        })?;
        Spec::parse(&text, path)
    }

    /// Parses spec `text`; `path` names it in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Spec, SpecError> {
        let lines = Lines::of(text);
        let error = |span: Option<Range<usize>>, message: String| SpecError {
            file: path.display().to_string(),
            line: span.map(|s| lines.line(s.start)),
            message,
        };
        let toml_error = |e: toml::de::Error| error(e.span(), e.message().trim().to_string());
        let mut root = DeTable::parse(text).map_err(toml_error)?;
        let root_span = root.span();
        let entries = root.get_mut().remove("analysis");
        let keys = take_source_keys(root.get_mut()).map_err(toml_error)?;
        let header = Header::deserialize(toml::de::Deserializer::from(root)).map_err(toml_error)?;
        let name = header.name.get_ref();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(error(
                Some(header.name.span()),
                format!("name: '{name}' must be letters, digits, '-' or '_' (it names the report folder)"),
            ));
        }
        let folder = path.parent().unwrap_or(Path::new(""));
        let resolve = |keys: SourceKeys, defaults: Option<&Source>| -> Result<Source, SpecError> {
            let located = |span: Range<usize>| lines.line(span.start);
            let dump = match (keys.dump, defaults) {
                (Some(d), _) => Located {
                    line: located(d.span()),
                    item: normalize(&folder.join(d.get_ref())),
                },
                (None, Some(defaults)) => defaults.dump.clone(),
                (None, None) => {
                    return Err(error(
                        Some(root_span.clone()),
                        "missing field `dump` (the dump the analyses read)".to_string(),
                    ))
                }
            };
            let tensor = match keys.tensor {
                Some(t) => {
                    gradrd_io::dump::tensor_regex(t.get_ref())
                        .map_err(|e| error(Some(t.span()), format!("tensor: {e}")))?;
                    Some(Located {
                        line: located(t.span()),
                        item: t.get_ref().clone(),
                    })
                }
                None => defaults.and_then(|d| d.tensor.clone()),
            };
            let steps = match keys.steps {
                Some(s) => Some(Located {
                    line: located(s.span()),
                    item: s
                        .get_ref()
                        .parse::<StepRange>()
                        .map_err(|e| error(Some(s.span()), format!("steps: {e}")))?,
                }),
                None => defaults.and_then(|d| d.steps.clone()),
            };
            Ok(Source {
                dump,
                tensor,
                steps,
            })
        };
        let source = resolve(keys, None)?;
        let entries = match entries {
            None => return Err(error(Some(root_span), "no [[analysis]] table".to_string())),
            Some(value) => {
                let span = value.span();
                match value.into_inner() {
                    DeValue::Array(items) => items.iter().cloned().collect::<Vec<_>>(),
                    _ => {
                        return Err(error(
                            Some(span),
                            "analysis: expected [[analysis]] tables".to_string(),
                        ))
                    }
                }
            }
        };
        if entries.is_empty() {
            return Err(error(Some(root_span), "no [[analysis]] table".to_string()));
        }
        if entries.len() > MAX_ANALYSES {
            return Err(error(
                entries.get(MAX_ANALYSES).map(|e| e.span()),
                format!(
                    "{} [[analysis]] tables, at most {MAX_ANALYSES} in one spec",
                    entries.len()
                ),
            ));
        }
        let mut analyses = Vec::with_capacity(entries.len());
        for entry in entries {
            let span = entry.span();
            let line = lines.line(span.start);
            let (analysis, keys) = AnalysisSpec::from_toml(entry).map_err(|e| match e {
                KindError::Toml(e) => toml_error(e),
                KindError::At(span, message) => error(Some(span), message),
            })?;
            analysis
                .validate()
                .map_err(|message| error(Some(span.clone()), message))?;
            analyses.push(Analysis {
                line,
                spec: analysis,
                source: resolve(keys, Some(&source))?,
            });
        }
        Ok(Spec {
            path: path.to_path_buf(),
            title: header.title.unwrap_or_else(|| name.clone()),
            name: name.clone(),
            description: header.description,
            source,
            analyses,
        })
    }
}

impl Source {
    /// The tensor and step selection.
    pub fn selection(&self) -> Selection {
        Selection {
            tensor: self
                .tensor
                .as_ref()
                .map(|t| regex::Regex::new(&t.item).expect("checked when parsed")),
            steps: self.steps.as_ref().map(|s| s.item.clone()),
        }
    }
}

/// Why an `[[analysis]]` table could not be read.
#[derive(Debug)]
pub(crate) enum KindError {
    Toml(toml::de::Error),
    At(Range<usize>, String),
}

/// Splits an `[[analysis]]` table into its `kind` and the deserializer of
/// the other keys (the kind's options, with their spans).
pub(crate) fn split_kind(
    entry: Spanned<DeValue<'_>>,
) -> Result<(String, SourceKeys, ValueDeserializer<'_>), KindError> {
    let span = entry.span();
    let DeValue::Table(mut table) = entry.into_inner() else {
        return Err(KindError::At(
            span,
            "analysis: expected a table".to_string(),
        ));
    };
    let kind = table.remove("kind").ok_or_else(|| {
        KindError::At(
            span.clone(),
            format!(
                "analysis: missing key `kind` (one of {})",
                AnalysisSpec::KINDS.join(", ")
            ),
        )
    })?;
    let kind_span = kind.span();
    let DeValue::String(kind) = kind.into_inner() else {
        return Err(KindError::At(
            kind_span,
            "kind: expected a string".to_string(),
        ));
    };
    if !AnalysisSpec::KINDS.contains(&kind.as_ref()) {
        return Err(KindError::At(
            kind_span,
            format!(
                "kind: unknown analysis '{kind}'; expected one of {}",
                AnalysisSpec::KINDS.join(", ")
            ),
        ));
    }
    let keys = take_source_keys(&mut table).map_err(KindError::Toml)?;
    Ok((
        kind.into_owned(),
        keys,
        ValueDeserializer::from(Spanned::new(span, DeValue::Table(table))),
    ))
}

/// Removes `dump`, `tensor` and `steps` from `table` and reads them.
fn take_source_keys(table: &mut DeTable<'_>) -> Result<SourceKeys, toml::de::Error> {
    let mut keys = DeTable::new();
    for key in SOURCE_KEYS {
        if let Some((k, v)) = table.remove_entry(key) {
            keys.insert(k, v);
        }
    }
    SourceKeys::deserialize(toml::de::Deserializer::from(Spanned::new(0..0, keys)))
}

/// `path` with `name/..` pairs removed lexically (`analyses/../data` →
/// `data`), so reports name the dump as a reader would.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The 1-based line of byte `offset` in `text`.
/// 1-based line numbers of byte offsets, from the offsets of the line breaks
/// found once (a spec of many tables is not rescanned per table).
struct Lines(Vec<usize>);

impl Lines {
    fn of(text: &str) -> Lines {
        Lines(
            text.bytes()
                .enumerate()
                .filter_map(|(i, b)| (b == b'\n').then_some(i))
                .collect(),
        )
    }

    fn line(&self, offset: usize) -> usize {
        1 + self.0.partition_point(|&at| at < offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Spec, SpecError> {
        Spec::parse(text, Path::new("specs/test.toml"))
    }

    const HEADER: &str = "name = \"t\"\ndump = \"../data/d\"\n";

    #[test]
    fn a_valid_spec_resolves_the_dump_against_the_spec_folder() {
        let spec = parse(&format!(
            "{HEADER}steps = \"0..100\"\n\n[[analysis]]\nkind = \"fit\"\nbins = 30\n"
        ))
        .unwrap();
        assert_eq!(spec.source.dump.item, Path::new("data/d"));
        assert_eq!(spec.source.dump.line, 2);
        assert_eq!(spec.title, "t");
        assert_eq!(spec.analyses.len(), 1);
        assert_eq!(spec.analyses[0].line, 5);
        assert_eq!(spec.analyses[0].source, spec.source);
        assert_eq!(spec.source.steps.unwrap().item.last, Some(100));
    }

    #[test]
    fn an_analysis_overrides_the_dump_and_selection() {
        let spec = parse(&format!(
            "{HEADER}tensor = \"w$\"\n[[analysis]]\nkind = \"fit\"\n\n[[analysis]]\nkind = \"fit\"\ndump = \"other\"\nsteps = \"5\"\n"
        ))
        .unwrap();
        let own = &spec.analyses[1].source;
        assert_eq!(own.dump.item, Path::new("specs/other"));
        // Lines: 1-2 header, 3 tensor, 4-5 fit, 6 blank, 7-8 fit, 9 dump, 10 steps.
        assert_eq!(own.dump.line, 9);
        assert_eq!(
            own.tensor, spec.source.tensor,
            "the top level's tensor stays"
        );
        assert_eq!(own.steps.as_ref().unwrap().line, 10);
        let err = parse(&format!(
            "{HEADER}[[analysis]]\nkind = \"fit\"\ntensor = \"(\"\n"
        ))
        .unwrap_err();
        assert_eq!(err.line, Some(5), "{err}");
    }

    #[test]
    fn an_unknown_top_level_key_names_key_and_line() {
        let err = parse(&format!(
            "{HEADER}colour = 3\n[[analysis]]\nkind = \"fit\"\n"
        ))
        .unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.message.contains("colour"), "{err}");
    }

    #[test]
    fn an_unknown_analysis_option_names_key_and_line() {
        let err = parse(&format!(
            "{HEADER}\n[[analysis]]\nkind = \"fit\"\n\n[[analysis]]\nkind = \"iid\"\ntrails = 5\n"
        ))
        .unwrap_err();
        // Lines: 1-2 header, 3 blank, 4-5 fit, 6 blank, 7 [[analysis]], 8 kind, 9 trails.
        assert_eq!(err.line, Some(9), "{err}");
        assert!(err.message.contains("trails"), "{err}");
        assert!(
            err.to_string().starts_with("specs/test.toml line 9: "),
            "{err}"
        );
    }

    #[test]
    fn a_wrongly_typed_option_names_its_line() {
        let err = parse(&format!(
            "{HEADER}[[analysis]]\nkind = \"fit\"\nbins = \"many\"\n"
        ))
        .unwrap_err();
        assert_eq!(err.line, Some(5), "{err}");
    }

    #[test]
    fn an_unknown_kind_is_named_with_the_choices() {
        let err = parse(&format!("{HEADER}[[analysis]]\nkind = \"fitt\"\n")).unwrap_err();
        assert_eq!(err.line, Some(4), "{err}");
        assert!(
            err.message.contains("'fitt'") && err.message.contains("evolve"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_option_value_names_the_analysis_line_and_key() {
        let err = parse(&format!(
            "{HEADER}[[analysis]]\nkind = \"iid\"\nalpha = 1.5\n"
        ))
        .unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
        assert!(err.message.contains("alpha"), "{err}");
    }

    #[test]
    fn bad_header_values_are_rejected_with_their_line() {
        let err =
            parse("name = \"a b\"\ndump = \"d\"\n[[analysis]]\nkind = \"fit\"\n").unwrap_err();
        assert_eq!(err.line, Some(1), "{err}");
        let err = parse(&format!(
            "{HEADER}steps = \"9..x\"\n[[analysis]]\nkind = \"fit\"\n"
        ))
        .unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
        let err = parse(HEADER).unwrap_err();
        assert!(err.message.contains("no [[analysis]]"), "{err}");
        let err = parse("name = \"t\"\n[[analysis]]\nkind = \"fit\"\n").unwrap_err();
        assert!(err.message.contains("dump"), "{err}");
    }

    #[test]
    fn paths_lose_their_parent_steps_lexically() {
        assert_eq!(normalize(Path::new("a/../b/./c")), Path::new("b/c"));
        assert_eq!(normalize(Path::new("../a/b/..")), Path::new("../a"));
        assert_eq!(normalize(Path::new("/x/../y")), Path::new("/y"));
    }

    #[test]
    fn a_syntax_error_names_its_line() {
        let err = parse(&format!("{HEADER}[[analysis]\n")).unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
    }
}
