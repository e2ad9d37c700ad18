//! Numerical stress and invariants of quantizer design and the
//! rate-distortion limit on every family, heavy tails included:
//!
//! * property tests (proptest): for random families, shapes 0.2 … 5,
//!   scales 1e-9 … 1e3, weights M ∈ [0, 3] and 1 … 6 bits, the M-weighted
//!   Lloyd-Max design has strictly increasing thresholds with each center
//!   inside its own cell, encodes each center to its own index, and has a
//!   finite distortion no larger than reproducing every value by 0 (the
//!   rate-0 point of these symmetric sources, `E|X|^(M+2)`);
//! * cdf and pdf agree on short intervals over the same ranges;
//! * Blahut–Arimoto on the heaviest tails (gennorm β = 0.2, dweibull
//!   c = 0.3) with M = 0, 1, 2 gives finite, strictly monotone curves.

use gradrd_core::dist::{ContinuousDist, FamilyKind, Model};
use gradrd_core::quant::lloyd::design_for_density;
use gradrd_core::quant::rd::{rate_distortion_curve, RdOptions};
use gradrd_core::quant::{DesignSpec, LloydOptions};
use proptest::prelude::*;

fn family(which: usize, shape: f64, scale: f64) -> Model {
    let kind = FamilyKind::ALL[which];
    let mut params = vec![("loc", 0.0), ("scale", scale)];
    if let Some(&name) = kind.param_names().first().filter(|n| **n != "loc") {
        params.push((name, shape));
    }
    Model::from_params(kind, &params).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn lloyd_max_designs_are_ordered_cells_with_their_centers_inside(
        which in 0usize..4,
        shape in 0.2f64..5.0,
        log_scale in -9.0f64..3.0,
        m in prop_oneof![Just(0.0), Just(1.0), Just(2.0), 0.0f64..3.0],
        bits in 1u32..7,
    ) {
        let source = family(which, shape, 10f64.powf(log_scale));
        let spec = DesignSpec::from_bits(bits, m, false).unwrap();
        let design = design_for_density(&source, &spec, &LloydOptions::default());
        let design = match design {
            Ok(d) => d,
            Err(e) => return Err(TestCaseError::fail(format!("{source:?} M={m} b={bits}: {e}"))),
        };
        let t = design.codebook.thresholds();
        let c = design.codebook.centers();
        prop_assert_eq!(c.len(), 1usize << bits);
        prop_assert!(t.windows(2).all(|w| w[0] < w[1]), "thresholds {:?}", t);
        for (i, &center) in c.iter().enumerate() {
            let above = i == 0 || t[i - 1] < center;
            let below = i == t.len() || center <= t[i];
            prop_assert!(above && below, "center {} = {} outside its cell of {:?}", i, center, t);
            let decoded = design.codebook.decode(i).unwrap();
            prop_assert_eq!(design.codebook.encode(decoded), i);
        }
        prop_assert!(design.distortion.is_finite() && design.distortion >= 0.0);
        // The symmetric source's rate-0 point: reproduce everything by 0.
        let rate_zero = source.abs_moment_between(m + 2.0, f64::NEG_INFINITY, f64::INFINITY);
        prop_assert!(
            design.distortion <= rate_zero * (1.0 + 1e-9),
            "{} levels: {} > E|X|^(M+2) = {}", c.len(), design.distortion, rate_zero
        );
    }

    /// cdf and pdf agree: the cdf's increment over a short interval is the
    /// pdf's Simpson integral over it.
    #[test]
    fn the_cdf_increment_is_the_integral_of_the_pdf(
        which in 0usize..4,
        shape in 0.2f64..5.0,
        log_scale in -9.0f64..3.0,
        z in 0.05f64..5.0,
        negative in any::<bool>(),
    ) {
        let scale = 10f64.powf(log_scale);
        let d = family(which, shape, scale);
        let a = if negative { -z * scale } else { z * scale };
        let h = 1e-5 * scale;
        let b = a + h;
        let simpson = h / 6.0 * (d.pdf(a) + 4.0 * d.pdf(0.5 * (a + b)) + d.pdf(b));
        let increment = if a > 0.0 { d.sf(a) - d.sf(b) } else { d.cdf(b) - d.cdf(a) };
        // Simpson's relative error is about (h·|ln f|')⁴/2880 ≤ 4e-10 here
        // (|ln f|' ≤ 5·5⁴ per scale at β = 5, z = 5); the cdf difference
        // loses ~1e-16 of the tail mass it is taken from.
        let tol = 1e-8 * increment.abs() + 1e-15 * d.sf(a.abs()) + 1e-300;
        prop_assert!((increment - simpson).abs() <= tol,
            "{d:?} [{a}, {b}]: cdf {increment:e} vs ∫pdf {simpson:e}");
    }
}

#[test]
fn blahut_arimoto_stays_finite_on_the_heaviest_tails() {
    let options = RdOptions {
        cells: 256,
        points: 8,
        ..RdOptions::default()
    };
    for source in [family(0, 0.2, 1e-4), family(1, 0.3, 1e-4)] {
        for m in [0.0, 1.0, 2.0] {
            let curve = rate_distortion_curve(&source, m, &options)
                .unwrap_or_else(|e| panic!("{source:?} M={m}: {e}"));
            assert!(curve.max_distortion.is_finite() && curve.max_distortion > 0.0);
            assert!(curve.points.len() >= 2, "{source:?} M={m}");
            for p in &curve.points {
                assert!(
                    p.rate.is_finite() && p.distortion.is_finite(),
                    "{source:?} M={m}: {p:?}"
                );
            }
            for w in curve.points.windows(2) {
                assert!(
                    w[1].distortion < w[0].distortion && w[1].rate > w[0].rate,
                    "{source:?} M={m}: {:?} then {:?}",
                    w[0],
                    w[1]
                );
            }
        }
    }
}
