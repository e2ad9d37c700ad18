//! Tests every family passes: a generic structural checker (in the spirit of
//! statrs' `check_continuous_distribution`) run over a grid of shapes and
//! scales, scipy/mpmath reference values, closed-form identities between
//! families, and property tests.
use super::{ContinuousDist, DWeibull, FamilyKind, GenNorm, Laplace, Model, Normal, ParamError};
use gradrd_testkit::assert_close;
use gradrd_testkit::reference::dist::{FamilyRef, DWEIBULL, GENNORM, LAPLACE, NORMAL};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_pcg::Pcg64;

/// Tanh–sinh (double-exponential) quadrature of `f` over a finite `[a, b]`;
/// handles integrable endpoint singularities such as dweibull's `|z|^(c−1)`
/// at `loc`. Nodes are placed by their distance to the nearer endpoint, so
/// no node rounds onto the endpoint. Halves the step until two levels agree
/// to 1e-15 relative.
fn tanh_sinh(f: &dyn Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    use std::f64::consts::FRAC_PI_2;
    let half_width = 0.5 * (b - a);
    // node pair at t and −t: distance to the endpoint (b − a)/(1 + e^(2u)), u = π/2 sinh t
    let pair = |t: f64| {
        let u = FRAC_PI_2 * t.sinh();
        let offset = (b - a) / (1.0 + (2.0 * u).exp());
        let weight = half_width * FRAC_PI_2 * t.cosh() / (u.cosh() * u.cosh());
        let left = a + offset;
        let right = b - offset;
        let value = |x: f64| if x > a && x < b { f(x) } else { 0.0 };
        weight * (value(left) + value(right))
    };
    const T_MAX: f64 = 4.5;
    let mut h = 0.5;
    let mut sum = half_width * FRAC_PI_2 * f(0.5 * (a + b));
    let mut k = 1;
    while (k as f64) * h <= T_MAX {
        sum += pair(k as f64 * h);
        k += 1;
    }
    let mut estimate = h * sum;
    for _ in 0..10 {
        h *= 0.5;
        let mut k = 1;
        while (k as f64) * h <= T_MAX {
            sum += pair(k as f64 * h);
            k += 2;
        }
        let refined = h * sum;
        if (refined - estimate).abs() <= 1e-15 * refined.abs() {
            return refined;
        }
        estimate = refined;
    }
    estimate
}

/// `∫_a^b g(x) f(x) dx`, split at `loc` so that the cusp / singularity of the
/// density sits at an endpoint.
fn integrate_split(d: &dyn ContinuousDist, g: &dyn Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    let integrand = |x: f64| g(x) * d.pdf(x);
    let loc = d.loc();
    if a < loc && loc < b {
        tanh_sinh(&integrand, a, loc) + tanh_sinh(&integrand, loc, b)
    } else {
        tanh_sinh(&integrand, a, b)
    }
}

/// Standard error of a sample mean of `n` draws with variance `variance`.
fn standard_error(variance: f64, n: usize) -> f64 {
    (variance / n as f64).sqrt()
}

