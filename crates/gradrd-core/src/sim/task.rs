//! The learning tasks of the federated simulator ([`super::fl`]): what a
//! client holds, how it trains locally and how the global model is measured.
//!
//! - [`DigitsTask`]: the MLP of [`super::mlp`] on scikit-learn's digits; the
//!   training set is partitioned over the clients ([`super::split`]); loss =
//!   cross-entropy on the whole training set, accuracy on the test set.
//! - [`TeacherStudentTask`]: the student of [`super::teacher_student`]; each
//!   client draws its own fresh i.i.d. Gaussian inputs (online learning, so
//!   only the iid split applies and every client weighs 1); a local step is
//!   one SGD step on the mean loss of a mini-batch; loss = the generalisation
//!   error ε_g (exact for erf, relu, linear; on a test set of
//!   [`TS_TEST_SAMPLES`] inputs for tanh); there is no accuracy (NaN,
//!   exported as null).

use std::ops::Range;

use rand::SeedableRng;
use rand_pcg::Pcg64;

use super::digits::Dataset;
use super::fl::{client_seed, local_sgd, BatchSampler};
use super::mlp::Mlp;
use super::split::{partition, Split};
use super::teacher_student::{
    generalisation_error, sgd_step, TeacherStudent, TeacherStudentConfig, TestSet, TwoLayer,
    Workspace,
};
use super::{Activation, SimError};

/// A task the simulator trains.
pub trait Task: Sync {
    /// A client's data and random stream.
    type Client: Send;
    /// Number of parameters.
    fn parameters(&self) -> usize;
    /// The layers' names and ranges in the parameter vector.
    fn layers(&self) -> Vec<(&'static str, Range<usize>)>;
    /// The initial global model.
    fn init(&self, rng: &mut Pcg64) -> Vec<f64>;
    /// Each client's averaging weight and state; client `c` draws from
    /// [`client_seed`]`(seed, c)`.
    fn clients(
        &self,
        clients: usize,
        split: Split,
        seed: u64,
    ) -> Result<Vec<(usize, Self::Client)>, SimError>;
    /// One client holding everything, seeded as client 0 (the central baseline).
    fn central(&self, seed: u64) -> Self::Client;
    /// `steps` local SGD steps on mini-batches of `batch_size`.
    fn train(
        &self,
        client: &mut Self::Client,
        params: &mut [f64],
        steps: usize,
        batch_size: usize,
        lr: f64,
    );
    /// `(loss, accuracy)` of the global model (accuracy NaN when undefined).
    fn evaluate(&self, params: &[f64]) -> (f64, f64);
}

/// The MLP on digits.
#[derive(Debug, Clone)]
pub struct DigitsTask {
    pub model: Mlp,
    pub train: Dataset,
    pub test: Dataset,
}

impl DigitsTask {
    pub fn new(hidden: usize, train: Dataset, test: Dataset) -> Result<Self, SimError> {
        if hidden == 0 {
            return Err(SimError::Zero { field: "hidden" });
        }
        // Parameters, gradient, the round's sum and one client's memory.
        let (h, i, c) = (hidden as u128, train.input as u128, train.classes as u128);
        super::memory::check_f64(
            || format!("hidden {h} ({} parameters, 4 copies)", h * (i + c + 1) + c),
            4 * (h * (i + c + 1) + c),
        )?;
        Ok(Self {
            model: Mlp {
                input: train.input,
                hidden,
                classes: train.classes,
            },
            train,
            test,
        })
    }
}

impl Task for DigitsTask {
    type Client = BatchSampler;

    fn parameters(&self) -> usize {
        self.model.len()
    }

    fn layers(&self) -> Vec<(&'static str, Range<usize>)> {
        self.model.layers().to_vec()
    }

    fn init(&self, rng: &mut Pcg64) -> Vec<f64> {
        self.model.init(rng)
    }

    fn clients(
        &self,
        clients: usize,
        split: Split,
        seed: u64,
    ) -> Result<Vec<(usize, BatchSampler)>, SimError> {
        let parts = partition(&self.train.labels, self.train.classes, clients, split, seed)?;
        Ok(parts
            .into_iter()
            .enumerate()
            .map(|(c, samples)| {
                (
                    samples.len(),
                    BatchSampler::new(samples, client_seed(seed, c)),
                )
            })
            .collect())
    }

