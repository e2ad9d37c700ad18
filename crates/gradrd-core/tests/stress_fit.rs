//! Numerical stress of the maximum-likelihood fits: samples drawn from each
//! family over shapes β, c ∈ [0.2, 5], scales 1e-9 … 1e3 and sizes 20 … 10^6
//! (fixed seeds), with a free and with a fixed location. Every fit must
//! succeed with finite numbers and a log-likelihood at least the true
//! parameters' (a maximum beats the truth) wherever the likelihood is bounded
//! (not dweibull with c < 1 and a free location, whose likelihood has a pole
//! at every value). From 1 000 values on, every parameter with a standard
//! error must land within 4 of them of the truth — for an asymptotically
//! normal MLE that fails with probability ≈ 6e-5 per parameter, so across
//! the grid a failure means a bias or a standard error that is too small,
//! not bad luck.
//!
//! The standard-error check also runs at 20 values for dweibull, laplace and
//! normal, and passes there. It cannot hold for gennorm at 20 values, and is
//! not run: 8 of its 40 fits at n = 20 land 4.3–21.6 of their own "standard
//! errors" from the truth. These are the maximum-likelihood estimates (scipy
//! finds the same) and the observed-information standard errors are right
//! (a numerical Hessian agrees). The Wald approximation itself fails: the
//! likelihood of 20 values is far from quadratic in (β, α), and with a free
//! location the maximum often sits at a data value with a small β. 20
//! gennorm(β = 2) values give β̂ = 0.31 at 396.26 nats, against 392.19 at
//! the truth and 396.16 for scipy's fit. With β = 1 and the location fixed,
//! β̂ = 15.9 ± 31.2 and α̂ = 2.03e-3 ± 1.7e-4 for α = 1e-3.
//! [`gennorm_at_20_values_is_the_mle_with_correct_standard_errors`] pins that
//! case to scipy.

use gradrd_core::dist::{ContinuousDist, FamilyKind, Model};
use gradrd_core::fit::{fit, FitOptions, LocMode};
use rand::SeedableRng;

const SHAPES: [f64; 5] = [0.2, 0.5, 1.0, 2.0, 5.0];
const SCALES: [f64; 4] = [1e-9, 1e-3, 1.0, 1e3];
const SIZES: [usize; 3] = [20, 1_000, 100_000];

/// A location off zero, in units of the scale, so the free location is
/// exercised at every magnitude.
fn model(kind: FamilyKind, shape: f64, scale: f64) -> Model {
    model_at(kind, shape, scale, 0.3 * scale)
}

fn model_at(kind: FamilyKind, shape: f64, scale: f64, loc: f64) -> Model {
    let params: Vec<(&str, f64)> = match kind {
        FamilyKind::GenNorm => vec![("beta", shape), ("loc", loc), ("scale", scale)],
        FamilyKind::DWeibull => vec![("c", shape), ("loc", loc), ("scale", scale)],
        FamilyKind::Laplace | FamilyKind::Normal => vec![("loc", loc), ("scale", scale)],
    };
    Model::from_params(kind, &params).unwrap()
}

/// Fits `truth`'s family to `n` of its samples; returns a description of
/// every violated check.
fn check(kind: FamilyKind, truth: &Model, n: usize, seed: u64, loc: LocMode) -> Vec<String> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    let sample = truth.sample(&mut rng, n);
    let case = format!("{} {:?} n={n} {loc:?}", kind.name(), truth.params());
    let options = FitOptions {
        loc,
        ..FitOptions::default()
    };
    let fitted = match fit(kind, &sample, &options) {
        Ok(f) => f,
        Err(e) => return vec![format!("{case}: fit failed: {e}")],
    };
    let mut problems = Vec::new();
    let standard_errors_checked = n >= 1_000 || kind != FamilyKind::GenNorm;
    let c_below_1 = fitted.model.params()[0].1 < 1.0;
    let bounded = !(kind == FamilyKind::DWeibull && loc == LocMode::Free && c_below_1);
    let at_truth: f64 = sample.iter().map(|&x| truth.ln_pdf(x)).sum();
    if !fitted.loglik.is_finite() {
        problems.push(format!("{case}: loglik {}", fitted.loglik));
    } else if bounded && fitted.loglik < at_truth - 1e-9 * at_truth.abs() {
        problems.push(format!(
            "{case}: loglik {} is below the truth's {at_truth}",
            fitted.loglik
        ));
    }
    let estimates = fitted.model.params();
    for ((name, truth), ((_, estimate), (_, se))) in truth
        .params()
        .into_iter()
        .zip(estimates.iter().zip(&fitted.std_errors))
    {
        if !estimate.is_finite() {
            problems.push(format!("{case}: {name} = {estimate}"));
            continue;
        }
        match se {
            Some(se) if !(se.is_finite() && *se > 0.0) => {
                problems.push(format!("{case}: se({name}) = {se}"));
            }
            Some(se) if standard_errors_checked && (estimate - truth).abs() > 4.0 * se => problems.push(format!(
                "{case}: {name} = {estimate:.6e} is {:.1} standard errors ({se:.3e}) from {truth:e}",
                (estimate - truth).abs() / se
            )),
            _ => {}
        }
    }
    problems
}

