//! Opening the files gradrd reads: regular files only, and never a wait.
//!
//! Opening a FIFO for reading blocks until a writer appears, so a FIFO named
//! `step_1.npy`, `spec.toml` or `codebook.json` would hang gradrd forever.
//! Every input is therefore opened with `O_NONBLOCK` (which returns at once
//! for a FIFO and changes nothing for a regular file) and its type is checked
//! on the open descriptor (`fstat`, so the check and the read are about the
//! same file); anything but a regular file is refused with its kind.
//!
//! Every file opened here is remembered by its device and inode for the
//! life of the process, so that an output path naming one of the inputs
//! (`-o` onto the dump being read, under whatever name or link) is refused
//! before it is replaced: [`is_an_input`].

use std::collections::BTreeSet;
use std::fs::{File, FileType, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::Path;
use std::sync::Mutex;

/// (device, inode) of every file [`open_regular`] opened.
static INPUTS: Mutex<BTreeSet<(u64, u64)>> = Mutex::new(BTreeSet::new());

#[cfg(unix)]
fn identity(metadata: &Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((metadata.dev(), metadata.ino()))
}

#[cfg(not(unix))]
fn identity(_: &Metadata) -> Option<(u64, u64)> {
    None
}

fn remember(metadata: &Metadata) {
    if let Some(id) = identity(metadata) {
        INPUTS.lock().unwrap_or_else(|e| e.into_inner()).insert(id);
    }
}

/// Whether the file `metadata` describes was opened as an input.
pub fn is_an_input(metadata: &Metadata) -> bool {
    let Some(id) = identity(metadata) else {
        return false;
    };
    INPUTS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&id)
}

/// Opens `path` for reading if it is (or links to) a regular file.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    let file_type = metadata.file_type();
    if file_type.is_file() {
        remember(&metadata);
        Ok(file)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file but {}", special_kind(&file_type)),
        ))
    }
}

/// The most bytes [`read_to_string`] reads: specs, codebooks and cost
/// tables are small text files, and a larger one is not read into memory.
pub const MAX_TEXT_BYTES: u64 = 64 << 20;

/// The whole of the regular file `path` as text, if at most
/// [`MAX_TEXT_BYTES`] long.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    let mut text = String::new();
    open_regular(path)?
        .take(MAX_TEXT_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_TEXT_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "larger than {} MiB, not a text file gradrd reads",
                MAX_TEXT_BYTES >> 20
            ),
        ));
    }
    Ok(text)
}

/// What a file that is not a regular file is, in words ("a FIFO").
pub fn special_kind(file_type: &FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    if file_type.is_dir() {
        "a folder"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else if file_type.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn mkfifo(path: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
        // SAFETY: `name` is a valid NUL-terminated path.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::mkfifo(name.as_ptr(), 0o600) };
        assert_eq!(rc, 0, "mkfifo {}", path.display());
    }

    #[test]
    fn a_fifo_is_refused_at_once_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("step_1.npy");
        mkfifo(&fifo);
        let error = open_regular(&fifo).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(error.to_string(), "not a regular file but a FIFO");
        assert!(read_to_string(&fifo).is_err());
    }

    #[test]
    fn folders_and_devices_are_refused_and_files_read() {
        let dir = tempfile::tempdir().unwrap();
        let error = open_regular(dir.path()).unwrap_err();
        assert_eq!(error.to_string(), "not a regular file but a folder");
        let error = open_regular(Path::new("/dev/null")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "not a regular file but a character device"
        );
        let file = dir.path().join("a.toml");
        std::fs::write(&file, "x = 1\n").unwrap();
        assert_eq!(read_to_string(&file).unwrap(), "x = 1\n");
        let other = dir.path().join("b.toml");
        std::fs::write(&other, "").unwrap();
        assert!(is_an_input(&std::fs::metadata(&file).unwrap()));
        assert!(!is_an_input(&std::fs::metadata(&other).unwrap()));
    }
}
