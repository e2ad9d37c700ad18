//! CountSketch (M. Charikar, K. Chen, M. Farach-Colton, "Finding frequent
//! items in data streams", ICALP 2002; used for gradients by FetchSGD,
//! Rothchild et al., ICML 2020): `d` rows of `w` f32 counters,
//!
//! ```text
//! S[r][h_r(j)] += s_r(j) · x_j,      x̂_j = median_r s_r(j) · S[r][h_r(j)]
//! ```
//!
//! with bucket hashes `h_r: [n] → [w]` and signs `s_r: [n] → {−1, +1}`
//! (median of an even count: mean of the middle two). With `d = 1` the
//! estimate is unbiased, `E[x̂_j] = x_j`, since the other entries enter with
//! random signs.
//!
//! **Hashes**: `h_r(j)` and `s_r(j)` come from SplitMix64 (Steele, Lea &
//! Flood, OOPSLA 2014) of `j` keyed by row and seed:
//! `key_r = mix(seed ⊕ mix(2r + 1))`, `z = mix(key_r ⊕ j)`, bucket
//! `⌊(z mod 2^32) · w / 2^32⌋`, sign from bit 32 of `z`. Only the 64-bit seed
//! is side information.
//!
//! **Size from the rate**: `w = ⌊(R·n − 64) / (32 d)⌋` (the seed counted);
//! `w < 1` is an error. The table is sent raw (`coded_bits = entropy_bits =
//! (32·w·d + 64)/n`).

use super::{BaselineError, Coded};

/// Largest depth accepted.
pub const MAX_DEPTH: usize = 64;

/// Bits of the hash seed.
const SEED_BITS: u64 = 64;

/// SplitMix64 finalizer.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A CountSketch table with its hash functions.
#[derive(Debug, Clone, PartialEq)]
pub struct CountSketch {
    width: usize,
    keys: Vec<u64>,
    table: Vec<f32>,
}

