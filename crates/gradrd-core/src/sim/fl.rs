//! Federated averaging with compression in the loop (FedAvg: McMahan, Moore,
//! Ramage, Hampson & Agüera y Arcas, AISTATS 2017). Each round:
//!
//! ```text
//! S_t      ⌈participation · clients⌉ clients drawn without replacement
//! client c start from x_t + α e_c (SA-PEF; x_t otherwise), run E local SGD
//!          steps on mini-batches of its own data → x_end
//!          u = (x_end − x_t) + β e_c        β = 1 (feedback), 1 − α (SA-PEF)
//!          send C(u) per layer (uplink)
//!          e_c ← γ (u − C(u))               γ = 0 (none: e stays 0), 1 (full, SA-PEF), γ (decay)
//! server   x_{t+1} = x_t + Σ_{c∈S_t} n_c C(u_c) / Σ_{c∈S_t} n_c   (n_c = samples of c)
//! ```
//!
//! SA-PEF (α ∈ [0, 1]): local training starts from the error-corrected point
//! and the residual is carried only in part; α = 0 is plain error feedback.
//! What a client holds, how it trains and how the global model is measured
//! is the [`Task`] (digits MLP or teacher/student). Clients train in parallel
//! (rayon) and are summed in client order, so a run is a function of its
//! seed.

use rand::seq::{index, SliceRandom};
use rand::SeedableRng;
use rand_pcg::Pcg64;
use rayon::prelude::*;
use serde::Serialize;

use super::digits::Dataset;
use super::mlp::{Batch, Mlp};
use super::split::Split;
use super::task::Task;
use super::uplink::Uplink;
use super::SimError;
use crate::compress::Feedback;
use crate::compress::SplitMix64;

/// The client's error memory.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Memory {
    /// Error feedback of `compress::Feedback` (none, full, decayed).
    Feedback { feedback: Feedback },
    /// SA-PEF with step-ahead fraction α.
    SaPef { alpha: f64 },
}

impl Memory {
    /// `(α, β, γ)` of the module docs.
    fn factors(&self) -> (f64, f64, f64) {
        match self {
            Memory::Feedback { feedback } => (0.0, 1.0, feedback.gamma()),
            Memory::SaPef { alpha } => (*alpha, 1.0 - alpha, 1.0),
        }
    }

    fn validate(&self) -> Result<(), SimError> {
        match self {
            Memory::Feedback { feedback } => feedback
                .validate()
                .map_err(|e| SimError::Setting(e.to_string())),
            Memory::SaPef { alpha } if (0.0..=1.0).contains(alpha) => Ok(()),
            Memory::SaPef { alpha } => Err(SimError::Setting(format!(
                "alpha of SA-PEF must be in [0, 1], got {alpha}"
            ))),
        }
    }
}

/// The settings of a federated run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlConfig {
    pub clients: usize,
    pub split: Split,
    pub participation: f64,
    pub local_steps: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub rounds: usize,
    pub uplink: Uplink,
    pub memory: Memory,
    pub seed: u64,
}

impl FlConfig {
    pub fn validate(&self) -> Result<(), SimError> {
        for (field, value) in [
            ("clients", self.clients),
            ("local-steps", self.local_steps),
            ("batch-size", self.batch_size),
            ("rounds", self.rounds),
        ] {
            if value == 0 {
                return Err(SimError::Zero { field });
            }
        }
        if !(self.participation > 0.0 && self.participation <= 1.0) {
            return Err(SimError::Setting(format!(
                "participation must be in (0, 1], got {}",
                self.participation
            )));
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(SimError::NotPositive {
                field: "lr",
                value: self.lr,
            });
        }
        self.memory.validate()?;
        Ok(self.uplink.validate()?)
    }

    /// Clients per round: `⌈participation · clients⌉`.
    pub fn per_round(&self) -> usize {
        ((self.participation * self.clients as f64).ceil() as usize).clamp(1, self.clients)
    }
}

/// One round as reported.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RoundResult {
    pub round: usize,
    /// Uplink bits of all rounds so far.
    pub uplink_bits: u64,
    pub loss: f64,
    pub accuracy: f64,
}

/// Mini-batches from a seeded walk over a client's samples.
#[derive(Debug, Clone)]
pub struct BatchSampler {
    order: Vec<usize>,
    position: usize,
    rng: Pcg64,
}

impl BatchSampler {
    pub fn new(samples: Vec<usize>, seed: u64) -> Self {
        let mut rng = Pcg64::seed_from_u64(seed);
        let mut order = samples;
        order.shuffle(&mut rng);
        Self {
            order,
            position: 0,
            rng,
        }
    }

