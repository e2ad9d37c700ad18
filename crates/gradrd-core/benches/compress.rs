//! Speed of the error-feedback replay: top-k (selection) with full feedback,
//! in entries per second (criterion's element throughput). Compare with the
//! numpy replay timed by scripts/bench_ef_vs_numpy.py. Run in release:
//! `cargo bench --bench compress`.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gradrd_core::compress::{
    BitModel, Compressor, ErrorFeedback, Feedback, PositionCoding, SplitMix64,
};

/// Heavy-tailed pseudo-gradients: a cubed uniform stream, fixed seed.
fn gradients(n: usize, steps: usize) -> Vec<Vec<f64>> {
    let mut rng = SplitMix64::new(42);
    (0..steps)
        .map(|_| {
            (0..n)
                .map(|_| {
                    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                    u * u * u
                })
                .collect()
        })
        .collect()
}

fn top_k_full_feedback(c: &mut Criterion) {
    let mut group = c.benchmark_group("topk+ef");
    for (n, k) in [(1usize << 20, 0.01), (8192, 0.01), (1 << 20, 0.1)] {
        let steps = gradients(n, 8);
        group.throughput(Throughput::Elements((n * steps.len()) as u64));
        group.bench_function(format!("n={n} k={k} 8 steps"), |b| {
            b.iter(|| {
                let mut ef = ErrorFeedback::new(
                    n,
                    Compressor::TopK { fraction: k },
                    Feedback::Full,
                    BitModel {
                        positions: PositionCoding::Index,
                        value_bits: 32.0,
                    },
                    SplitMix64::new(0),
                )
                .expect("valid replay");
                let mut total = 0.0;
                for g in &steps {
                    total += ef.step(g).expect("finite gradients").error_sq;
                }
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, top_k_full_feedback);
criterion_main!(benches);
