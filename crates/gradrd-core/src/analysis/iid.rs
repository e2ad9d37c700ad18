//! The i.i.d. study of the M22 talk: are a layer's gradient entries
//! independent and identically distributed, across coordinates, across
//! iterations and across layers?
//!
//! Each trial draws two samples of `m` entries and runs Spearman's rank
//! correlation (monotone dependence) and the two-sample Kolmogorov–Smirnov
//! test (same distribution). A trial passes when its p-value exceeds α; the
//! study reports, per tensor and sample size, the ratio of passing trials
//! and the mean statistic:
//!
//! ```text
//! pass ratio = (1/N) Σ_i 1[p_i > α]
//! ```
//!
//! Pairs of samples:
//! - `temporal`: the same `m` coordinates at two consecutive recorded steps;
//! - `spatial`: two disjoint sets of `m` coordinates of one tensor at one step;
//! - `layers`: `m` coordinates of each of two tensors (neighbours in name
//!   order) at one step.
//!
//! Under the zero-inflated model (the default) coordinates whose value is an
//! exact zero are not drawn (for `temporal`: zero at either step), since a
//! point mass makes every rank test about the zeros.
//!
//! **Each sample size stands alone.** Size `m` draws from its own stream
//! (seeded from the seed, the tensor's stream and `m`) and restarts the
//! round-robin over steps, so its cells are the same whether it runs alone or
//! beside other sizes. A tensor with too few usable entries for `m` (a
//! LayerNorm or bias vector of 128–512 entries at m = 3000) gets cells with
//! no trials and a [`IidCell::note`] saying so; its other sizes still run.

use rand::seq::index::sample as sample_indices;
use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use crate::stats;

/// Which two samples a trial compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PairKind {
    Temporal,
    Spatial,
    Layers,
}

/// The tests a trial runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestKind {
    Spearman,
    Ks,
}

/// Options of one study.
#[derive(Debug, Clone)]
pub struct IidSettings {
    pub tests: Vec<TestKind>,
    pub sample_sizes: Vec<usize>,
    pub trials: usize,
    pub alpha: f64,
    pub seed: u64,
    /// Leave exact zeros out of the draws.
    pub skip_zeros: bool,
}

/// Pass ratio and mean statistic of one test at one sample size.
#[derive(Debug, Clone, Serialize)]
pub struct IidCell {
    pub test: TestKind,
    pub sample_size: usize,
    /// Trials run (fewer than asked when a trial's test was undefined, e.g.
    /// a constant sample; those are counted in `undefined`).
    pub trials: usize,
    pub undefined: usize,
    pub pass_ratio: Option<f64>,
    pub mean_statistic: Option<f64>,
    /// Why no trial ran at this size (the tensor is too small for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why a study cannot run on a pair of tensors.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum IidError {
    #[error("sample size {sample_size} needs {needed} usable entries, only {available} available")]
    TooFewEntries {
        sample_size: usize,
        needed: usize,
        available: usize,
    },
    #[error("the two tensors have {a} and {b} entries: temporal pairs need the same shape at every step")]
    ShapeMismatch { a: usize, b: usize },
    #[error("temporal pairs need at least two recorded steps of the tensor")]
    OneStep,
    #[error("alpha must be in (0, 1), got {0}")]
    BadAlpha(f64),
    #[error("sample size must be at least 3, got {0}")]
    BadSampleSize(usize),
}

/// Runs the tests of `settings` on one pair source: `draw(m, trial, rng)`
/// returns the two samples of trial `trial` at size `m` (or an error when
/// there are too few entries, which makes that size's cells empty with a
/// note; the other sizes go on).
fn run_trials<F>(settings: &IidSettings, stream: u64, mut draw: F) -> Result<Vec<IidCell>, IidError>
where
    F: FnMut(usize, usize, &mut Pcg64) -> Result<(Vec<f64>, Vec<f64>), IidError>,
{
    check(settings)?;
    let mut cells = Vec::new();
    for &m in &settings.sample_sizes {
        match trials_at(settings, stream, m, &mut draw) {
            Ok(mut found) => cells.append(&mut found),
            Err(error @ IidError::TooFewEntries { .. }) => {
                cells.extend(settings.tests.iter().map(|&test| IidCell {
                    test,
                    sample_size: m,
                    trials: 0,
                    undefined: 0,
                    pass_ratio: None,
                    mean_statistic: None,
                    note: Some(error.to_string()),
                }))
            }
            Err(error) => return Err(error),
        }
    }
    Ok(cells)
}

