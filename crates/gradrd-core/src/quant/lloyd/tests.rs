use super::*;
use crate::quant::reference_source::TestGenNorm;
use gradrd_testkit::assert_close;
use proptest::prelude::*;

fn design(source: &TestGenNorm, levels: usize, m: f64, zero_level: bool) -> Design {
    let spec = DesignSpec::new(levels, m, zero_level).unwrap();
    design_for_density(source, &spec, &LloydOptions::default()).unwrap()
}

/// Thresholds and centers in the source's units.
fn levels_of(d: &Design) -> (Vec<f64>, Vec<f64>) {
    let s = d.codebook.scale();
    (
        d.codebook.thresholds().iter().map(|t| t * s).collect(),
        d.codebook.centers().iter().map(|c| c * s).collect(),
    )
}

// Converged Lloyd-Max (M = 0) minimum MSE and index entropy for unit-variance
// sources (design/references.md): J. Max, IRE Trans. Inf. Theory IT-6 (1960)
// 7–12 (Gaussian); M. D. Paez & T. H. Glisson, IEEE Trans. Commun. COM-20
// (1972) 225–230 (Laplacian). Columns: N, MSE, entropy (bits, 3 decimals).
const GAUSSIAN_TABLE: [(usize, f64, f64); 5] = [
    (2, 0.363_380_2, 1.000),
    (4, 0.117_481_8, 1.911),
    (8, 0.034_547_76, 2.825),
    (16, 0.009_501_008, 3.765),
    (32, 0.002_504_668, 4.730),
];
const LAPLACIAN_TABLE: [(usize, f64, f64); 5] = [
    (2, 0.5, 1.000),
    (4, 0.176_194_9, 1.728),
    (8, 0.054_475_99, 2.565),
    (16, 0.015_372_53, 3.475),
    (32, 0.004_102_18, 4.427),
];
/// Max (1960) as printed for N = 2, 4, 8, 16: 0.3634, 0.1175, 0.03454, 0.009497.
/// Max's N = 32 value, 0.002499, is 0.23 % below the converged 0.002504668
/// (references.md: the printed values differ in the 4th digit at N = 16, 32),
/// so it is checked against the converged column only.
const MAX_1960_GAUSSIAN_MSE: [f64; 4] = [0.3634, 0.1175, 0.03454, 0.009497];

#[test]
fn gaussian_mse_and_entropy_match_max_1960() {
    for (row, &(levels, mse, entropy)) in GAUSSIAN_TABLE.iter().enumerate() {
        let d = design(&TestGenNorm::unit_normal(), levels, 0.0, false);
        assert_eq!(
            d.stop_reason,
            TerminationReason::SolverConverged,
            "N = {levels}"
        );
        // the table's MSE is printed to 7 significant digits
        assert_close(d.mse, mse, 1e-6, 0.0);
        assert_close(d.distortion, mse, 1e-6, 0.0);
        assert_close(d.entropy_bits, entropy, 0.0, 5e-4);
        if let Some(&printed) = MAX_1960_GAUSSIAN_MSE.get(row) {
            assert_close(d.mse, printed, 1e-3, 0.0);
        }
    }
}

#[test]
fn laplacian_mse_and_entropy_match_paez_glisson_1972() {
    for &(levels, mse, entropy) in &LAPLACIAN_TABLE {
        let d = design(&TestGenNorm::unit_laplace(), levels, 0.0, false);
        assert_eq!(
            d.stop_reason,
            TerminationReason::SolverConverged,
            "N = {levels}"
        );
        assert_close(d.mse, mse, 1e-6, 0.0);
        assert_close(d.entropy_bits, entropy, 0.0, 5e-4);
    }
}

fn assert_symmetric_table(d: &Design, positive_thresholds: &[f64], positive_levels: &[f64]) {
    let (thresholds, centers) = levels_of(d);
    let half_t = thresholds.len() / 2;
    assert_close(thresholds[half_t], 0.0, 0.0, 1e-15);
    for (j, &t) in positive_thresholds.iter().enumerate() {
        assert_close(thresholds[half_t + 1 + j], t, 0.0, 1e-6);
        assert_close(thresholds[half_t - 1 - j], -t, 0.0, 1e-6);
    }
    let half_c = centers.len() / 2;
    for (j, &c) in positive_levels.iter().enumerate() {
        assert_close(centers[half_c + j], c, 0.0, 1e-6);
        assert_close(centers[half_c - 1 - j], -c, 0.0, 1e-6);
    }
}