    fn central(&self, seed: u64) -> BatchSampler {
        BatchSampler::new((0..self.train.len()).collect(), client_seed(seed, 0))
    }

    fn train(
        &self,
        client: &mut BatchSampler,
        params: &mut [f64],
        steps: usize,
        batch_size: usize,
        lr: f64,
    ) {
        local_sgd(
            &self.model,
            &self.train,
            client,
            params,
            steps,
            batch_size,
            lr,
        );
    }

    fn evaluate(&self, params: &[f64]) -> (f64, f64) {
        let (loss, _) = self.model.evaluate(params, self.train.batch());
        let (_, accuracy) = self.model.evaluate(params, self.test.batch());
        (loss, accuracy)
    }
}

/// Test inputs of the tanh generalisation error.
pub const TS_TEST_SAMPLES: usize = 2000;

/// The teacher/student regression task.
#[derive(Debug, Clone)]
pub struct TeacherStudentTask {
    activation: Activation,
    teacher: TwoLayer,
    initial: TwoLayer,
    test: Option<TestSet>,
}

impl TeacherStudentTask {
    /// Teacher and initial student as `generate teacher-student` draws them
    /// from `config.seed` (`config.lr` is not used: the run's lr applies).
    pub fn new(config: TeacherStudentConfig) -> Result<Self, SimError> {
        let pair = TeacherStudent::new(config.clone())?;
        let test = pair
            .generalisation_error()
            .is_none()
            .then(|| pair.test_set(TS_TEST_SAMPLES, config.seed ^ 0x7e57));
        Ok(Self {
            activation: config.activation,
            teacher: pair.teacher().clone(),
            initial: pair.student().clone(),
            test,
        })
    }

    fn student(&self, params: &[f64]) -> TwoLayer {
        let (w, v) = params.split_at(self.initial.w.len());
        TwoLayer {
            input_dim: self.initial.input_dim,
            w: w.to_vec(),
            v: v.to_vec(),
        }
    }
}

impl Task for TeacherStudentTask {
    type Client = Pcg64;

    fn parameters(&self) -> usize {
        self.initial.w.len() + self.initial.v.len()
    }

    fn layers(&self) -> Vec<(&'static str, Range<usize>)> {
        let w = self.initial.w.len();
        vec![("w1", 0..w), ("v", w..self.parameters())]
    }

    fn init(&self, _rng: &mut Pcg64) -> Vec<f64> {
        [self.initial.w.as_slice(), &self.initial.v].concat()
    }

    fn clients(
        &self,
        clients: usize,
        split: Split,
        seed: u64,
    ) -> Result<Vec<(usize, Pcg64)>, SimError> {
        if clients == 0 {
            return Err(SimError::Zero { field: "clients" });
        }
        if split != Split::Iid {
            return Err(SimError::Setting(
                "teacher-student clients draw i.i.d. Gaussian inputs: use --split iid".into(),
            ));
        }
        Ok((0..clients)
            .map(|c| (1, Pcg64::seed_from_u64(client_seed(seed, c))))
            .collect())
    }

    fn central(&self, seed: u64) -> Pcg64 {
        Pcg64::seed_from_u64(client_seed(seed, 0))
    }

    fn train(
        &self,
        client: &mut Pcg64,
        params: &mut [f64],
        steps: usize,
        batch_size: usize,
        lr: f64,
    ) {
        let mut student = self.student(params);
        let mut work = Workspace::new(&self.teacher, &student);
        for _ in 0..steps {
            sgd_step(
                &mut student,
                &self.teacher,
                self.activation,
                lr,
                batch_size,
                client,
                &mut work,
            );
        }
        let (w, v) = params.split_at_mut(student.w.len());
        w.copy_from_slice(&student.w);
        v.copy_from_slice(&student.v);
    }

    fn evaluate(&self, params: &[f64]) -> (f64, f64) {
        let student = self.student(params);
        let error = match &self.test {
            Some(test) => test.error(self.activation, &student),
            None => {
                generalisation_error(self.activation, &student, &self.teacher).unwrap_or(f64::NAN)
            }
        };
        (error, f64::NAN)
    }
}
