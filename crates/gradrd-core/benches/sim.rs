//! Speed of the federated simulator (issue 6 target on the 2-core machine;
//! the teacher/student generator's bench is `gradrd-io`'s `record`, as it
//! includes the safetensors encoding):
//!
//! - `fedavg round`: one FedAvg round on digits, 10 clients, label skew, E = 5
//!   local steps, every client sending top-1 % of each layer with the M22
//!   2-bit codebook (GenNorm fit, M = 2) and full error feedback. Criterion
//!   times a 1-round `simulate` (the clients' setup and the evaluation of the
//!   global model included); 10 clients × 200 rounds must take under 60 s,
//!   i.e. a round under 300 ms;
//!
//! Run: `cargo bench --bench sim` (release) or `--profile dev`.
use criterion::{criterion_group, criterion_main, Criterion};
use gradrd_core::compress::Feedback;
use gradrd_core::dist::FamilyKind;
use gradrd_core::sim::digits::digits;
use gradrd_core::sim::fl::{simulate, FlConfig, Memory};
use gradrd_core::sim::split::Split;
use gradrd_core::sim::task::DigitsTask;
use gradrd_core::sim::uplink::{Keep, Quantizer, Uplink};

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

criterion_group!(benches, fedavg_round);
criterion_main!(benches);
