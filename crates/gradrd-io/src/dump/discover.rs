//! Finding the tensors of a dump path: detect each file's format
//! (`format.rs`), walk a directory, group checkpoint units (Hugging Face
//! shard indexes, torch.distributed.checkpoint folders), assign steps, and
//! settle tensor names that several files of one step hold.
//!
//! Step of a tensor, first match wins (`step_name.rs` says what a keyword
//! and a bare number are):
//! ```text
//! 1. a table's `step` column
//! 2. a hive partition directory `step=N`        tensor=fc.weight/step=3/part-0.parquet -> 3
//! 3. a step keyword in the file stem            grads_step_000100.npz -> 100
//! 4. a step keyword in the nearest directory    checkpoint-300/model-00001-of-00003.safetensors -> 300
//!    (the dump root's own name included)        step_000300/.metadata (DCP) -> 300
//! 5. safetensors __metadata__["step"]
//! 6. a bare number in the file stem             grads_100.safetensors -> 100 (rank0.pt -> none)
//! 7. a bare number in the nearest directory below the dump root
//!    (hive `key=value` directories excluded; the root's bare number is not
//!    a step: `run3/` is not step 3)
//! ```
//! A hive directory `tensor=NAME` names the single `value` column of the
//! (wide-form) tables below it. A file whose stem is nothing but a step
//! (`fc1.weight/step_000100.npy`, `grads/000100.pt` holding a bare tensor)
//! names its one tensor after its folder (`fc1.weight`, `grads`), so a
//! folder of such files is one tensor over many steps.
//!
//! Every entry of a directory that is not read is listed with the reason
//! ([`super::DumpNote`]): files in no dump format, hidden files, links that
//! are broken or lead to directories, FIFOs and devices (never opened, so a
//! FIFO cannot block).
//!
//! Several files of one step with disjoint tensor names are one step
//! (shards). Per-rank pieces of one tensor (`__metadata__["shards"]`) are
//! joined into the whole tensor first (`shards.rs`). A `(step, name)` that two files hold is settled by the
//! [`Collisions`] rule; it is never renamed without a note.

use std::collections::BTreeMap;
use std::fs::FileType;
use std::path::{Path, PathBuf};

use super::format::FileKind;
use super::hf_index::{self, ShardIndex};
use super::input::Input;
use super::step_name::{is_only_a_step, step_in_name, NameStep};
use super::{
    dcp, npy, npz, safetensors, shards, table, torch, Collisions, DumpError, DumpNote, Found,
    InnerStep, TensorMeta,
};

/// The tensors a reader found in one file, and whether their order is the
/// writer's (a pickled state dict keeps `named_parameters()` order; a
/// safetensors header is sorted by name unless the recorder wrote the order).
struct Scanned {
    found: Vec<Found>,
    ordered: bool,
}

fn scan(input: Input) -> Result<Scanned, DumpError> {
    let kind = FileKind::detect(input)?.ok_or_else(|| DumpError::UnsupportedFile {
        file: input.path.to_path_buf(),
    })?;
    let (found, ordered) = match kind {
        FileKind::Safetensors => safetensors::scan(input)?,
        FileKind::Npy => (vec![npy::scan(input)?], false),
        FileKind::Npz => (npz::scan(input)?, true),
        FileKind::Torch => (torch::scan(input)?, true),
        FileKind::Parquet | FileKind::Csv => (table::scan(input, kind)?, false),
    };
    Ok(Scanned { found, ordered })
}

/// What a file's path says about its tensors.
#[derive(Debug, Default, PartialEq)]
struct PathInfo {
    /// A hive `step=N` directory.
    hive_step: Option<u64>,
    /// A step keyword in the stem, else in the nearest directory.
    keyword_step: Option<u64>,
    /// A bare number in the stem, else in the nearest directory below the root.
    number_step: Option<u64>,
    /// From a hive `tensor=NAME` directory.
    tensor: Option<String>,
    /// For a file whose stem is nothing but a step (`step_000100.npy`): the
    /// name its one tensor takes instead of the stem, its folder's.
    folder_name: Option<String>,
}