/// The structural checks every family passes.
fn check_continuous_distribution(d: &dyn ContinuousDist, seed: u64) {
    let loc = d.loc();
    let scale = d.scale();
    let label = format!("{} {:?}", d.kind(), d.params());

    // limits
    assert_close(d.cdf(f64::NEG_INFINITY), 0.0, 0.0, 0.0);
    assert_close(d.cdf(f64::INFINITY), 1.0, 0.0, 0.0);
    assert_close(d.sf(f64::NEG_INFINITY), 1.0, 0.0, 0.0);
    assert_close(d.sf(f64::INFINITY), 0.0, 0.0, 0.0);
    assert_close(d.pdf(f64::INFINITY), 0.0, 0.0, 0.0);
    assert_close(d.quantile(0.0), f64::NEG_INFINITY, 0.0, 0.0);
    assert_close(d.quantile(1.0), f64::INFINITY, 0.0, 0.0);
    assert_close(d.quantile(0.5), loc, 0.0, 0.0);
    assert!(
        d.quantile(1.5).is_nan() && d.quantile(f64::NAN).is_nan(),
        "{label}"
    );

    let radii = [1e-9, 1e-3, 0.05, 0.3, 1.0, 2.0, 5.0, 20.0, 80.0];
    for &r in &radii {
        let (left, right) = (loc - r * scale, loc + r * scale);
        // complement, and symmetry where left and right are exact mirror images
        for x in [left, right] {
            assert_close(d.cdf(x) + d.sf(x), 1.0, 0.0, 2.0 * f64::EPSILON);
        }
        if loc == 0.0 {
            assert_close(d.cdf(left), d.sf(right), 1e-15, 0.0);
            assert_close(d.pdf(left), d.pdf(right), 1e-15, 0.0);
        }
        // ln_pdf agrees with pdf where pdf is a normal number
        let pdf = d.pdf(right);
        if pdf.is_normal() && pdf.is_finite() {
            assert_close(d.ln_pdf(right).exp(), pdf, 1e-14, 0.0);
        }
        // quantile ∘ cdf = id up to the conditioning of p: a rounding of p by
        // eps·p moves x by eps·p / pdf
        for x in [left, right] {
            let p = d.cdf(x);
            if p > 0.0 && p < 1.0 && p.is_normal() && pdf.is_normal() {
                let conditioning = 2.0 * f64::EPSILON * p / pdf;
                assert_close(d.quantile(p) - loc, x - loc, 1e-12, conditioning);
            }
        }
        // derivative of the cdf is the pdf: 5-point stencil on the lower side
        // (small cdf values keep their relative precision), away from the cusp,
        // with a step small against the local scale of variation 1/|d ln f/dx|
        let pdf = d.pdf(left);
        if r >= 0.05 && pdf.is_finite() && d.cdf(left) > 1e-280 {
            let probe = 1e-7 * r * scale;
            let log_slope = ((d.ln_pdf(left + probe) - d.ln_pdf(left)) / probe).abs();
            let h = 1e-3 * (r * scale).min(1.0 / log_slope);
            let derivative = (-d.cdf(left + 2.0 * h) + 8.0 * d.cdf(left + h)
                - 8.0 * d.cdf(left - h)
                + d.cdf(left - 2.0 * h))
                / (12.0 * h);
            // truncation O((h·slope)⁴) ≈ 1e-12; rounding of the cdf values ≤ 3 eps cdf / h
            assert_close(
                derivative,
                pdf,
                1e-9,
                3.0 * f64::EPSILON * d.cdf(left + 2.0 * h) / h,
            );
        }
    }

    // ∫ pdf over intervals = cdf / sf difference = moment of order 0; partial
    // moments of several orders against quadrature
    let points: Vec<f64> = [-30.0, -4.0, -1.0, -0.2, 0.0, 0.5, 2.0, 6.0, 25.0]
        .iter()
        .map(|&z| loc + z * scale)
        .collect();
    for window in points.windows(2) {
        let (a, b) = (window[0], window[1]);
        let mass = integrate_split(d, &|_| 1.0, a, b);
        let by_cdf = if b <= loc {
            d.cdf(b) - d.cdf(a)
        } else {
            d.sf(a) - d.sf(b)
        };
        assert_close(by_cdf, mass, 1e-11, 1e-300);
        assert_close(d.abs_moment_between(0.0, a, b), mass, 1e-11, 1e-300);
        for k in [0.5, 1.0, 2.0, 3.7] {
            let abs_moment = integrate_split(d, &|x| (x - loc).abs().powf(k), a, b);
            let signed_moment =
                integrate_split(d, &|x| (x - loc).signum() * (x - loc).abs().powf(k), a, b);
            let magnitude = scale.powf(k) * 1e-300;
            assert_close(d.abs_moment_between(k, a, b), abs_moment, 1e-10, magnitude);
            assert_close(
                d.signed_moment_between(k, a, b),
                signed_moment,
                1e-10,
                1e-12 * abs_moment + magnitude,
            );
        }
        for k in 0..=2u32 {
            let raw = integrate_split(d, &|x| x.powi(k as i32), a, b);
            let typical = (loc.abs() + 30.0 * scale).powi(k as i32) * mass;
            assert_close(d.raw_moment_between(k, a, b), raw, 1e-10, 1e-13 * typical);
        }
    }

    // whole-line moments against the closed forms
    let variance = d.variance();
    assert_close(
        d.abs_moment_between(0.0, f64::NEG_INFINITY, f64::INFINITY),
        1.0,
        1e-14,
        0.0,
    );
    assert_close(
        d.abs_moment_between(2.0, f64::NEG_INFINITY, f64::INFINITY),
        variance,
        1e-13,
        0.0,
    );
    assert_close(
        d.signed_moment_between(1.0, f64::NEG_INFINITY, f64::INFINITY),
        0.0,
        0.0,
        0.0,
    );
    let fourth = d.abs_moment_between(4.0, f64::NEG_INFINITY, f64::INFINITY);
    assert_close(
        fourth / (variance * variance) - 3.0,
        d.excess_kurtosis(),
        1e-12,
        1e-12,
    );

    // entropy against quadrature of −f ln f (split at loc; tails beyond 60 scales are negligible)
    let entropy_integrand = |x: f64| -d.ln_pdf(x);
    let lower = d.quantile(1e-300).max(loc - 1e6 * scale);
    let entropy = integrate_split(d, &entropy_integrand, lower, 2.0 * loc - lower);
    assert_close(d.entropy(), entropy, 1e-10, 1e-12);

    // sampling: mean, variance and three quantile frequencies of 10^5 draws
    let n = 100_000;
    let mut rng = Pcg64::seed_from_u64(seed);
    let draws = d.sample(&mut rng, n);
    assert_eq!(draws.len(), n);
    let mean = draws.iter().sum::<f64>() / n as f64;
    let sample_variance = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let kurtosis = d.excess_kurtosis();
    assert!(
        (mean - loc).abs() <= 5.0 * standard_error(variance, n),
        "{label}: sample mean {mean} vs {loc}"
    );
    let variance_se = variance * ((kurtosis + 2.0) / n as f64).sqrt();
    assert!(
        (sample_variance - variance).abs() <= 5.0 * variance_se,
        "{label}: sample variance {sample_variance} vs {variance}"
    );
    for p in [0.1, 0.5, 0.9] {
        let q = d.quantile(p);
        let frequency = draws.iter().filter(|&&x| x <= q).count() as f64 / n as f64;
        assert!(
            (frequency - p).abs() <= 5.0 * (p * (1.0 - p) / n as f64).sqrt(),
            "{label}: frequency below quantile({p}) is {frequency}"
        );
    }
}

