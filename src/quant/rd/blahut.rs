//! Blahut–Arimoto on a discretized source, in log space (R. E. Blahut,
//! "Computation of channel capacity and rate-distortion functions", IEEE
//! Trans. Inf. Theory IT-18 (1972) 460–473; S. Arimoto, same issue, 14–20).
//!
//! For a slope `s > 0` the iteration over the reproduction distribution `q` is
//!
//! ```text
//! ln S_i = ln Σ_j q_j e^{−s d_ij}                 (λ_i = 1/S_i)
//! r_j    = Σ_i p_i q_j e^{−s d_ij} / S_i = q_j c_j  (output marginal)
//! q_j   ← r_j
//! ```
//!
//! and it stops when Blahut's bracket on `R(D)`,
//! `max_j ln c_j − Σ_j r_j ln c_j < ε` (nats), is closed. `ln S_i` is a
//! log-sum-exp, so nothing underflows at large `s` or on heavy tails; the
//! posterior `q_j e^{−s d_ij}/S_i ≤ 1` is what is exponentiated in the
//! column pass. The reported point is the exact (distortion, mutual
//! information) of the test channel `Q(j|i) = q_j e^{−s d_ij}/S_i` with its
//! true output marginal `r`:
//!
//! ```text
//! I = −s D_k − Σ_i p_i ln S_i − Σ_j r_j ln c_j,   D_k = Σ_i p_i Σ_j Q(j|i) d_ij
//! ```
//!
//! so every point is achievable for the discretized problem (it lies on or
//! above its R(D)).
//!
//! **Distortion.** Source cell `i` is represented by its exact conditional
//! M-weighted statistics, so `E[d(X, y) | cell i] = a_i (y − μ_i)² + V_i`.
//! `V_i` does not depend on `y` and cancels from the iteration; the kernel is
//! `d_ij = a_i (y_j − μ_i)²` and the total distortion is `D_k + Σ p_i V_i`.
//!
//! **Bands.** Row `i` only visits the `j` with `s·d_ij ≤ T_i`,
//! `T_i = T₀ + max(0, −ln S_i)` from the previous iteration (the first
//! iteration of a solve visits every `j`). The dropped terms sum to at most
//! `e^{−T_i} ≤ e^{−T₀} S_i`, a relative error `e^{−T₀}` per row
//! ([`BAND_NATS`] = 40 ⇒ 4e-18). `d_ij` is a parabola in `y_j`, so the band is
//! an index interval found by binary search.

use super::RdError;
use rayon::prelude::*;
use serde::Serialize;

/// `T₀` of the band rule: terms below `e^{−T₀}` of their row are dropped.
pub const BAND_NATS: f64 = 40.0;

/// `ln q_j` never goes below this (a probability of ~1e-300), so a point that
/// becomes useful at a larger slope can come back.
const LN_Q_FLOOR: f64 = -690.0;

/// Rows are processed in this many fixed chunks (in parallel).
const ROW_CHUNKS: usize = 16;

/// One chunk's share of an iteration's sums.
struct RowSums {
    kernel_distortion: f64,
    sum_p_ln_s: f64,
    marginal: Vec<f64>,
}

/// Why a Blahut–Arimoto solve stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaStop {
    /// Blahut's bracket `max_j ln c_j − Σ_j r_j ln c_j` fell below the
    /// tolerance.
    Converged,
    /// `max_iterations` were taken first; the point is still achievable (it
    /// is the exact rate and distortion of a test channel), only not optimal.
    MaxIterations,
}

/// A discretized source and reproduction alphabet: source cell `i` has
/// probability `p_i`, mean weight `a_i > 0`, weighted centroid `μ_i` and
/// within-cell distortion `V_i ≥ 0`, so that
/// `E[d(X, y) | cell i] = a_i (y − μ_i)² + V_i`.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscreteProblem {
    probabilities: Vec<f64>,
    weights: Vec<f64>,
    centroids: Vec<f64>,
    within_cell: Vec<f64>,
    reproduction: Vec<f64>,
    ln_probabilities: Vec<f64>,
    floor: f64,
}

