use super::*;
use crate::dist::{GenNorm, Laplace, Normal};

#[test]
fn gaussian_matches_half_log_ratio() {
    // R(D) = ½ log2(σ²/D) for the Gaussian (references.md, Rate-distortion).
    let sigma = 2.0;
    let source = Normal::new(0.0, sigma).unwrap();
    let curve = rate_distortion_curve(&source, 0.0, &RdOptions::default()).unwrap();
    assert!(curve.points.len() > 10);
    assert!(curve.points.last().unwrap().rate > 3.0);
    for p in &curve.points {
        let exact = (0.5 * (sigma * sigma / p.distortion).log2()).max(0.0);
        assert!(
            (p.rate - exact).abs() < 0.005,
            "D {:e}: R {} vs {}",
            p.distortion,
            p.rate,
            exact
        );
    }
}

#[test]
fn laplace_curve_lies_above_the_shannon_lower_bound_and_is_monotone() {
    // Laplace(0, b): h = log2(2 e b) bits; the SLB is tight as D → 0 but the
    // true R(D) lies above it everywhere (references.md, Rate-distortion).
    let source = Laplace::new(0.0, 0.5).unwrap();
    let curve = rate_distortion_curve(&source, 0.0, &RdOptions::default()).unwrap();
    let mut previous = (f64::INFINITY, -1.0);
    for p in &curve.points {
        let slb = shannon_lower_bound(&source, 0.0, p.distortion).unwrap();
        assert!(
            p.rate >= slb - 1e-9,
            "D {:e}: R {} < SLB {}",
            p.distortion,
            p.rate,
            slb
        );
        assert!(p.distortion < previous.0 && p.rate > previous.1);
        previous = (p.distortion, p.rate);
    }
    // Closed form of the SLB for this source at D = 0.01: log2(2e·0.5) − ½log2(2πe·0.01).
    let expected = (std::f64::consts::E).log2()
        - 0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E * 0.01).log2();
    assert!((shannon_lower_bound(&source, 0.0, 0.01).unwrap() - expected).abs() < 1e-12);
    // At the small-distortion end the curve approaches the (tight) SLB.
    let last = curve.points.last().unwrap();
    let slb = shannon_lower_bound(&source, 0.0, last.distortion).unwrap();
    assert!(last.rate - slb < 0.05, "R {} vs SLB {}", last.rate, slb);
}

#[test]
fn weighted_heavy_tailed_source_gives_a_finite_decreasing_curve() {
    // GenNorm β = 0.5 with M = 2: heavy tails, distortion weighted by x².
    let source = GenNorm::new(0.5, 0.0, 1.0).unwrap();
    let curve = rate_distortion_curve(&source, 2.0, &RdOptions::default()).unwrap();
    assert!(curve.max_distortion.is_finite() && curve.max_distortion > 0.0);
    assert!(shannon_lower_bound(&source, 2.0, 0.1).is_none());
    for w in curve.points.windows(2) {
        assert!(w[1].distortion < w[0].distortion && w[1].rate > w[0].rate);
        assert!(w[1].rate.is_finite() && w[1].distortion > curve.distortion_floor);
    }
    // Scaling the source by 10 scales D by 10^(M+2) at the same rates.
    let scaled = GenNorm::new(0.5, 0.0, 10.0).unwrap();
    let big = rate_distortion_curve(&scaled, 2.0, &RdOptions::default()).unwrap();
    for (a, b) in curve.points.iter().zip(&big.points) {
        assert!((b.distortion / a.distortion / 1e4 - 1.0).abs() < 1e-9);
        assert!((a.rate - b.rate).abs() < 1e-9);
    }
}

#[test]
fn interpolation_and_gaps_are_consistent() {
    let source = Normal::new(0.0, 1.0).unwrap();
    let curve = rate_distortion_curve(&source, 0.0, &RdOptions::default()).unwrap();
    // Max (1960): 2-level quantizer of N(0,1), MSE 0.3634 at 1 bit;
    // R(0.3634) = ½ log2(1/0.3634) = 0.7302 bit, so the gap is ≈ 0.2698 bit,
    // and D(1) = 1/4 gives 10 log10(0.3634/0.25) = 1.624 dB.
    let gap = gap_bits(&curve, 1.0, 0.3634).unwrap();
    assert!((gap - 0.2698).abs() < 2e-3, "gap {gap}");
    let db = gap_db(&curve, 1.0, 0.3634).unwrap();
    assert!((db - 1.624).abs() < 0.01, "dB {db}");
    assert_eq!(rate_at(&curve, 2.0), Some(0.0));
    assert!(rate_at(&curve, 1e-9).is_none());
    assert!(distortion_at(&curve, 50.0).is_none());
    let d = distortion_at(&curve, 1.5).unwrap();
    assert!((rate_at(&curve, d).unwrap() - 1.5).abs() < 1e-9);
}

#[test]
fn small_discrete_problem_matches_numpy() {
    // scripts/ref_blahut_arimoto.py (numpy, full matrices, bracket < 1e-12 nats).
    let problem = DiscreteProblem::new(
        vec![0.1, 0.2, 0.4, 0.2, 0.1],
        vec![1.5, 1.0, 0.5, 1.0, 1.5],
        vec![-2.0, -0.8, 0.1, 0.9, 2.2],
        vec![0.05, 0.01, 0.0, 0.02, 0.04],
        vec![-2.0, -1.0, 0.0, 1.0, 2.0, 3.0],
    )
    .unwrap();
    let options = BaOptions {
        tolerance: 1e-12,
        max_iterations: 100_000,
    };
    for (slope, distortion, rate_bits) in [
        (0.5, 8.083139586240767e-01, 3.418893443569247e-01),
        (2.0, 2.279401760188403e-01, 1.09122002613725),
        (8.0, 3.976732412659346e-02, 2.023901752887171),
    ] {
        let solution = solve_slope(&problem, slope, None, options).unwrap();
        assert_eq!(solution.stop, TerminationReason::SolverConverged);
        assert!(
            (solution.distortion - distortion).abs() < 1e-9 * distortion,
            "s {slope}"
        );
        let rate = solution.rate_nats / std::f64::consts::LN_2;
        assert!(
            (rate - rate_bits).abs() < 1e-9,
            "s {slope}: {rate} vs {rate_bits}"
        );
    }
}

#[test]
fn over_relaxed_iterations_only_improve_and_close_the_bracket() {
    // GenNorm β = 0.5 on 64 cells at one slope: the Lagrangian R + sD of
    // the reported test channel after more iterations is never worse, and
    // a problem this small closes Blahut's bracket to 1e-5 nat.
    let source = GenNorm::new(0.5, 0.0, 1.0).unwrap();
    let problem = discretize::discretize(&source, 0.0, 64, 1e-12).unwrap();
    let slope = 2.0 / problem.max_distortion();
    let lagrangian = |iterations| {
        let options = BaOptions {
            tolerance: 1e-5,
            max_iterations: iterations,
        };
        let solution = solve_slope(&problem, slope, None, options).unwrap();
        (solution.rate_nats + slope * solution.distortion, solution)
    };
    let mut previous = f64::INFINITY;
    for iterations in [5, 20, 80, 320] {
        let (value, _) = lagrangian(iterations);
        assert!(
            value <= previous + 1e-12,
            "{iterations}: {value} > {previous}"
        );
        previous = value;
    }
    let (_, solution) = lagrangian(20_000);
    assert_eq!(
        solution.stop,
        TerminationReason::SolverConverged,
        "{solution:?}"
    );
    assert!(solution.bracket < 1e-5 && solution.iterations < 20_000);
}
