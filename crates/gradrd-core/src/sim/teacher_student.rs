//! The teacher/student setting of Goldt, Advani, Saxe, Krzakala & Zdeborová,
//! "Dynamics of stochastic gradient descent for two-layer neural networks in
//! the teacher-student setup" (NeurIPS 2019): i.i.d. standard Gaussian inputs
//! `x ∈ R^N`, a fixed random teacher with K hidden units and a student with M
//! hidden units trained by online SGD (one fresh sample per step) on the
//! quadratic loss:
//!
//! ```text
//! λ_m = w_m·x/√N,   φ(x) = Σ_m v_m g(λ_m),   y = Σ_k v*_k g(w*_k·x/√N)
//! ε = ½ (φ(x) − y)²
//! ∂ε/∂w_m = (φ − y) v_m g'(λ_m) x/√N        ∂ε/∂v_m = (φ − y) g(λ_m)
//! w_m ← w_m − η ∂ε/∂w_m                      v_m ← v_m − (η/N) ∂ε/∂v_m
//! ```
//!
//! (the learning-rate scaling of Goldt et al.: η for the first layer, η/N for
//! the second). Teacher: `w*` entries i.i.d. N(0, 1) and `v* = 1` (the soft
//! committee machine of Saad & Solla, Phys. Rev. E 52, 1995); student: `w`
//! and `v` entries i.i.d. N(0, 1) scaled by `init_std`.
//!
//! The generalisation error `ε_g = ½ E_x[(φ − y)²]` depends on the weights
//! only through the order parameters `Q = w wᵀ/N`, `R = w w*ᵀ/N`,
//! `T = w* w*ᵀ/N`; with `I(a, b) = E[g(u) g(v)]` for centred Gaussians of
//! covariance `C`:
//!
//! ```text
//! ε_g = ½ [Σ_ik v_i v_k I(Q) + Σ_nm v*_n v*_m I(T) − 2 Σ_in v_i v*_n I(R)]
//! erf     I = (2/π) asin(C12 / √((1 + C11)(1 + C22)))
//! relu    I = √(C11 C22)/(2π) (sin θ + (π − θ) cos θ),  cos θ = C12/√(C11 C22)
//! linear  I = C12
//! ```
//!
//! (tanh has no closed form: [`TeacherStudent::test_error`] estimates ε_g on
//! a fixed test set instead).

use std::f64::consts::PI;

use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_pcg::Pcg64;

use super::activation::Activation;
use super::SimError;

/// The settings of a teacher/student run.
#[derive(Debug, Clone, PartialEq)]
pub struct TeacherStudentConfig {
    /// Input dimension N.
    pub input_dim: usize,
    /// Teacher hidden units K.
    pub teacher_hidden: usize,
    /// Student hidden units M.
    pub student_hidden: usize,
    pub activation: Activation,
    /// Learning rate η.
    pub lr: f64,
    /// Standard deviation of the student's initial weights.
    pub init_std: f64,
    pub seed: u64,
}

impl TeacherStudentConfig {
    pub fn validate(&self) -> Result<(), SimError> {
        for (field, value) in [
            ("input-dim", self.input_dim),
            ("teacher-hidden", self.teacher_hidden),
            ("student-hidden", self.student_hidden),
        ] {
            if value == 0 {
                return Err(SimError::Zero { field });
            }
        }
        for (field, value) in [("lr", self.lr), ("init-std", self.init_std)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(SimError::NotPositive { field, value });
            }
        }
        // The teacher's K×N and the student's M×N weights, the student's
        // gradient and one more M×N working copy.
        let (n, k, m) = (
            self.input_dim as u128,
            self.teacher_hidden as u128,
            self.student_hidden as u128,
        );
        super::memory::check_f64(
            || format!("input-dim {n} × (teacher-hidden {k} + 3 × student-hidden {m}) weights"),
            (k + 3 * m) * n,
        )
    }
}

