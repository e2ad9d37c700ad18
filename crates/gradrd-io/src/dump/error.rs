//! The one error type of the dump readers. Every message names the file, and
//! the tensor and field where there is one, so a batch run can report a bad
//! input and go on.

use std::path::PathBuf;

/// Why a dump file (or one of its tensors) could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DumpError {
    /// The operating system refused to open or read the file.
    #[error("{}: cannot read: {cause}", file.display())]
    Io {
        file: PathBuf,
        cause: std::io::Error,
    },
    /// The file's extension is none of the supported formats.
    #[error(
        "{}: unsupported file type (no safetensors, .npy, .npz, torch.save or Parquet bytes, and not named .csv)",
        file.display()
    )]
    UnsupportedFile { file: PathBuf },
    /// The file holds no bytes at all.
    #[error("{}: empty file", file.display())]
    EmptyFile { file: PathBuf },
    /// A directory in which no tensor could be read.
    #[error("{}: no readable dump files ({skipped} unreadable{first})", file.display())]
    NothingReadable {
        file: PathBuf,
        skipped: usize,
        /// `; first: <reason>` when something was skipped.
        first: String,
    },
    /// The container structure (magic, header, framing) is broken.
    #[error("{}: {what}", file.display())]
    Malformed { file: PathBuf, what: String },
    /// A tensor's header field is missing or invalid.
    #[error("{}: tensor `{tensor}`: field `{field}`: {what}", file.display())]
    BadField {
        file: PathBuf,
        tensor: String,
        field: String,
        what: String,
    },
    /// A tensor whose element type is not a float type gradrd reads.
    #[error(
        "{}: tensor `{tensor}`: unsupported dtype {dtype} (gradrd reads F16, BF16, F32, F64)",
        file.display()
    )]
    UnsupportedDtype {
        file: PathBuf,
        tensor: String,
        dtype: String,
    },
    /// The header declares more data than the file holds.
    #[error(
        "{}: tensor `{tensor}`: needs {needed} bytes of data but only {available} are present",
        file.display()
    )]
    Truncated {
        file: PathBuf,
        tensor: String,
        needed: u64,
        available: u64,
    },
    /// The zip container of an .npz or .pt file is corrupt.
    #[error("{}: corrupt zip archive: {cause}", file.display())]
    Zip {
        file: PathBuf,
        cause: zip::result::ZipError,
    },
    /// The pickle program of a .pt file is corrupt or uses unsupported opcodes.
    #[error("{}: `{entry}` at byte {offset}: {what}", file.display())]
    Pickle {
        file: PathBuf,
        entry: String,
        offset: u64,
        what: String,
    },
    /// Several files of one step hold a tensor of this name.
    #[error("{what}")]
    Collision { tensor: String, what: String },
    /// A table column is missing or has the wrong type.
    #[error("{}: column `{column}`: {what}", file.display())]
    Column {
        file: PathBuf,
        column: String,
        what: String,
    },
    /// polars could not parse the table.
    #[error("{}: cannot read table: {what}", file.display())]
    Table { file: PathBuf, what: String },
}

impl DumpError {
    pub(crate) fn io(file: &std::path::Path, cause: std::io::Error) -> Self {
        DumpError::Io {
            file: file.to_path_buf(),
            cause,
        }
    }

    pub(crate) fn malformed(file: &std::path::Path, what: impl Into<String>) -> Self {
        DumpError::Malformed {
            file: file.to_path_buf(),
            what: what.into(),
        }
    }

    pub(crate) fn bad_field(
        file: &std::path::Path,
        tensor: &str,
        field: &str,
        what: impl Into<String>,
    ) -> Self {
        DumpError::BadField {
            file: file.to_path_buf(),
            tensor: tensor.to_string(),
            field: field.to_string(),
            what: what.into(),
        }
    }

    pub(crate) fn zip(file: &std::path::Path, cause: zip::result::ZipError) -> Self {
        DumpError::Zip {
            file: file.to_path_buf(),
            cause,
        }
    }
}
