//! Speed of the baselines and of the real entropy coder on 10^6 Gaussian
//! entries at 4 bits per entry. Run in release only (`cargo bench --bench baseline`).
use criterion::{criterion_group, criterion_main, Criterion};
use gradrd_core::dist::{ContinuousDist, Normal};
use gradrd_core::quant::baseline::{evaluate, BaselineKind, BaselineOptions};
use gradrd_core::quant::coding::{encode_positions, encode_symbols};
use rand::SeedableRng;

fn samples() -> Vec<f64> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(1);
    Normal::new(0.0, 1.0)
        .expect("valid parameters")
        .sample(&mut rng, 1_000_000)
}

fn baselines(c: &mut Criterion) {
    let samples = samples();
    let options = BaselineOptions {
        rate: 4.0,
        ..BaselineOptions::default()
    };
    let mut group = c.benchmark_group("baseline 1e6 entries R=4");
    group.sample_size(10);
    for kind in BaselineKind::ALL {
        if kind == BaselineKind::M22 {
            continue; // needs a codebook; its cost is Codebook::encode + the coder
        }
        group.bench_function(kind.name(), |b| {
            b.iter(|| evaluate(kind, &samples, &options))
        });
    }
    group.finish();
}

fn coder(c: &mut Criterion) {
    let symbols: Vec<u32> = samples()
        .iter()
        .map(|x| ((x * 2.0).round() + 8.0).clamp(0.0, 15.0) as u32)
        .collect();
    c.bench_function("ans 1e6 symbols of 16", |b| {
        b.iter(|| encode_symbols(&symbols, 16))
    });
    let positions: Vec<usize> = (0..1_000_000)
        .filter(|i| i % 97 == 3 || i % 13 == 0)
        .collect();
    c.bench_function("positions 1e6 choose ~8.7e4", |b| {
        b.iter(|| encode_positions(1_000_000, &positions))
    });
}

criterion_group!(benches, baselines, coder);
criterion_main!(benches);
