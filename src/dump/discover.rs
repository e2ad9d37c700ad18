//! Finding the tensors of a dump path: dispatch on the file extension, walk a
//! directory, and assign steps.
//!
//! Step of a tensor, first match wins:
//! ```text
//! 1. a table's `step` column
//! 2. a hive partition directory `step=N`         tensor=fc.weight/step=3/part-0.parquet -> 3
//! 3. the last number in the file stem            grads_step_000100.npz -> 100
//! 4. the last number in the nearest parent       step200/grads.safetensors -> 200
//!    directory name below the dump root (hive `key=value` directories excluded)
//! 5. safetensors __metadata__["step"]
//! ```
//! A hive directory `tensor=NAME` names the single `value` column of the
//! (wide-form) tables below it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::input::Input;
use super::{npy, npz, safetensors, table, torch, DumpError, Found, InnerStep, TensorMeta};

/// The file formats gradrd reads, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    Safetensors,
    Npy,
    Npz,
    Torch,
    Parquet,
    Csv,
}

impl FileKind {
    pub(crate) fn of(path: &Path) -> Option<FileKind> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "safetensors" => FileKind::Safetensors,
            "npy" => FileKind::Npy,
            "npz" => FileKind::Npz,
            "pt" | "pth" => FileKind::Torch,
            "parquet" => FileKind::Parquet,
            "csv" => FileKind::Csv,
            _ => return None,
        })
    }
}

