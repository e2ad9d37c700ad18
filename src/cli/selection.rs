//! Tensor and step selection flags shared by the commands that read dumps,
//! and how those commands open a dump.

use std::path::Path;

use clap::{Args, ValueEnum};
use gradrd_io::dump::{Collisions, Dump, OpenOptions, Selected, Selection, StepRange};

/// `--collisions`: a tensor name that several files of one step hold.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum CollisionRule {
    /// Leave such tensors out and report each, naming both files.
    #[default]
    Report,
    /// Name each `<file path below the dump, no extension>/<name>`.
    Prefix,
    /// Keep the one in the first file (path order).
    First,
}

#[derive(Debug, Clone, Args)]
pub struct SelectionArgs {
    /// Only tensors whose name matches this regular expression.
    #[arg(long, value_name = "REGEX")]
    pub tensor: Option<String>,
    /// Only these steps: N, A..B (inclusive), A.. or ..B.
    #[arg(long, visible_alias = "step", value_name = "RANGE")]
    pub steps: Option<StepRange>,
    /// What to do when several files of one step hold a tensor of the same
    /// name (a folder's files of one step with disjoint names are one step).
    #[arg(long, value_enum, default_value_t = CollisionRule::Report)]
    pub collisions: CollisionRule,
}

impl SelectionArgs {
    /// Opens `path` with these options and prints what opening it left out
    /// or settled (`gradrd: note: …`, one line each) on standard error.
    pub fn open(&self, path: &Path) -> anyhow::Result<Dump> {
        let collisions = match self.collisions {
            CollisionRule::Report => Collisions::Report,
            CollisionRule::Prefix => Collisions::Prefix,
            CollisionRule::First => Collisions::First,
        };
        let dump = Dump::open_with(path, OpenOptions { collisions })?;
        for note in dump.notes() {
            super::message::note(&note.to_string());
        }
        Ok(dump)
    }

    /// The tensors of `dump` (opened from `path`) these options select, as
    /// the source a registry analysis reads.
    pub fn select<'d>(&self, dump: &'d Dump, path: &Path) -> anyhow::Result<Selected<'d>> {
        let chosen = dump.select(&self.to_selection()?);
        Ok(Selected::new(dump, path.display().to_string(), chosen))
    }

    pub fn to_selection(&self) -> anyhow::Result<Selection> {
        let tensor = self
            .tensor
            .as_deref()
            .map(gradrd_io::dump::tensor_regex)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--tensor {e}"))?;
        Ok(Selection {
            tensor,
            steps: self.steps.clone(),
        })
    }
}
