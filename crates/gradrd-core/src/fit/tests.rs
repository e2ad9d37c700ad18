//! Unit tests of the likelihood calculus: analytic profile derivatives and
//! information matrices against central finite differences of independently
//! written log-likelihoods (argmin-testfunctions style), and the expected
//! location information against quadrature.

use super::profile::{LogAbs, ShapeFamily};
use super::{dweibull, gennorm, laplace, normal};
use crate::dist::special::ln_gamma;
use crate::dist::{ContinuousDist, GenNorm};
use gradrd_testkit::assert_close;
use proptest::prelude::*;
use rand::SeedableRng;

fn sample(beta: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    match GenNorm::new(beta, 0.0, 1.0) {
        Ok(d) => d.sample(&mut rng, n),
        Err(e) => panic!("test distribution: {e}"),
    }
}

/// gennorm log-likelihood written term by term (independent of the module's
/// sums): `Σ ln(β/(2αΓ(1/β))) − (|x−μ|/α)^β`.
fn gennorm_loglik_direct(y: &[f64], beta: f64, mu: f64, alpha: f64) -> f64 {
    let c = beta.ln() - (2.0 * alpha).ln() - ln_gamma(1.0 / beta);
    y.iter()
        .map(|&v| c - ((v - mu).abs() / alpha).powf(beta))
        .sum()
}

/// dweibull log-likelihood term by term: `Σ ln(c/(2α)) + (c−1) ln|z| − |z|^c`.
fn dweibull_loglik_direct(y: &[f64], c: f64, mu: f64, alpha: f64) -> f64 {
    y.iter()
        .map(|&v| {
            let z = (v - mu).abs() / alpha;
            (c / (2.0 * alpha)).ln() + (c - 1.0) * z.ln() - z.powf(c)
        })
        .sum()
}

fn gennorm_profile(y: &[f64], mu: f64, beta: f64) -> f64 {
    let n = y.len() as f64;
    let alpha =
        (beta / n * y.iter().map(|&v| (v - mu).abs().powf(beta)).sum::<f64>()).powf(1.0 / beta);
    gennorm_loglik_direct(y, beta, mu, alpha) / n
}

fn dweibull_profile(y: &[f64], mu: f64, c: f64) -> f64 {
    let n = y.len() as f64;
    let alpha = (y.iter().map(|&v| (v - mu).abs().powf(c)).sum::<f64>() / n).powf(1.0 / c);
    dweibull_loglik_direct(y, c, mu, alpha) / n
}

/// Central difference of `f` at `x` with step `h`.
fn derivative(f: impl Fn(f64) -> f64, x: f64, h: f64) -> f64 {
    (f(x + h) - f(x - h)) / (2.0 * h)
}