#[test]
fn gaussian_4_and_8_levels_match_max_1960() {
    // Max (1960) Table I, N = 4 and N = 8.
    let d4 = design(&TestGenNorm::unit_normal(), 4, 0.0, false);
    assert_symmetric_table(&d4, &[0.981599], &[0.452780, 1.510418]);
    let d8 = design(&TestGenNorm::unit_normal(), 8, 0.0, false);
    assert_symmetric_table(
        &d8,
        &[0.500550, 1.049957, 1.747927],
        &[0.245094, 0.756005, 1.343909, 2.151946],
    );
}

#[test]
fn laplacian_8_levels_match_paez_glisson_1972() {
    let d8 = design(&TestGenNorm::unit_laplace(), 8, 0.0, false);
    assert_symmetric_table(
        &d8,
        &[0.533181, 1.252718, 2.379580],
        &[0.233401, 0.832962, 1.672473, 3.086687],
    );
}

#[test]
fn symmetric_sources_give_exactly_symmetric_codebooks() {
    let source = TestGenNorm::new(0.8, 0.0, 1.0);
    for levels in [5, 8, 33] {
        let d = design(&source, levels, 1.0, false);
        let c = d.codebook.centers();
        let t = d.codebook.thresholds();
        // exact: zero tolerance
        for i in 0..c.len() {
            assert_close(c[i], -c[c.len() - 1 - i], 0.0, 0.0);
        }
        for i in 0..t.len() {
            assert_close(t[i], -t[t.len() - 1 - i], 0.0, 0.0);
        }
        if levels % 2 == 1 {
            assert_close(c[levels / 2], 0.0, 0.0, 0.0);
        }
    }
}

#[test]
fn converged_design_is_a_fixed_point_at_256_levels() {
    let source = TestGenNorm::new(0.8, 0.0, 1e-3);
    let d = design(&source, 256, 2.0, false);
    assert_eq!(d.stop_reason, TerminationReason::SolverConverged);
    let (thresholds, centers) = levels_of(&d);
    // centers are the M-weighted conditional means of their cells (closed forms)
    let mut bounds = vec![f64::NEG_INFINITY];
    bounds.extend(&thresholds);
    bounds.push(f64::INFINITY);
    let size = centers.iter().fold(0.0f64, |m, c| m.max(c.abs()));
    for (i, &c) in centers.iter().enumerate() {
        let (a, b) = (bounds[i], bounds[i + 1]);
        let mean = source.signed_moment_between(3.0, a, b) / source.abs_moment_between(2.0, a, b);
        assert_close(c, mean, 0.0, 1e-10 * size);
    }
    assert!(d.iterations < 200, "{} iterations", d.iterations);
}

/// Thousands of levels converge in a handful of Newton steps from the
/// high-resolution start, and meet the Panter–Dite asymptote
/// `D·L² → (1/12)(∫ f^{1/3})³`: `√3·π/2 = 2.7207` (unit Gaussian) and
/// `9/2` (unit-variance Laplacian) — references.md, "Rate-distortion".
#[test]
fn thousands_of_levels_converge_fast_and_meet_panter_dite() {
    let levels = 4096;
    for (source, asymptote) in [
        (
            TestGenNorm::unit_normal(),
            3f64.sqrt() * std::f64::consts::PI / 2.0,
        ),
        (TestGenNorm::unit_laplace(), 4.5),
    ] {
        let d = design(&source, levels, 0.0, false);
        assert_eq!(d.stop_reason, TerminationReason::SolverConverged);
        assert!(d.iterations <= 20, "{} iterations", d.iterations);
        // at L = 4096: 2.71929 and 4.49751, 0.05 % below the asymptote
        let scaled = d.mse * (levels * levels) as f64;
        assert!(scaled < asymptote, "{scaled} >= {asymptote}");
        assert_close(scaled, asymptote, 1e-3, 0.0);
    }
    // a heavy tail with a weight: centers are the weighted conditional means
    let source = TestGenNorm::new(0.5, 0.0, 1.0);
    let d = design(&source, 4096, 2.0, false);
    assert_eq!(d.stop_reason, TerminationReason::SolverConverged);
    assert!(d.iterations <= 20, "{} iterations", d.iterations);
    let (thresholds, centers) = levels_of(&d);
    let mut bounds = vec![f64::NEG_INFINITY];
    bounds.extend(&thresholds);
    bounds.push(f64::INFINITY);
    let size = centers.iter().fold(0.0f64, |m, c| m.max(c.abs()));
    for i in (0..centers.len()).step_by(97) {
        let (a, b) = (bounds[i], bounds[i + 1]);
        let mean = source.signed_moment_between(3.0, a, b) / source.abs_moment_between(2.0, a, b);
        assert_close(centers[i], mean, 0.0, 1e-9 * size);
    }
}

