//! The staging folder of a report run, and the clean-up of those that
//! killed runs left behind.
//!
//! A run writes into `reports/.<name>.partial-XXXXXX` and renames it into
//! place at the end. While the run lives it holds an exclusive `flock` on
//! that folder, so a later run can tell a live run's folder (locked) from
//! one whose run was killed (unlocked: the kernel drops the lock with the
//! process). Unlocked partials of the same report older than [`GRACE`] are
//! removed by the next run and named in its notes; the grace covers the
//! instant between a folder's creation and its lock.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How old an unlocked partial folder must be to be taken as abandoned.
pub(crate) const GRACE: Duration = Duration::from_secs(60);

/// A run's staging folder, locked for as long as this value lives.
pub(crate) struct Staging {
    dir: tempfile::TempDir,
    lock: File,
}

impl Staging {
    pub(crate) fn new(reports_dir: &Path, name: &str) -> std::io::Result<Staging> {
        let dir = tempfile::Builder::new()
            .prefix(&prefix(name))
            .tempdir_in(reports_dir)?;
        let lock = File::open(dir.path())?;
        lock.lock()?;
        Ok(Staging { dir, lock })
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The folder, no longer removed on drop, and its lock (hold it until the
    /// folder has been renamed into place).
    pub(crate) fn keep(self) -> (PathBuf, File) {
        (self.dir.keep(), self.lock)
    }
}

fn prefix(name: &str) -> String {
    format!(".{name}.partial-")
}

/// Removes the partial folders of report `name` in `reports_dir` that no
/// live run holds; returns one note per folder removed (or not removable).
pub(crate) fn remove_stale(reports_dir: &Path, name: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(reports_dir) else {
        return Vec::new();
    };
    let prefix = prefix(name);
    let mut notes = Vec::new();
    for entry in entries.flatten() {
        let is_partial = entry.file_name().to_str().is_some_and(|n| {
            n.strip_prefix(&prefix)
                .is_some_and(|rest| !rest.contains('.'))
        });
        let path = entry.path();
        if !is_partial || !is_abandoned(&path) {
            continue;
        }
        notes.push(match std::fs::remove_dir_all(&path) {
            Ok(()) => format!(
                "removed {}, left by an interrupted run of this report",
                path.display()
            ),
            Err(e) => format!(
                "cannot remove {}, left by an interrupted run of this report: {e}",
                path.display()
            ),
        });
    }
    notes.sort();
    notes
}

/// A real folder (not a link), unlocked, and untouched for [`GRACE`].
fn is_abandoned(path: &Path) -> bool {
    let Ok(metadata) = std::fs::symlink_metadata(path) else {
        return false;
    };
    let old = metadata
        .modified()
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age >= GRACE);
    if !metadata.is_dir() || !old {
        return false;
    }
    File::open(path).is_ok_and(|folder| folder.try_lock().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(path: &Path, by: Duration) {
        let then = std::time::SystemTime::now() - by;
        File::open(path).unwrap().set_modified(then).unwrap();
    }

    #[test]
    fn only_old_unlocked_partials_of_the_same_report_go() {
        let reports = tempfile::tempdir().unwrap();
        let live = Staging::new(reports.path(), "quick").unwrap();
        let killed = reports.path().join(".quick.partial-abc123");
        let young = reports.path().join(".quick.partial-young1");
        let other = reports.path().join(".quick.v2.partial-zzz999");
        for dir in [&killed, &young, &other] {
            std::fs::create_dir(dir).unwrap();
            std::fs::write(dir.join("report.md"), "x").unwrap();
        }
        for dir in [&killed, &other, &live.path().to_path_buf()] {
            age(dir, GRACE * 2);
        }
        let notes = remove_stale(reports.path(), "quick");
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains(".quick.partial-abc123"), "{notes:?}");
        assert!(!killed.exists());
        assert!(young.exists(), "younger than the grace");
        assert!(other.exists(), "another report's partial");
        assert!(live.path().exists(), "a live run's folder is locked");
        drop(live);
    }
}