/// Finite-difference Hessian of `f` at `p`, relative steps `1e-4`.
fn fd_hessian(f: &dyn Fn(&[f64]) -> f64, p: &[f64]) -> Vec<Vec<f64>> {
    let k = p.len();
    let steps: Vec<f64> = p.iter().map(|v| 1e-4 * v.abs().max(1.0)).collect();
    let at = |di: usize, si: f64, dj: usize, sj: f64| {
        let mut q = p.to_vec();
        q[di] += si;
        q[dj] += sj;
        f(&q)
    };
    let mut h = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..k {
            let (hi, hj) = (steps[i], steps[j]);
            h[i][j] = (at(i, hi, j, hj) - at(i, hi, j, -hj) - at(i, -hi, j, hj)
                + at(i, -hi, j, -hj))
                / (4.0 * hi * hj);
        }
    }
    h
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn gennorm_profile_derivatives_match_finite_differences(
        beta in 0.3f64..4.0, mu in -0.3f64..0.3, seed in 0u64..1000,
    ) {
        let y = sample(0.8, 300, seed);
        let logs = LogAbs::new(&y, mu);
        let (g, h) = gennorm::GenNormProfile::profile_derivatives(&logs, beta);
        let step = 1e-5 * beta;
        let g_fd = derivative(|b| gennorm_profile(&y, mu, b), beta, step);
        let h_fd = derivative(|b| gennorm::GenNormProfile::profile_derivatives(&logs, b).0, beta, step);
        assert_close(g, g_fd, 1e-5, 1e-7);
        assert_close(h, h_fd, 1e-5, 1e-7);
    }

    #[test]
    fn dweibull_profile_derivatives_match_finite_differences(
        c in 0.3f64..4.0, mu in -0.3f64..0.3, seed in 0u64..1000,
    ) {
        let y = sample(1.3, 300, seed);
        let logs = LogAbs::new(&y, mu);
        let (g, h) = dweibull::DWeibullProfile::profile_derivatives(&logs, c);
        let step = 1e-5 * c;
        let g_fd = derivative(|s| dweibull_profile(&y, mu, s), c, step);
        let h_fd = derivative(|s| dweibull::DWeibullProfile::profile_derivatives(&logs, s).0, c, step);
        assert_close(g, g_fd, 1e-5, 1e-7);
        assert_close(h, h_fd, 1e-5, 1e-7);
    }

    #[test]
    fn gennorm_observed_information_matches_finite_differences(
        beta in 3.0f64..5.0, mu in -0.2f64..0.2, alpha in 0.5f64..2.0, seed in 0u64..1000,
    ) {
        let y = sample(3.0, 200, seed);
        let info = gennorm::observed_information(&y, beta, mu, alpha);
        let f = |p: &[f64]| gennorm_loglik_direct(&y, p[0], p[1], p[2]);
        let h = fd_hessian(&f, &[beta, mu, alpha]);
        for i in 0..3 {
            for j in 0..3 {
                assert_close(info[i][j], -h[i][j], 1e-4, 1e-4 * (1.0 + h[i][i].abs()));
            }
        }
    }

    #[test]
    fn gennorm_shape_scale_information_matches_finite_differences_for_small_beta(
        beta in 0.3f64..2.0, alpha in 0.5f64..2.0, seed in 0u64..1000,
    ) {
        let y = sample(0.7, 200, seed);
        let mu = 0.01;
        let info = gennorm::observed_information(&y, beta, mu, alpha);
        let f = |p: &[f64]| gennorm_loglik_direct(&y, p[0], mu, p[1]);
        let h = fd_hessian(&f, &[beta, alpha]);
        let block = [[info[0][0], info[0][2]], [info[2][0], info[2][2]]];
        for i in 0..2 {
            for j in 0..2 {
                assert_close(block[i][j], -h[i][j], 1e-4, 1e-4 * (1.0 + h[i][i].abs()));
            }
        }
    }

    #[test]
    fn dweibull_observed_information_matches_finite_differences(
        c in 0.4f64..4.0, alpha in 0.5f64..2.0, seed in 0u64..1000,
    ) {
        let y = sample(1.0, 200, seed);
        let mu = 0.001;
        let info = dweibull::observed_information(&y, c, mu, alpha);
        let f = |p: &[f64]| dweibull_loglik_direct(&y, p[0], mu, p[1]);
        let h = fd_hessian(&f, &[c, alpha]);
        for i in 0..2 {
            for j in 0..2 {
                assert_close(info[i][j], -h[i][j], 1e-4, 1e-4 * (1.0 + h[i][i].abs()));
            }
        }
    }

    #[test]
    fn normal_and_laplace_information_match_finite_differences(
        mu in -0.5f64..0.5, scale in 0.5f64..2.0, seed in 0u64..1000,
    ) {
        let y = sample(2.0, 200, seed);
        let info = normal::observed_information(&y, mu, scale);
        let f = |p: &[f64]| normal::loglik(&y, p[0], p[1]);
        let h = fd_hessian(&f, &[mu, scale]);
        for i in 0..2 {
            for j in 0..2 {
                assert_close(info[i][j], -h[i][j], 1e-4, 1e-4 * (1.0 + h[i][i].abs()));
            }
        }
        let b_info = laplace::observed_scale_information(&y, mu, scale);
        let b_fd = derivative(|b| derivative(|bb| laplace::loglik(&y, mu, bb), b, 1e-4), scale, 1e-4);
        assert_close(b_info, -b_fd, 1e-4, 1e-4 * (1.0 + b_fd.abs()));
    }
}

#[test]
fn module_logliks_match_the_direct_sums() {
    let y = sample(0.9, 500, 7);
    assert_close(
        gennorm::loglik(&y, 0.9, 0.05, 1.3),
        gennorm_loglik_direct(&y, 0.9, 0.05, 1.3),
        1e-12,
        0.0,
    );
    assert_close(
        dweibull::loglik(&y, 0.9, 0.05, 1.3),
        dweibull_loglik_direct(&y, 0.9, 0.05, 1.3),
        1e-12,
        0.0,
    );
}

#[test]
fn profile_logliks_are_the_direct_sums_at_the_closed_form_scale() {
    let y = sample(0.7, 400, 11);
    let n = y.len() as f64;
    for (shape, mu) in [(0.4, 0.03), (1.0, -0.2), (2.5, 0.1)] {
        let logs = LogAbs::new(&y, mu);
        let alpha = gennorm::GenNormProfile::profile_scale(&logs, shape);
        assert_close(
            n * gennorm::GenNormProfile::profile_loglik(&y, mu, shape),
            gennorm_loglik_direct(&y, shape, mu, alpha),
            1e-12,
            0.0,
        );
        let alpha = dweibull::DWeibullProfile::profile_scale(&logs, shape);
        assert_close(
            n * dweibull::DWeibullProfile::profile_loglik(&y, mu, shape),
            dweibull_loglik_direct(&y, shape, mu, alpha),
            1e-12,
            0.0,
        );
    }
}

