//! M-weighted Lloyd-Max on the samples themselves (the empirical
//! distribution): minimizes
//!
//! ```text
//! d_M = (1/n) Σ_j |x_j|^M (x_j − Q(x_j))²
//! ```
//!
//! with `c_i = Σ_{cell i} |x|^M x / Σ_{cell i} |x|^M` and midpoint thresholds.
//! The samples are sorted once and the sums
//!
//! ```text
//! S_k(i) = Σ_{j<i} |x_j|^M x_j^k,   k = 0, 1, 2
//! ```
//!
//! are tabulated, so a cell's sums are `S_k(hi) − S_k(lo)` with `lo, hi` found
//! by binary search of the thresholds: one step costs O(L log n), not
//! O(n L). The sums are accumulated outward from the origin (S(o) = 0 at the
//! first non-negative sample), so cells near 0, whose weights `|x|^M` are
//! small, do not lose their digits to the large totals of the tails.
//!
//! Cells follow the codebook convention `t_{i−1} < x ≤ t_i`. A cell without
//! weight keeps its center (it stays inside its cell, so centers stay
//! ordered). The iteration stops at a fixed point — no sample changes cell —
//! or when the centers settle to the tolerance. The start is the sample
//! quantiles `(i + ½)/L` (quantiles of the distinct values when those
//! coincide).

use super::solver::{centers_settled, midpoints};
use super::{
    entropy_bits, zero_cell_index, Codebook, Design, DesignSpec, LloydOptions, QuantError,
};
use crate::solver::TerminationReason;

/// Designs the M-weighted Lloyd-Max quantizer of `samples`.
///
/// The codebook's scale is the root mean square of the samples.
pub fn design_from_samples(
    samples: &[f64],
    spec: &DesignSpec,
    options: &LloydOptions,
) -> Result<Design, QuantError> {
    let mut machine = SampleLloyd::new(samples, spec, options)?;
    loop {
        if let Some(reason) = machine.next_iter() {
            return machine.finish(reason);
        }
    }
}

/// Sample Lloyd-Max as a state machine (see [`design_from_samples`]).
pub struct SampleLloyd {
    sorted: Vec<f64>,
    /// `[S_0, S_1, S_2]` at every cut `0..=n`, accumulated from the origin.
    sums: Vec<[f64; 3]>,
    spec: DesignSpec,
    options: LloydOptions,
    pinned: Option<usize>,
    centers: Vec<f64>,
    /// `cuts[i]` = number of samples `≤ thresholds[i]`.
    cuts: Vec<usize>,
    iterations: usize,
}

impl SampleLloyd {
    /// Sorts the samples, tabulates the sums and picks the start.
    pub fn new(
        samples: &[f64],
        spec: &DesignSpec,
        options: &LloydOptions,
    ) -> Result<Self, QuantError> {
        options.validate()?;
        let non_finite = samples.iter().filter(|x| !x.is_finite()).count();
        if non_finite > 0 {
            return Err(QuantError::NonFiniteSamples(non_finite));
        }
        let levels = spec.levels();
        let mut sorted = samples.to_vec();
        crate::stats::sort_finite(&mut sorted);
        let too_few = || QuantError::TooFewDistinct {
            distinct: count_distinct(&sorted),
            levels,
        };
        let (centers, pinned) = if spec.zero_level() {
            let negative = sorted.partition_point(|x| *x < 0.0);
            let positive = sorted.partition_point(|x| *x <= 0.0);
            let zeros = positive - negative;
            let below = (negative as f64 + 0.5 * zeros as f64) / sorted.len().max(1) as f64;
            let k = zero_cell_index(levels, below);
            let mut centers = spread(&sorted[..negative], k).ok_or_else(too_few)?;
            centers.push(0.0);
            centers.extend(spread(&sorted[positive..], levels - 1 - k).ok_or_else(too_few)?);
            (centers, Some(k))
        } else {
            (spread(&sorted, levels).ok_or_else(too_few)?, None)
        };
        let sums = origin_sums(&sorted, spec.m());
        let mut machine = Self {
            sorted,
            sums,
            spec: *spec,
            options: *options,
            pinned,
            centers,
            cuts: Vec::new(),
            iterations: 0,
        };
        machine.cuts = machine.cuts_for(&midpoints(&machine.centers));
        Ok(machine)
    }

    /// Current centers.
    pub fn centers(&self) -> &[f64] {
        &self.centers
    }

    /// `(1/n) Σ |x|^M (x − c_cell)²` for the current cells and centers.
    pub fn distortion(&self) -> f64 {
        let mut total = 0.0;
        for (cell, &c) in self.centers.iter().enumerate() {
            let [w0, w1, w2] = self.cell_sums(cell);
            total += w2 - 2.0 * c * w1 + c * c * w0;
        }
        total / self.sorted.len() as f64
    }