const SHAPES: [f64; 6] = [0.3, 0.5, 1.0, 1.5, 2.0, 4.0];
const SCALES: [f64; 3] = [1e-6, 1.0, 1e3];

#[test]
fn gennorm_passes_the_checker_over_the_grid() {
    for (i, &beta) in SHAPES.iter().enumerate() {
        for &scale in &SCALES {
            check_continuous_distribution(&GenNorm::new(beta, 0.0, scale).unwrap(), i as u64);
        }
    }
    check_continuous_distribution(&GenNorm::new(0.7, -2.5, 3.0).unwrap(), 99);
}

#[test]
fn dweibull_passes_the_checker_over_the_grid() {
    for (i, &c) in SHAPES.iter().enumerate() {
        for &scale in &SCALES {
            check_continuous_distribution(&DWeibull::new(c, 0.0, scale).unwrap(), i as u64);
        }
    }
    check_continuous_distribution(&DWeibull::new(1.3, 4.0, 0.5).unwrap(), 98);
}

#[test]
fn laplace_and_normal_pass_the_checker() {
    for (i, &scale) in SCALES.iter().enumerate() {
        check_continuous_distribution(&Laplace::new(0.0, scale).unwrap(), i as u64);
        check_continuous_distribution(&Normal::new(0.0, scale).unwrap(), i as u64);
    }
    check_continuous_distribution(&Laplace::new(-7.0, 2.0).unwrap(), 7);
    check_continuous_distribution(&Normal::new(3.0, 0.25).unwrap(), 8);
}