/// The last run of ASCII digits in `text`, if it fits in a `u64`.
pub(crate) fn last_number(text: &str) -> Option<u64> {
    let end = text.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = text[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    text[start..end].parse().ok()
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn scan(input: Input) -> Result<Vec<Found>, DumpError> {
    let kind = FileKind::of(input.path).ok_or_else(|| DumpError::UnsupportedFile {
        file: input.path.to_path_buf(),
    })?;
    match kind {
        FileKind::Safetensors => safetensors::scan(input),
        FileKind::Npy => npy::scan(input).map(|found| vec![found]),
        FileKind::Npz => npz::scan(input),
        FileKind::Torch => torch::scan(input),
        FileKind::Parquet | FileKind::Csv => table::scan(input, kind),
    }
}

/// What a file's path says about its tensors.
#[derive(Debug, Default, PartialEq)]
struct PathInfo {
    step: Option<u64>,
    /// From a hive `tensor=NAME` directory.
    tensor: Option<String>,
}

fn assign_steps(input: Input, info: PathInfo, found: Vec<Found>) -> Vec<TensorMeta> {
    let path_step = info.step;
    let single_value_column = found.len() == 1 && found[0].name == "value";
    found
        .into_iter()
        .map(|f| TensorMeta {
            step: match f.inner_step {
                InnerStep::Column(step) => Some(step),
                InnerStep::Metadata(step) => path_step.or(Some(step)),
                InnerStep::Absent => path_step,
            },
            name: match &info.tensor {
                Some(hive_name) if single_value_column => hive_name.clone(),
                _ => f.name,
            },
            dtype: f.dtype,
            shape: f.shape,
            file: input.path.to_path_buf(),
            memory: input.memory.cloned(),
            locator: f.locator,
        })
        .collect()
}

/// The tensors of a single file (on disk or in memory); its step comes from
/// the file stem.
pub(crate) fn open_file(input: Input) -> Result<Vec<TensorMeta>, DumpError> {
    let found = scan(input)?;
    let info = PathInfo {
        step: last_number(&stem(input.path)),
        tensor: None,
    };
    Ok(assign_steps(input, info, found))
}

/// Files of a directory dump that failed to open, with the reason.
pub(crate) type SkippedFiles = Vec<(PathBuf, DumpError)>;

/// The tensors of every supported file below `root`, and the files that
/// failed to open.
pub(crate) fn open_directory(root: &Path) -> Result<(Vec<TensorMeta>, SkippedFiles), DumpError> {
    let mut files = Vec::new();
    collect_files(root, &mut files)?;
    files.sort();
    let mut tensors = Vec::new();
    let mut skipped = Vec::new();
    for file in files {
        let info = path_info(root, &file);
        let input = Input::file(&file);
        match scan(input) {
            Ok(found) => tensors.extend(assign_steps(input, info, found)),
            Err(error) => skipped.push((file, error)),
        }
    }
    if tensors.is_empty() {
        return Err(DumpError::NothingReadable {
            file: root.to_path_buf(),
            skipped: skipped.len(),
        });
    }
    qualify_duplicate_names(root, &mut tensors);
    Ok((tensors, skipped))
}

/// Step and hive tensor name of `file` below `root`: hive `step=N`, else
/// the stem's last number, else the last number of the nearest non-hive
/// directory between `file` and `root` (the root's own name is not used:
/// `run3/` is not step 3).
fn path_info(root: &Path, file: &Path) -> PathInfo {
    let directories: Vec<String> = file
        .strip_prefix(root)
        .ok()
        .and_then(Path::parent)
        .map(|p| {
            p.components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let hive = |key: &str| {
        directories
            .iter()
            .rev()
            .find_map(|d| d.strip_prefix(key)?.strip_prefix('=').map(str::to_string))
    };
    let step = hive("step")
        .and_then(|s| s.parse().ok())
        .or_else(|| last_number(&stem(file)))
        .or_else(|| {
            directories
                .iter()
                .rev()
                .filter(|d| !d.contains('='))
                .find_map(|d| last_number(d))
        });
    PathInfo {
        step,
        tensor: hive("tensor"),
    }
}

/// Supported files below `dir`, recursively; dot-files and symlinked
/// directories are not followed.
fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), DumpError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DumpError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| DumpError::io(dir, e))?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let file_type = entry.file_type().map_err(|e| DumpError::io(&path, e))?;
        if file_type.is_dir() {
            collect_files(&path, files)?;
        } else if FileKind::of(&path).is_some() && path.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// Two files holding the same `(step, name)` (e.g. OLMo's per-layer files
/// that all store the key `gradient`) get names prefixed with their file's
/// path below the root, without extension: `step100/attn_first1000/gradient`.
fn qualify_duplicate_names(root: &Path, tensors: &mut [TensorMeta]) {
    let mut files_per_key: HashMap<(Option<u64>, String), Vec<PathBuf>> = HashMap::new();
    for t in tensors.iter() {
        let files = files_per_key.entry((t.step, t.name.clone())).or_default();
        if !files.contains(&t.file) {
            files.push(t.file.clone());
        }
    }
    for t in tensors.iter_mut() {
        if files_per_key[&(t.step, t.name.clone())].len() > 1 {
            let relative = t
                .file
                .strip_prefix(root)
                .unwrap_or(&t.file)
                .with_extension("");
            let prefix: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            t.name = format!("{}/{}", prefix.join("/"), t.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_number_takes_the_last_digit_run() {
        assert_eq!(last_number("grads_step_000100"), Some(100));
        assert_eq!(last_number("layer3_step200"), Some(200));
        assert_eq!(last_number("step7.rank0"), Some(0));
        assert_eq!(last_number("weights"), None);
        assert_eq!(last_number(""), None);
        assert_eq!(last_number("99999999999999999999999"), None);
    }

    #[test]
    fn path_step_precedence() {
        let root = Path::new("/data/run3");
        let step = |file: &str| path_info(root, Path::new(file)).step;
        assert_eq!(step("/data/run3/step200/rank/g.safetensors"), Some(200));
        assert_eq!(step("/data/run3/step200/g_300.safetensors"), Some(300));
        assert_eq!(step("/data/run3/g.safetensors"), None);
        // hive keys beat the stem (part-0) and never feed the generic rule
        let info = path_info(
            root,
            Path::new("/data/run3/step=12/tensor=layer4.w/part-0.parquet"),
        );
        assert_eq!(
            info,
            PathInfo {
                step: Some(12),
                tensor: Some("layer4.w".into())
            }
        );
        assert_eq!(step("/data/run3/tensor=layer4.w/g.parquet"), None);
    }

    #[test]
    fn file_kind_by_extension() {
        assert_eq!(FileKind::of(Path::new("a/B.PT")), Some(FileKind::Torch));
        assert_eq!(FileKind::of(Path::new("a.pth")), Some(FileKind::Torch));
        assert_eq!(FileKind::of(Path::new("notes.txt")), None);
        assert_eq!(FileKind::of(Path::new("noext")), None);
    }
}