    /// The next `size` samples (fewer only when the client has fewer).
    pub fn next_batch(&mut self, size: usize, out: &mut Vec<usize>) {
        out.clear();
        let size = size.min(self.order.len());
        while out.len() < size {
            if self.position == self.order.len() {
                self.order.shuffle(&mut self.rng);
                self.position = 0;
            }
            out.push(self.order[self.position]);
            self.position += 1;
        }
    }
}

/// `steps` SGD steps of `model` from `params` on batches of `data`.
pub fn local_sgd(
    model: &Mlp,
    data: &Dataset,
    sampler: &mut BatchSampler,
    params: &mut [f64],
    steps: usize,
    batch_size: usize,
    lr: f64,
) {
    let mut grad = vec![0.0; params.len()];
    let mut indices = Vec::with_capacity(batch_size);
    let mut features = Vec::with_capacity(batch_size * data.input);
    let mut labels = Vec::with_capacity(batch_size);
    for _ in 0..steps {
        sampler.next_batch(batch_size, &mut indices);
        if indices.is_empty() {
            return;
        }
        features.clear();
        labels.clear();
        for &i in &indices {
            features.extend_from_slice(&data.features[i * data.input..(i + 1) * data.input]);
            labels.push(data.labels[i]);
        }
        let batch = Batch {
            features: &features,
            labels: &labels,
        };
        model.loss_and_gradient(params, batch, &mut grad);
        for (p, g) in params.iter_mut().zip(&grad) {
            *p -= lr * g;
        }
    }
}