#[test]
fn newton_and_plain_lloyd_reach_the_same_design() {
    let source = TestGenNorm::new(0.8, 0.0, 1.0);
    let spec = DesignSpec::new(8, 1.0, false).unwrap();
    let newton = design_for_density(&source, &spec, &LloydOptions::default()).unwrap();
    let plain_options = LloydOptions {
        accelerate: false,
        tolerance: 1e-14,
        ..LloydOptions::default()
    };
    let plain = design_for_density(&source, &spec, &plain_options).unwrap();
    assert!(newton.newton_steps > 0);
    assert_eq!(plain.newton_steps, 0);
    assert!(newton.iterations * 10 < plain.iterations);
    for (a, b) in newton
        .codebook
        .centers()
        .iter()
        .zip(plain.codebook.centers())
    {
        assert_close(*a, *b, 1e-9, 1e-12);
    }
}

#[test]
fn shifting_the_source_shifts_the_mse_design() {
    // For M = 0 the optimal quantizer of X + loc is the shifted one of X.
    let centred = design(&TestGenNorm::new(0.8, 0.0, 1.0), 8, 0.0, false);
    let shifted = design(&TestGenNorm::new(0.8, 2.5, 1.0), 8, 0.0, false);
    let (tc, cc) = levels_of(&centred);
    let (ts, cs) = levels_of(&shifted);
    for (a, b) in ts.iter().zip(&tc) {
        assert_close(*a, b + 2.5, 0.0, 1e-9);
    }
    for (a, b) in cs.iter().zip(&cc) {
        assert_close(*a, b + 2.5, 0.0, 1e-9);
    }
    assert_close(shifted.mse, centred.mse, 1e-9, 0.0);
}

#[test]
fn quadrature_moments_match_the_closed_forms() {
    let source = TestGenNorm::new(0.8, 0.0, 1.0);
    for m in [0.5, 1.0, 2.0] {
        let exact = WeightedMoments {
            source: &source,
            m,
            closed_form: true,
        };
        let numeric = WeightedMoments {
            source: &source,
            m,
            closed_form: false,
        };
        for (a, b) in [
            (f64::NEG_INFINITY, -1.0),
            (-0.5, 0.7),
            (0.2, 3.0),
            (4.0, f64::INFINITY),
        ] {
            let e = exact.weighted(a, b);
            let q = numeric.weighted(a, b);
            for k in 0..3 {
                assert_close(q[k], e[k], 1e-11, 1e-14);
            }
        }
    }
}

#[test]
fn zero_level_pins_an_exact_zero_center() {
    let source = TestGenNorm::new(0.8, 0.0, 1.0);
    let d = design(&source, 8, 1.0, true);
    let c = d.codebook.centers();
    assert_close(c[4], 0.0, 0.0, 0.0);
    assert!(c[3] < 0.0 && c[5] > 0.0);
    assert!(d.codebook.zero_level());
    assert_eq!(d.stop_reason, TerminationReason::SolverConverged);
    // the zero cell contains 0 and the other centers are conditional means
    let t = d.codebook.thresholds();
    assert!(t[3] < 0.0 && t[4] > 0.0);
    assert_close(t[3], 0.5 * c[3], 1e-12, 0.0);
    assert_close(t[4], 0.5 * c[5], 1e-12, 0.0);
    // pinning a center costs distortion
    let free = design(&source, 8, 1.0, false);
    assert!(d.distortion > free.distortion);
}