fn stress(kind: FamilyKind, shapes: &[f64]) {
    let mut problems = Vec::new();
    let mut seed = 1;
    for &shape in shapes {
        for &scale in &SCALES {
            for &n in &SIZES {
                seed += 1;
                let truth = model(kind, shape, scale);
                problems.extend(check(kind, &truth, n, seed, LocMode::Free));
                let centred = model_at(kind, shape, scale, 0.0);
                problems.extend(check(kind, &centred, n, seed, LocMode::Fixed(0.0)));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn gennorm_fits_recover_their_parameters() {
    stress(FamilyKind::GenNorm, &SHAPES);
}

#[test]
fn dweibull_fits_recover_their_parameters() {
    stress(FamilyKind::DWeibull, &SHAPES);
}

#[test]
fn laplace_fits_recover_their_parameters() {
    stress(FamilyKind::Laplace, &[1.0]);
}

#[test]
fn normal_fits_recover_their_parameters() {
    stress(FamilyKind::Normal, &[2.0]);
}

/// The largest size, once per family, at gradient-like magnitudes.
#[test]
fn a_million_values_at_gradient_scale() {
    let mut problems = Vec::new();
    for (kind, shape) in [
        (FamilyKind::GenNorm, 0.6),
        (FamilyKind::DWeibull, 0.8),
        (FamilyKind::Laplace, 1.0),
        (FamilyKind::Normal, 2.0),
    ] {
        let truth = model(kind, shape, 3e-6);
        problems.extend(check(kind, &truth, 1_000_000, 99, LocMode::Free));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The gennorm case at 20 values that lands 5.9 "standard errors" from the
/// truth (see the module documentation) is the maximum-likelihood estimate,
/// and its standard errors are those of the observed information. The
/// sample is the stress grid's gennorm(β = 1, loc = 0, scale = 1e-3) draw at
/// n = 20, location fixed at 0.
#[test]
fn gennorm_at_20_values_is_the_mle_with_correct_standard_errors() {
    let sample = [
        -0.0004601852277756438,
        -0.0015103251362106622,
        -0.001622498496915332,
        0.0008655120584518367,
        -0.0007337295068784512,
        0.0004987154727360424,
        0.0010732838119458658,
        -0.0011431706887119009,
        0.0020353872482775717,
        -0.001345249565846207,
        -0.000672991564991586,
        -0.0017798710292933095,
        0.0005586726926349807,
        -0.0005325759119166946,
        1.0353460618304187e-5,
        -0.0017415586702802124,
        -0.00046217743785080984,
        -0.0004003213599860966,
        -0.0003622748746085458,
        -0.00017061599474993696,
    ];
    let options = FitOptions {
        loc: LocMode::Fixed(0.0),
        ..FitOptions::default()
    };
    let fitted = fit(FamilyKind::GenNorm, &sample, &options).unwrap();
    let params = fitted.model.params();
    let se = &fitted.std_errors;
    // scipy.stats.gennorm.fit(x, floc=0) -> (15.86376027479353, 0, 0.00203337897707403)
    assert!((params[0].1 - 15.86376027479353).abs() < 1e-4 * 15.86376027479353);
    assert!((params[2].1 - 0.00203337897707403).abs() < 1e-6 * 0.00203337897707403);
    // sum(scipy.stats.gennorm.logpdf(x, b, 0, a)) at that fit: 109.50172746230338
    assert!((fitted.loglik - 109.50172746230338).abs() < 1e-9);
    // sqrt(diag(inv(-H))) with H the central-difference Hessian of that sum in
    // (β, α), steps 1e-4·β and 1e-6·α: [31.1989013, 1.74194308e-4]
    let se_beta = se[0].1.expect("a standard error for beta");
    let se_scale = se[2].1.expect("a standard error for scale");
    assert!(
        (se_beta - 31.1989013).abs() < 1e-4 * 31.1989013,
        "{se_beta}"
    );
    assert!(
        (se_scale - 1.74194308e-4).abs() < 1e-4 * 1.74194308e-4,
        "{se_scale}"
    );
    // The truth (β = 1, α = 1e-3) is (2.03e-3 − 1e-3)/1.74e-4 = 5.9 of them away.
    assert!((params[2].1 - 1e-3) / se_scale > 5.0);
}
