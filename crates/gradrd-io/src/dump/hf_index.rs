//! Hugging Face sharded checkpoints: an index next to its shards,
//!
//! ```text
//! checkpoint-300/model.safetensors.index.json
//!     {"metadata": {"total_size": N}, "weight_map": {"<tensor>": "model-00001-of-00003.safetensors", …}}
//! checkpoint-300/model-00001-of-00003.safetensors …
//! (or pytorch_model.bin.index.json with pytorch_model-00001-of-00002.bin …)
//! ```
//! (`transformers` `modeling_utils.save_pretrained`, `huggingface_hub.save_torch_state_dict`).
//! The shards of one index are one step: their step comes from the folder
//! (the shard counters in their names are not steps, `step_name.rs`). The
//! index is checked against the shards: a shard it names must exist, and
//! every tensor it maps must be in the shard it names.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::DumpError;

/// Largest index read (a 10^5-tensor model's index is a few MB).
const MAX_INDEX_BYTES: u64 = 64 << 20;

/// Whether `name` is a shard index file name.
pub(crate) fn is_index(name: &str) -> bool {
    name.ends_with(".index.json")
}

/// A parsed index: tensor name → shard file (inside the index's folder).
#[derive(Debug)]
pub(crate) struct ShardIndex {
    pub file: PathBuf,
    pub weight_map: BTreeMap<String, PathBuf>,
}

impl ShardIndex {
    /// Reads and validates the index at `path`.
    pub(crate) fn read(path: &Path) -> Result<ShardIndex, DumpError> {
        let malformed = |what: String| DumpError::malformed(path, format!("shard index: {what}"));
        let mut text = Vec::new();
        crate::files::open_regular(path)
            .map_err(|e| DumpError::io(path, e))?
            .take(MAX_INDEX_BYTES + 1)
            .read_to_end(&mut text)
            .map_err(|e| DumpError::io(path, e))?;
        if text.len() as u64 > MAX_INDEX_BYTES {
            return Err(malformed(format!("larger than {MAX_INDEX_BYTES} bytes")));
        }
        let value: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| malformed(format!("not JSON: {e}")))?;
        let map = value
            .get("weight_map")
            .and_then(serde_json::Value::as_object)
            .ok_or_else(|| malformed("no `weight_map` object".into()))?;
        let folder = path.parent().unwrap_or(Path::new(""));
        let mut weight_map = BTreeMap::new();
        for (tensor, shard) in map {
            let shard = shard
                .as_str()
                .ok_or_else(|| malformed(format!("`weight_map.{tensor}` is not a string")))?;
            if !is_plain_file_name(shard) {
                return Err(malformed(format!(
                    "`weight_map.{tensor}` = `{shard}` is not a file name inside the index's folder"
                )));
            }
            weight_map.insert(tensor.clone(), folder.join(shard));
        }
        Ok(ShardIndex {
            file: path.to_path_buf(),
            weight_map,
        })
    }

    /// The shard files the index names, each once, in name order.
    pub(crate) fn shards(&self) -> Vec<PathBuf> {
        let mut shards: Vec<PathBuf> = self.weight_map.values().cloned().collect();
        shards.sort();
        shards.dedup();
        shards
    }

    /// What the index says that the shards contradict: tensors mapped to a
    /// shard that does not hold them (`found` lists each shard's tensors).
    pub(crate) fn check(&self, found: &BTreeMap<PathBuf, Vec<String>>) -> Vec<DumpError> {
        let mut problems = Vec::new();
        for (tensor, shard) in &self.weight_map {
            let Some(names) = found.get(shard) else {
                continue; // the shard itself failed to open and is reported
            };
            if !names.iter().any(|n| n == tensor) {
                problems.push(DumpError::bad_field(
                    &self.file,
                    tensor,
                    "weight_map",
                    format!("mapped to {} which does not hold it", shard.display()),
                ));
            }
        }
        problems
    }
}

/// A single path component, not `.`/`..`, with no separator.
pub(crate) fn is_plain_file_name(name: &str) -> bool {
    let path = Path::new(name);
    !name.is_empty()
        && path.components().count() == 1
        && matches!(
            path.components().next(),
            Some(std::path::Component::Normal(_))
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_names_stay_inside_the_folder() {
        assert!(is_plain_file_name("model-00001-of-00003.safetensors"));
        assert!(!is_plain_file_name("../escape.safetensors"));
        assert!(!is_plain_file_name("/etc/passwd"));
        assert!(!is_plain_file_name("sub/shard.safetensors"));
        assert!(!is_plain_file_name(".."));
        assert!(!is_plain_file_name(""));
    }

    #[test]
    fn index_names() {
        assert!(is_index("model.safetensors.index.json"));
        assert!(is_index("pytorch_model.bin.index.json"));
        assert!(!is_index("config.json"));
    }
}