#[test]
fn expected_location_information_matches_quadrature() {
    // 2*integrate.quad(lambda z: (b*np.sign(z)*abs(z)**(b-1))**2*stats.gennorm.pdf(z,b),
    //                  0, np.inf, epsabs=1e-14, epsrel=1e-13)[0] with b = 1.5
    let gennorm_info = gennorm::expected_location_information(1.5, 1.0);
    assert_close(
        gennorm_info.unwrap_or(f64::NAN),
        1.4837731947350925,
        1e-12,
        0.0,
    );
    // 2*integrate.quad(lambda z: ((c-1)/z - c*z**(c-1))**2*stats.dweibull.pdf(z,c),
    //                  0, np.inf, epsabs=1e-14, epsrel=1e-13)[0] with c = 3
    let dweibull_info = dweibull::expected_location_information(3.0, 1.0);
    assert_close(
        dweibull_info.unwrap_or(f64::NAN),
        10.715754138830992,
        1e-10,
        0.0,
    );
    // Closed forms: laplace (β = 1) 1/α², normal (β = 2, α = √2 σ) 1/σ² = 2/α².
    assert_close(
        gennorm::expected_location_information(2.0, 2.0).unwrap_or(f64::NAN),
        0.5,
        1e-14,
        0.0,
    );
    assert!(gennorm::expected_location_information(0.5, 1.0).is_none());
    assert!(dweibull::expected_location_information(1.5, 1.0).is_none());
}

#[test]
fn a_standardized_sample_gives_the_same_fits_as_the_data() {
    use super::{fit, fit_standardized, FitOptions, LocMode, StandardizedSample};
    use crate::dist::FamilyKind;
    let data: Vec<f64> = sample(0.8, 3000, 21)
        .iter()
        .map(|v| 2e-5 * v + 1e-6)
        .collect();
    for loc in [LocMode::Free, LocMode::Fixed(0.0)] {
        let opts = FitOptions {
            loc,
            ..FitOptions::default()
        };
        let standardized = StandardizedSample::new(data.clone(), loc).unwrap();
        for kind in FamilyKind::ALL {
            let direct = fit(kind, &data, &opts).unwrap();
            let in_place = fit_standardized(kind, &standardized, &FitOptions::default()).unwrap();
            assert_eq!(direct, in_place, "{kind:?} {loc:?}");
            // The model in standardized coordinates is the law of (X − c)/s.
            let standard = standardized.standardize(&direct.model).unwrap();
            let mut sorted = data.clone();
            sorted.sort_by(f64::total_cmp);
            let (x, y) = (sorted[17], standardized.values()[17]);
            assert_close(standard.cdf(y), direct.model.cdf(x), 1e-12, 1e-15);
        }
    }
}

/// Also when more than half the values are tied, so that the median
/// absolute deviation is 0 and the spread is the mean absolute deviation, a
/// sum over the values.
#[test]
fn a_fit_does_not_depend_on_the_order_of_the_values() {
    use super::{fit, FitOptions};
    use crate::dist::FamilyKind;
    use rand::seq::SliceRandom;
    let data = sample(0.7, 5000, 4);
    let tied: Vec<f64> = data
        .iter()
        .enumerate()
        .map(|(i, &v)| if i % 5 < 3 { 0.25 } else { v })
        .collect();
    for data in [data, tied] {
        let mut shuffled = data.clone();
        shuffled.shuffle(&mut rand_pcg::Pcg64::seed_from_u64(9));
        let mut sorted = data.clone();
        sorted.sort_by(f64::total_cmp);
        for kind in FamilyKind::ALL {
            let reference = fit(kind, &data, &FitOptions::default()).unwrap();
            for other in [&shuffled, &sorted] {
                assert_eq!(
                    fit(kind, other, &FitOptions::default()).unwrap(),
                    reference,
                    "{kind:?}"
                );
            }
        }
    }
}

/// The gennorm profile log-likelihood in β at location `mu` has an interior
/// maximum below which, with `k` values at `mu`, it rises again without
/// bound once β < ≈ 2k/n (gennorm module doc): 1 value of 400 at `mu` leaves
/// the interior maximum inside the search bounds and the scan finds the
/// same maximum as a Newton solve from β = 1; 150 of 400 tied at `mu` leave
/// none.
#[test]
fn the_interior_maximum_is_found_unless_ties_swamp_it() {
    let mut y = sample(1.5, 400, 21);
    let mu = y[0];
    let logs = LogAbs::new(&y, mu);
    let newton = super::profile::newton_bracketed(
        |b| gennorm::GenNormProfile::profile_derivatives(&logs, b),
        1.0,
        1e-12,
        100,
    );
    let interior = gennorm::interior_maximum(&logs, mu, 1e-12, 100).expect("a maximum");
    assert_close(interior.shape, newton.value, 1e-9, 0.0);
    assert_eq!(interior.at_loc, 1);
    // With one tie the rise starts near β = 2/400, below the search bound.
    assert!(gennorm_profile(&y, mu, 0.02) < gennorm_profile(&y, mu, interior.shape));
    for v in y.iter_mut().take(150) {
        *v = mu;
    }
    let logs = LogAbs::new(&y, mu);
    assert!(gennorm::interior_maximum(&logs, mu, 1e-12, 100).is_none());
    assert!(gennorm_profile(&y, mu, 0.02) > gennorm_profile(&y, mu, 0.05));
}