#[test]
fn two_levels_are_the_half_means() {
    // L = 2, M = 0: center = E[X | X > 0] = Γ(2/β)/Γ(1/β) · scale
    let source = TestGenNorm::new(0.8, 0.0, 1.0);
    let d = design(&source, 2, 0.0, false);
    let expected =
        (statrs::function::gamma::ln_gamma(2.5) - statrs::function::gamma::ln_gamma(1.25)).exp();
    assert_close(d.codebook.centers()[1], expected, 1e-13, 0.0);
    assert_close(d.entropy_bits, 1.0, 1e-12, 0.0);
}

#[test]
fn bad_tolerance_is_an_error() {
    let source = TestGenNorm::unit_normal();
    let spec = DesignSpec::new(4, 0.0, false).unwrap();
    let options = LloydOptions {
        tolerance: 0.0,
        ..LloydOptions::default()
    };
    assert!(matches!(
        design_for_density(&source, &spec, &options),
        Err(QuantError::Tolerance(_))
    ));
}

/// Plain Lloyd with `scipy.integrate.quad` moments (scripts/ref_lloyd_scipy.py,
/// scipy 1.17.1): `stats.gennorm(0.8, loc=LOC, scale=1)`, weight `abs(x)**M`,
/// `quad(..., epsabs=0, epsrel=1e-12, limit=200)` per cell, iterated until the
/// largest center move is ≤ 1e-13·max|c|. Columns: loc, M, L, thresholds,
/// centers, distortion, mse, entropy_bits.
#[allow(clippy::type_complexity)]
const SCIPY_GENNORM_08: [(f64, f64, usize, &[f64], &[f64], f64, f64, f64); 7] = [
    (
        0.0,
        0.0,
        4,
        &[-2.6614124410963385, 0.0, 2.6614124410963385],
        &[
            -4.4396269230132575,
            -0.8831979591794191,
            0.8831979591794191,
            4.4396269230132575,
        ],
        0.9942706351868559,
        0.9942706351868559,
        1.643898758441283,
    ),
    (
        0.0,
        0.0,
        8,
        &[
            -6.073833096914948,
            -3.0169601058790194,
            -1.211868204936364,
            0.0,
            1.211868204936364,
            3.0169601058790194,
            6.073833096914948,
        ],
        &[
            -8.043693520828919,
            -4.103972673000977,
            -1.929947538757062,
            -0.4937888711156663,
            0.4937888711156663,
            1.929947538757062,
            4.103972673000977,
            8.043693520828919,
        ],
        0.31324825119564126,
        0.31324825119564126,
        2.4400516526560323,
    ),
    (
        0.0,
        1.0,
        4,
        &[-4.67540232119252, 0.0, 4.67540232119252],
        &[
            -7.177408935529491,
            -2.173395706855548,
            2.173395706855548,
            7.177408935529491,
        ],
        3.727201986035028,
        2.2496776423099334,
        1.2923739614542138,
    ),
    (
        0.0,
        1.0,
        8,
        &[
            -9.063004214422858,
            -5.070561235529434,
            -2.4699788609571396,
            0.0,
            2.4699788609571396,
            5.070561235529434,
            9.063004214422858,
        ],
        &[
            -11.565866689892198,
            -6.560141738953518,
            -3.5809807321053495,
            -1.3589769898089292,
            1.3589769898089292,
            3.5809807321053495,
            6.560141738953518,
            11.565866689892198,
        ],
        1.1845201690153404,
        0.7130777142106741,
        1.8534600437404194,
    ),
    (
        0.0,
        2.0,
        4,
        &[-6.888402510548234, 0.0, 6.888402510548234],
        &[
            -10.050253131535353,
            -3.7265518895611147,
            3.7265518895611147,
            10.050253131535353,
        ],
        21.922818438129077,
        7.437365183401056,
        1.1167058791606808,
    ),
    (
        0.0,
        2.0,
        8,
        &[
            -12.155941760779719,
            -7.3139129500580236,
            -3.9710792759554603,
            0.0,
            3.9710792759554603,
            7.3139129500580236,
            12.155941760779719,
        ],
        &[
            -15.139095258719882,
            -9.172788262839553,
            -5.455037637276494,
            -2.487120914634427,
            2.487120914634427,
            5.455037637276494,
            9.172788262839553,
            15.139095258719882,
        ],
        6.997473352650866,
        2.706073800116299,
        1.4440220792361826,
    ),
    (
        0.3,
        2.0,
        4,
        &[-6.9641987918932715, -0.06191816789461391, 6.804322913153776],
        &[
            -10.14388389460148,
            -3.7845136891850637,
            3.660677353395836,
            9.947968472911716,
        ],
        22.265288262442425,
        7.179725663003036,
        1.0726455063642288,
    ),
];

