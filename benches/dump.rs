//! Throughput of `Dump::summarize` over a 1 GiB memory-mapped safetensors
//! dump (target: >= 1 GB/s). Run by the lead with `cargo bench --bench dump`.
//!
//! The file (8 F32 tensors of 128 MiB, pseudo-random values with 20 % zeros)
//! is written once into a temporary directory before timing.

use std::io::Write;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gradrd::dump::Dump;

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

criterion_group!(benches, summarize_1gib);
criterion_main!(benches);