fn check_against_reference(kind: FamilyKind, references: &[FamilyRef]) {
    for reference in references {
        let (shape, loc, scale) = reference.params;
        let mut params = vec![("loc", loc), ("scale", scale)];
        if let Some(&shape_name) = kind.param_names().first().filter(|_| !shape.is_nan()) {
            params.push((shape_name, shape));
        }
        let d = Model::from_params(kind, &params).unwrap();
        for &(x, pdf, ln_pdf, cdf, sf) in reference.points {
            assert_close(d.pdf(x), pdf, 1e-13, 0.0);
            assert_close(d.ln_pdf(x), ln_pdf, 1e-13, 0.0);
            assert_close(d.cdf(x), cdf, 1e-13, 0.0);
            assert_close(d.sf(x), sf, 1e-13, 0.0);
        }
        for &(p, x) in reference.quantiles {
            assert_close(d.quantile(p) - loc, x - loc, 1e-12, 1e-15 * scale);
        }
        assert_close(d.entropy(), reference.entropy, 1e-13, 1e-14);
        assert_close(d.variance(), reference.variance, 1e-13, 0.0);
        assert_close(d.excess_kurtosis(), reference.excess_kurtosis, 1e-13, 1e-14);
    }
}

#[test]
fn gennorm_matches_scipy() {
    check_against_reference(FamilyKind::GenNorm, GENNORM);
}

#[test]
fn dweibull_matches_scipy() {
    check_against_reference(FamilyKind::DWeibull, DWEIBULL);
}

#[test]
fn laplace_matches_scipy() {
    check_against_reference(FamilyKind::Laplace, LAPLACE);
}

#[test]
fn normal_matches_scipy() {
    check_against_reference(FamilyKind::Normal, NORMAL);
}

#[test]
fn gennorm_ln_pdf_is_finite_far_in_the_tail() {
    // ln f(1e6) = ln(β/(2Γ(1/β))) − (1e6)^β, closed form
    let d = GenNorm::new(1.5, 0.0, 1.0).unwrap();
    let expected = (1.5f64 / (2.0 * super::special::gamma(1.0 / 1.5))).ln() - 1e9;
    assert_close(d.ln_pdf(1e6), expected, 1e-15, 0.0);
    assert_close(d.pdf(1e6), 0.0, 0.0, 0.0);
}

#[test]
fn dweibull_below_one_is_unbounded_at_loc() {
    let d = DWeibull::new(0.5, 1.0, 2.0).unwrap();
    assert_close(d.pdf(1.0), f64::INFINITY, 0.0, 0.0);
    let d = DWeibull::new(2.0, 1.0, 2.0).unwrap();
    assert_close(d.pdf(1.0), 0.0, 0.0, 0.0);
}

/// Every observable of `a` equals that of `b`.
fn assert_same_distribution(a: &dyn ContinuousDist, b: &dyn ContinuousDist) {
    let scale = a.scale().max(b.scale());
    for z in [-40.0, -7.0, -1.0, -0.1, 0.05, 0.8, 3.0, 12.0] {
        let x = a.loc() + z * scale;
        assert_close(a.pdf(x), b.pdf(x), 1e-13, 0.0);
        assert_close(a.ln_pdf(x), b.ln_pdf(x), 1e-13, 1e-13);
        assert_close(a.cdf(x), b.cdf(x), 1e-13, 0.0);
        assert_close(a.sf(x), b.sf(x), 1e-13, 0.0);
        for k in [0.0, 1.0, 2.5] {
            let y = x + scale;
            assert_close(
                a.abs_moment_between(k, x, y),
                b.abs_moment_between(k, x, y),
                1e-12,
                0.0,
            );
        }
    }
    for p in [1e-200, 1e-8, 0.2, 0.5, 0.7, 1.0 - 1e-9] {
        assert_close(a.quantile(p), b.quantile(p), 1e-13, 1e-15 * scale);
    }
    assert_close(a.variance(), b.variance(), 1e-13, 0.0);
    assert_close(a.excess_kurtosis(), b.excess_kurtosis(), 1e-13, 1e-13);
    assert_close(a.entropy(), b.entropy(), 1e-13, 1e-13);
}

