//! Deterministic parallel reductions and the order statistics the fits start
//! from.
//!
//! Every O(n) pass of the fits goes through [`chunked_sums`]: the data are cut
//! into chunks of a fixed size ([`CHUNK`]), each chunk is reduced on its own
//! (in parallel with rayon) and the chunk results are then added up
//! sequentially in chunk order. The grouping of the additions therefore
//! depends only on `n`, never on the number of threads or on scheduling, so
//! results are byte-identical from run to run.

use rayon::prelude::*;

/// Number of values reduced by one task.
pub(super) const CHUNK: usize = 1 << 14;

/// `K` sums over `data`, each chunk reduced by `per_chunk`, chunk results
/// added in chunk order.
pub(super) fn chunked_sums<const K: usize, F>(data: &[f64], per_chunk: F) -> [f64; K]
where
    F: Fn(&[f64]) -> [f64; K] + Sync,
{
    let partials: Vec<[f64; K]> = data.par_chunks(CHUNK).map(&per_chunk).collect();
    let mut total = [0.0; K];
    for partial in partials {
        for (t, p) in total.iter_mut().zip(partial) {
            *t += p;
        }
    }
    total
}

/// Sum of `f(x)` over `data` (deterministic, see [`chunked_sums`]).
pub(super) fn sum_by<F>(data: &[f64], f: F) -> f64
where
    F: Fn(f64) -> f64 + Sync,
{
    chunked_sums::<1, _>(data, |chunk| [chunk.iter().map(|&x| f(x)).sum()])[0]
}

/// The sample median; for even `n` the midpoint of the two central order
/// statistics (as `numpy.median`). `data` must be non-empty and finite.
pub(super) fn median(data: &[f64]) -> f64 {
    median_in_place(&mut data.to_vec())
}

/// [`median`] without a copy: `data` is left partially reordered.
pub(super) fn median_in_place(data: &mut [f64]) -> f64 {
    let n = data.len();
    let upper = n / 2;
    let (below, upper_value, _) = data.select_nth_unstable_by(upper, f64::total_cmp);
    let upper_value = *upper_value;
    if n % 2 == 1 {
        upper_value
    } else {
        let lower_value = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        lower_value + 0.5 * (upper_value - lower_value)
    }
}

/// `m` values of `data` taken at evenly spaced positions `⌊i·n/m⌋`
/// (deterministic; no random numbers). Returns all of `data` when `m ≥ n`.
pub(super) fn strided_subsample(data: &[f64], m: usize) -> Vec<f64> {
    let n = data.len();
    if m >= n {
        return data.to_vec();
    }
    (0..m).map(|i| data[i * n / m]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::assert_close;

    #[test]
    fn median_matches_numpy_for_odd_and_even_n() {
        // numpy.median([3, 1, 2]) = 2.0; numpy.median([4, 1, 3, 2]) = 2.5
        assert_close(median(&[3.0, 1.0, 2.0]), 2.0, 0.0, 0.0);
        assert_close(median(&[4.0, 1.0, 3.0, 2.0]), 2.5, 0.0, 0.0);
    }

    #[test]
    fn chunked_sum_is_independent_of_thread_count() {
        let data: Vec<f64> = (0..3 * CHUNK + 17).map(|i| (i as f64).sin()).collect();
        let serial = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .map(|pool| pool.install(|| sum_by(&data, |x| x * x)));
        let parallel = sum_by(&data, |x| x * x);
        let serial = serial.unwrap_or(parallel);
        assert_eq!(serial.to_bits(), parallel.to_bits());
        let naive: f64 = data.iter().map(|x| x * x).sum();
        assert_close(parallel, naive, 1e-12, 0.0);
    }

    #[test]
    fn strided_subsample_spans_the_data() {
        let data: Vec<f64> = (0..10).map(f64::from).collect();
        let sub = strided_subsample(&data, 4);
        assert_eq!(sub.len(), 4);
        assert_close(sub[0], 0.0, 0.0, 0.0);
        assert_close(sub[3], 7.0, 0.0, 0.0);
        assert_eq!(strided_subsample(&data, 20).len(), 10);
    }
}
