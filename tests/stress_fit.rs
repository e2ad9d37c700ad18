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
//! At 20 values the asymptotics do not hold and the standard errors are not
//! checked: the gennorm MLE with a free location often sits at a data value
//! with a small β (20 gennorm(β = 2) values: β̂ = 0.31, log-likelihood 396.26
//! against 392.19 at the truth and 396.16 for scipy's fit), 4–20 of its own
//! "standard errors" away.

use gradrd::dist::{ContinuousDist, FamilyKind, Model};
use gradrd::fit::{fit, FitOptions, LocMode};
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
    let asymptotic = n >= 1_000;
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
            Some(se) if asymptotic && (estimate - truth).abs() > 4.0 * se => problems.push(format!(
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