impl DiscreteProblem {
    /// Checks lengths, finiteness, `p_i ≥ 0` summing to 1 (within 1e-9, then
    /// renormalized), `a_i > 0`, `V_i ≥ 0` and a strictly increasing
    /// reproduction alphabet. Cells of probability 0 are dropped.
    pub fn new(
        probabilities: Vec<f64>,
        weights: Vec<f64>,
        centroids: Vec<f64>,
        within_cell: Vec<f64>,
        reproduction: Vec<f64>,
    ) -> Result<Self, RdError> {
        let n = probabilities.len();
        for (name, len) in [
            ("weights", weights.len()),
            ("centroids", centroids.len()),
            ("within_cell", within_cell.len()),
        ] {
            if len != n {
                return Err(RdError::Problem(format!(
                    "{name} has {len} entries, probabilities has {n}"
                )));
            }
        }
        if n == 0 || reproduction.is_empty() {
            return Err(RdError::Problem(
                "the source and reproduction alphabets must not be empty".into(),
            ));
        }
        let check = |name: &str, values: &[f64], ok: fn(f64) -> bool, need: &str| match values
            .iter()
            .position(|v| !ok(*v))
        {
            Some(i) => Err(RdError::Problem(format!(
                "{name}[{i}] = {} must be {need}",
                values[i]
            ))),
            None => Ok(()),
        };
        check(
            "probabilities",
            &probabilities,
            |v| v.is_finite() && v >= 0.0,
            "finite and >= 0",
        )?;
        check(
            "weights",
            &weights,
            |v| v.is_finite() && v > 0.0,
            "finite and > 0",
        )?;
        check("centroids", &centroids, f64::is_finite, "finite")?;
        check(
            "within_cell",
            &within_cell,
            |v| v.is_finite() && v >= 0.0,
            "finite and >= 0",
        )?;
        check("reproduction", &reproduction, f64::is_finite, "finite")?;
        if let Some(i) = reproduction.windows(2).position(|w| w[0] >= w[1]) {
            return Err(RdError::Problem(format!(
                "reproduction must be strictly increasing (entry {} = {} >= entry {} = {})",
                i,
                reproduction[i],
                i + 1,
                reproduction[i + 1]
            )));
        }
        let total: f64 = probabilities.iter().sum();
        if (total - 1.0).abs() > 1e-9 {
            return Err(RdError::Problem(format!(
                "probabilities sum to {total}, not 1"
            )));
        }
        let keep: Vec<usize> = (0..n).filter(|&i| probabilities[i] > 0.0).collect();
        let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let probabilities: Vec<f64> = pick(&probabilities).iter().map(|p| p / total).collect();
        let within_cell = pick(&within_cell);
        let floor = probabilities
            .iter()
            .zip(&within_cell)
            .map(|(p, v)| p * v)
            .sum();
        Ok(Self {
            ln_probabilities: probabilities.iter().map(|p| p.ln()).collect(),
            probabilities,
            weights: pick(&weights),
            centroids: pick(&centroids),
            within_cell,
            reproduction,
            floor,
        })
    }

    pub fn source_len(&self) -> usize {
        self.probabilities.len()
    }
    pub fn reproduction(&self) -> &[f64] {
        &self.reproduction
    }
    pub fn probabilities(&self) -> &[f64] {
        &self.probabilities
    }

    /// `Σ_i p_i V_i`: no reproduction alphabet gets below it.
    pub fn distortion_floor(&self) -> f64 {
        self.floor
    }

    /// `E d(X, y) = Σ_i p_i (a_i (y − μ_i)² + V_i)`.
    pub fn expected_distortion(&self, y: f64) -> f64 {
        self.floor
            + (0..self.source_len())
                .map(|i| {
                    let e = y - self.centroids[i];
                    self.probabilities[i] * self.weights[i] * e * e
                })
                .sum::<f64>()
    }

    /// `D_max = min_j E d(X, y_j)`: the distortion at rate 0.
    pub fn max_distortion(&self) -> f64 {
        self.reproduction
            .iter()
            .map(|&y| self.expected_distortion(y))
            .fold(f64::INFINITY, f64::min)
    }
}

/// Controls of one Blahut–Arimoto solve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BaOptions {
    /// Stop when Blahut's bracket is below this many nats.
    pub tolerance: f64,
    pub max_iterations: usize,
}

impl Default for BaOptions {
    fn default() -> Self {
        Self {
            tolerance: 1e-7,
            max_iterations: 300,
        }
    }
}

