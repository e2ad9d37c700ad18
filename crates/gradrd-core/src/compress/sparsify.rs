//! Compressors `C(p)`: the sparsifiers people deploy and scalar codebooks.
//!
//! ```text
//! top-k       keep the k = ⌈f·n⌉ entries of largest |p_i|; ties go to the lower index
//! rand-k      keep k entries drawn uniformly without replacement (partial
//!             Fisher–Yates over a SplitMix64 stream); `unbiased` scales them by n/k,
//!             so E[C(p)] = p
//! threshold   keep |p_i| ≥ λ (hard threshold; Sahu et al., NeurIPS 2021)
//! cwmp        cost-weighted magnitude pruning: order entries by |p_i| / c_i (ties to
//!             the lower index) and keep the longest prefix whose cost Σ c_i stays within
//!             the budget f · Σ_all c_i (the integral part of the fractional-knapsack
//!             greedy solution)
//! codebook    every entry quantized: centers[bucketize(p/scale, thresholds)] · scale
//! topk+codebook  top-k, then the kept values quantized by the codebook
//! topk+float  top-k, then the kept values in FP8 E4M3 / E5M2 or FP4 E2M1 with a
//!             per-message scale (see [`crate::quant::minifloat`])
//! ```
//!
//! Top-k uses selection, not a sort: the keys `|p_i|` (as the bit patterns of
//! non-negative floats, whose integer order is their numeric order) are
//! partitioned around the k-th largest with `select_nth_unstable`, O(n).

use super::bits::{codebook_index_bits, SCALE_BITS};
use super::rng::SplitMix64;
use super::CompressError;
use crate::quant::{Codebook, MiniFloat};

/// A compressor `C`.
#[derive(Debug, Clone, PartialEq)]
pub enum Compressor {
    TopK {
        fraction: f64,
    },
    RandK {
        fraction: f64,
        unbiased: bool,
    },
    Threshold {
        lambda: f64,
    },
    /// `costs` has one positive cost per entry.
    Cwmp {
        fraction: f64,
        costs: Vec<f64>,
    },
    Codebook(Codebook),
    TopKCodebook {
        fraction: f64,
        codebook: Codebook,
    },
    /// Top-k, then the kept values in a small float format with one f32
    /// scale per message ([`super::bits::SCALE_BITS`]).
    TopKFloat {
        fraction: f64,
        format: MiniFloat,
    },
}

/// What one compression sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sent {
    /// Entries sent.
    pub entries: usize,
    /// Bits for the values (positions are counted by [`super::BitModel`]).
    pub value_bits: f64,
}

/// `k = ⌈fraction · n⌉` (so at least one entry of a non-empty vector).
pub fn fraction_to_count(fraction: f64, n: usize) -> usize {
    ((fraction * n as f64).ceil() as usize).min(n)
}

/// Checks that `costs` has one finite positive cost for each of `n` entries.
pub fn check_costs(costs: &[f64], n: usize) -> Result<(), CompressError> {
    if costs.len() != n {
        return Err(CompressError::CostsLength {
            count: costs.len(),
            expected: n,
        });
    }
    match costs
        .iter()
        .enumerate()
        .find(|(_, c)| !(c.is_finite() && **c > 0.0))
    {
        Some((index, &value)) => Err(CompressError::Cost { index, value }),
        None => Ok(()),
    }
}

fn check_fraction(field: &'static str, value: f64) -> Result<(), CompressError> {
    if value > 0.0 && value <= 1.0 {
        Ok(())
    } else {
        Err(CompressError::Fraction { field, value })
    }
}