#[test]
fn gennorm_two_is_normal_with_scale_root_two_sigma() {
    let sigma = 0.7;
    assert_same_distribution(
        &GenNorm::new(2.0, 1.5, std::f64::consts::SQRT_2 * sigma).unwrap(),
        &Normal::new(1.5, sigma).unwrap(),
    );
}

#[test]
fn gennorm_one_and_dweibull_one_are_laplace() {
    let laplace = Laplace::new(-0.5, 3.0).unwrap();
    assert_same_distribution(&GenNorm::new(1.0, -0.5, 3.0).unwrap(), &laplace);
    assert_same_distribution(&DWeibull::new(1.0, -0.5, 3.0).unwrap(), &laplace);
}

#[test]
fn parameters_out_of_domain_are_errors_naming_the_parameter() {
    let cases: [(Result<(), ParamError>, &str); 7] = [
        (GenNorm::new(0.0, 0.0, 1.0).map(drop), "beta"),
        (GenNorm::new(1.0, f64::NAN, 1.0).map(drop), "loc"),
        (GenNorm::new(1.0, 0.0, -1.0).map(drop), "scale"),
        (DWeibull::new(f64::INFINITY, 0.0, 1.0).map(drop), "c"),
        (Laplace::new(0.0, 0.0).map(drop), "scale"),
        (Normal::new(f64::INFINITY, 1.0).map(drop), "loc"),
        (GenNorm::new(1e-310, 0.0, 1.0).map(drop), "beta"),
    ];
    for (result, name) in cases {
        let message = result.expect_err(name).to_string();
        assert!(message.contains(name), "{message}");
    }
}

#[test]
fn moments_between_handle_reversed_and_nan_bounds() {
    let d = GenNorm::new(0.8, 0.0, 1.0).unwrap();
    assert_close(
        d.abs_moment_between(1.0, 2.0, -1.0),
        -d.abs_moment_between(1.0, -1.0, 2.0),
        1e-15,
        0.0,
    );
    assert!(d.abs_moment_between(1.0, f64::NAN, 1.0).is_nan());
    assert!(d.cdf(f64::NAN).is_nan());
}

/// `(distribution, k, a, b) ↦ moment over [a, b]`.
type MomentBetween = fn(&Model, f64, f64, f64) -> f64;

fn any_family() -> impl Strategy<Value = Model> {
    let loc = -5.0f64..5.0;
    let scale = (-4.0f64..4.0).prop_map(|e| 10f64.powf(e));
    (0usize..4, 0.25f64..5.0, loc, scale).prop_map(|(which, shape, loc, scale)| {
        let kind = FamilyKind::ALL[which];
        let mut params = vec![("loc", loc), ("scale", scale)];
        if let Some(&name) = kind.param_names().first().filter(|n| **n != "loc") {
            params.push((name, shape));
        }
        Model::from_params(kind, &params).unwrap()
    })
}

proptest! {
    #[test]
    fn cdf_is_monotone(d in any_family(), z1 in -50.0f64..50.0, dz in 0.0f64..10.0) {
        let x1 = d.loc() + z1 * d.scale();
        let x2 = x1 + dz * d.scale();
        prop_assert!(d.cdf(x1) <= d.cdf(x2));
        prop_assert!(d.sf(x1) >= d.sf(x2));
    }

    #[test]
    fn quantile_inverts_cdf(d in any_family(), ln_p in -600.0f64..-0.7) {
        // up to the rounding of x itself: an ulp of x moves the cdf by pdf · ulp
        let p = ln_p.exp();
        let x = d.quantile(p);
        let rounding = 2.0 * d.pdf(x) * x.abs() * f64::EPSILON;
        prop_assert!((d.cdf(x) - p).abs() <= 1e-12 * p + rounding);
        let p_upper = 1.0 - (1.0 - p); // the tail probability actually asked for
        if p_upper > 0.0 {
            let x = d.quantile(1.0 - p);
            let rounding = 2.0 * d.pdf(x) * x.abs() * f64::EPSILON;
            prop_assert!((d.sf(x) - p_upper).abs() <= 1e-12 * p_upper + rounding);
        }
    }

    #[test]
    fn partial_moments_add_over_adjacent_intervals(
        d in any_family(),
        z in prop::array::uniform3(-8.0f64..8.0),
        k in 0.0f64..4.0,
    ) {
        let mut z = z;
        z.sort_by(f64::total_cmp);
        let [a, b, c] = z.map(|z| d.loc() + z * d.scale());
        let moments: [MomentBetween; 2] = [
            |d, k, a, b| d.abs_moment_between(k, a, b),
            |d, k, a, b| d.signed_moment_between(k, a, b),
        ];
        for moment in moments {
            let whole = moment(&d, k, a, c);
            let parts = moment(&d, k, a, b) + moment(&d, k, b, c);
            let size = d.abs_moment_between(k, a, c);
            prop_assert!((whole - parts).abs() <= 1e-13 * size + 1e-300);
        }
    }
}

