//! The maximum-likelihood fits and the exact goodness of fit on 10^6 values,
//! in process (no file reading): the work `scipy.stats.gennorm.fit` and
//! `scipy.stats.dweibull.fit` do in `scripts/bench_vs_scipy.py`, which times
//! the whole `gradrd fit` process instead. Run with `cargo bench --bench fit`.

use criterion::{criterion_group, criterion_main, Criterion};
use gradrd_core::dist::{ContinuousDist, DWeibull, FamilyKind, GenNorm};
use gradrd_core::fit::{fit, FitOptions};
use gradrd_core::stats::{ks_one_sample, wasserstein_to_dist};
use rand::SeedableRng;
use std::hint::black_box;

/// `n` float32-rounded draws from `dist` (the benchmark script saves float32).
fn draws(dist: &dyn ContinuousDist, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    dist.sample(&mut rng, n)
        .into_iter()
        .map(|v| f64::from(v as f32))
        .collect()
}

fn bench_fit(c: &mut Criterion) {
    let n = 1_000_000;
    let gennorm = GenNorm::new(0.7, 0.0, 1e-3).expect("valid gennorm");
    let dweibull = DWeibull::new(0.8, 0.0, 1e-3).expect("valid dweibull");
    let cases: [(&str, FamilyKind, Vec<f64>); 2] = [
        ("gennorm(0.7)", FamilyKind::GenNorm, draws(&gennorm, n, 0)),
        (
            "dweibull(0.8)",
            FamilyKind::DWeibull,
            draws(&dweibull, n, 1),
        ),
    ];
    let mut group = c.benchmark_group("fit 1e6");
    group.sample_size(10);
    for (name, kind, data) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| fit(*kind, black_box(data), &FitOptions::default()))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("goodness of fit 1e5");
    group.sample_size(10);
    let sample = {
        let mut s = draws(&gennorm, 100_000, 2);
        s.sort_by(f64::total_cmp);
        s
    };
    group.bench_function("ks gennorm(0.7)", |b| {
        b.iter(|| ks_one_sample(black_box(&sample), |x| gennorm.cdf(x)))
    });
    group.bench_function("w1+w2 gennorm(0.7)", |b| {
        b.iter(|| wasserstein_to_dist(black_box(&sample), &gennorm))
    });
    group.finish();
}

criterion_group!(benches, bench_fit);
criterion_main!(benches);