/// The note of each sample size the cells skipped, once per size, in order.
pub fn size_notes(cells: &[IidCell]) -> Vec<(usize, &str)> {
    let mut notes: Vec<(usize, &str)> = Vec::new();
    for cell in cells {
        if let Some(note) = &cell.note {
            if !notes.iter().any(|(m, _)| *m == cell.sample_size) {
                notes.push((cell.sample_size, note));
            }
        }
    }
    notes
}

/// The cells of every test at sample size `m`.
fn trials_at<F>(
    settings: &IidSettings,
    stream: u64,
    m: usize,
    draw: &mut F,
) -> Result<Vec<IidCell>, IidError>
where
    F: FnMut(usize, usize, &mut Pcg64) -> Result<(Vec<f64>, Vec<f64>), IidError>,
{
    let mut rng = Pcg64::seed_from_u64(settings.seed ^ stream.rotate_left(17) ^ (m as u64));
    let mut tallies: Vec<(usize, usize, usize, f64)> = vec![(0, 0, 0, 0.0); settings.tests.len()];
    for trial in 0..settings.trials {
        let (x, y) = draw(m, trial, &mut rng)?;
        for (test, tally) in settings.tests.iter().zip(tallies.iter_mut()) {
            match run_test(*test, &x, &y) {
                Some((statistic, p)) => {
                    tally.0 += 1;
                    tally.1 += usize::from(p > settings.alpha);
                    tally.3 += statistic;
                }
                None => tally.2 += 1,
            }
        }
    }
    Ok(settings
        .tests
        .iter()
        .zip(tallies)
        .map(|(test, (done, passed, undefined, sum))| IidCell {
            test: *test,
            sample_size: m,
            trials: done,
            undefined,
            pass_ratio: (done > 0).then(|| passed as f64 / done as f64),
            mean_statistic: (done > 0).then(|| sum / done as f64),
            note: None,
        })
        .collect())
}

fn check(settings: &IidSettings) -> Result<(), IidError> {
    if !(settings.alpha > 0.0 && settings.alpha < 1.0) {
        return Err(IidError::BadAlpha(settings.alpha));
    }
    if let Some(&m) = settings.sample_sizes.iter().find(|&&m| m < 3) {
        return Err(IidError::BadSampleSize(m));
    }
    Ok(())
}

/// `(statistic, p)` of one test, `None` where the test is undefined.
fn run_test(test: TestKind, x: &[f64], y: &[f64]) -> Option<(f64, f64)> {
    match test {
        TestKind::Spearman => stats::spearman(x, y).ok().map(|r| (r.rho, r.p_value)),
        TestKind::Ks => stats::ks_two_sample(x, y)
            .ok()
            .map(|r| (r.statistic, r.p_value)),
    }
}

fn usable(values: &[f64], skip_zeros: bool) -> Vec<usize> {
    (0..values.len())
        .filter(|&i| values[i].is_finite() && !(skip_zeros && values[i] == 0.0))
        .collect()
}

/// Spatial pairs: two disjoint random coordinate sets of one tensor at one
/// step. `steps` holds the tensor at each recorded step; trial `i` uses step
/// `i mod steps`.
pub fn spatial(
    steps: &[Vec<f64>],
    settings: &IidSettings,
    stream: u64,
) -> Result<Vec<IidCell>, IidError> {
    let pools: Vec<Vec<usize>> = steps
        .iter()
        .map(|v| usable(v, settings.skip_zeros))
        .collect();
    run_trials(settings, stream, |m, trial, rng| {
        let step = next_index(trial, steps.len(), m)?;
        let pool = &pools[step];
        if pool.len() < 2 * m {
            return Err(IidError::TooFewEntries {
                sample_size: m,
                needed: 2 * m,
                available: pool.len(),
            });
        }
        let picked: Vec<f64> = sample_indices(rng, pool.len(), 2 * m)
            .iter()
            .map(|i| steps[step][pool[i]])
            .collect();
        Ok((picked[..m].to_vec(), picked[m..].to_vec()))
    })
}

