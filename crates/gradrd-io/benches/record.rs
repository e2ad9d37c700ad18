//! Speed of the teacher/student gradient source as `gradrd generate
//! teacher-student --record-every 1` runs it (issue 6 target on the 2-core
//! machine): online SGD steps of the generator (N = 1000, K = 2, M = 4, erf)
//! with each step's gradient recorded (the generalisation error and the
//! safetensors bytes; the file write is left out), in gradient entries per
//! second; target ≥ 10^6.
//!
//! Run: `cargo bench --bench record` (release) or `--profile dev`.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gradrd_core::sim::{Activation, TeacherStudent, TeacherStudentConfig};
use gradrd_io::record::{safetensors_bytes, Named};

fn teacher_student(c: &mut Criterion) {
    const STEPS: usize = 200;
    let config = TeacherStudentConfig {
        input_dim: 1000,
        teacher_hidden: 2,
        student_hidden: 4,
        activation: Activation::Erf,
        lr: 0.5,
        init_std: 1.0,
        seed: 0,
    };
    let entries = config.student_hidden * (config.input_dim + 1);
    let mut group = c.benchmark_group("teacher/student");
    group.sample_size(10);
    group.throughput(Throughput::Elements((entries * STEPS) as u64));
    group.bench_function(format!("N=1000 M=4, {STEPS} recorded steps"), |b| {
        b.iter(|| {
            let mut sim = TeacherStudent::new(config.clone()).expect("valid config");
            let mut bytes = 0;
            for step in 0..STEPS as u64 {
                let error = sim.generalisation_error().expect("erf is exact");
                sim.step();
                let grad = sim.gradient();
                let file = safetensors_bytes(
                    step,
                    &[
                        Named {
                            name: "w1",
                            shape: vec![4, 1000],
                            values: &grad.w,
                        },
                        Named {
                            name: "v",
                            shape: vec![4],
                            values: &grad.v,
                        },
                    ],
                )
                .expect("encodes");
                std::hint::black_box(error);
                bytes += file.len();
            }
            bytes
        })
    });
    group.finish();
}

criterion_group!(benches, teacher_student);
criterion_main!(benches);
