//! gradrd-io — reading and writing gradient dumps for gradrd.
//!
//! [`dump`] opens a file or folder of gradients in any of the formats
//! researchers write (safetensors, NumPy `.npy`/`.npz`, `torch.save` zips and
//! legacy pickles, torch.distributed.checkpoint, Hugging Face shard indexes,
//! Parquet and CSV tables) as tensors keyed by name and step; [`record`]
//! writes a step as a safetensors file. [`files`] opens inputs safely
//! (regular files only, never a wait on a FIFO, bounded text reads) and
//! [`escape`] makes names from files safe for terminals, Markdown, CSV, HTML
//! and LaTeX. The numerics live in `gradrd-core`; this crate is where polars
//! and the format crates are compiled.
#![deny(unsafe_code)]

pub mod dump;
pub mod escape;
pub mod files;
pub mod record;