impl PathInfo {
    fn step(&self, inner: InnerStep) -> Option<u64> {
        match inner {
            InnerStep::Column(step) => Some(step),
            InnerStep::Metadata(step) => self.hive_step.or(self.keyword_step).or(Some(step)),
            InnerStep::Absent => self.hive_step.or(self.keyword_step).or(self.number_step),
        }
    }
}

fn assign_steps(input: Input, info: &PathInfo, scanned: Scanned) -> Vec<TensorMeta> {
    let single_value_column = scanned.found.len() == 1 && scanned.found[0].name == "value";
    let single_named_by_stem =
        scanned.found.len() == 1 && scanned.found[0].name == stem(input.path);
    scanned
        .found
        .into_iter()
        .enumerate()
        .map(|(position, f)| TensorMeta {
            step: info.step(f.inner_step),
            name: match (&info.tensor, &info.folder_name) {
                (Some(hive_name), _) if single_value_column => hive_name.clone(),
                (_, Some(folder)) if single_named_by_stem => folder.clone(),
                _ => f.name,
            },
            dtype: f.dtype,
            shape: f.shape,
            file: input.path.to_path_buf(),
            position: scanned
                .ordered
                .then(|| u32::try_from(position).unwrap_or(u32::MAX)),
            memory: input.memory.cloned(),
            locator: f.locator,
            placement: f.placement,
        })
        .collect()
}

/// What one dump path opened to.
#[derive(Debug, Default)]
pub(crate) struct Opened {
    pub tensors: Vec<TensorMeta>,
    /// Files (or tensors) that failed to open, with the reason.
    pub skipped: Vec<(PathBuf, DumpError)>,
    /// Entries not read, and names settled by the collision rule.
    pub notes: Vec<DumpNote>,
}

/// The tensors of a single file (on disk or in memory): its step comes from
/// its stem, else its folder's name. A shard index file opens its shards.
pub(crate) fn open_file(input: Input) -> Result<Opened, DumpError> {
    let name = input.path.file_name().map(super::file_name::os_text);
    if input.memory.is_none() && name.is_some_and(|n| hf_index::is_index(&n)) {
        let folder = input.path.parent().unwrap_or(Path::new("."));
        let mut opened = Opened::default();
        open_index(folder, input.path, &mut opened)?;
        return Ok(finish(folder, opened, Collisions::default()));
    }
    let scanned = scan(input)?;
    let info = file_info(input.path);
    let mut opened = Opened {
        tensors: assign_steps(input, &info, scanned),
        ..Opened::default()
    };
    shards::assemble(&mut opened);
    Ok(opened)
}

/// The step evidence of a file opened on its own: its stem, then its folder.
fn file_info(path: &Path) -> PathInfo {
    let stem = step_in_name(&stem(path));
    let folder = path
        .parent()
        .and_then(Path::file_name)
        .map_or(NameStep::None, |d| {
            step_in_name(&super::file_name::os_text(d))
        });
    PathInfo {
        hive_step: None,
        keyword_step: stem.keyword().or(folder.keyword()),
        number_step: stem.number(),
        tensor: None,
        folder_name: None,
    }
}

/// The tensors of every dump file below `root`, what failed, and what was
/// left out.
pub(crate) fn open_directory(root: &Path, collisions: Collisions) -> Result<Opened, DumpError> {
    let mut opened = Opened::default();
    let entries = list_directory(root).map_err(|e| DumpError::io(root, e))?;
    walk(root, root, entries, &mut opened);
    let opened = finish(root, opened, collisions);
    if opened.tensors.is_empty() {
        return Err(DumpError::NothingReadable {
            file: root.to_path_buf(),
            skipped: opened.skipped.len(),
            first: opened
                .skipped
                .first()
                .map_or(String::new(), |(_, e)| format!("; first: {e}")),
        });
    }
    Ok(opened)
}

/// Entries of `dir` sorted by name, with their (unfollowed) file types.
fn list_directory(dir: &Path) -> std::io::Result<Vec<(PathBuf, FileType)>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        entries.push((entry.path(), entry.file_type()?));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

