//! `gradrd run SPEC.toml`: runs an analysis spec and renders
//! `reports/<name>/` (see `gradrd_report`).

use std::path::PathBuf;

use clap::Args;
use gradrd_report::{render, Spec};

use super::failure;
use super::Outcome;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The analysis spec (TOML), e.g. analyses/quickstart.toml.
    spec: PathBuf,
    /// Folder that receives the report folder `<name>/`.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    reports: PathBuf,
}

pub fn run(args: RunArgs) -> anyhow::Result<Outcome> {
    let spec = Spec::read(&args.spec)?;
    let progress = super::progress::bar_of(spec.analyses.len() as u64, "running", "analyses");
    let mut position = usize::MAX;
    let rendered = render(&spec, &args.reports, &mut |event| {
        if event.analysis != position {
            if position != usize::MAX {
                progress.inc(1);
            }
            position = event.analysis;
        }
        progress.set_message(format!("{}: {}", event.kind, event.item));
    });
    progress.finish_and_clear();
    let rendered = rendered?;
    for note in &rendered.notes {
        super::message::note(note);
    }
    for failure in &rendered.failures {
        super::message::print("failed", failure);
    }
    println!(
        "{}: {} files ({})",
        rendered.folder.display(),
        rendered.files.len(),
        rendered.folder.join("index.html").display()
    );
    Ok(failure::outcome(!rendered.failures.is_empty()))
}
