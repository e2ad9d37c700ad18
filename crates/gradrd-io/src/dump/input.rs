//! The bytes of one dump file: the file on disk (memory-mapped, or read
//! through a handle) or a caller's buffer ([`super::Dump::from_bytes`]).
//!
//! Every reader takes an [`Input`], so a buffer goes through exactly the code
//! a file does; only where the bytes come from differs.

use std::fs::File;
use std::io::{Cursor, Read, Seek};
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use super::{mapped, DumpError};

/// A dump file: its name (for errors and the format) and, for an in-memory
/// dump, its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Input<'a> {
    pub path: &'a Path,
    pub memory: Option<&'a Arc<[u8]>>,
}

/// The whole contents of an [`Input`], never empty.
pub(crate) enum Contents {
    Mapped(mapped::Mapped),
    Memory(Arc<[u8]>),
}

impl Deref for Contents {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Contents::Mapped(map) => map,
            Contents::Memory(bytes) => bytes,
        }
    }
}

/// An open [`Input`] (polars wants the concrete reader type).
pub(crate) enum Handle {
    File(File),
    Memory(Cursor<Arc<[u8]>>),
}

/// A seekable reader over an [`Input`] (a file handle or a buffer cursor).
pub(crate) trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send> ReadSeek for T {}

/// The [`Contents`] of an input, shared by every cursor over them.
#[derive(Clone)]
pub(crate) struct Shared(Arc<Contents>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The zip archive of an .npz or .pt input. Its central directory is parsed
/// once, when the file is opened; a clone shares it (and the memory map)
/// and has its own cursor, so each tensor keeps one and finds its entry in
/// O(1) instead of parsing the directory again.
pub(crate) type Archive = zip::ZipArchive<Cursor<Shared>>;

impl<'a> Input<'a> {
    /// A file on disk.
    pub(crate) fn file(path: &'a Path) -> Self {
        Input { path, memory: None }
    }

    fn empty(&self) -> DumpError {
        DumpError::EmptyFile {
            file: self.path.to_path_buf(),
        }
    }

    /// All bytes (a memory map for a file); an empty input is an error.
    pub(crate) fn contents(&self) -> Result<Contents, DumpError> {
        match self.memory {
            None => mapped::map_file(self.path).map(Contents::Mapped),
            Some(bytes) if bytes.is_empty() => Err(self.empty()),
            Some(bytes) => Ok(Contents::Memory(Arc::clone(bytes))),
        }
    }

    /// A handle positioned at byte 0; an empty input is an error.
    pub(crate) fn open(&self) -> Result<Handle, DumpError> {
        match self.memory {
            None => {
                let file = crate::files::open_regular(self.path)
                    .map_err(|e| DumpError::io(self.path, e))?;
                let len = file.metadata().map_err(|e| DumpError::io(self.path, e))?;
                if len.len() == 0 {
                    return Err(self.empty());
                }
                Ok(Handle::File(file))
            }
            Some(bytes) if bytes.is_empty() => Err(self.empty()),
            Some(bytes) => Ok(Handle::Memory(Cursor::new(Arc::clone(bytes)))),
        }
    }

    /// [`Input::open`] as a type-erased reader.
    pub(crate) fn reader(&self) -> Result<Box<dyn ReadSeek>, DumpError> {
        Ok(match self.open()? {
            Handle::File(file) => Box::new(file),
            Handle::Memory(cursor) => Box::new(cursor),
        })
    }

    /// The input opened as a zip archive (over its memory map or buffer).
    pub(crate) fn archive(&self) -> Result<Archive, DumpError> {
        let bytes = Shared(Arc::new(self.contents()?));
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| DumpError::zip(self.path, e))
    }
}
