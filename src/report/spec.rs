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
use crate::dump::{Selection, StepRange};

/// A parsed spec.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The spec file, as given.
    pub path: PathBuf,
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    /// The dump, resolved against the spec file's folder.
    pub dump: PathBuf,
    /// The line of the `dump` key.
    pub dump_line: usize,
    /// The tensor regex and its line.
    pub tensor: Option<Located<String>>,
    pub steps: Option<StepRange>,
    pub analyses: Vec<Located<AnalysisSpec>>,
}

/// An item of the spec and the line (1-based) it starts on.
#[derive(Debug, Clone)]
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

/// The keys of the spec's top level (everything but `[[analysis]]`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    name: Spanned<String>,
    title: Option<String>,
    description: Option<String>,
    dump: Spanned<PathBuf>,
    tensor: Option<Spanned<String>>,
    steps: Option<Spanned<String>>,
}

impl Spec {
    /// Reads and parses the spec file at `path`.
    pub fn read(path: &Path) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| SpecError {
            file: path.display().to_string(),
            line: None,
            message: format!("cannot read the spec: {e}"),
        })?;
        Spec::parse(&text, path)
    }

    /// Parses spec `text`; `path` names it in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Spec, SpecError> {
        let error = |span: Option<Range<usize>>, message: String| SpecError {
            file: path.display().to_string(),
            line: span.map(|s| line_of(text, s.start)),
            message,
        };
        let toml_error = |e: toml::de::Error| error(e.span(), e.message().trim().to_string());
        let mut root = DeTable::parse(text).map_err(toml_error)?;
        let root_span = root.span();
        let entries = root.get_mut().remove("analysis");
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
        if let Some(tensor) = &header.tensor {
            regex::Regex::new(tensor.get_ref()).map_err(|e| {
                error(
                    Some(tensor.span()),
                    format!("tensor: not a valid regular expression: {e}"),
                )
            })?;
        }
        let steps = header
            .steps
            .as_ref()
            .map(|s| {
                s.get_ref()
                    .parse::<StepRange>()
                    .map_err(|e| error(Some(s.span()), format!("steps: {e}")))
            })
            .transpose()?;
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
        let mut analyses = Vec::with_capacity(entries.len());
        for entry in entries {
            let span = entry.span();
            let line = line_of(text, span.start);
            let analysis = AnalysisSpec::from_toml(entry).map_err(|e| match e {
                KindError::Toml(e) => toml_error(e),
                KindError::At(span, message) => error(Some(span), message),
            })?;
            analysis
                .validate()
                .map_err(|message| error(Some(span.clone()), message))?;
            analyses.push(Located {
                line,
                item: analysis,
            });
        }
        let folder = path.parent().unwrap_or(Path::new(""));
        Ok(Spec {
            path: path.to_path_buf(),
            title: header.title.unwrap_or_else(|| name.clone()),
            name: name.clone(),
            description: header.description,
            dump: folder.join(header.dump.get_ref()),
            dump_line: line_of(text, header.dump.span().start),
            tensor: header.tensor.map(|t| Located {
                line: line_of(text, t.span().start),
                item: t.into_inner(),
            }),
            steps,
            analyses,
        })
    }

    /// The tensor and step selection.
    pub fn selection(&self) -> Selection {
        Selection {
            tensor: self
                .tensor
                .as_ref()
                .map(|t| regex::Regex::new(&t.item).expect("checked when parsed")),
            steps: self.steps.clone(),
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
) -> Result<(String, ValueDeserializer<'_>), KindError> {
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
    Ok((
        kind.into_owned(),
        ValueDeserializer::from(Spanned::new(span, DeValue::Table(table))),
    ))
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
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
        assert_eq!(spec.dump, Path::new("specs/../data/d"));
        assert_eq!(spec.title, "t");
        assert_eq!(spec.analyses.len(), 1);
        assert_eq!(spec.analyses[0].line, 5);
        assert_eq!(spec.steps.unwrap().last, Some(100));
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
    fn a_syntax_error_names_its_line() {
        let err = parse(&format!("{HEADER}[[analysis]\n")).unwrap_err();
        assert_eq!(err.line, Some(3), "{err}");
    }
}