fn note(opened: &mut Opened, path: &Path, what: impl Into<String>) {
    opened.notes.push(DumpNote {
        path: path.to_path_buf(),
        what: what.into(),
    });
}

fn walk(root: &Path, dir: &Path, entries: Vec<(PathBuf, FileType)>, opened: &mut Opened) {
    let names: Vec<String> = entries.iter().map(|(path, _)| file_name(path)).collect();
    let mut consumed: Vec<PathBuf> = Vec::new();
    if names.iter().any(|n| n == dcp::METADATA) {
        consumed.extend(open_dcp(root, dir, &entries, opened));
    }
    for (path, _) in entries
        .iter()
        .filter(|(p, _)| hf_index::is_index(&file_name(p)))
    {
        consumed.push(path.clone());
        match open_index(root, path, opened) {
            Ok(shards) => consumed.extend(shards),
            Err(error) => opened.skipped.push((path.clone(), error)),
        }
    }
    for (path, file_type) in entries {
        if consumed.contains(&path) {
            continue;
        }
        let name = file_name(&path);
        if name.starts_with('.') {
            note(opened, &path, "hidden entry, not read");
            continue;
        }
        let file_type = if file_type.is_symlink() {
            match std::fs::metadata(&path) {
                Ok(target) if target.is_dir() => {
                    note(opened, &path, "link to a directory, not followed");
                    continue;
                }
                Ok(target) => target.file_type(),
                Err(_) => {
                    note(opened, &path, "broken link");
                    continue;
                }
            }
        } else {
            file_type
        };
        if file_type.is_dir() {
            match list_directory(&path) {
                Ok(children) => walk(root, &path, children, opened),
                Err(e) => opened.skipped.push((path.clone(), DumpError::io(&path, e))),
            }
        } else if !file_type.is_file() {
            note(
                opened,
                &path,
                format!("{}, not read", crate::files::special_kind(&file_type)),
            );
        } else if name.ends_with(".distcp") {
            note(
                opened,
                &path,
                "torch.distributed.checkpoint storage file without a .metadata file beside it, not read",
            );
        } else {
            open_one(root, &path, opened);
        }
    }
    let _ = dir;
}

fn open_one(root: &Path, path: &Path, opened: &mut Opened) {
    let input = Input::file(path);
    match FileKind::detect(input) {
        Ok(None) => note(
            opened,
            path,
            "not a dump file (no known format by its bytes or name), not read",
        ),
        Ok(Some(_)) => match scan(input) {
            Ok(scanned) => {
                let info = path_info(root, path);
                opened.tensors.extend(assign_steps(input, &info, scanned));
            }
            Err(error) => opened.skipped.push((path.to_path_buf(), error)),
        },
        Err(error) => opened.skipped.push((path.to_path_buf(), error)),
    }
}

/// Opens the shards a Hugging Face index names (one step) and checks them
/// against it; returns the shard paths, which the walk then passes over.
fn open_index(
    root: &Path,
    index_path: &Path,
    opened: &mut Opened,
) -> Result<Vec<PathBuf>, DumpError> {
    let index = ShardIndex::read(index_path)?;
    let shards = index.shards();
    let mut names: BTreeMap<PathBuf, Vec<String>> = BTreeMap::new();
    for shard in &shards {
        if !shard.is_file() {
            opened.skipped.push((
                shard.clone(),
                DumpError::malformed(
                    &index.file,
                    format!("names shard {} which is missing", shard.display()),
                ),
            ));
            continue;
        }
        let before = opened.tensors.len();
        open_one(root, shard, opened);
        names.insert(
            shard.clone(),
            opened.tensors[before..]
                .iter()
                .map(|t| t.name.clone())
                .collect(),
        );
    }
    for problem in index.check(&names) {
        opened.skipped.push((index.file.clone(), problem));
    }
    Ok(shards)
}

