//! Exporters: one `Serialize` result, many formats (table — the one
//! [`Table`] type of `gradrd-report` —, JSON, CSV), each rendered to bytes; bytes go to stdout or are written atomically to `-o`
//! (a temporary file in the target's folder, renamed into place), so a
//! failed run never leaves a half-written file.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use gradrd_io::escape;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for a terminal.
    Table,
    /// One JSON object with a `schema` field.
    Json,
    /// One row per tensor (and family), with a header line.
    Csv,
}

#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to this file instead of standard output (atomically).
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl OutputArgs {
    /// Sends `bytes` to the chosen destination.
    pub fn emit(&self, bytes: &[u8]) -> anyhow::Result<()> {
        match &self.output {
            Some(path) => write_atomically(path, bytes),
            None => {
                let mut stdout = std::io::stdout().lock();
                match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
                    // A closed pipe (`gradrd ... | head`) is not an error.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                    other => other.context("cannot write to standard output"),
                }
            }
        }
    }
}

/// Checks before any work that `-o FILE` can be written, so a long run does
/// not fail at its very end (the same checks run again when it is written).
pub fn check_writable(output: &Option<PathBuf>) -> anyhow::Result<()> {
    if let Some(path) = output {
        Destination::of(path)?;
    }
    Ok(())
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Where an output file lands. gradrd writes only regular files and new
/// paths: a folder, FIFO, socket or device is refused, and so is any file
/// gradrd has read as an input in this run (compared by device and inode,
/// so another name or a link to the dump is caught too). A symbolic link is
/// kept and the file it points to is replaced; a link to nothing is refused.
/// A new file gets mode 0666 less the umask; a replaced file keeps its mode.
struct Destination {
    /// The path renamed onto (a symbolic link's target).
    path: PathBuf,
    /// The mode of the file replaced.
    mode: Option<u32>,
}

impl Destination {
    fn of(asked: &Path) -> anyhow::Result<Destination> {
        let refuse = |why: String| anyhow::anyhow!("cannot write {}: {why}", asked.display());
        let link = std::fs::symlink_metadata(asked);
        let path = match &link {
            Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(asked)
                .map_err(|_| refuse("it is a symbolic link to nothing".into()))?,
            _ => asked.to_path_buf(),
        };
        match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let dir = parent_dir(&path);
                if !dir.is_dir() {
                    return Err(refuse(format!("folder {} does not exist", dir.display())));
                }
                Ok(Destination { path, mode: None })
            }
            Err(e) => Err(refuse(e.to_string())),
            Ok(meta) if !meta.is_file() => Err(refuse(format!(
                "it is {}; gradrd writes only regular files or new paths",
                gradrd_io::files::special_kind(&meta.file_type())
            ))),
            Ok(meta) if gradrd_io::files::is_an_input(&meta) => Err(refuse(
                "it is one of this run's input files; write the output elsewhere".into(),
            )),
            Ok(meta) => Ok(Destination {
                path,
                mode: Some(file_mode(&meta)),
            }),
        }
    }
}

#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn file_mode(_: &std::fs::Metadata) -> u32 {
    0o666
}

pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_all_atomically(&[(path.to_path_buf(), bytes.to_vec())])
}

/// Writes every file to a temporary file beside it first and renames them
/// into place only when all were written, so a failure leaves none
/// half-written ([`Destination`] says where each goes).
pub fn write_all_atomically(files: &[(PathBuf, Vec<u8>)]) -> anyhow::Result<()> {
    let mut written = Vec::with_capacity(files.len());
    for (path, bytes) in files {
        let destination = Destination::of(path)?;
        let temp = write_temporary(&destination, bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push((path, destination.path, temp));
    }
    for (asked, path, temp) in written {
        temp.persist(&path)
            .with_context(|| format!("cannot write {}", asked.display()))?;
    }
    Ok(())
}

fn write_temporary(
    destination: &Destination,
    bytes: &[u8],
) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = parent_dir(&destination.path);
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // Created 0666 less the umask, as any other tool's output.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temp = builder.tempfile_in(dir)?;
    if let Some(mode) = destination.mode {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            temp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        #[cfg(not(unix))]
        let _ = mode;
    }
    temp.write_all(bytes)?;
    temp.flush()?;
    Ok(temp)
}

/// Pretty JSON with a trailing newline.
pub fn json_bytes<T: Serialize>(value: &T) -> anyhow::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value).context("cannot encode JSON")?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// CSV with a header row from the record's field names; every field made
/// inert for spreadsheets and terminals ([`escape::csv_field`]).
pub fn csv_bytes<R: Serialize>(rows: &[R]) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.serialize(row).context("cannot encode CSV")?;
    }
    let raw = writer.into_inner().context("cannot encode CSV")?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(raw.as_slice());
    let mut escaped = csv::Writer::from_writer(Vec::new());
    for record in reader.records() {
        let record = record.context("cannot encode CSV")?;
        escaped
            .write_record(
                record
                    .iter()
                    .map(|field| escape::csv_field(field).into_owned()),
            )
            .context("cannot encode CSV")?;
    }
    escaped.into_inner().context("cannot encode CSV")
}

pub use gradrd_report::table::{sig, Table};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits_switch_to_scientific_outside_readable_range() {
        assert_eq!(sig(0.012345, 3), "0.0123");
        assert_eq!(sig(1234.5, 4), "1234");
        assert_eq!(sig(-2.5e-7, 3), "-2.50e-7");
        assert_eq!(sig(3.0e8, 2), "3.0e8");
        assert_eq!(sig(0.0, 3), "0");
    }

    #[test]
    fn atomic_write_leaves_no_file_when_the_folder_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("missing/out.json");
        assert!(check_writable(&Some(target.clone())).is_err());
        assert!(write_atomically(&target, b"{}").is_err());
        assert!(!target.exists());
        let ok = dir.path().join("out.json");
        write_atomically(&ok, b"{}").unwrap();
        assert_eq!(std::fs::read(&ok).unwrap(), b"{}");
    }
}