/// A tensor of 10 values (`fc3.bias` of `data/digits-mlp/step_000250`): the
/// free-location search used to settle on a value and run β to its bound
/// (β = 0.02, scale 2.8e-90, W2 2.2e9). The fit is now a maximum in β at a
/// location off the values, and beats scipy's.
#[test]
fn a_tiny_tensor_gets_a_maximum_not_the_unbounded_slope() {
    use super::{fit, FitOptions};
    use crate::dist::FamilyKind;
    let x = [
        -0.0002985430764965713,
        0.0026047974824905396,
        0.012773978523910046,
        0.0226241797208786,
        0.0002757911861408502,
        -0.0102846659719944,
        -0.0014748771209269762,
        0.0017128621693700552,
        -0.031919438391923904,
        0.003985913936048746,
    ];
    let fitted = fit(FamilyKind::GenNorm, &x, &FitOptions::default()).unwrap();
    let params = fitted.model.params();
    let (beta, mu) = (params[0].1, params[1].1);
    assert!(beta > 0.1, "{beta}");
    assert!(!x.contains(&mu));
    for shape in [0.8 * beta, 1.25 * beta] {
        assert!(gennorm_profile(&x, mu, shape) * 10.0 <= fitted.loglik + 1e-9);
    }
    // s = x.std(); b, l, a = scipy.stats.gennorm.fit(x / s);
    // scipy.stats.gennorm.logpdf(x, b, l * s, a * s).sum() -> 31.24828773714662
    assert!(fitted.loglik >= 31.24828773714662, "{}", fitted.loglik);
}

/// Exact zeros kept at a fixed zero location: the likelihood only rises as
/// β falls. The fit is reported on the bound with a note that says it is no
/// maximum (before, the same numbers came with only "reached the search
/// bound").
#[test]
fn zeros_kept_at_a_fixed_location_are_reported_as_the_unbounded_slope() {
    use super::{fit, FitOptions, LocMode};
    use crate::dist::FamilyKind;
    let mut x = sample(0.8, 2000, 5);
    for v in x.iter_mut().take(600) {
        *v = 0.0;
    }
    let options = FitOptions {
        loc: LocMode::Fixed(0.0),
        ..FitOptions::default()
    };
    let fitted = fit(FamilyKind::GenNorm, &x, &options).unwrap();
    let note = fitted.note.as_deref().unwrap_or_default();
    assert!(
        note.contains("600 of 2000 values equal the fixed location"),
        "{note}"
    );
    assert!(note.contains("not a maximum"), "{note}");
    assert!(fitted.loglik.is_finite());
    assert_close(fitted.model.params()[0].1, 0.02, 1e-6, 0.0);
}

/// Below shape 1 a fit of more than 16 384 values keeps the location of its
/// largest subsample ([`super::profile::fit_shape_family`]): on all values,
/// no location on a grid of ±50 steps of 1e-5 (in units of the scale)
/// around it is more likely by more than 1e-9 nats per value at the fitted
/// β (a cusp at every value makes the profile rough on that scale).
#[test]
fn the_kept_subsample_location_is_as_likely_as_any_nearby_one() {
    use super::{fit, FitOptions};
    use crate::dist::{FamilyKind, Model};
    let data = sample(0.7, 1 << 17, 33);
    let fitted = fit(FamilyKind::GenNorm, &data, &FitOptions::default()).unwrap();
    let Model::GenNorm(model) = &fitted.model else {
        panic!("a gennorm fit")
    };
    let (beta, mu, alpha) = (model.beta(), model.loc(), model.scale());
    assert!(beta < 1.0, "beta {beta}");
    let at_fit = gennorm_profile(&data, mu, beta);
    let best_nearby = (-50..=50)
        .map(|k| gennorm_profile(&data, mu + f64::from(k) * 1e-5 * alpha, beta))
        .fold(f64::NEG_INFINITY, f64::max);
    let gain = best_nearby - at_fit;
    assert!(
        gain <= 1e-9,
        "a nearby location gains {gain:e} nats per value"
    );
}