/// Opens a torch.distributed.checkpoint folder; returns the files it took.
fn open_dcp(
    root: &Path,
    dir: &Path,
    entries: &[(PathBuf, FileType)],
    opened: &mut Opened,
) -> Vec<PathBuf> {
    let metadata = dir.join(dcp::METADATA);
    let taken: Vec<PathBuf> = entries
        .iter()
        .map(|(p, _)| p.clone())
        .filter(|p| *p == metadata || file_name(p).ends_with(".distcp"))
        .collect();
    let input = Input::file(&metadata);
    match dcp::scan(dir) {
        Ok(found) => {
            let info = path_info(root, &metadata);
            let scanned = Scanned {
                found,
                ordered: true,
            };
            opened.tensors.extend(assign_steps(input, &info, scanned));
        }
        Err(error) => opened.skipped.push((metadata, error)),
    }
    taken
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(super::file_name::os_text)
        .unwrap_or_default()
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(super::file_name::os_text)
        .unwrap_or_default()
}

/// Step evidence and hive tensor name of `file` below `root` (the step rule
/// in the module doc).
fn path_info(root: &Path, file: &Path) -> PathInfo {
    let directories: Vec<String> = file
        .strip_prefix(root)
        .ok()
        .and_then(Path::parent)
        .map(|p| {
            p.components()
                .map(|c| super::file_name::os_text(c.as_os_str()))
                .collect()
        })
        .unwrap_or_default();
    let hive = |key: &str| {
        directories
            .iter()
            .rev()
            .find_map(|d| d.strip_prefix(key)?.strip_prefix('=').map(str::to_string))
    };
    let stem = step_in_name(&stem(file));
    let plain: Vec<NameStep> = directories
        .iter()
        .rev()
        .filter(|d| !d.contains('='))
        .map(|d| step_in_name(d))
        .collect();
    let root_name = root.file_name().map_or(NameStep::None, |n| {
        step_in_name(&super::file_name::os_text(n))
    });
    PathInfo {
        hive_step: hive("step").and_then(|s| s.parse().ok()),
        keyword_step: stem
            .keyword()
            .or_else(|| plain.iter().find_map(|d| d.keyword()))
            .or(root_name.keyword()),
        number_step: stem
            .number()
            .or_else(|| plain.iter().find_map(|d| d.number())),
        tensor: hive("tensor"),
        folder_name: is_only_a_step(&self::stem(file)).then(|| {
            directories
                .iter()
                .rev()
                .find(|d| !d.contains('=') && !is_only_a_step(d))
                .cloned()
                .or_else(|| root.file_name().map(super::file_name::os_text))
                .unwrap_or_else(|| "value".to_string())
        }),
    }
}

/// A tensor's identity in a dump: its step and name.
type Key = (Option<u64>, String);

/// Applies the collision rule to every `(step, name)` that more than one
/// file holds.
fn finish(root: &Path, mut opened: Opened, rule: Collisions) -> Opened {
    shards::assemble(&mut opened);
    let mut files_per_key: BTreeMap<Key, Vec<PathBuf>> = BTreeMap::new();
    for t in &opened.tensors {
        let files = files_per_key.entry((t.step, t.name.clone())).or_default();
        if !files.contains(&t.file) {
            files.push(t.file.clone());
        }
    }
    files_per_key.retain(|_, files| files.len() > 1);
    if files_per_key.is_empty() {
        return opened;
    }
    for ((step, name), files) in &files_per_key {
        let (what, settled) = describe_collision(*step, name, files, rule);
        match settled {
            Settled::Left => opened.skipped.push((
                files[0].clone(),
                DumpError::Collision {
                    tensor: name.clone(),
                    what,
                },
            )),
            Settled::Kept | Settled::Renamed => note(&mut opened, &files[0], what),
        }
    }
    let mut kept = Vec::with_capacity(opened.tensors.len());
    for mut t in std::mem::take(&mut opened.tensors) {
        let Some(files) = files_per_key.get(&(t.step, t.name.clone())) else {
            kept.push(t);
            continue;
        };
        match rule {
            Collisions::Report => {}
            Collisions::First => {
                if t.file == files[0] {
                    kept.push(t);
                }
            }
            Collisions::Prefix => {
                t.name = format!("{}/{}", relative_stem(root, &t.file), t.name);
                kept.push(t);
            }
        }
    }
    opened.tensors = kept;
    opened
}