/// The result of one solve at slope `s`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlopeSolution {
    pub slope: f64,
    /// `D_k + Σ p_i V_i`, in the problem's units.
    pub distortion: f64,
    /// Mutual information of the test channel, nats.
    pub rate_nats: f64,
    /// Blahut's bracket at the last iteration, nats.
    pub bracket: f64,
    pub iterations: usize,
    pub stop: BaStop,
    /// `ln q_j` at the end, to warm-start the next slope.
    #[serde(skip)]
    pub ln_q: Vec<f64>,
}

/// Blahut–Arimoto at one slope as a state machine: [`BlahutArimoto::next_iter`]
/// runs one iteration and returns the stop reason once it stops.
pub struct BlahutArimoto<'a> {
    problem: &'a DiscreteProblem,
    slope: f64,
    options: BaOptions,
    ln_q: Vec<f64>,
    ln_s: Vec<f64>,
    /// Band `[lo, hi)` of each row, recomputed every iteration.
    first: bool,
    iterations: usize,
    last: Option<(f64, f64, f64)>,
    marginal: Vec<f64>,
}

impl<'a> BlahutArimoto<'a> {
    /// Starts at slope `s > 0` from `ln q` (a warm start; `None` = the source
    /// probabilities spread over the reproduction alphabet, uniform if the
    /// sizes differ). Entries are floored and renormalized.
    pub fn new(
        problem: &'a DiscreteProblem,
        slope: f64,
        start: Option<&[f64]>,
        options: BaOptions,
    ) -> Result<Self, RdError> {
        if !(slope.is_finite() && slope > 0.0) {
            return Err(RdError::Slope(slope));
        }
        if !(options.tolerance.is_finite() && options.tolerance > 0.0) {
            return Err(RdError::Tolerance(options.tolerance));
        }
        let ny = problem.reproduction.len();
        let ln_q = match start {
            Some(s) if s.len() == ny => s.to_vec(),
            Some(s) => {
                return Err(RdError::Problem(format!(
                    "warm start has {} entries, the reproduction alphabet {ny}",
                    s.len()
                )))
            }
            None => vec![-(ny as f64).ln(); ny],
        };
        let mut machine = Self {
            problem,
            slope,
            options,
            ln_q,
            ln_s: vec![0.0; problem.source_len()],
            first: true,
            iterations: 0,
            last: None,
            marginal: vec![0.0; ny],
        };
        machine.normalize();
        Ok(machine)
    }

    fn normalize(&mut self) {
        let max = self.ln_q.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = self.ln_q.iter().map(|l| (l - max).exp()).sum();
        let shift = max + total.ln();
        for l in &mut self.ln_q {
            *l = (*l - shift).max(LN_Q_FLOOR);
        }
    }

    /// Index interval `[lo, hi)` of reproduction points with
    /// `s a_i (y − μ_i)² ≤ threshold`.
    fn band(&self, i: usize, threshold: f64) -> (usize, usize) {
        let y = &self.problem.reproduction;
        if !threshold.is_finite() {
            return (0, y.len());
        }
        let half = (threshold / (self.slope * self.problem.weights[i])).sqrt();
        if !half.is_finite() {
            return (0, y.len());
        }
        let mu = self.problem.centroids[i];
        let lo = y.partition_point(|v| *v < mu - half);
        let hi = y.partition_point(|v| *v <= mu + half);
        if lo >= hi {
            // The nearest point is outside the band: keep it (and its
            // neighbour) so every row has support.
            let j = lo.min(y.len() - 1);
            return (j.saturating_sub(1), (j + 1).min(y.len()));
        }
        (lo, hi)
    }

