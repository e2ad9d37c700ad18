//! Average ranks (`scipy.stats.rankdata(x, method="average")`): tied values
//! share the mean of the ranks they occupy.
//!
//! Internally ranks are kept as exact integers `2·rank − (n + 1)` (twice the
//! rank, centred on the mean rank `(n + 1)/2`), so Spearman's sums of
//! products are exact in `i128`.

use super::{check_finite, check_non_empty, StatsError};
use rayon::slice::ParallelSliceMut;

/// Above this length the index sort runs in parallel.
const PARALLEL_SORT_MIN_LEN: usize = 1 << 16;

/// Average ranks (1-based) of `x`, as `scipy.stats.rankdata(x)`.
///
/// ```text
/// rank(x_i) = (first + last)/2, where first..=last are the sorted positions (1-based) of the values equal to x_i
/// ```
pub fn average_ranks(x: &[f64]) -> Result<Vec<f64>, StatsError> {
    let half = (x.len() + 1) as f64 / 2.0;
    Ok(centred_doubled_ranks("sample", x)?
        .into_iter()
        .map(|r| r as f64 / 2.0 + half)
        .collect())
}

/// `2·rank_i − (n + 1)` for every element, with average ranks for ties.
/// `−0.0` and `+0.0` are ties.
pub(crate) fn centred_doubled_ranks(
    sample: &'static str,
    x: &[f64],
) -> Result<Vec<i64>, StatsError> {
    check_non_empty(sample, x)?;
    check_finite(sample, x)?;
    let n = x.len();
    let mut order: Vec<(f64, usize)> = x.iter().copied().zip(0..).collect();
    let by_value = |a: &(f64, usize), b: &(f64, usize)| a.0.total_cmp(&b.0);
    if n >= PARALLEL_SORT_MIN_LEN {
        order.par_sort_unstable_by(by_value);
    } else {
        order.sort_unstable_by(by_value);
    }
    let centre = (n + 1) as i64;
    let mut ranks = vec![0_i64; n];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && order[end].0 == order[start].0 {
            end += 1;
        }
        // positions start+1 ..= end (1-based): twice their mean is start + 1 + end
        let doubled = (start + 1 + end) as i64 - centre;
        for &(_, index) in &order[start..end] {
            ranks[index] = doubled;
        }
        start = end;
    }
    Ok(ranks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Average ranks always sum to n(n+1)/2, whatever the ties.
        #[test]
        fn ranks_sum_to_triangular_number(x in proptest::collection::vec(-5i32..5, 1..200)) {
            let values: Vec<f64> = x.iter().map(|&v| f64::from(v) * 1e-7).collect();
            let ranks = average_ranks(&values).unwrap();
            let n = values.len() as f64;
            gradrd_testkit::assert_close(ranks.iter().sum::<f64>(), n * (n + 1.0) / 2.0, 1e-12, 0.0);
        }
    }
}
