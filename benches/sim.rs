//! Speed of the gradient sources (issue 6 targets on the 2-core machine):
//!
//! - `fedavg round`: one FedAvg round on digits, 10 clients, label skew, E = 5
//!   local steps, every client sending top-1 % of each layer with the M22
//!   2-bit codebook (GenNorm fit, M = 2) and full error feedback. Criterion
//!   times a 1-round `simulate` (the clients' setup and the evaluation of the
//!   global model included); 10 clients × 200 rounds must take under 60 s,
//!   i.e. a round under 300 ms;
//! - `teacher/student`: online SGD steps of the generator (N = 1000, K = 2,
//!   M = 4, erf) with each step's gradient recorded as it is by
//!   `gradrd generate teacher-student --record-every 1` (the generalisation
//!   error and the safetensors bytes; the file write is left out), in
//!   gradient entries per second; target ≥ 10^6.
//!
//! Run: `cargo bench --bench sim` (release) or `--profile dev`.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gradrd::compress::Feedback;
use gradrd::dist::FamilyKind;
use gradrd::sim::digits::digits;
use gradrd::sim::fl::{simulate, FlConfig, Memory};
use gradrd::sim::record::{safetensors_bytes, Named};
use gradrd::sim::split::Split;
use gradrd::sim::task::DigitsTask;
use gradrd::sim::uplink::{Keep, Quantizer, Uplink};
use gradrd::sim::{Activation, TeacherStudent, TeacherStudentConfig};

fn fedavg_round(c: &mut Criterion) {
    let (train, test) = digits().expect("shipped data").split(0.2, 0);
    let task = DigitsTask::new(32, train, test).expect("valid task");
    let config = FlConfig {
        clients: 10,
        split: Split::LabelSkew {
            classes_per_client: 2,
        },
        participation: 1.0,
        local_steps: 5,
        batch_size: 32,
        lr: 0.1,
        rounds: 1,
        uplink: Uplink {
            keep: Keep::TopK { fraction: 0.01 },
            quantizer: Quantizer::M22 {
                family: FamilyKind::GenNorm,
                m: 2.0,
                bits: 2,
            },
        },
        memory: Memory::Feedback {
            feedback: Feedback::Full,
        },
        seed: 0,
    };
    let mut group = c.benchmark_group("fedavg round");
    group.sample_size(10);
    group.bench_function("digits, 10 clients, top-1% + m22 2 bits", |b| {
        b.iter(|| simulate(&config, &task, |_| {}).expect("runs"))
    });
    group.finish();
}

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

criterion_group!(benches, fedavg_round, teacher_student);
criterion_main!(benches);