/// Layer pairs: `m` random coordinates of each of two tensors at the same
/// step (`a[k]` and `b[k]` are the two tensors at the k-th common step).
pub fn layers(
    a: &[Vec<f64>],
    b: &[Vec<f64>],
    settings: &IidSettings,
    stream: u64,
) -> Result<Vec<IidCell>, IidError> {
    let pools_a: Vec<Vec<usize>> = a.iter().map(|v| usable(v, settings.skip_zeros)).collect();
    let pools_b: Vec<Vec<usize>> = b.iter().map(|v| usable(v, settings.skip_zeros)).collect();
    run_trials(settings, stream, |m, trial, rng| {
        let step = next_index(trial, a.len().min(b.len()), m)?;
        let (pa, pb) = (&pools_a[step], &pools_b[step]);
        let available = pa.len().min(pb.len());
        if available < m {
            return Err(IidError::TooFewEntries {
                sample_size: m,
                needed: m,
                available,
            });
        }
        let x = sample_indices(rng, pa.len(), m)
            .iter()
            .map(|i| a[step][pa[i]])
            .collect();
        let y = sample_indices(rng, pb.len(), m)
            .iter()
            .map(|i| b[step][pb[i]])
            .collect();
        Ok((x, y))
    })
}

/// Temporal pairs: the same `m` coordinates at consecutive steps. `steps`
/// holds the tensor's values at each recorded step, in step order; trial `i`
/// uses the step pair `i mod (steps − 1)`.
pub fn temporal(
    steps: &[Vec<f64>],
    settings: &IidSettings,
    stream: u64,
) -> Result<Vec<IidCell>, IidError> {
    if let Some(pair) = steps.windows(2).find(|w| w[0].len() != w[1].len()) {
        return Err(IidError::ShapeMismatch {
            a: pair[0].len(),
            b: pair[1].len(),
        });
    }
    if steps.len() < 2 {
        return Err(IidError::OneStep);
    }
    let ok = |v: f64| v.is_finite() && !(settings.skip_zeros && v == 0.0);
    let pools: Vec<Vec<usize>> = steps
        .windows(2)
        .map(|w| {
            (0..w[0].len())
                .filter(|&i| ok(w[0][i]) && ok(w[1][i]))
                .collect()
        })
        .collect();
    run_trials(settings, stream, |m, trial, rng| {
        let pair = next_index(trial, pools.len(), m)?;
        let pool = &pools[pair];
        if pool.len() < m {
            return Err(IidError::TooFewEntries {
                sample_size: m,
                needed: m,
                available: pool.len(),
            });
        }
        let coords: Vec<usize> = sample_indices(rng, pool.len(), m)
            .iter()
            .map(|i| pool[i])
            .collect();
        let x = coords.iter().map(|&c| steps[pair][c]).collect();
        let y = coords.iter().map(|&c| steps[pair + 1][c]).collect();
        Ok((x, y))
    })
}