    /// One Lloyd step; returns the reason to stop, if any.
    pub fn next_iter(&mut self) -> Option<TerminationReason> {
        if self.iterations >= self.options.max_iterations {
            return Some(TerminationReason::MaxItersReached);
        }
        let centers: Vec<f64> = (0..self.centers.len())
            .map(|cell| {
                let [w0, w1, _] = self.cell_sums(cell);
                if self.pinned == Some(cell) {
                    0.0
                } else if w0 > 0.0 {
                    w1 / w0
                } else {
                    self.centers[cell]
                }
            })
            .collect();
        let cuts = self.cuts_for(&midpoints(&centers));
        self.iterations += 1;
        let fixed_point = cuts == self.cuts;
        let settled = centers_settled(&self.centers, &centers, self.options.tolerance);
        self.centers = centers;
        self.cuts = cuts;
        (fixed_point || settled).then_some(TerminationReason::SolverConverged)
    }

    /// The codebook and its distortion, MSE and index entropy, measured
    /// directly over the samples.
    pub fn finish(self, stop_reason: TerminationReason) -> Result<Design, QuantError> {
        let n = self.sorted.len() as f64;
        let thresholds = midpoints(&self.centers);
        let m = self.spec.m();
        let mut distortion = 0.0;
        let mut mse = 0.0;
        let mut probabilities = Vec::with_capacity(self.centers.len());
        for (cell, &c) in self.centers.iter().enumerate() {
            let cell_samples = &self.sorted[self.cell_range(cell)];
            for &x in cell_samples {
                let error = (x - c) * (x - c);
                mse += error;
                distortion += x.abs().powf(m) * error;
            }
            probabilities.push(cell_samples.len() as f64 / n);
        }
        let rms = (self.sorted.iter().map(|x| x * x).sum::<f64>() / n).sqrt();
        let codebook = Codebook::new(
            thresholds.iter().map(|t| t / rms).collect(),
            self.centers.iter().map(|c| c / rms).collect(),
            rms,
            m,
            self.spec.zero_level(),
        )?;
        Ok(Design {
            codebook,
            stop_reason,
            iterations: self.iterations,
            newton_steps: 0,
            distortion: distortion / n,
            mse: mse / n,
            entropy_bits: entropy_bits(&probabilities),
            probabilities,
        })
    }

    fn cuts_for(&self, thresholds: &[f64]) -> Vec<usize> {
        thresholds
            .iter()
            .map(|t| self.sorted.partition_point(|x| x <= t))
            .collect()
    }

    fn cell_range(&self, cell: usize) -> std::ops::Range<usize> {
        let lo = if cell == 0 { 0 } else { self.cuts[cell - 1] };
        let hi = self.cuts.get(cell).copied().unwrap_or(self.sorted.len());
        lo..hi
    }

    fn cell_sums(&self, cell: usize) -> [f64; 3] {
        let range = self.cell_range(cell);
        let (lo, hi) = (self.sums[range.start], self.sums[range.end]);
        [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]]
    }
}

/// `S_k(i) − S_k(o)` for `S_k(i) = Σ_{j<i} |x_j|^M x_j^k`, with `o` the first
/// non-negative sample, accumulated outward from `o`.
pub(crate) fn origin_sums(sorted: &[f64], m: f64) -> Vec<[f64; 3]> {
    let origin = sorted.partition_point(|x| *x < 0.0);
    let terms = |x: f64| {
        let w = x.abs().powf(m);
        [w, w * x, w * x * x]
    };
    let mut sums = vec![[0.0; 3]; sorted.len() + 1];
    for i in (0..origin).rev() {
        let t = terms(sorted[i]);
        let above = sums[i + 1];
        sums[i] = [above[0] - t[0], above[1] - t[1], above[2] - t[2]];
    }
    for i in origin..sorted.len() {
        let t = terms(sorted[i]);
        let below = sums[i];
        sums[i + 1] = [below[0] + t[0], below[1] + t[1], below[2] + t[2]];
    }
    sums
}

/// `count` strictly increasing values of `sorted`: the quantiles
/// `(i + ½)/count`, or those of the distinct values when quantiles repeat.
/// `None` when there are fewer distinct values than `count`.
fn spread(sorted: &[f64], count: usize) -> Option<Vec<f64>> {
    let pick = |values: &[f64]| -> Vec<f64> {
        let n = values.len();
        (0..count)
            .map(|i| values[((2 * i + 1) * n / (2 * count)).min(n - 1)])
            .collect()
    };
    if count == 0 {
        return Some(Vec::new());
    }
    if sorted.is_empty() {
        return None;
    }
    let quantiles = pick(sorted);
    if quantiles.windows(2).all(|w| w[0] < w[1]) {
        return Some(quantiles);
    }
    let mut distinct = sorted.to_vec();
    distinct.dedup();
    (distinct.len() >= count).then(|| pick(&distinct))
}

fn count_distinct(sorted: &[f64]) -> usize {
    sorted.windows(2).filter(|w| w[0] < w[1]).count() + usize::from(!sorted.is_empty())
}

#[cfg(test)]
mod tests;