impl Compressor {
    /// Checks the parameters for vectors of `n` entries.
    pub fn validate(&self, n: usize) -> Result<(), CompressError> {
        match self {
            Compressor::TopK { fraction }
            | Compressor::RandK { fraction, .. }
            | Compressor::TopKCodebook { fraction, .. }
            | Compressor::TopKFloat { fraction, .. } => check_fraction("k", *fraction),
            Compressor::Threshold { lambda } => {
                if lambda.is_finite() && *lambda >= 0.0 {
                    Ok(())
                } else {
                    Err(CompressError::Lambda(*lambda))
                }
            }
            Compressor::Cwmp { fraction, costs } => {
                check_fraction("k", *fraction)?;
                check_costs(costs, n)
            }
            Compressor::Codebook(_) => Ok(()),
        }
    }

    /// A short name: `topk`, `randk`, `threshold`, `cwmp`, `codebook`, `topk+codebook`.
    pub fn name(&self) -> &'static str {
        match self {
            Compressor::TopK { .. } => "topk",
            Compressor::RandK { .. } => "randk",
            Compressor::Threshold { .. } => "threshold",
            Compressor::Cwmp { .. } => "cwmp",
            Compressor::Codebook(_) => "codebook",
            Compressor::TopKCodebook { .. } => "topk+codebook",
            Compressor::TopKFloat { .. } => "topk+float",
        }
    }
}

/// Reusable buffers and the random stream of one replay unit.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub(crate) keys: Vec<u64>,
    order: Vec<usize>,
    rng: SplitMix64,
}

impl Workspace {
    pub fn new(rng: SplitMix64) -> Self {
        Self {
            keys: Vec::new(),
            order: Vec::new(),
            rng,
        }
    }
}

/// `|x|` as an order-preserving integer key (finite and infinite values).
#[inline]
pub(crate) fn magnitude_key(x: f64) -> u64 {
    x.to_bits() & !(1u64 << 63)
}

/// Below this length top-k selects on all keys directly.
const SAMPLED_SELECTION_MIN: usize = 1 << 15;
/// Keys in the sample that estimates the cut of a long vector.
const SAMPLE_SIZE: usize = 4096;

/// The k-th largest key of `p` and how many entries equal to it are kept
/// (the ones of lowest index), so that exactly `k` entries are kept.
/// `keys` is scratch space. Requires `1 ≤ k ≤ p.len()`.
///
/// For long vectors with a small k, a strided sample of the keys gives a
/// lower bound `t` a few standard deviations below the expected cut
/// ([`sampled_lower_bound`]); the keys `≥ t` are gathered in one pass and
/// the selection runs on them only. If fewer than k keys pass (an unlucky
/// sample), the full selection runs. The result is exact either way; only
/// the speed depends on the sample.
pub(crate) fn top_k_cut(p: &[f64], k: usize, keys: &mut Vec<u64>) -> (u64, usize) {
    let n = p.len();
    if let Some(lower) = sampled_lower_bound(n, k, |i| magnitude_key(p[i]), keys) {
        keys.clear();
        keys.extend(
            p.iter()
                .map(|&x| magnitude_key(x))
                .filter(|&key| key >= lower),
        );
        if keys.len() >= k {
            return cut_of(keys, k);
        }
    }
    keys.clear();
    keys.extend(p.iter().map(|&x| magnitude_key(x)));
    cut_of(keys, k)
}

/// A key a few standard deviations below the k-th largest of `n` keys,
/// estimated from every `n / SAMPLE_SIZE`-th key (`key_at(i)`), or `None`
/// when the vector is short or k is not small (then a full selection is as
/// cheap). `keys` is scratch space.
pub(crate) fn sampled_lower_bound(
    n: usize,
    k: usize,
    key_at: impl Fn(usize) -> u64,
    keys: &mut Vec<u64>,
) -> Option<u64> {
    if n < SAMPLED_SELECTION_MIN || k > n / 8 || k == 0 {
        return None;
    }
    let stride = n / SAMPLE_SIZE;
    keys.clear();
    keys.extend((0..n).step_by(stride).map(key_at));
    let s = keys.len();
    let expected = k as f64 * s as f64 / n as f64;
    let rank = (expected + 4.0 * expected.sqrt() + 16.0).ceil() as usize;
    if rank >= s {
        return None;
    }
    let (_, cut, _) = keys.select_nth_unstable_by(rank, |a, b| b.cmp(a));
    Some(*cut)
}