/// The round-robin source (step or step pair) of trial `trial`.
fn next_index(trial: usize, sources: usize, m: usize) -> Result<usize, IidError> {
    if sources == 0 {
        return Err(IidError::TooFewEntries {
            sample_size: m,
            needed: m,
            available: 0,
        });
    }
    Ok(trial % sources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, StandardNormal};

    fn normal_steps(steps: usize, n: usize, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = Pcg64::seed_from_u64(seed);
        (0..steps)
            .map(|_| (0..n).map(|_| StandardNormal.sample(&mut rng)).collect())
            .collect()
    }

    fn settings(trials: usize) -> IidSettings {
        IidSettings {
            tests: vec![TestKind::Spearman, TestKind::Ks],
            sample_sizes: vec![100],
            trials,
            alpha: 0.05,
            seed: 11,
            skip_zeros: true,
        }
    }

    fn ratio(cells: &[IidCell], test: TestKind) -> f64 {
        cells
            .iter()
            .find(|c| c.test == test)
            .unwrap()
            .pass_ratio
            .unwrap()
    }

    /// Under H0 a trial passes with probability 1 − α = 0.95; over 400
    /// trials the binomial standard error is 0.011, so ±0.06 is > 5 SE.
    #[test]
    fn iid_data_pass_about_one_minus_alpha() {
        let steps = normal_steps(3, 5_000, 1);
        for cells in [
            spatial(&steps, &settings(400), 0).unwrap(),
            temporal(&steps, &settings(400), 0).unwrap(),
            layers(&steps[..2], &steps[1..], &settings(400), 0).unwrap(),
        ] {
            for test in [TestKind::Spearman, TestKind::Ks] {
                let r = ratio(&cells, test);
                assert!((r - 0.95).abs() < 0.06, "{test:?}: pass ratio {r}");
            }
        }
    }

    #[test]
    fn a_frozen_tensor_fails_spearman_and_passes_ks_every_time() {
        let step = normal_steps(1, 1_000, 2).remove(0);
        let cells = temporal(&[step.clone(), step], &settings(50), 0).unwrap();
        assert_eq!(ratio(&cells, TestKind::Spearman), 0.0);
        assert_eq!(ratio(&cells, TestKind::Ks), 1.0);
        let rho = cells.iter().find(|c| c.test == TestKind::Spearman).unwrap();
        gradrd_testkit::assert_close(rho.mean_statistic.unwrap(), 1.0, 0.0, 1e-12);
    }

    #[test]
    fn zeros_are_not_drawn_under_the_zero_inflated_model() {
        let mut step = normal_steps(1, 400, 3).remove(0);
        step.extend(std::iter::repeat_n(0.0, 10_000));
        let cells = spatial(&[step.clone()], &settings(20), 0).unwrap();
        // Only 400 non-zeros: two disjoint samples of 100 fit, and they are
        // i.i.d. normal, so KS does not see the zeros' point mass.
        assert!(ratio(&cells, TestKind::Ks) > 0.7);
        let mut keep = settings(20);
        keep.skip_zeros = false;
        keep.sample_sizes = vec![300];
        assert!(spatial(&[step], &keep, 0).is_ok());
    }

    #[test]
    fn bad_requests_are_errors() {
        let steps = normal_steps(2, 150, 4);
        assert_eq!(
            temporal(&steps[..1], &settings(5), 0).unwrap_err(),
            IidError::OneStep
        );
        let mut bad = settings(5);
        bad.alpha = 1.5;
        assert_eq!(
            temporal(&steps, &bad, 0).unwrap_err(),
            IidError::BadAlpha(1.5)
        );
        let uneven = vec![steps[0].clone(), steps[1][..100].to_vec()];
        assert!(matches!(
            temporal(&uneven, &settings(5), 0).unwrap_err(),
            IidError::ShapeMismatch { a: 150, b: 100 }
        ));
    }

    /// 150 entries hold two disjoint samples of 50 but not of 100: m = 100
    /// is a note, m = 50 runs, with the same cells as when it runs alone
    /// (its own stream and round-robin over the three steps).
    #[test]
    fn a_sample_size_too_large_for_the_tensor_is_a_note_and_the_others_run() {
        let steps = normal_steps(3, 150, 4);
        let mut both = settings(20);
        both.sample_sizes = vec![100, 50];
        let cells = spatial(&steps, &both, 0).unwrap();
        let (big, small): (Vec<_>, Vec<_>) = cells.iter().partition(|c| c.sample_size == 100);
        assert_eq!(big.len(), 2);
        for cell in big {
            assert_eq!((cell.trials, cell.pass_ratio), (0, None));
            let note = cell.note.as_deref().unwrap();
            assert_eq!(
                note,
                "sample size 100 needs 200 usable entries, only 150 available"
            );
        }
        let mut alone = settings(20);
        alone.sample_sizes = vec![50];
        let single = spatial(&steps, &alone, 0).unwrap();
        assert_eq!(
            format!("{small:?}"),
            format!("{:?}", single.iter().collect::<Vec<_>>())
        );
        assert!(small.iter().all(|c| c.trials == 20 && c.note.is_none()));
        // temporal: the round-robin over the two step pairs restarts per size
        let mut temporal_both = settings(21);
        temporal_both.sample_sizes = vec![60, 100];
        let mut temporal_alone = settings(21);
        temporal_alone.sample_sizes = vec![100];
        let from_both = temporal(&steps, &temporal_both, 0).unwrap();
        let from_alone = temporal(&steps, &temporal_alone, 0).unwrap();
        assert_eq!(format!("{:?}", &from_both[2..]), format!("{from_alone:?}"));
    }

    #[test]
    fn the_same_seed_gives_the_same_study() {
        let steps = normal_steps(2, 2_000, 5);
        let a = temporal(&steps, &settings(30), 7).unwrap();
        let b = temporal(&steps, &settings(30), 7).unwrap();
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
}
