//! Throughput of `Dump::summarize` over a 1 GiB memory-mapped safetensors
//! dump (target: >= 1 GB/s), and the time to open and summarize an `.npz` of
//! 5 000 small entries (linear in the entries: the zip central directory is
//! parsed once per file, not once per tensor). Run by the lead with
//! `cargo bench --bench dump`.
//!
//! The files (8 F32 tensors of 128 MiB, pseudo-random values with 20 % zeros;
//! 5 000 `.npy` entries of 3 float32 values) are written once into a
//! temporary directory before timing.

use std::io::Write;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gradrd_io::dump::Dump;

const TENSORS: usize = 8;
const TENSOR_BYTES: usize = 128 << 20;

fn write_dump(path: &std::path::Path) {
    let elements = TENSOR_BYTES / 4;
    let mut header = String::from("{");
    for k in 0..TENSORS {
        let (begin, end) = (k * TENSOR_BYTES, (k + 1) * TENSOR_BYTES);
        if k > 0 {
            header.push(',');
        }
        header.push_str(&format!(
            r#""layer{k}.weight":{{"dtype":"F32","shape":[{elements}],"data_offsets":[{begin},{end}]}}"#
        ));
    }
    header.push('}');
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create bench dump"));
    file.write_all(&(header.len() as u64).to_le_bytes())
        .expect("write");
    file.write_all(header.as_bytes()).expect("write");
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut chunk = Vec::with_capacity(1 << 20);
    for _ in 0..(TENSORS * TENSOR_BYTES) / (1 << 20) {
        chunk.clear();
        for _ in 0..(1 << 18) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let value = if state.is_multiple_of(5) {
                0.0f32
            } else {
                (state >> 40) as f32 * 1e-7 - 0.8
            };
            chunk.extend_from_slice(&value.to_le_bytes());
        }
        file.write_all(&chunk).expect("write");
    }
    file.flush().expect("flush");
}

fn summarize_1gib(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.safetensors");
    write_dump(&path);
    let dump = Dump::open(&path).expect("open bench dump");
    let mut group = c.benchmark_group("dump");
    group.sample_size(10);
    group.throughput(Throughput::Bytes((TENSORS * TENSOR_BYTES) as u64));
    group.bench_function("summarize_safetensors_f32_1GiB", |b| {
        b.iter(|| {
            dump.tensors()
                .iter()
                .map(|t| dump.summarize(t).expect("summarize").zeros)
                .sum::<u64>()
        })
    });
    group.finish();
}

const NPZ_ENTRIES: usize = 5_000;

/// An `.npz` of [`NPZ_ENTRIES`] stored entries `t00000.npy`, … of 3 float32.
fn write_npz(path: &std::path::Path) {
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut writer = zip::ZipWriter::new(std::fs::File::create(path).expect("create bench npz"));
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
    let padded = format!("{header:<117}\n"); // 10 + 118 = 128 bytes, as numpy pads
    for k in 0..NPZ_ENTRIES {
        writer
            .start_file(format!("t{k:05}.npy"), options)
            .expect("entry");
        writer.write_all(b"\x93NUMPY\x01\x00").expect("write");
        writer
            .write_all(&(padded.len() as u16).to_le_bytes())
            .expect("write");
        writer.write_all(padded.as_bytes()).expect("write");
        for v in [k as f32, -(k as f32), 0.0] {
            writer.write_all(&v.to_le_bytes()).expect("write");
        }
    }
    writer.finish().expect("finish");
}

fn npz_of_many_entries(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("many.npz");
    write_npz(&path);
    let mut group = c.benchmark_group("dump");
    group.sample_size(10);
    group.bench_function("open_and_summarize_npz_5000_entries", |b| {
        b.iter(|| {
            let dump = Dump::open(&path).expect("open bench npz");
            dump.tensors()
                .iter()
                .map(|t| dump.summarize(t).expect("summarize").zeros)
                .sum::<u64>()
        })
    });
    group.finish();
}

criterion_group!(benches, summarize_1gib, npz_of_many_entries);
criterion_main!(benches);