#[test]
fn gennorm_08_matches_scipy_quadrature_lloyd() {
    for &(loc, m, levels, thresholds, centers, distortion, mse, entropy) in &SCIPY_GENNORM_08 {
        let d = design(&TestGenNorm::new(0.8, loc, 1.0), levels, m, false);
        assert_eq!(d.stop_reason, TerminationReason::SolverConverged);
        let (t, c) = levels_of(&d);
        for (a, e) in t.iter().zip(thresholds) {
            assert_close(*a, *e, 1e-9, 1e-11);
        }
        for (a, e) in c.iter().zip(centers) {
            assert_close(*a, *e, 1e-9, 1e-11);
        }
        assert_close(d.distortion, distortion, 1e-9, 0.0);
        assert_close(d.mse, mse, 1e-9, 0.0);
        assert_close(d.entropy_bits, entropy, 1e-9, 0.0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Plain Lloyd steps never increase the M-weighted distortion.
    #[test]
    fn plain_lloyd_never_increases_distortion(
        beta in 0.4f64..3.0,
        loc in prop_oneof![Just(0.0), -1.0f64..1.0],
        m in prop_oneof![Just(0.0), Just(1.0), Just(2.0), 0.0f64..3.0],
        levels in 2usize..40,
        zero_level in any::<bool>(),
    ) {
        let source = TestGenNorm::new(beta, loc, 1.3);
        let spec = DesignSpec::new(levels, m, zero_level).unwrap();
        let options = LloydOptions { accelerate: false, max_iterations: 25, ..LloydOptions::default() };
        let mut machine = DensityLloyd::new(&source, &spec, &options).unwrap();
        let mut previous = machine.state().distortion();
        while machine.next_iter().unwrap().is_none() {
            let now = machine.state().distortion();
            prop_assert!(now <= previous * (1.0 + 1e-12) + 1e-300, "{now} > {previous}");
            previous = now;
        }
    }

    /// The accelerated design converges and never ends worse than its start.
    #[test]
    fn newton_design_converges(
        beta in 0.4f64..3.0,
        m in 0.0f64..3.0,
        levels in 2usize..64,
    ) {
        let source = TestGenNorm::new(beta, 0.0, 0.7);
        let spec = DesignSpec::new(levels, m, false).unwrap();
        let d = design_for_density(&source, &spec, &LloydOptions::default()).unwrap();
        prop_assert_eq!(d.stop_reason, TerminationReason::SolverConverged);
        let t = d.codebook.thresholds();
        let c = d.codebook.centers();
        for j in 0..t.len() {
            prop_assert!((t[j] - 0.5 * (c[j] + c[j + 1])).abs() <= 1e-12 * c[c.len() - 1].abs());
        }
    }
}

#[test]
fn real_families_match_the_reference_tables() {
    use crate::dist::{GenNorm, Laplace, Normal};
    let spec = DesignSpec::new(32, 0.0, false).unwrap();
    let normal = Normal::new(0.0, 1.0).unwrap();
    let d = design_for_density(&normal, &spec, &LloydOptions::default()).unwrap();
    assert_close(d.mse, GAUSSIAN_TABLE[4].1, 1e-6, 0.0);
    let laplace = Laplace::new(0.0, std::f64::consts::FRAC_1_SQRT_2).unwrap();
    let d = design_for_density(&laplace, &spec, &LloydOptions::default()).unwrap();
    assert_close(d.mse, LAPLACIAN_TABLE[4].1, 1e-6, 0.0);
    for &(loc, m, levels, _, centers, distortion, _, _) in &SCIPY_GENNORM_08 {
        let source = GenNorm::new(0.8, loc, 1.0).unwrap();
        let spec = DesignSpec::new(levels, m, false).unwrap();
        let d = design_for_density(&source, &spec, &LloydOptions::default()).unwrap();
        for (a, e) in d.codebook.centers().iter().zip(centers) {
            assert_close(*a, *e, 1e-9, 1e-11);
        }
        assert_close(d.distortion, distortion, 1e-9, 0.0);
    }
}