/// The seed of client `c`'s batch stream.
pub fn client_seed(seed: u64, client: usize) -> u64 {
    seed ^ (client as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

struct Client<C> {
    samples: usize,
    state: C,
    memory: Vec<f64>,
}

/// What a client's round produced: its weight, the decoded update and its size.
struct ClientUpdate {
    samples: usize,
    sent: Vec<f64>,
    bits: u64,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq)]
pub struct FlRun {
    pub rounds: Vec<RoundResult>,
    pub params: Vec<f64>,
}

/// The server's random stream (initialization, then participants).
fn server_rng(seed: u64) -> Pcg64 {
    Pcg64::seed_from_u64(seed ^ 0x5e7e_5e7e)
}

/// Runs FedAvg on `task`; `observe` sees each round.
pub fn simulate<T: Task>(
    config: &FlConfig,
    task: &T,
    mut observe: impl FnMut(&RoundResult),
) -> Result<FlRun, SimError> {
    config.validate()?;
    let parameters = task.parameters() as u128;
    super::memory::check_f64(
        || {
            format!(
                "clients {} × {parameters} parameters of error memory",
                config.clients
            )
        },
        config.clients as u128 * parameters,
    )?;
    let mut clients: Vec<Client<T::Client>> = task
        .clients(config.clients, config.split, config.seed)?
        .into_iter()
        .map(|(samples, state)| Client {
            samples,
            state,
            memory: vec![0.0; task.parameters()],
        })
        .collect();
    let mut server_rng = server_rng(config.seed);
    let mut params = task.init(&mut server_rng);
    let layers = task.layers();
    config.uplink.check_layers(&layers)?;
    let (alpha, beta, gamma) = config.memory.factors();
    let mut uplink_bits = 0u64;
    let mut rounds = Vec::with_capacity(config.rounds);
    let mut chosen = vec![false; config.clients];
    for round in 1..=config.rounds {
        chosen.fill(false);
        for c in index::sample(&mut server_rng, config.clients, config.per_round()) {
            chosen[c] = true;
        }
        let global = &params;
        let updates: Vec<Result<ClientUpdate, SimError>> = clients
            .par_iter_mut()
            .enumerate()
            .filter(|(c, client)| chosen[*c] && client.samples > 0)
            .map(|(c, client)| {
                let mut local: Vec<f64> = global
                    .iter()
                    .zip(&client.memory)
                    .map(|(x, e)| x + alpha * e)
                    .collect();
                task.train(
                    &mut client.state,
                    &mut local,
                    config.local_steps,
                    config.batch_size,
                    config.lr,
                );
                let u: Vec<f64> = local
                    .iter()
                    .zip(global)
                    .zip(&client.memory)
                    .map(|((end, x), e)| (end - x) + beta * e)
                    .collect();
                let message = config
                    .uplink
                    .compress(&u, &layers, |layer| {
                        message_seed(config.seed, round, c, layer)
                    })
                    .map_err(|e| SimError::Round {
                        round,
                        client: c,
                        layer: e.layer,
                        error: e.error,
                    })?;
                for (e, (ui, di)) in client.memory.iter_mut().zip(u.iter().zip(&message.decoded)) {
                    *e = gamma * (ui - di);
                }
                Ok(ClientUpdate {
                    samples: client.samples,
                    sent: message.decoded,
                    bits: message.bits,
                })
            })
            .collect();
        let mut total = vec![0.0; params.len()];
        let mut weight = 0usize;
        for update in updates {
            let ClientUpdate {
                samples,
                sent,
                bits,
            } = update?;
            uplink_bits += bits;
            weight += samples;
            for (t, s) in total.iter_mut().zip(&sent) {
                *t += samples as f64 * s;
            }
        }
        if weight > 0 {
            for (p, t) in params.iter_mut().zip(&total) {
                *p += t / weight as f64;
            }
        }
        let (loss, accuracy) = task.evaluate(&params);
        let result = RoundResult {
            round,
            uplink_bits,
            loss,
            accuracy,
        };
        observe(&result);
        rounds.push(result);
    }
    Ok(FlRun { rounds, params })
}

/// The centrally trained model of the same size and initialization: one
/// client holding everything, `rounds · local_steps` SGD steps of the same
/// batch size and learning rate. Returns `(loss, accuracy)` as the rounds do.
pub fn central_baseline<T: Task>(config: &FlConfig, task: &T) -> (f64, f64) {
    let mut params = task.init(&mut server_rng(config.seed));
    let mut state = task.central(config.seed);
    task.train(
        &mut state,
        &mut params,
        config.rounds * config.local_steps,
        config.batch_size,
        config.lr,
    );
    task.evaluate(&params)
}

/// The seed of one message's random choices (rand-k's positions): a
/// SplitMix64 draw keyed by run seed, round, client and layer, so a run is
/// reproducible and every message draws afresh.
fn message_seed(seed: u64, round: usize, client: usize, layer: usize) -> u64 {
    let unit = ((round as u64) << 32) ^ ((client as u64) << 12) ^ layer as u64;
    SplitMix64::for_unit(seed, unit).next_u64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dist::FamilyKind;
    use crate::sim::digits::digits;
    use crate::sim::task::DigitsTask;
    use crate::sim::uplink::{Keep, Quantizer};
    use gradrd_testkit::assert_close;

    fn task() -> DigitsTask {
        let (train, test) = digits().unwrap().split(0.2, 0);
        DigitsTask::new(16, train, test).unwrap()
    }

    fn config() -> FlConfig {
        FlConfig {
            clients: 4,
            split: Split::LabelSkew {
                classes_per_client: 3,
            },
            participation: 1.0,
            local_steps: 3,
            batch_size: 16,
            lr: 0.1,
            rounds: 6,
            uplink: Uplink {
                keep: Keep::TopK { fraction: 1.0 },
                quantizer: Quantizer::None,
            },
            memory: Memory::Feedback {
                feedback: Feedback::None,
            },
            seed: 5,
        }
    }

    fn run(config: &FlConfig) -> FlRun {
        simulate(config, &task(), |_| {}).unwrap()
    }

    #[test]
    fn one_client_fedavg_is_central_sgd_on_the_same_batches() {
        let config = FlConfig {
            clients: 1,
            ..config()
        };
        let task = task();
        let fed = simulate(&config, &task, |_| {}).unwrap();
        let (model, train) = (task.model, &task.train);
        let mut rng = Pcg64::seed_from_u64(config.seed ^ 0x5e7e_5e7e);
        let mut central = model.init(&mut rng);
        let mut sampler =
            BatchSampler::new((0..train.len()).collect(), client_seed(config.seed, 0));
        local_sgd(&model, train, &mut sampler, &mut central, 18, 16, 0.1);
        for (a, b) in fed.params.iter().zip(&central) {
            assert_close(*a, *b, 0.0, 1e-12);
        }
        let (loss, accuracy) = central_baseline(&config, &task);
        assert_close(fed.rounds[5].loss, loss, 1e-12, 0.0);
        assert_close(fed.rounds[5].accuracy, accuracy, 0.0, 0.0);
    }

    #[test]
    fn top_k_of_everything_with_error_feedback_is_the_uncompressed_run() {
        let plain = run(&config());
        let fed_back = run(&FlConfig {
            memory: Memory::Feedback {
                feedback: Feedback::Full,
            },
            ..config()
        });
        assert_eq!(plain, fed_back);
        // a real top-k changes the run
        let sparse = run(&FlConfig {
            uplink: Uplink {
                keep: Keep::TopK { fraction: 0.5 },
                quantizer: Quantizer::None,
            },
            ..config()
        });
        assert_ne!(plain.params, sparse.params);
        assert!(sparse.rounds[5].uplink_bits < plain.rounds[5].uplink_bits);
    }

    #[test]
    fn sapef_with_alpha_zero_is_full_error_feedback() {
        let uplink = Uplink {
            keep: Keep::TopK { fraction: 0.1 },
            quantizer: Quantizer::None,
        };
        let full = run(&FlConfig {
            uplink: uplink.clone(),
            memory: Memory::Feedback {
                feedback: Feedback::Full,
            },
            ..config()
        });
        let sapef = run(&FlConfig {
            uplink: uplink.clone(),
            memory: Memory::SaPef { alpha: 0.0 },
            ..config()
        });
        assert_eq!(full, sapef);
        let ahead = run(&FlConfig {
            uplink,
            memory: Memory::SaPef { alpha: 0.5 },
            ..config()
        });
        assert_ne!(full.params, ahead.params);
    }

    #[test]
    fn runs_are_deterministic_and_training_lowers_the_loss() {
        let config = FlConfig {
            participation: 0.5,
            split: Split::Dirichlet { alpha: 0.5 },
            uplink: Uplink {
                keep: Keep::TopK { fraction: 0.2 },
                quantizer: Quantizer::M22 {
                    family: FamilyKind::GenNorm,
                    m: 1.0,
                    bits: 3,
                },
            },
            memory: Memory::Feedback {
                feedback: Feedback::Full,
            },
            rounds: 10,
            ..config()
        };
        let first = run(&config);
        assert_eq!(first, run(&config));
        let other = run(&FlConfig { seed: 6, ..config });
        assert_ne!(first.params, other.params);
        // from about ln 10 (uniform guesses) downwards
        let (start, end) = (first.rounds[0].loss, first.rounds[9].loss);
        assert!(
            end < start && end < 0.97 * 10f64.ln(),
            "loss {start} -> {end}"
        );
    }

    #[test]
    fn teacher_student_fedavg_lowers_the_generalisation_error() {
        use crate::sim::task::TeacherStudentTask;
        use crate::sim::{Activation, TeacherStudentConfig};
        let task = TeacherStudentTask::new(TeacherStudentConfig {
            input_dim: 50,
            teacher_hidden: 2,
            student_hidden: 3,
            activation: Activation::Erf,
            lr: 0.5,
            init_std: 1.0,
            seed: 1,
        })
        .unwrap();
        let config = FlConfig {
            split: Split::Iid,
            uplink: Uplink {
                keep: Keep::TopK { fraction: 0.2 },
                quantizer: Quantizer::M22 {
                    family: FamilyKind::GenNorm,
                    m: 2.0,
                    bits: 3,
                },
            },
            memory: Memory::Feedback {
                feedback: Feedback::Full,
            },
            lr: 0.5,
            rounds: 150,
            ..config()
        };
        let (start, _) = task.evaluate(&task.init(&mut server_rng(0)));
        let run = simulate(&config, &task, |_| {}).unwrap();
        let end = run.rounds[149].loss;
        assert!(end < 0.5 * start, "ε_g {start} -> {end}");
        assert!(run.rounds[149].accuracy.is_nan());
        let skewed = FlConfig {
            split: Split::Dirichlet { alpha: 1.0 },
            ..config
        };
        assert!(simulate(&skewed, &task, |_| {}).is_err());
    }

    #[test]
    fn bad_settings_are_errors() {
        let task = task();
        for bad in [
            FlConfig {
                clients: 0,
                ..config()
            },
            FlConfig {
                participation: 0.0,
                ..config()
            },
            FlConfig {
                participation: 1.5,
                ..config()
            },
            FlConfig {
                memory: Memory::SaPef { alpha: 2.0 },
                ..config()
            },
            FlConfig {
                uplink: Uplink {
                    keep: Keep::TopK { fraction: 1.0 },
                    quantizer: Quantizer::M22 {
                        family: FamilyKind::GenNorm,
                        m: 0.0,
                        bits: 20,
                    },
                },
                ..config()
            },
        ] {
            assert!(simulate(&bad, &task, |_| {}).is_err(), "{bad:?}");
        }
    }
}
