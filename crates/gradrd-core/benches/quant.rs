//! Speed of the M-weighted Lloyd-Max designs (compare with the scipy
//! baseline printed by scripts/ref_lloyd_scipy.py). Run in release only.
use criterion::{criterion_group, criterion_main, Criterion};
use gradrd_core::dist::GenNorm;
use gradrd_core::quant::empirical::design_from_samples;
use gradrd_core::quant::lloyd::design_for_density;
use gradrd_core::quant::{DesignSpec, LloydOptions};

fn density_256(c: &mut Criterion) {
    let source = GenNorm::new(0.8, 0.0, 1e-3).expect("valid parameters");
    let spec = DesignSpec::from_bits(8, 2.0, false).expect("valid spec");
    c.bench_function("lloyd gennorm(0.8) M=2 L=256", |b| {
        b.iter(|| design_for_density(&source, &spec, &LloydOptions::default()))
    });
}

fn samples_64(c: &mut Criterion) {
    let samples: Vec<f64> = (0..100_000)
        .map(|i| ((i as f64 + 0.5) / 100_000.0 - 0.5).powi(3))
        .collect();
    let spec = DesignSpec::from_bits(6, 1.0, false).expect("valid spec");
    c.bench_function("empirical 1e5 samples M=1 L=64", |b| {
        b.iter(|| design_from_samples(&samples, &spec, &LloydOptions::default()))
    });
}

criterion_group!(benches, density_256, samples_64);
criterion_main!(benches);