/// The k-th largest of `keys` (which hold every key ≥ it) and the number of
/// keys equal to it that are kept.
pub(crate) fn cut_of(keys: &mut [u64], k: usize) -> (u64, usize) {
    let (above, kth, _) = keys.select_nth_unstable_by(k - 1, |a, b| b.cmp(a));
    let kth = *kth;
    let greater = above.iter().filter(|&&key| key > kth).count();
    (kth, k - greater)
}

/// Calls `keep(i)` for the `k` kept entries of top-k, in index order.
fn for_top_k(p: &[f64], k: usize, keys: &mut Vec<u64>, mut keep: impl FnMut(usize)) {
    if k == 0 {
        return;
    }
    let (kth, mut ties) = top_k_cut(p, k, keys);
    for (i, &x) in p.iter().enumerate() {
        let key = magnitude_key(x);
        if key > kth {
            keep(i);
        } else if key == kth && ties > 0 {
            ties -= 1;
            keep(i);
        }
    }
}

/// The indices of the `k` entries of largest magnitude (ties to the lower
/// index), ascending. `k` is clamped to `p.len()`.
pub fn top_k_indices(p: &[f64], k: usize) -> Vec<usize> {
    let k = k.min(p.len());
    let mut kept = Vec::with_capacity(k);
    for_top_k(p, k, &mut Vec::new(), |i| kept.push(i));
    kept
}

/// The first `k` entries of `order` become a uniform random `k`-subset of
/// `0..n` (a partial Fisher–Yates shuffle driven by `rng`).
fn draw_positions(n: usize, k: usize, rng: &mut SplitMix64, order: &mut Vec<usize>) {
    order.clear();
    order.extend(0..n);
    for i in 0..k.min(n) {
        let j = i + rng.below(n - i);
        order.swap(i, j);
    }
}

/// `k` positions of `0..n` drawn uniformly without replacement (rand-k, the
/// same draw as the replay's), ascending. `k` is clamped to `n`.
pub fn rand_k_indices(n: usize, k: usize, rng: &mut SplitMix64) -> Vec<usize> {
    let k = k.min(n);
    let mut order = Vec::new();
    draw_positions(n, k, rng, &mut order);
    order.truncate(k);
    order.sort_unstable();
    order
}

/// The indices with `|p_i| ≥ λ` (the hard threshold), ascending.
pub fn threshold_indices(p: &[f64], lambda: f64) -> Vec<usize> {
    (0..p.len()).filter(|&i| p[i].abs() >= lambda).collect()
}

/// Calls `keep(i)` for the entries cost-weighted magnitude pruning keeps, in
/// decreasing order of `|p_i| / c_i`: the longest prefix of that order (a
/// stable sort, so equal ratios go to the lower index) whose cost stays
/// within `fraction · Σ c_i`. `order` is scratch space; `costs` has one
/// positive cost per entry.
fn for_cwmp(
    p: &[f64],
    costs: &[f64],
    fraction: f64,
    order: &mut Vec<usize>,
    mut keep: impl FnMut(usize),
) {
    let budget = fraction * costs.iter().sum::<f64>();
    order.clear();
    order.extend(0..p.len());
    order.sort_by(|&a, &b| (p[b].abs() / costs[b]).total_cmp(&(p[a].abs() / costs[a])));
    let mut spent = 0.0;
    for &i in order.iter() {
        if spent + costs[i] > budget {
            break;
        }
        spent += costs[i];
        keep(i);
    }
}

