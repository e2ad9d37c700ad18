//! Throughput of the statistics on gradient-sized inputs (the targets: ≥ 2×
//! scipy.stats.spearmanr on 10^7 pairs, ks_2samp on 2 × 5·10^6, W2 on 10^7).
//! Run with `cargo bench --bench stats` (release; the lead runs it).

use criterion::{criterion_group, criterion_main, Criterion};
use gradrd_core::stats::{ks_two_sample, spearman, wasserstein_samples};
use std::hint::black_box;

/// Heavy-tailed values with ties, `v·|v|·1e-9` with `v = hash(i, seed) mod
/// 2001 − 1000` — the same generator as `scripts/bench_stats_vs_scipy.py`
/// (vectorised there with numpy), so both sides time identical data.
fn heavy_tailed(seed: u64, n: usize) -> Vec<f64> {
    (0..n as u64)
        .map(|i| {
            let mut h = (i.wrapping_add(seed)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            h ^= h >> 29;
            let v = (h % 2001) as i64 - 1000;
            (v * v.abs()) as f64 * 1e-9
        })
        .collect()
}

fn bench_stats(c: &mut Criterion) {
    let n = std::env::var("GRADRD_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000_usize);
    let a = heavy_tailed(1, n);
    let b = heavy_tailed(2, n);
    let mut group = c.benchmark_group("stats");
    group.sample_size(10);
    group.bench_function("spearman", |bench| {
        bench.iter(|| spearman(black_box(&a), black_box(&b)))
    });
    group.bench_function("ks_two_sample_half", |bench| {
        bench.iter(|| ks_two_sample(black_box(&a[..n / 2]), black_box(&b[..n / 2])))
    });
    group.bench_function("wasserstein_samples", |bench| {
        bench.iter(|| wasserstein_samples(black_box(&a), black_box(&b)))
    });
    group.finish();
}

criterion_group!(benches, bench_stats);
criterion_main!(benches);
