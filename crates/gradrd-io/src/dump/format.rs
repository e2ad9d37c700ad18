//! Which reader a file needs: decided by its first bytes, the extension
//! only where the bytes say nothing (CSV) or are broken (so the reader of
//! the format the name claims reports what is wrong).
//!
//! ```text
//! PK\x03\x04 / PK\x05\x06     zip: torch.save (has data.pkl) or .npz   (.pt .pth .bin .npz …)
//! \x80 <protocol 2..5>       pickle: legacy (pre-1.6) torch.save
//! \x93NUMPY                  .npy
//! PAR1                       Parquet
//! <u64 LE n> '{'             safetensors (n < file size − 8)
//! ```
//! Hugging Face's `pytorch_model.bin` is a zip `torch.save`; it is read by
//! its bytes whatever its name.

use std::io::Read;
use std::path::Path;

use super::input::Input;
use super::DumpError;

/// The file formats gradrd reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Safetensors,
    Npy,
    Npz,
    /// `torch.save`, zip or legacy.
    Torch,
    Parquet,
    Csv,
}

impl FileKind {
    /// The format an extension names, if it names one.
    pub(crate) fn by_extension(path: &Path) -> Option<FileKind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "safetensors" => FileKind::Safetensors,
            "npy" => FileKind::Npy,
            "npz" => FileKind::Npz,
            "pt" | "pth" | "bin" => FileKind::Torch,
            "parquet" => FileKind::Parquet,
            "csv" => FileKind::Csv,
            _ => return None,
        })
    }

    /// The format of `input`: by its first bytes, else by its extension;
    /// `None` when neither says.
    pub(crate) fn detect(input: Input) -> Result<Option<FileKind>, DumpError> {
        let mut head = Vec::with_capacity(16);
        let len = match input.memory {
            Some(bytes) => {
                head.extend_from_slice(&bytes[..bytes.len().min(16)]);
                bytes.len() as u64
            }
            None => {
                let file = crate::files::open_regular(input.path)
                    .map_err(|e| DumpError::io(input.path, e))?;
                let len = file
                    .metadata()
                    .map_err(|e| DumpError::io(input.path, e))?
                    .len();
                file.take(16)
                    .read_to_end(&mut head)
                    .map_err(|e| DumpError::io(input.path, e))?;
                len
            }
        };
        let by_name = FileKind::by_extension(input.path);
        Ok(match by_magic(&head, len) {
            // a zip is an .npz unless it holds a pickle; the torch reader
            // tells them apart, so an explicit .npz stays an .npz
            Some(FileKind::Torch) if by_name == Some(FileKind::Npz) => Some(FileKind::Npz),
            Some(kind) => Some(kind),
            None => by_name,
        })
    }
}

/// The format the first bytes of a file of `len` bytes announce.
fn by_magic(head: &[u8], len: u64) -> Option<FileKind> {
    match head {
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => Some(FileKind::Torch),
        [0x80, 2..=5, ..] => Some(FileKind::Torch),
        [0x93, b'N', b'U', b'M', b'P', b'Y', ..] => Some(FileKind::Npy),
        [b'P', b'A', b'R', b'1', ..] => Some(FileKind::Parquet),
        [n0, n1, n2, n3, n4, n5, n6, n7, b'{', ..] => {
            let n = u64::from_le_bytes([*n0, *n1, *n2, *n3, *n4, *n5, *n6, *n7]);
            (n >= 2 && n <= len.saturating_sub(8)).then_some(FileKind::Safetensors)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions() {
        assert_eq!(
            FileKind::by_extension(Path::new("a/B.PT")),
            Some(FileKind::Torch)
        );
        assert_eq!(
            FileKind::by_extension(Path::new("pytorch_model.bin")),
            Some(FileKind::Torch)
        );
        assert_eq!(FileKind::by_extension(Path::new("notes.txt")), None);
        assert_eq!(FileKind::by_extension(Path::new("noext")), None);
    }

    #[test]
    fn magic_bytes() {
        assert_eq!(by_magic(b"PK\x03\x04rest", 100), Some(FileKind::Torch));
        assert_eq!(by_magic(b"\x80\x02\x8a\x0a", 100), Some(FileKind::Torch));
        assert_eq!(by_magic(b"\x93NUMPY\x01\x00", 100), Some(FileKind::Npy));
        assert_eq!(by_magic(b"PAR1\x15", 100), Some(FileKind::Parquet));
        let mut st = 40u64.to_le_bytes().to_vec();
        st.extend_from_slice(b"{\"a\":");
        assert_eq!(by_magic(&st, 100), Some(FileKind::Safetensors));
        // a header length past the end is no safetensors file
        assert_eq!(by_magic(&st, 45), None);
        assert_eq!(by_magic(b"tensor,step,value", 100), None);
        assert_eq!(by_magic(b"", 0), None);
    }
}