enum Settled {
    Left,
    Kept,
    Renamed,
}

fn describe_collision(
    step: Option<u64>,
    name: &str,
    files: &[PathBuf],
    rule: Collisions,
) -> (String, Settled) {
    let at = step.map_or_else(|| "no step".to_string(), |s| format!("step {s}"));
    let others = match files.len() {
        2 => String::new(),
        n => format!(" (and {} more files)", n - 2),
    };
    let both = format!(
        "tensor `{name}` at {at} is in both {} and {}{others}",
        files[0].display(),
        files[1].display()
    );
    match rule {
        Collisions::Report => (
            format!("{both}; left out (collision rule `report`; `prefix` names each <file>/<name>, `first` keeps the first file's)"),
            Settled::Left,
        ),
        Collisions::First => (
            format!("{both}; kept the one in {} (collision rule `first`)", files[0].display()),
            Settled::Kept,
        ),
        Collisions::Prefix => (
            format!("{both}; each named <file>/{name} (collision rule `prefix`)"),
            Settled::Renamed,
        ),
    }
}

/// `file` below `root` without its extension, `/`-separated.
fn relative_stem(root: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(root).unwrap_or(file).with_extension("");
    let parts: Vec<String> = relative
        .components()
        .map(|c| super::file_name::os_text(c.as_os_str()))
        .collect();
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_step_precedence() {
        let root = Path::new("/data/run3");
        let step = |file: &str| path_info(root, Path::new(file)).step(InnerStep::Absent);
        assert_eq!(step("/data/run3/step200/rank/g.safetensors"), Some(200));
        // a step keyword in a folder beats a bare number in the stem
        assert_eq!(step("/data/run3/step200/g_300.safetensors"), Some(200));
        assert_eq!(step("/data/run3/g.safetensors"), None);
        assert_eq!(step("/data/run3/g_300.safetensors"), Some(300));
        assert_eq!(
            step("/data/run3/checkpoint-300/model-00002-of-00003.safetensors"),
            Some(300)
        );
        assert_eq!(step("/data/run3/400/rank1.pt"), Some(400));
        // hive keys beat the stem (part-0) and never feed the generic rule
        let info = path_info(
            root,
            Path::new("/data/run3/step=12/tensor=layer4.w/part-0.parquet"),
        );
        assert_eq!(info.step(InnerStep::Absent), Some(12));
        assert_eq!(info.tensor.as_deref(), Some("layer4.w"));
        assert_eq!(step("/data/run3/tensor=layer4.w/g.parquet"), None);
    }

    #[test]
    fn files_named_only_by_a_step_take_their_folders_name() {
        let root = Path::new("/d/grads");
        let info = |f: &str| path_info(root, Path::new(f));
        assert_eq!(
            info("/d/grads/fc1.weight/step_000100.npy")
                .folder_name
                .as_deref(),
            Some("fc1.weight")
        );
        assert_eq!(
            info("/d/grads/000100.pt").folder_name.as_deref(),
            Some("grads")
        );
        assert_eq!(info("/d/grads/step_1/fc1.weight.npy").folder_name, None);
    }

    #[test]
    fn the_root_gives_a_keyword_step_only() {
        let file = |root: &str, f: &str| {
            path_info(Path::new(root), &Path::new(root).join(f)).step(InnerStep::Absent)
        };
        assert_eq!(file("/ckpt/step_000300", "__0_0.metadata"), Some(300));
        assert_eq!(file("/data/run3", "model.safetensors"), None);
    }

    #[test]
    fn metadata_steps_rank_below_keywords_above_numbers() {
        let root = Path::new("/d");
        let info = |f: &str| path_info(root, Path::new(f));
        assert_eq!(
            info("/d/step_10/g.safetensors").step(InnerStep::Metadata(7)),
            Some(10)
        );
        assert_eq!(
            info("/d/g_3.safetensors").step(InnerStep::Metadata(7)),
            Some(7)
        );
        assert_eq!(info("/d/g.csv").step(InnerStep::Column(5)), Some(5));
    }
}
