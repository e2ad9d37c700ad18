use super::*;
use gradrd_testkit::assert_close;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

fn spec(levels: usize, m: f64, zero_level: bool) -> DesignSpec {
    DesignSpec::new(levels, m, zero_level).unwrap()
}

fn normal_samples(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    (0..n).map(|_| StandardNormal.sample(&mut rng)).collect()
}

/// Brute force, O(n L): weighted mean of the samples each center encodes.
fn brute_force_centers(samples: &[f64], codebook: &Codebook, m: f64) -> Vec<f64> {
    let mut w0 = vec![0.0; codebook.levels()];
    let mut w1 = vec![0.0; codebook.levels()];
    for &x in samples {
        let i = codebook.encode(x);
        let w = x.abs().powf(m);
        w0[i] += w;
        w1[i] += w * x;
    }
    w0.iter().zip(&w1).map(|(a, b)| b / a).collect()
}

#[test]
fn two_levels_on_four_points() {
    let samples = [-2.0, -1.0, 1.0, 2.0];
    let d = design_from_samples(&samples, &spec(2, 0.0, false), &LloydOptions::default()).unwrap();
    let s = d.codebook.scale();
    assert_close(d.codebook.centers()[1] * s, 1.5, 1e-15, 0.0);
    assert_close(d.mse, 0.25, 1e-15, 0.0);
    // M = 1: c = (1·1 + 2·2)/(1 + 2) = 5/3; d_1 = (1·(2/3)² + 2·(1/3)²)/2 = 1/3
    let d = design_from_samples(&samples, &spec(2, 1.0, false), &LloydOptions::default()).unwrap();
    let s = d.codebook.scale();
    assert_close(d.codebook.centers()[1] * s, 5.0 / 3.0, 1e-15, 0.0);
    assert_close(d.distortion, 1.0 / 3.0, 1e-14, 0.0);
    assert_close(d.entropy_bits, 1.0, 1e-15, 0.0);
}

#[test]
fn converged_centers_are_the_weighted_means_of_their_cells() {
    let samples = normal_samples(20_000, 7);
    for (levels, m) in [(4, 0.0), (16, 1.0), (64, 2.0), (256, 0.5)] {
        let d = design_from_samples(&samples, &spec(levels, m, false), &LloydOptions::default())
            .unwrap();
        assert_eq!(
            d.stop_reason,
            TerminationReason::SolverConverged,
            "L = {levels}"
        );
        let s = d.codebook.scale();
        let expected = brute_force_centers(&samples, &d.codebook, m);
        for (c, e) in d.codebook.centers().iter().zip(&expected) {
            assert_close(c * s, *e, 1e-10, 1e-12);
        }
    }
}

#[test]
fn large_gaussian_sample_approaches_max_1960() {
    // Max (1960), N = 8: MSE 0.03454776, outermost level 2.151946; the sample
    // size bounds the agreement (≈ 1 % at n = 2·10^5).
    let samples = normal_samples(200_000, 11);
    let d = design_from_samples(&samples, &spec(8, 0.0, false), &LloydOptions::default()).unwrap();
    assert_close(d.mse, 0.034_547_76, 0.02, 0.0);
    let s = d.codebook.scale();
    assert_close(d.codebook.centers()[7] * s, 2.151_946, 0.02, 0.0);
    assert_close(d.entropy_bits, 2.825, 0.01, 0.0);
}

#[test]
fn zero_level_keeps_zeros_exact_on_zero_inflated_samples() {
    let mut samples = normal_samples(5_000, 3);
    samples.extend(std::iter::repeat_n(0.0, 2_000));
    let d = design_from_samples(&samples, &spec(8, 2.0, true), &LloydOptions::default()).unwrap();
    let k = d.codebook.encode(0.0);
    assert_eq!(d.codebook.centers()[k].to_bits(), 0.0f64.to_bits());
    assert_eq!(d.codebook.quantize(0.0).to_bits(), 0.0f64.to_bits());
    assert!(d.probabilities[k] >= 2_000.0 / 7_000.0);
}

#[test]
fn bad_samples_are_errors() {
    let options = LloydOptions::default();
    assert!(matches!(
        design_from_samples(
            &[1.0, f64::NAN, f64::INFINITY],
            &spec(2, 0.0, false),
            &options
        ),
        Err(QuantError::NonFiniteSamples(2))
    ));
    assert!(matches!(
        design_from_samples(&[], &spec(2, 0.0, false), &options),
        Err(QuantError::TooFewDistinct { distinct: 0, .. })
    ));
    assert!(matches!(
        design_from_samples(&[1.0, 1.0, 2.0], &spec(4, 0.0, false), &options),
        Err(QuantError::TooFewDistinct {
            distinct: 2,
            levels: 4
        })
    ));
    // zero level with no negative values cannot put a cell below zero
    assert!(design_from_samples(&[0.5, 1.0, 2.0, 3.0], &spec(2, 0.0, true), &options).is_ok());
}

#[test]
fn repeated_values_use_distinct_quantiles() {
    let mut samples = vec![0.0; 900];
    samples.extend((1..=100).map(|i| i as f64));
    let d = design_from_samples(&samples, &spec(4, 0.0, false), &LloydOptions::default()).unwrap();
    let t = d.codebook.thresholds();
    assert!(t.windows(2).all(|w| w[0] < w[1]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Lloyd steps on samples never increase the weighted distortion.
    #[test]
    fn sample_lloyd_never_increases_distortion(
        samples in prop::collection::vec(-100.0f64..100.0, 40..400),
        m in prop_oneof![Just(0.0), Just(1.0), Just(2.0), 0.0f64..3.0],
        levels in 2usize..12,
        zero_level in any::<bool>(),
    ) {
        let options = LloydOptions { max_iterations: 50, ..LloydOptions::default() };
        let Ok(mut machine) = SampleLloyd::new(&samples, &spec(levels, m, zero_level), &options) else {
            return Ok(());
        };
        let mut previous = machine.distortion();
        while machine.next_iter().is_none() {
            let now = machine.distortion();
            prop_assert!(now <= previous + 1e-9 * previous.abs() + 1e-300, "{now} > {previous}");
            previous = now;
        }
    }
}