impl CountSketch {
    /// An empty sketch of `depth` rows and `width ≥ 1` columns.
    pub fn new(width: usize, depth: usize, seed: u64) -> Self {
        let keys = (0..depth as u64)
            .map(|r| mix(seed ^ mix(2 * r + 1)))
            .collect();
        Self {
            width,
            keys,
            table: vec![0.0; width * depth],
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }
    pub fn depth(&self) -> usize {
        self.keys.len()
    }

    /// `(cell index in the table, sign)` of entry `j` in row `r`.
    pub fn cell(&self, r: usize, j: usize) -> (usize, f64) {
        let z = mix(self.keys[r] ^ j as u64);
        let bucket = (((z & 0xFFFF_FFFF) * self.width as u64) >> 32) as usize;
        let sign = if (z >> 32) & 1 == 1 { -1.0 } else { 1.0 };
        (r * self.width + bucket, sign)
    }

    /// Sketches `samples` (entry j has index j); sums in f64, stored as f32.
    pub fn sketch(&mut self, samples: &[f64]) {
        let mut sums = vec![0.0f64; self.table.len()];
        for r in 0..self.depth() {
            for (j, &x) in samples.iter().enumerate() {
                let (cell, sign) = self.cell(r, j);
                sums[cell] += sign * x;
            }
        }
        self.table = sums.into_iter().map(|s| s as f32).collect();
    }

    /// The estimate of entry `j`: the median over rows of `s_r(j) S[r][h_r(j)]`.
    pub fn estimate(&self, j: usize, scratch: &mut Vec<f64>) -> f64 {
        scratch.clear();
        scratch.extend((0..self.depth()).map(|r| {
            let (cell, sign) = self.cell(r, j);
            sign * f64::from(self.table[cell])
        }));
        scratch.sort_unstable_by(f64::total_cmp);
        let d = scratch.len();
        if d % 2 == 1 {
            scratch[d / 2]
        } else {
            (scratch[d / 2 - 1] + scratch[d / 2]) / 2.0
        }
    }
}

/// The width the rate pays for: `⌊(R·n − 64) / (32 d)⌋`.
pub fn width_for_rate(rate: f64, n: usize, depth: usize) -> usize {
    let available = rate * n as f64 - SEED_BITS as f64;
    if available <= 0.0 {
        0
    } else {
        (available / (32.0 * depth as f64)).floor() as usize
    }
}

pub(crate) fn quantize(
    samples: &[f64],
    rate: f64,
    depth: usize,
    seed: u64,
) -> Result<Coded, BaselineError> {
    if !(1..=MAX_DEPTH).contains(&depth) {
        return Err(BaselineError::SketchDepth { depth });
    }
    let n = samples.len();
    let width = width_for_rate(rate, n, depth);
    if width == 0 {
        return Err(BaselineError::RateTooLow {
            name: "countsketch",
            rate,
            n,
            what: "one sketch column and the seed",
        });
    }
    let mut sketch = CountSketch::new(width, depth, seed);
    sketch.sketch(samples);
    let mut scratch = Vec::with_capacity(depth);
    let decoded = (0..n).map(|j| sketch.estimate(j, &mut scratch)).collect();
    let table_bits = 32 * (width * depth) as u64;
    Ok(Coded {
        decoded,
        nominal_bits: table_bits as f64,
        entropy_bits: (table_bits + SEED_BITS) as f64,
        coded_bits: table_bits + SEED_BITS,
        sent: width * depth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gradrd_testkit::assert_close;

    #[test]
    fn width_follows_the_rate() {
        // (2 · 1000 − 64) / (32 · 3) = 20.17 → 20
        assert_eq!(width_for_rate(2.0, 1000, 3), 20);
        // (100 − 64) / 32 = 1.1 → 1; 60 bits cannot pay for the 64-bit seed
        assert_eq!(width_for_rate(0.1, 1000, 1), 1);
        assert_eq!(width_for_rate(0.06, 1000, 1), 0);
    }

    #[test]
    fn without_collisions_the_sketch_is_exact() {
        let samples: Vec<f64> = (0..100).map(|j| (j as f64 * 0.37).sin() * 1e-3).collect();
        let mut exact_seeds = 0;
        for seed in 0..20 {
            let mut sketch = CountSketch::new(10_000, 1, seed);
            let mut cells: Vec<usize> = (0..100).map(|j| sketch.cell(0, j).0).collect();
            cells.sort_unstable();
            cells.dedup();
            if cells.len() < 100 {
                continue; // a collision: exactness is not claimed
            }
            exact_seeds += 1;
            sketch.sketch(&samples);
            let mut scratch = Vec::new();
            for (j, &x) in samples.iter().enumerate() {
                // one entry per cell: the f32 of x itself
                assert_close(
                    sketch.estimate(j, &mut scratch),
                    f64::from(x as f32),
                    0.0,
                    0.0,
                );
            }
        }
        // P(no collision) ≈ exp(−100·99/2/10⁴) ≈ 0.61 per seed
        assert!(exact_seeds >= 5, "only {exact_seeds} collision-free seeds");
    }

    #[test]
    fn one_row_estimates_are_unbiased_over_seeds() {
        let n = 200;
        let samples: Vec<f64> = (0..n)
            .map(|j| ((j * 37 % 101) as f64 - 50.0) / 10.0)
            .collect();
        let width = 16;
        let seeds = 4000;
        let mut mean = vec![0.0; n];
        let mut scratch = Vec::new();
        for seed in 0..seeds {
            let mut sketch = CountSketch::new(width, 1, seed);
            sketch.sketch(&samples);
            for (j, m) in mean.iter_mut().enumerate() {
                *m += sketch.estimate(j, &mut scratch) / seeds as f64;
            }
        }
        // Var x̂_j = Σ_{i≠j} x_i² / w; 4.5 standard errors over the mean of `seeds`
        let total: f64 = samples.iter().map(|x| x * x).sum();
        for (j, &x) in samples.iter().enumerate() {
            let standard_error = ((total - x * x) / width as f64 / seeds as f64).sqrt();
            assert_close(mean[j], x, 0.0, 4.5 * standard_error);
        }
    }
}