    /// `ln S_i` of the rows `first..first + ln_s.len()` (written into `ln_s`)
    /// and their contributions to the kernel distortion, `Σ p_i ln S_i` and
    /// the output marginal.
    fn row_pass(&self, first: usize, ln_s: &mut [f64]) -> RowSums {
        let p = self.problem;
        let s = self.slope;
        let y = &p.reproduction;
        let mut terms: Vec<f64> = Vec::with_capacity(y.len());
        let mut sums = RowSums {
            kernel_distortion: 0.0,
            sum_p_ln_s: 0.0,
            marginal: vec![0.0; y.len()],
        };
        for (k, row_ln_s) in ln_s.iter_mut().enumerate() {
            let i = first + k;
            let threshold = if self.first {
                f64::INFINITY
            } else {
                BAND_NATS + (-*row_ln_s).max(0.0)
            };
            let (lo, hi) = self.band(i, threshold);
            let (a, mu) = (p.weights[i], p.centroids[i]);
            terms.clear();
            let mut max = f64::NEG_INFINITY;
            for (j, y_j) in y.iter().enumerate().take(hi).skip(lo) {
                let e = y_j - mu;
                let t = self.ln_q[j] - s * a * e * e;
                max = max.max(t);
                terms.push(t);
            }
            let mut total = 0.0;
            let mut weighted = 0.0;
            for (t, y_j) in terms.iter_mut().zip(&y[lo..hi]) {
                let e = y_j - mu;
                *t = (*t - max).exp();
                total += *t;
                weighted += *t * a * e * e;
            }
            *row_ln_s = max + total.ln();
            sums.sum_p_ln_s += p.probabilities[i] * *row_ln_s;
            sums.kernel_distortion += p.probabilities[i] * weighted / total;
            let scale = p.probabilities[i] / total;
            for (r, t) in sums.marginal[lo..hi].iter_mut().zip(&terms) {
                *r += scale * t;
            }
        }
        sums
    }

    /// One iteration; `Some(reason)` when the solve is over.
    ///
    /// The rows are processed in [`ROW_CHUNKS`] fixed chunks in parallel and
    /// the chunks' sums are added in chunk order, so the result does not
    /// depend on the number of threads.
    pub fn next_iter(&mut self) -> Option<BaStop> {
        let p = self.problem;
        let y = &p.reproduction;
        let rows = p.source_len();
        let chunk = rows.div_ceil(ROW_CHUNKS).max(1);
        let mut ln_s = std::mem::take(&mut self.ln_s);
        let sums: Vec<RowSums> = ln_s
            .par_chunks_mut(chunk)
            .enumerate()
            .map(|(c, rows)| self.row_pass(c * chunk, rows))
            .collect();
        self.ln_s = ln_s;
        let mut kernel_distortion = 0.0;
        let mut sum_p_ln_s = 0.0;
        self.marginal.iter_mut().for_each(|r| *r = 0.0);
        for part in &sums {
            kernel_distortion += part.kernel_distortion;
            sum_p_ln_s += part.sum_p_ln_s;
            for (r, add) in self.marginal.iter_mut().zip(&part.marginal) {
                *r += add;
            }
        }
        let s = self.slope;
        self.first = false;
        self.iterations += 1;

        // ln c_j = ln r_j − ln q_j; bracket and mutual information.
        let mut max_ln_c = f64::NEG_INFINITY;
        let mut mean_ln_c = 0.0;
        for j in 0..y.len() {
            let r = self.marginal[j];
            let ln_r = if r > 0.0 { r.ln() } else { LN_Q_FLOOR };
            let ln_c = ln_r - self.ln_q[j];
            max_ln_c = max_ln_c.max(ln_c);
            mean_ln_c += r * ln_c;
            self.ln_q[j] = ln_r;
        }
        let bracket = (max_ln_c - mean_ln_c).max(0.0);
        let rate = (-s * kernel_distortion - sum_p_ln_s - mean_ln_c).max(0.0);
        self.last = Some((kernel_distortion + p.floor, rate, bracket));
        self.normalize();
        if bracket < self.options.tolerance {
            Some(BaStop::Converged)
        } else if self.iterations >= self.options.max_iterations {
            Some(BaStop::MaxIterations)
        } else {
            None
        }
    }

    /// The solution after `next_iter` has returned `stop`.
    pub fn finish(self, stop: BaStop) -> SlopeSolution {
        let (distortion, rate_nats, bracket) = self.last.unwrap_or((f64::NAN, f64::NAN, f64::NAN));
        SlopeSolution {
            slope: self.slope,
            distortion,
            rate_nats,
            bracket,
            iterations: self.iterations,
            stop,
            ln_q: self.ln_q,
        }
    }
}

/// Runs [`BlahutArimoto`] at slope `s` to its stop.
pub fn solve_slope(
    problem: &DiscreteProblem,
    slope: f64,
    start: Option<&[f64]>,
    options: BaOptions,
) -> Result<SlopeSolution, RdError> {
    let mut machine = BlahutArimoto::new(problem, slope, start, options)?;
    loop {
        if let Some(stop) = machine.next_iter() {
            return Ok(machine.finish(stop));
        }
    }
}