/// The indices cost-weighted magnitude pruning keeps (see the module docs),
/// ascending. `costs` has one finite positive cost per entry of `p`
/// (checked by [`Compressor::validate`]).
pub fn cwmp_indices(p: &[f64], costs: &[f64], fraction: f64) -> Vec<usize> {
    let mut kept = Vec::new();
    for_cwmp(p, costs, fraction, &mut Vec::new(), |i| kept.push(i));
    kept.sort_unstable();
    kept
}

/// `out = C(p)`; `out` and `p` have the same length. The compressor must
/// have been validated for `p.len()`. A value sent at full precision costs
/// `value_bits` (the stored width, see [`super::bits`]).
pub(crate) fn compress(
    compressor: &Compressor,
    p: &[f64],
    out: &mut [f64],
    value_bits: f64,
    work: &mut Workspace,
) -> Sent {
    let n = p.len();
    let full = value_bits;
    out.fill(0.0);
    let mut entries = 0usize;
    let value_bits;
    match compressor {
        Compressor::TopK { fraction } => {
            let k = fraction_to_count(*fraction, n);
            for_top_k(p, k, &mut work.keys, |i| out[i] = p[i]);
            entries = k;
            value_bits = k as f64 * full;
        }
        Compressor::TopKCodebook { fraction, codebook } => {
            let k = fraction_to_count(*fraction, n);
            for_top_k(p, k, &mut work.keys, |i| out[i] = codebook.quantize(p[i]));
            entries = k;
            value_bits = k as f64 * codebook_index_bits(codebook.levels());
        }
        Compressor::TopKFloat { fraction, format } => {
            let k = fraction_to_count(*fraction, n);
            work.order.clear();
            for_top_k(p, k, &mut work.keys, |i| work.order.push(i));
            let mut values: Vec<f64> = work.order.iter().map(|&i| p[i]).collect();
            format.quantize_scaled(&mut values);
            for (&i, v) in work.order.iter().zip(values) {
                out[i] = v;
            }
            entries = k;
            value_bits = k as f64 * f64::from(format.bits()) + if k > 0 { SCALE_BITS } else { 0.0 };
        }
        Compressor::RandK { fraction, unbiased } => {
            let k = fraction_to_count(*fraction, n);
            let factor = if *unbiased { n as f64 / k as f64 } else { 1.0 };
            draw_positions(n, k, &mut work.rng, &mut work.order);
            for &i in &work.order[..k] {
                out[i] = p[i] * factor;
            }
            entries = k;
            value_bits = k as f64 * full;
        }
        Compressor::Threshold { lambda } => {
            for (o, &x) in out.iter_mut().zip(p) {
                if x.abs() >= *lambda {
                    *o = x;
                    entries += 1;
                }
            }
            value_bits = entries as f64 * full;
        }
        Compressor::Cwmp { fraction, costs } => {
            for_cwmp(p, costs, *fraction, &mut work.order, |i| {
                out[i] = p[i];
                entries += 1;
            });
            value_bits = entries as f64 * full;
        }
        Compressor::Codebook(codebook) => {
            for (o, &x) in out.iter_mut().zip(p) {
                *o = codebook.quantize(x);
            }
            entries = n;
            value_bits = n as f64 * codebook_index_bits(codebook.levels());
        }
    }
    Sent {
        entries,
        value_bits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn assert_all_close(actual: &[f64], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len());
        for (a, e) in actual.iter().zip(expected) {
            gradrd_testkit::assert_close(*a, *e, 0.0, 0.0);
        }
    }

    fn run(c: &Compressor, p: &[f64], seed: u64) -> (Vec<f64>, Sent) {
        c.validate(p.len()).unwrap();
        let mut out = vec![0.0; p.len()];
        let mut work = Workspace::new(SplitMix64::new(seed));
        let sent = compress(c, p, &mut out, 32.0, &mut work);
        (out, sent)
    }

    #[test]
    fn top_k_breaks_ties_toward_lower_index() {
        // magnitudes 3, 1, 3, 2, 3: the two kept of the three 3's are the first two
        assert_eq!(top_k_indices(&[3.0, 1.0, -3.0, 2.0, 3.0], 2), vec![0, 2]);
        assert_eq!(
            top_k_indices(&[3.0, 1.0, -3.0, 2.0, 3.0], 4),
            vec![0, 2, 3, 4]
        );
        assert_eq!(top_k_indices(&[0.0, 0.0, 0.0], 2), vec![0, 1]);
    }

    #[test]
    fn fraction_count_is_ceiling() {
        // python3 -c "import math; print([math.ceil(f*n) for f,n in [(0.01,8192),(1.0,10),(1e-9,10),(0.5,5)]])"
        let got: Vec<usize> = [(0.01, 8192), (1.0, 10), (1e-9, 10), (0.5, 5)]
            .map(|(f, n)| fraction_to_count(f, n))
            .to_vec();
        assert_eq!(got, vec![82, 10, 1, 3]);
    }

    #[test]
    fn bad_parameters_are_rejected() {
        for f in [0.0, -0.1, 1.5, f64::NAN] {
            assert!(matches!(
                Compressor::TopK { fraction: f }.validate(4),
                Err(CompressError::Fraction { field: "k", .. })
            ));
        }
        assert!(matches!(
            Compressor::Threshold { lambda: -1.0 }.validate(4),
            Err(CompressError::Lambda(_))
        ));
        let cwmp = |costs: Vec<f64>| Compressor::Cwmp {
            fraction: 0.5,
            costs,
        };
        assert!(matches!(
            cwmp(vec![1.0; 3]).validate(4),
            Err(CompressError::CostsLength {
                count: 3,
                expected: 4
            })
        ));
        assert!(matches!(
            cwmp(vec![1.0, 0.0, 1.0, 1.0]).validate(4),
            Err(CompressError::Cost { index: 1, .. })
        ));
    }

    #[test]
    fn threshold_keeps_magnitudes_at_or_above_lambda() {
        let (out, sent) = run(
            &Compressor::Threshold { lambda: 2.0 },
            &[1.0, -2.0, 3.0, -0.5],
            0,
        );
        assert_eq!(sent.entries, 2);
        assert_all_close(&out, &[0.0, -2.0, 3.0, 0.0]);
    }

    #[test]
    fn cwmp_takes_the_best_ratio_prefix_within_budget() {
        // ratios |p|/c: 4/4 = 1, 3/1 = 3, 2/1 = 2, 1/1 = 1; budget 0.5 · 7 = 3.5
        // order: i=1 (cost 1), i=2 (cost 1), i=0 (cost 4 → 6 > 3.5, stop)
        let c = Compressor::Cwmp {
            fraction: 0.5,
            costs: vec![4.0, 1.0, 1.0, 1.0],
        };
        let (out, sent) = run(&c, &[4.0, 3.0, -2.0, 1.0], 0);
        assert_eq!(sent.entries, 2);
        assert_all_close(&out, &[0.0, 3.0, -2.0, 0.0]);
    }

    #[test]
    fn codebook_quantizes_every_entry_with_index_bits() {
        let cb = Codebook::new(vec![-1.0, 1.0], vec![-2.0, 0.0, 2.0], 0.5, 0.0, true).unwrap();
        let (out, sent) = run(&Compressor::Codebook(cb.clone()), &[-3.0, 0.2, 0.6], 0);
        assert_all_close(&out, &[-1.0, 0.0, 1.0]);
        assert_eq!(sent.entries, 3);
        gradrd_testkit::assert_close(sent.value_bits, 6.0, 0.0, 0.0); // ⌈log2 3⌉ = 2 bits each
        let top = Compressor::TopKCodebook {
            fraction: 0.34,
            codebook: cb,
        };
        let (out, sent) = run(&top, &[-3.0, 0.2, 0.6], 0);
        // ⌈0.34 · 3⌉ = 2: -3.0 and 0.6 are kept, 0.6/0.5 = 1.2 > 1 ↦ center 2
        assert_all_close(&out, &[-1.0, 0.0, 1.0]);
        assert_eq!(sent.entries, 2);
        gradrd_testkit::assert_close(sent.value_bits, 4.0, 0.0, 0.0);
    }

    #[test]
    fn rand_k_with_scaling_is_unbiased_over_seeds() {
        let p: Vec<f64> = (0..20).map(|i| (i as f64 - 7.5) * 0.3).collect();
        let c = Compressor::RandK {
            fraction: 0.25,
            unbiased: true,
        };
        let trials = 20_000;
        let mut mean = vec![0.0; p.len()];
        let mut work = Workspace::new(SplitMix64::new(11));
        let mut out = vec![0.0; p.len()];
        for _ in 0..trials {
            compress(&c, &p, &mut out, 32.0, &mut work);
            for (m, o) in mean.iter_mut().zip(&out) {
                *m += o / trials as f64;
            }
        }
        // each entry: n/k · p with probability k/n; std of the mean =
        // |p| · sqrt(n/k − 1) / sqrt(trials) = |p| · 0.0122; allow 5 sigma
        for (m, x) in mean.iter().zip(&p) {
            gradrd_testkit::assert_close(*m, *x, 5.0 * 0.0123, 1e-12);
        }
    }

    /// The stable-sort definition of top-k (ties to the lower index).
    fn sorted_top_k(p: &[f64], k: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..p.len()).collect();
        order.sort_by(|&a, &b| p[b].abs().total_cmp(&p[a].abs()));
        let mut kept = order[..k].to_vec();
        kept.sort_unstable();
        kept
    }

    #[test]
    fn sampled_selection_on_long_vectors_is_exact_even_when_the_sample_misleads() {
        let n = 1 << 16;
        let mut rng = SplitMix64::new(5);
        let random: Vec<f64> = (0..n)
            .map(|_| (rng.next_u64() >> 11) as f64 / 9.0e15 - 0.5)
            .collect();
        // large values only where the strided sample never looks
        let stride = n / SAMPLE_SIZE;
        let hidden: Vec<f64> = (0..n)
            .map(|i| {
                if i % stride == 1 {
                    1.0 + i as f64
                } else {
                    1e-3
                }
            })
            .collect();
        // few distinct magnitudes: many ties at the cut
        let ties: Vec<f64> = (0..n).map(|i| ((i * 7919) % 5) as f64 - 2.0).collect();
        for p in [&random, &hidden, &ties] {
            for k in [1, 17, 655, n / 8, n / 2] {
                assert_eq!(top_k_indices(p, k), sorted_top_k(p, k), "k = {k}");
            }
        }
    }

    proptest! {
        #[test]
        fn top_k_keeps_exactly_k_of_the_largest(
            p in proptest::collection::vec(-100i32..100, 1..200),
            f in 0.001f64..=1.0,
        ) {
            let p: Vec<f64> = p.into_iter().map(|v| v as f64 * 0.25).collect();
            let k = fraction_to_count(f, p.len());
            let kept = top_k_indices(&p, k);
            prop_assert_eq!(kept.len(), k);
            let smallest_kept = kept.iter().map(|&i| p[i].abs()).fold(f64::INFINITY, f64::min);
            for (i, x) in p.iter().enumerate() {
                if !kept.contains(&i) {
                    prop_assert!(x.abs() <= smallest_kept);
                }
            }
            // the same set as a stable full sort by descending magnitude
            let mut order: Vec<usize> = (0..p.len()).collect();
            order.sort_by(|&a, &b| p[b].abs().total_cmp(&p[a].abs()));
            let mut expected = order[..k].to_vec();
            expected.sort_unstable();
            prop_assert_eq!(kept, expected);
        }
    }
}
