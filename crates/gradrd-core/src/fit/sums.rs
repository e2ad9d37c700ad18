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

/// The sample median of `sorted` (ascending, non-empty), as `numpy.median`.
pub(super) fn median_of_sorted(sorted: &[f64]) -> f64 {
    median_by(sorted.len(), |k| sorted[k])
}

/// The median of `|x − center|` over `sorted` (ascending, finite,
/// non-empty), found without forming the deviations: they are two ascending
/// sequences (the values from `center` up, and from `center` down), and an
/// order statistic of two sorted sequences is a binary search
/// ([`kth_of_two_ascending`]).
pub(super) fn median_abs_deviation_of_sorted(sorted: &[f64], center: f64) -> f64 {
    let split = sorted.partition_point(|&x| x < center);
    let up = |i: usize| (sorted[split + i] - center).abs();
    let down = |j: usize| (sorted[split - 1 - j] - center).abs();
    let (ups, downs) = (sorted.len() - split, split);
    median_by(sorted.len(), |k| {
        kth_of_two_ascending(&up, ups, &down, downs, k)
    })
}

/// The median of `n ≥ 1` values given their order statistics `kth(k)`
/// (0-based): the central one, or for even `n` the midpoint of the two
/// central ones (as `numpy.median`).
fn median_by(n: usize, kth: impl Fn(usize) -> f64) -> f64 {
    let upper = kth(n / 2);
    if n % 2 == 1 {
        upper
    } else {
        let lower = kth(n / 2 - 1);
        lower + 0.5 * (upper - lower)
    }
}

/// The `k`-th smallest (0-based) of the union of two ascending sequences
/// `a(0..a_len)` and `b(0..b_len)`, `k < a_len + b_len`: the number `i` of
/// elements taken from `a` among the `k + 1` smallest is the least `i` with
/// `b(k − i) ≤ a(i)` (or `i = a_len`), found by bisection.
fn kth_of_two_ascending(
    a: &impl Fn(usize) -> f64,
    a_len: usize,
    b: &impl Fn(usize) -> f64,
    b_len: usize,
    k: usize,
) -> f64 {
    // i from a and k + 1 − i from b: i ∈ [k + 1 − b_len, k + 1] ∩ [0, a_len].
    let (mut lo, mut hi) = ((k + 1).saturating_sub(b_len), (k + 1).min(a_len));
    // Invariant: the answer i lies in [lo, hi]. A candidate i < hi takes too
    // few from `a` when a(i) < b(k − i) (the next smallest is a(i)).
    while lo < hi {
        let i = lo + (hi - lo) / 2;
        if a(i) < b(k - i) {
            lo = i + 1;
        } else {
            hi = i;
        }
    }
    // The k-th smallest is the larger of the last taken from each sequence.
    let last_of_a = (lo > 0).then(|| a(lo - 1));
    let last_of_b = (k + 1 > lo).then(|| b(k - lo));
    last_of_a
        .into_iter()
        .chain(last_of_b)
        .fold(f64::NEG_INFINITY, f64::max)
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
    use gradrd_testkit::assert_close;

    #[test]
    fn median_matches_numpy_for_odd_and_even_n() {
        // numpy.median([1, 2, 3]) = 2.0; numpy.median([1, 2, 3, 4]) = 2.5
        assert_close(median_of_sorted(&[1.0, 2.0, 3.0]), 2.0, 0.0, 0.0);
        assert_close(median_of_sorted(&[1.0, 2.0, 3.0, 4.0]), 2.5, 0.0, 0.0);
    }

    #[test]
    fn median_abs_deviation_matches_scipy() {
        // scipy.stats.median_abs_deviation([1, 2, 3, 4, 10]) = 1.0 (center 3)
        let odd = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_close(median_abs_deviation_of_sorted(&odd, 3.0), 1.0, 0.0, 0.0);
        // scipy.stats.median_abs_deviation([-7, 0, 1, 2, 3, 4]) = 1.5 (center 1.5)
        let even = [-7.0, 0.0, 1.0, 2.0, 3.0, 4.0];
        assert_close(median_abs_deviation_of_sorted(&even, 1.5), 1.5, 0.0, 0.0);
        // About a fixed center outside the data: all deviations on one side.
        // numpy.median(numpy.abs(numpy.array([1, 2, 3, 4]) - 10)) = 7.5
        assert_close(
            median_abs_deviation_of_sorted(&[1.0, 2.0, 3.0, 4.0], 10.0),
            7.5,
            0.0,
            0.0,
        );
        assert_close(
            median_abs_deviation_of_sorted(&[1.0, 2.0, 3.0, 4.0], -10.0),
            12.5,
            0.0,
            0.0,
        );
    }

    /// The median of the deviations formed, sorted and read off.
    fn naive_median_abs_deviation(sorted: &[f64], center: f64) -> f64 {
        let mut deviations: Vec<f64> = sorted.iter().map(|x| (x - center).abs()).collect();
        deviations.sort_by(f64::total_cmp);
        median_of_sorted(&deviations)
    }

    proptest::proptest! {
        #[test]
        fn median_abs_deviation_equals_the_naive_one_bit_for_bit(
            // Small integers give ties and values equal to the center.
            mut values in proptest::collection::vec(-20i32..20, 1..60),
            scale in 1e-9f64..1e3,
            center_choice in 0usize..3,
        ) {
            values.sort_unstable();
            let sorted: Vec<f64> = values.iter().map(|&v| f64::from(v) * scale).collect();
            let center = match center_choice {
                0 => median_of_sorted(&sorted),
                1 => 0.37 * scale,
                _ => -100.0 * scale,
            };
            let fast = median_abs_deviation_of_sorted(&sorted, center);
            let naive = naive_median_abs_deviation(&sorted, center);
            proptest::prop_assert_eq!(fast.to_bits(), naive.to_bits());
        }
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