#[test]
fn gennorm_with_a_huge_shape_samples_its_near_uniform_law() {
    // β > 100: Gamma(1/β) draws underflow to 0; the radii must not (scipy's
    // `gennorm(1e6).rvs` returns zeros here). At β = 1e6 the law is within
    // 1e-5 of Uniform(−1, 1), far below the KS resolution of 2·10^4 draws.
    let mut rng = Pcg64::seed_from_u64(3);
    let d = GenNorm::new(1e6, 0.0, 1.0).unwrap();
    let mut draws = d.sample(&mut rng, 20_000);
    assert!(draws.iter().all(|x| x.is_finite() && x.abs() <= 1.0 + 1e-4));
    draws.sort_by(f64::total_cmp);
    let uniform = |x: f64| ((x + 1.0) / 2.0).clamp(0.0, 1.0);
    let ks = crate::stats::ks_one_sample(&draws, uniform).unwrap();
    assert!(ks.p_value > 1e-3, "KS {} p {}", ks.statistic, ks.p_value);
}

proptest! {
    /// The shared-bound cell moments are exactly the per-cell partial
    /// moments, for cells on either side of loc, straddling it, and
    /// reaching ±∞.
    #[test]
    fn cell_moments_are_the_partial_moments(
        d in any_family(),
        mut z in proptest::collection::vec(-30.0f64..30.0, 1..12),
    ) {
        z.sort_by(f64::total_cmp);
        let mut bounds = vec![f64::NEG_INFINITY];
        bounds.extend(z.iter().map(|z| d.loc() + z * d.scale()));
        bounds.push(f64::INFINITY);
        let cells = d.cell_moments(&bounds);
        prop_assert_eq!(cells.len(), bounds.len() - 1);
        for (cell, m) in bounds.windows(2).zip(&cells) {
            let expected = [
                d.abs_moment_between(0.0, cell[0], cell[1]),
                d.signed_moment_between(1.0, cell[0], cell[1]),
                d.abs_moment_between(2.0, cell[0], cell[1]),
            ];
            for (got, want) in m.iter().zip(expected) {
                prop_assert_eq!(got.to_bits(), want.to_bits(), "{:?} {:?}: {} vs {}", d, cell, got, want);
            }
        }
    }
}

proptest! {
    /// The warm-started quantiles of an increasing grid (as W1/W2 use)
    /// agree with the one-at-a-time quantile to the solver's tolerance, also
    /// across the median and at 0 and 1.
    #[test]
    fn quantiles_of_a_grid_match_quantile(d in any_family(), n in 2usize..400) {
        let ps: Vec<f64> = (0..=n).map(|i| i as f64 / n as f64).collect();
        let grid = d.quantiles(&ps);
        for (&p, &x) in ps.iter().zip(&grid) {
            let single = d.quantile(p);
            if single.is_infinite() {
                prop_assert_eq!(x, single);
            } else {
                // the solver's tolerance in the radius, plus the rounding
                // of loc ± scale · radius
                let tolerance = 1e-14 * (single - d.loc()).abs()
                    + 1e-15 * d.scale()
                    + 2.0 * f64::EPSILON * single.abs();
                prop_assert!((x - single).abs() <= tolerance, "{:?} p = {}: {} vs {}", d, p, x, single);
            }
        }
    }
}