/// A two-layer network `φ(x) = Σ_m v_m g(w_m·x/√N)`; `w` is hidden × N,
/// row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoLayer {
    pub input_dim: usize,
    pub w: Vec<f64>,
    pub v: Vec<f64>,
}

impl TwoLayer {
    pub fn hidden(&self) -> usize {
        self.v.len()
    }

    /// The output at `x`; the pre-activations `λ_m` go to `pre`.
    pub fn output(&self, act: Activation, x: &[f64], pre: &mut [f64]) -> f64 {
        let norm = 1.0 / (self.input_dim as f64).sqrt();
        let mut out = 0.0;
        for ((row, lambda), v) in self.w.chunks_exact(self.input_dim).zip(pre).zip(&self.v) {
            *lambda = dot(row, x) * norm;
            out += v * act.value(*lambda);
        }
        out
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `∂ε/∂w` (hidden × N, row-major) and `∂ε/∂v`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gradient {
    pub w: Vec<f64>,
    pub v: Vec<f64>,
}

/// The loss `ε = ½ (φ(x) − y)²` of `net` on one sample, with its gradient
/// in `grad`; `pre` is scratch of length hidden.
pub fn loss_and_gradient(
    net: &TwoLayer,
    act: Activation,
    x: &[f64],
    y: f64,
    pre: &mut [f64],
    grad: &mut Gradient,
) -> f64 {
    let delta = net.output(act, x, pre) - y;
    let norm = 1.0 / (net.input_dim as f64).sqrt();
    for (((row, gv), &lambda), &v) in grad
        .w
        .chunks_exact_mut(net.input_dim)
        .zip(&mut grad.v)
        .zip(pre.iter())
        .zip(&net.v)
    {
        *gv = delta * act.value(lambda);
        let factor = delta * v * act.derivative(lambda) * norm;
        for (g, xi) in row.iter_mut().zip(x) {
            *g = factor * xi;
        }
    }
    0.5 * delta * delta
}

/// A fixed set of inputs and the teacher's outputs on them.
#[derive(Debug, Clone)]
pub struct TestSet {
    inputs: Vec<f64>,
    targets: Vec<f64>,
}

impl TestSet {
    /// `samples` standard Gaussian inputs from their own stream (`seed`),
    /// labelled by `teacher`.
    pub fn new(act: Activation, teacher: &TwoLayer, samples: usize, seed: u64) -> Self {
        let n = teacher.input_dim;
        let mut rng = Pcg64::seed_from_u64(seed);
        let inputs = normals(&mut rng, samples * n, 1.0);
        let mut pre = vec![0.0; teacher.hidden()];
        let targets = inputs
            .chunks_exact(n)
            .map(|x| teacher.output(act, x, &mut pre))
            .collect();
        TestSet { inputs, targets }
    }

    /// `½ mean (φ − y)²` of `student` over the set.
    pub fn error(&self, act: Activation, student: &TwoLayer) -> f64 {
        let mut pre = vec![0.0; student.hidden()];
        let total: f64 = self
            .inputs
            .chunks_exact(student.input_dim)
            .zip(&self.targets)
            .map(|(x, y)| {
                let d = student.output(act, x, &mut pre) - y;
                d * d
            })
            .sum();
        0.5 * total / self.targets.len().max(1) as f64
    }
}

/// The teacher, the student and the SGD stream.
#[derive(Debug, Clone)]
pub struct TeacherStudent {
    config: TeacherStudentConfig,
    teacher: TwoLayer,
    student: TwoLayer,
    rng: Pcg64,
    work: Workspace,
    steps: u64,
}

/// Buffers of [`sgd_step`].
#[derive(Debug, Clone)]
pub struct Workspace {
    x: Vec<f64>,
    pre_teacher: Vec<f64>,
    pre_student: Vec<f64>,
    sample: Gradient,
    grad: Gradient,
}

impl Workspace {
    pub fn new(teacher: &TwoLayer, student: &TwoLayer) -> Self {
        let zeros = |len| vec![0.0; len];
        let gradient = || Gradient {
            w: zeros(student.w.len()),
            v: zeros(student.hidden()),
        };
        Self {
            x: zeros(student.input_dim),
            pre_teacher: zeros(teacher.hidden()),
            pre_student: zeros(student.hidden()),
            sample: gradient(),
            grad: gradient(),
        }
    }

    /// The mean gradient of the last step.
    pub fn gradient(&self) -> &Gradient {
        &self.grad
    }
}

/// One SGD step of `student` on the mean loss of `batch` fresh Gaussian
/// inputs from `rng` (the scaling of the module docs: η for `w`, η/N for
/// `v`); returns the mean loss before the update. The mean gradient stays in
/// `work`.
pub fn sgd_step(
    student: &mut TwoLayer,
    teacher: &TwoLayer,
    act: Activation,
    lr: f64,
    batch: usize,
    rng: &mut Pcg64,
    work: &mut Workspace,
) -> f64 {
    let mut loss = 0.0;
    for sample in 0..batch {
        for xi in &mut work.x {
            *xi = rng.sample(StandardNormal);
        }
        let y = teacher.output(act, &work.x, &mut work.pre_teacher);
        let target = if sample == 0 {
            &mut work.grad
        } else {
            &mut work.sample
        };
        loss += loss_and_gradient(student, act, &work.x, y, &mut work.pre_student, target);
        if sample > 0 {
            for (g, s) in work.grad.w.iter_mut().zip(&work.sample.w) {
                *g += s;
            }
            for (g, s) in work.grad.v.iter_mut().zip(&work.sample.v) {
                *g += s;
            }
        }
    }
    let mean = 1.0 / batch.max(1) as f64;
    if batch > 1 {
        work.grad.w.iter_mut().for_each(|g| *g *= mean);
        work.grad.v.iter_mut().for_each(|g| *g *= mean);
    }
    for (w, g) in student.w.iter_mut().zip(&work.grad.w) {
        *w -= lr * g;
    }
    let lr_v = lr / student.input_dim as f64;
    for (v, g) in student.v.iter_mut().zip(&work.grad.v) {
        *v -= lr_v * g;
    }
    loss * mean
}

/// `n` i.i.d. N(0, std²) draws.
pub fn normals(rng: &mut Pcg64, n: usize, std: f64) -> Vec<f64> {
    (0..n)
        .map(|_| std * rng.sample::<f64, _>(StandardNormal))
        .collect()
}

impl TeacherStudent {
    /// Draws teacher and student from `config.seed`.
    pub fn new(config: TeacherStudentConfig) -> Result<Self, SimError> {
        config.validate()?;
        let n = config.input_dim;
        let (k, m) = (config.teacher_hidden, config.student_hidden);
        let mut rng = Pcg64::seed_from_u64(config.seed);
        let teacher = TwoLayer {
            input_dim: n,
            w: normals(&mut rng, k * n, 1.0),
            v: vec![1.0; k],
        };
        let student = TwoLayer {
            input_dim: n,
            w: normals(&mut rng, m * n, config.init_std),
            v: normals(&mut rng, m, config.init_std),
        };
        Ok(Self {
            work: Workspace::new(&teacher, &student),
            teacher,
            student,
            rng,
            steps: 0,
            config,
        })
    }

    pub fn teacher(&self) -> &TwoLayer {
        &self.teacher
    }

    pub fn student(&self) -> &TwoLayer {
        &self.student
    }

    /// SGD steps taken so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The gradient of the last step, taken at the weights before its update.
    pub fn gradient(&self) -> &Gradient {
        self.work.gradient()
    }

    /// One online SGD step on a fresh sample; returns its loss (before the
    /// update).
    pub fn step(&mut self) -> f64 {
        let loss = sgd_step(
            &mut self.student,
            &self.teacher,
            self.config.activation,
            self.config.lr,
            1,
            &mut self.rng,
            &mut self.work,
        );
        self.steps += 1;
        loss
    }

    /// `samples` inputs from their own stream (`seed`), labelled by the teacher.
    pub fn test_set(&self, samples: usize, seed: u64) -> TestSet {
        TestSet::new(self.config.activation, &self.teacher, samples, seed)
    }

    /// `½ mean (φ − y)²` over a test set.
    pub fn test_error(&self, test: &TestSet) -> f64 {
        test.error(self.config.activation, &self.student)
    }

    /// The exact `ε_g` from the order parameters (erf, relu, linear), or
    /// `None` for tanh.
    pub fn generalisation_error(&self) -> Option<f64> {
        generalisation_error(self.config.activation, &self.student, &self.teacher)
    }
}

/// The exact `ε_g` of `student` against `teacher` from the order parameters
/// (erf, relu, linear), or `None` for tanh.
pub fn generalisation_error(
    act: Activation,
    student: &TwoLayer,
    teacher: &TwoLayer,
) -> Option<f64> {
    let overlap = |a: &TwoLayer, i: usize, b: &TwoLayer, j: usize| {
        let n = a.input_dim;
        dot(&a.w[i * n..(i + 1) * n], &b.w[j * n..(j + 1) * n]) / n as f64
    };
    let mut sum = 0.0;
    for (a, sign_a) in [(student, 1.0), (teacher, -1.0)] {
        for (b, sign_b) in [(student, 1.0), (teacher, -1.0)] {
            for i in 0..a.hidden() {
                let c11 = overlap(a, i, a, i);
                for j in 0..b.hidden() {
                    let c22 = overlap(b, j, b, j);
                    let c12 = overlap(a, i, b, j);
                    sum += sign_a * sign_b * a.v[i] * b.v[j] * pair_mean(act, c11, c12, c22)?;
                }
            }
        }
    }
    Some(0.5 * sum)
}

/// `E[g(u) g(v)]` for centred Gaussians with `Var u = c11`, `Var v = c22`,
/// `Cov(u, v) = c12` (`None` for tanh).
fn pair_mean(act: Activation, c11: f64, c12: f64, c22: f64) -> Option<f64> {
    match act {
        Activation::Erf => Some(2.0 / PI * (c12 / ((1.0 + c11) * (1.0 + c22)).sqrt()).asin()),
        Activation::Relu => {
            let norm = (c11 * c22).sqrt();
            if norm == 0.0 {
                return Some(0.0);
            }
            let theta = (c12 / norm).clamp(-1.0, 1.0).acos();
            Some(norm / (2.0 * PI) * (theta.sin() + (PI - theta) * theta.cos()))
        }
        Activation::Linear => Some(c12),
        Activation::Tanh => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradrd_testkit::assert_close;
    use proptest::prelude::*;

    fn config(activation: Activation) -> TeacherStudentConfig {
        TeacherStudentConfig {
            input_dim: 100,
            teacher_hidden: 2,
            student_hidden: 3,
            activation,
            lr: 0.5,
            init_std: 1.0,
            seed: 7,
        }
    }

    fn activations() -> impl Strategy<Value = Activation> {
        prop_oneof![
            Just(Activation::Erf),
            Just(Activation::Relu),
            Just(Activation::Tanh),
            Just(Activation::Linear),
        ]
    }

    proptest! {
        /// Every entry of the analytic gradient against a central difference.
        #[test]
        fn gradient_matches_finite_differences(
            act in activations(),
            w in proptest::collection::vec(-2.0f64..2.0, 15),
            v in proptest::collection::vec(-2.0f64..2.0, 3),
            x in proptest::collection::vec(-2.0f64..2.0, 5),
            y in -2.0f64..2.0,
        ) {
            let net = TwoLayer { input_dim: 5, w, v };
            let mut pre = vec![0.0; 3];
            let mut grad = Gradient { w: vec![0.0; 15], v: vec![0.0; 3] };
            loss_and_gradient(&net, act, &x, y, &mut pre, &mut grad);
            let loss = |net: &TwoLayer| {
                let mut pre = vec![0.0; 3];
                let d = net.output(act, &x, &mut pre) - y;
                0.5 * d * d
            };
            let h = 1e-6;
            for (index, analytic) in grad.w.iter().chain(&grad.v).enumerate() {
                let mut plus = net.clone();
                let mut minus = net.clone();
                if index < 15 {
                    plus.w[index] += h;
                    minus.w[index] -= h;
                } else {
                    plus.v[index - 15] += h;
                    minus.v[index - 15] -= h;
                }
                let numeric = (loss(&plus) - loss(&minus)) / (2.0 * h);
                // relu has a kink at 0: skip entries whose unit sits within h of it
                let near_kink = act == Activation::Relu
                    && pre.iter().any(|l| l.abs() < 1e-4);
                if !near_kink {
                    prop_assert!((analytic - numeric).abs() <= 1e-6 * (1.0 + numeric.abs()),
                        "entry {index}: analytic {analytic} vs numeric {numeric}");
                }
            }
        }
    }

    #[test]
    fn exact_generalisation_error_matches_the_test_set_estimate() {
        // the Monte-Carlo estimate on 20 000 samples has a relative standard
        // error of a few per cent; 5 % is about three of them
        for act in [Activation::Erf, Activation::Relu, Activation::Linear] {
            let ts = TeacherStudent::new(config(act)).unwrap();
            let exact = ts.generalisation_error().unwrap();
            let estimate = ts.test_error(&ts.test_set(20_000, 99));
            assert_close(estimate, exact, 0.05, 0.0);
        }
        assert!(TeacherStudent::new(config(Activation::Tanh))
            .unwrap()
            .generalisation_error()
            .is_none());
    }

    #[test]
    fn erf_generalisation_error_matches_a_hand_computed_case() {
        // one student unit equal to the single teacher unit: ε_g = 0; and a
        // student of zero output weights: ε_g = ½ (2/π) asin(T/(1+T))
        let mut ts = TeacherStudent::new(TeacherStudentConfig {
            teacher_hidden: 1,
            student_hidden: 1,
            ..config(Activation::Erf)
        })
        .unwrap();
        ts.student = ts.teacher.clone();
        assert_close(ts.generalisation_error().unwrap(), 0.0, 0.0, 1e-15);
        ts.student.v = vec![0.0];
        let t = dot(&ts.teacher.w, &ts.teacher.w) / 100.0;
        let expected = (t / (1.0 + t)).asin() / PI;
        assert_close(ts.generalisation_error().unwrap(), expected, 1e-14, 0.0);
    }

    #[test]
    fn training_reduces_the_generalisation_error() {
        for act in [Activation::Erf, Activation::Relu, Activation::Linear] {
            let mut ts = TeacherStudent::new(config(act)).unwrap();
            let before = ts.generalisation_error().unwrap();
            for _ in 0..20_000 {
                ts.step();
            }
            let after = ts.generalisation_error().unwrap();
            assert!(after < 0.2 * before, "{act:?}: {before} -> {after}");
        }
    }

    #[test]
    fn bad_settings_are_errors() {
        let zero = TeacherStudentConfig {
            student_hidden: 0,
            ..config(Activation::Erf)
        };
        assert!(matches!(
            TeacherStudent::new(zero),
            Err(SimError::Zero {
                field: "student-hidden"
            })
        ));
        let lr = TeacherStudentConfig {
            lr: f64::NAN,
            ..config(Activation::Erf)
        };
        assert!(TeacherStudent::new(lr).is_err());
    }
}
