//! Maximum-likelihood fits against scipy.
//!
//! * Real recorded gradients (`tests/fixtures/scipy_fits.json`, written by
//!   the data branch's `scripts/ref_scipy_fits.py`): for every case gradrd's
//!   log-likelihood is at least scipy's `.fit` log-likelihood (scipy given
//!   the standardized values, its best case) minus 1e-6 relative.
//! * Real gradients of a small transformer and a ResNet in bfloat16, float16
//!   and float32 (`tests/fixtures/real/scipy_fits_real.json`, written by
//!   `scripts/ref_scipy_fits.py --real`): the same floor for every tensor and
//!   family, or a note whose claim is checked (see
//!   [`real_model_gradients_reach_scipys_loglik_or_say_why_not`]).
//! * Seeded synthetic float32 samples (`tests/fixtures/fit_synthetic.json`,
//!   written by `scripts/fit_reference.py`): the same floor with a free
//!   location, and the fixed-location MLE (`floc=0` with a tight optimizer)
//!   to 1e-6 in every parameter.
//! * Invariance to the data's scale, determinism, and errors on bad input.

mod common;

use common::{assert_close, fixture};
use gradrd_core::dist::{ContinuousDist, DWeibull, FamilyKind, GenNorm, Model};
use gradrd_core::fit::{fit, loglik_censored, Fit, FitError, FitOptions, LocMode, Rounding};
use proptest::prelude::*;
use rand::SeedableRng;
use serde_json::Value;

fn read_json(name: &str) -> Value {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON {}: {e}", path.display()))
}

fn number(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"))
}

fn family(name: &str) -> FamilyKind {
    name.parse().unwrap_or_else(|e| panic!("{e}"))
}

fn fitted(kind: FamilyKind, data: &[f64], loc: LocMode) -> Fit {
    let opts = FitOptions {
        loc,
        ..FitOptions::default()
    };
    fit(kind, data, &opts).unwrap_or_else(|e| panic!("{kind} fit failed: {e}"))
}

fn param(fit: &Fit, name: &str) -> f64 {
    fit.model
        .params()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no parameter {name}"))
}

/// Asserts `ours ≥ reference − 1e-6·|reference|` and returns the margin.
#[track_caller]
fn assert_floor(ours: f64, reference: f64, what: &str) -> f64 {
    assert!(ours.is_finite(), "{what}: loglik {ours}");
    assert!(
        ours >= reference - 1e-6 * reference.abs(),
        "{what}: gradrd loglik {ours} < scipy {reference} (diff {})",
        ours - reference
    );
    ours - reference
}

/// Whether a smaller β (scale profiled) at scipy's location is more likely
/// than scipy's own gennorm fit, i.e. scipy stopped on a rising slope.
fn on_the_unbounded_slope(case: &Value, values: &[f64]) -> bool {
    let beta = number(&case["params"]["beta"], "beta");
    let loc = number(&case["params"]["loc"], "loc");
    gennorm_profile(values, 0.8 * beta, loc) > gennorm_profile(values, beta, loc)
}

/// A gennorm fit is a maximum in β at its location (the profile is no
/// higher 20 % either side), or sits on the lower β bound with a note that
/// says it is not a maximum.
#[track_caller]
fn assert_gennorm_maximum_or_bound(fit: &Fit, values: &[f64], what: &str) {
    let (beta, loc) = (param(fit, "beta"), param(fit, "loc"));
    let note = fit.note.as_deref().unwrap_or_default();
    if note.contains("not a maximum") || note.contains("reached the search bound 0.02") {
        assert_close(beta, 0.02, 1e-6, 0.0);
        return;
    }
    let tolerance = 1e-9 * fit.loglik.abs();
    for shape in [0.8 * beta, 1.25 * beta] {
        assert!(
            gennorm_profile(values, shape, loc) <= fit.loglik + tolerance,
            "{what}: beta = {beta} is no maximum at loc {loc} ({note})"
        );
    }
}

/// The gennorm log-likelihood of `values` at shape `beta` and location
/// `loc` with the scale at its closed form `α^β = β · mean|x − loc|^β`.
fn gennorm_profile(values: &[f64], beta: f64, loc: f64) -> f64 {
    let mean_power = values
        .iter()
        .map(|x| (x - loc).abs().powf(beta))
        .sum::<f64>()
        / values.len() as f64;
    let scale = (beta * mean_power).powf(1.0 / beta);
    let model = Model::from_params(
        FamilyKind::GenNorm,
        &[("beta", beta), ("loc", loc), ("scale", scale)],
    )
    .unwrap();
    values.iter().map(|&x| model.ln_pdf(x)).sum()
}

/// The float32 values of `tensor` in a safetensors file, as f64.
fn read_tensor(file: &str, tensor: &str) -> Vec<f64> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let tensors = safetensors::SafeTensors::deserialize(&bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let view = tensors
        .tensor(tensor)
        .unwrap_or_else(|e| panic!("{file}:{tensor}: {e}"));
    assert_eq!(view.dtype(), safetensors::Dtype::F32, "{file}:{tensor}");
    view.data()
        .chunks_exact(4)
        .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        .collect()
}

#[test]
fn real_gradients_reach_scipys_loglik_for_every_case() {
    let doc = read_json("scipy_fits.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert!(!cases.is_empty());
    let mut worst = f64::INFINITY;
    let mut below = Vec::new();
    let mut on_the_slope = Vec::new();
    for case in cases {
        let file = case["file"].as_str().expect("file");
        let tensor = case["tensor"].as_str().expect("tensor");
        let family_name = case["family"].as_str().expect("family");
        let all = read_tensor(file, tensor);
        let (kind, values): (FamilyKind, Vec<f64>) = match family_name {
            "gennorm_with_zeros" => (FamilyKind::GenNorm, all),
            other => (
                family(other),
                all.into_iter().filter(|&v| v != 0.0).collect(),
            ),
        };
        let n = number(&case["n_fitted"], "n_fitted") as usize;
        assert_eq!(values.len(), n, "{file}:{tensor} {family_name}");
        let reference = number(&case["loglik"], "loglik");
        let outcome = fit(kind, &values, &FitOptions::default());
        let ours = outcome.unwrap_or_else(|e| panic!("{file}:{tensor} {family_name}: {e}"));
        assert!(
            ours.loglik.is_finite(),
            "{file}:{tensor} {family_name}: non-finite loglik"
        );
        if family_name == "dweibull" && number(&case["params"]["c"], "c") < 1.0 {
            // With c < 1 and a free location the likelihood is unbounded
            // (pdf(loc) = ∞): scipy's Nelder–Mead location ends within
            // 1e-17..1e-29 scale units of a data value (far below float32
            // resolution), where one term alone adds up to 47 nats. gradrd
            // applies its documented rule instead, so there is no floor to
            // meet here; the rule must be reported.
            let note = ours.note.as_deref().unwrap_or_default();
            assert!(
                note.contains("unbounded"),
                "{file}:{tensor}: no note on the unbounded likelihood"
            );
            continue;
        }
        if kind == FamilyKind::GenNorm {
            assert_gennorm_maximum_or_bound(&ours, &values, &format!("{file}:{tensor}"));
        }
        let margin = ours.loglik - reference;
        let below_floor = margin < -1e-6 * reference.abs();
        if below_floor && kind == FamilyKind::GenNorm && on_the_unbounded_slope(case, &values) {
            // Values tied at scipy's location (exact zeros kept, or tiny
            // values repeated in float32) make the likelihood grow without
            // bound as β → 0, and scipy's Nelder–Mead stopped on that slope:
            // a smaller β (scale profiled) at its own location is more
            // likely, so its value is no floor. gradrd reports a maximum in
            // β instead (checked above; gennorm module doc).
            on_the_slope.push(format!("{file}:{tensor} {family_name}"));
            continue;
        }
        if below_floor {
            below.push(format!(
                "{file}:{tensor} {family_name} n={n}: gradrd {} < scipy {reference} (diff {margin:e})",
                ours.loglik
            ));
        }
        worst = worst.min(margin / reference.abs());
    }
    eprintln!("worst relative margin over scipy: {worst:e}");
    eprintln!("below scipy on its unbounded slope: {on_the_slope:?}");
    assert!(
        below.is_empty(),
        "{} of {} cases below scipy:\n{}",
        below.len(),
        cases.len(),
        below.join("\n")
    );
}

/// The non-zero values of `tensor` in a fixture file of any dtype, as gradrd
/// reads them.
fn read_nonzeros(file: &str, tensor: &str) -> Vec<f64> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let dump = gradrd_io::dump::Dump::open(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let meta = dump
        .tensors()
        .iter()
        .find(|t| t.name == tensor)
        .unwrap_or_else(|| panic!("{file}: no tensor {tensor}"));
    let values = dump
        .read(meta)
        .unwrap_or_else(|e| panic!("{file}:{tensor}: {e}"));
    values.into_iter().filter(|&v| v != 0.0).collect()
}

/// Every (tensor, family) of the real-model fixtures reaches scipy's
/// log-likelihood minus 1e-6 relative, or carries a note whose claim holds:
///
/// * gennorm on its upper β bound (20-entry biases, nearly uniform: scipy's
///   β runs to 10^5..10^8, towards the uniform limit): scipy's β is beyond
///   the bound, and at scipy's location β = 50 is no more likely than
///   gradrd's fit (gradrd's is the maximum on the bound);
/// * dweibull with an unbounded likelihood: scipy's c < 1 and its location
///   within 1e-12 scale units of a data value (a pole of the density; scipy
///   ends within 1e-16..1e-23 of one), or scipy's log-likelihood is infinite
///   (its location is a value).
#[test]
fn real_model_gradients_reach_scipys_loglik_or_say_why_not() {
    let doc = read_json("real/scipy_fits_real.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 400);
    let (mut above, mut at_the_bound, mut at_a_pole) = (0, 0, 0);
    let mut unexplained = Vec::new();
    for case in cases {
        let file = case["file"].as_str().expect("file");
        let tensor = case["tensor"].as_str().expect("tensor");
        let kind = family(case["family"].as_str().expect("family"));
        let what = format!("{file}:{tensor} {kind}");
        let values = read_nonzeros(file, tensor);
        assert_eq!(
            values.len(),
            number(&case["n_fitted"], "n_fitted") as usize,
            "{what}"
        );
        let ours =
            fit(kind, &values, &FitOptions::default()).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(ours.loglik.is_finite(), "{what}: loglik {}", ours.loglik);
        let note = ours.note.as_deref().unwrap_or_default();
        let params = &case["params"];
        if case["loglik"].is_null() {
            // scipy's dweibull location is a data value with c < 1.
            assert_eq!(
                kind,
                FamilyKind::DWeibull,
                "{what}: scipy's loglik is infinite"
            );
            at_a_pole += 1;
            continue;
        }
        let reference = number(&case["loglik"], "loglik");
        if ours.loglik >= reference - 1e-6 * reference.abs() {
            above += 1;
            continue;
        }
        let explained = match kind {
            FamilyKind::GenNorm => {
                let (scipy_beta, scipy_loc) = (
                    number(&params["beta"], "beta"),
                    number(&params["loc"], "loc"),
                );
                let at_bound = note.contains("reached the search bound 50")
                    && scipy_beta > 50.0
                    && gennorm_profile(&values, param(&ours, "beta"), scipy_loc)
                        <= ours.loglik + 1e-9 * ours.loglik.abs();
                at_the_bound += usize::from(at_bound);
                at_bound
            }
            FamilyKind::DWeibull => {
                let (c, loc, scale) = (
                    number(&params["c"], "c"),
                    number(&params["loc"], "loc"),
                    number(&params["scale"], "scale"),
                );
                let nearest = values
                    .iter()
                    .map(|v| (v - loc).abs())
                    .fold(f64::INFINITY, f64::min);
                let pole =
                    note.contains("unbounded likelihood") && c < 1.0 && nearest < 1e-12 * scale;
                at_a_pole += usize::from(pole);
                pole
            }
            _ => false,
        };
        if !explained {
            unexplained.push(format!(
                "{what} n={}: gradrd {} < scipy {reference} (diff {:e}), note: {note:?}",
                values.len(),
                ours.loglik,
                ours.loglik - reference
            ));
        }
    }
    eprintln!(
        "{above} of {} at or above scipy; below with a note: {at_the_bound} gennorm on the beta \
         bound, {at_a_pole} dweibull with scipy at a pole",
        cases.len()
    );
    assert!(
        unexplained.is_empty(),
        "{} cases below scipy without a true note:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
}

/// gennorm with β ≈ 0.19 on the 6 477 non-zeros of `fc2.weight` at step 200
/// of the digits MLP (a step not in `scipy_fits.json`): the location sits in
/// the core of tiny values around 0, 39 distinct values from where a walk
/// over the two nearest values stopped (0.99 nats below scipy). scipy:
/// `x = nonzeros; s = np.std(x); b, l, sc = stats.gennorm.fit(x / s);
/// stats.gennorm.logpdf(x, b, l * s, sc * s).sum()` = 31661.0587625088
/// (β = 0.19492, scipy 1.17.1).
#[test]
fn gennorm_far_below_one_finds_the_best_value_in_the_core() {
    let values: Vec<f64> = read_tensor("data/digits-mlp/step_000200.safetensors", "fc2.weight")
        .into_iter()
        .filter(|&v| v != 0.0)
        .collect();
    assert_eq!(values.len(), 6477);
    let ours = fitted(FamilyKind::GenNorm, &values, LocMode::Free);
    assert_floor(ours.loglik, 31661.0587625088, "fc2.weight step 200");
    assert_gennorm_maximum_or_bound(&ours, &values, "fc2.weight step 200");
}

/// The interval-censored log-likelihood `Σ ln(F(u) − F(l))` over the
/// rounding cells of bfloat16 and float16 values, against scipy's cdf and sf
/// differences on cells found from the bit patterns
/// (`tests/fixtures/censored_loglik.json`, `scripts/ref_censored_loglik.py`),
/// for scipy's fitted parameters of every family on three tensors of each
/// format.
#[test]
fn censored_loglik_matches_scipys_cdf_differences() {
    let doc = read_json("censored_loglik.json");
    let cases = doc["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 24);
    for case in cases {
        let file = case["file"].as_str().expect("file");
        let tensor = case["tensor"].as_str().expect("tensor");
        let kind = family(case["family"].as_str().expect("family"));
        let rounding = match case["format"].as_str().expect("format") {
            "bf16" => Rounding::BFloat16,
            _ => Rounding::Float16,
        };
        let params: Vec<(&str, f64)> = case["params"]
            .as_object()
            .expect("params")
            .iter()
            .map(|(name, v)| (name.as_str(), number(v, name)))
            .collect();
        let model = Model::from_params(kind, &params).unwrap_or_else(|e| panic!("{e}"));
        let values = read_nonzeros(file, tensor);
        let ours = loglik_censored(&model, &values, rounding).expect("16-bit values");
        let expected = number(&case["loglik_censored"], "loglik_censored");
        assert_close(ours, expected, 1e-10, 0.0);
    }
}

/// `gradrd fit` reports `loglik_censored` for bfloat16 and float16 tensors
/// only.
#[test]
fn gradrd_fit_reports_the_censored_loglik_for_16_bit_tensors() {
    for (file, shown) in [("gpt_bf16", true), ("gpt_fp16", true), ("gpt_f32", false)] {
        let path = fixture(&format!("real/{file}.safetensors"));
        let out = assert_cmd::Command::cargo_bin("gradrd")
            .expect("the gradrd binary is built")
            .args([
                "fit",
                path.to_str().expect("path"),
                "--tensor",
                "^head\\.weight$",
            ])
            .args(["--no-gof", "--format", "json"])
            .output()
            .expect("gradrd runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        for fitted in report["results"][0]["fits"].as_array().expect("fits") {
            let censored = &fitted["loglik_censored"];
            assert_eq!(censored.is_f64(), shown, "{file}: {fitted}");
            if shown {
                // A sum of logs of probabilities (each at most 1).
                assert!(number(censored, "censored") < 0.0, "{file}: {fitted}");
            }
        }
    }
}

fn synthetic_cases() -> Vec<Value> {
    read_json("fit_synthetic.json")["cases"]
        .as_array()
        .expect("cases")
        .clone()
}

fn synthetic_values(case: &Value) -> Vec<f64> {
    case["values"]
        .as_array()
        .expect("values")
        .iter()
        // The values are float32; round the parsed decimal to float32 exactly.
        .map(|v| f64::from(number(v, "value") as f32))
        .collect()
}

#[test]
fn synthetic_free_location_fits_reach_scipys_loglik() {
    for case in synthetic_cases() {
        let name = case["name"].as_str().expect("name");
        let kind = family(case["family"].as_str().expect("family"));
        let ours = fitted(kind, &synthetic_values(&case), LocMode::Free);
        let reference = number(&case["scipy_free"]["loglik"], "loglik");
        assert_floor(ours.loglik, reference, name);
        assert!(ours.termination.converged(), "{name}: not converged");
    }
}

#[test]
fn synthetic_fixed_location_fits_match_the_tight_scipy_mle() {
    for case in synthetic_cases() {
        let name = case["name"].as_str().expect("name");
        let kind = family(case["family"].as_str().expect("family"));
        let ours = fitted(kind, &synthetic_values(&case), LocMode::Fixed(0.0));
        let reference = &case["tight_fixed"];
        for (pname, value) in reference["params"].as_object().expect("params") {
            let expected = number(value, pname);
            let actual = param(&ours, pname);
            assert_close(actual, expected, 1e-6, 0.0);
        }
        assert_close(
            ours.loglik,
            number(&reference["loglik"], "loglik"),
            1e-9,
            0.0,
        );
        assert_eq!(
            ours.std_errors
                .iter()
                .find(|(n, _)| *n == "loc")
                .map(|s| s.1),
            Some(None),
            "{name}: a fixed loc has no standard error"
        );
    }
}

fn seeded(kind: FamilyKind, shape: f64, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(seed);
    match kind {
        FamilyKind::GenNorm => GenNorm::new(shape, 0.1, 1.0).map(|d| d.sample(&mut rng, n)),
        _ => DWeibull::new(shape, 0.1, 1.0).map(|d| d.sample(&mut rng, n)),
    }
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn shape_is_invariant_to_the_data_scale() {
    for (kind, shape) in [
        (FamilyKind::GenNorm, 0.7),
        (FamilyKind::GenNorm, 1.8),
        (FamilyKind::DWeibull, 0.8),
        (FamilyKind::DWeibull, 1.5),
    ] {
        let base = seeded(kind, shape, 20_000, 11);
        let reference = fitted(kind, &base, LocMode::Free);
        let shape_name = kind.param_names()[0];
        for factor in [1e-6, 1e3] {
            let scaled: Vec<f64> = base.iter().map(|v| v * factor).collect();
            let fit = fitted(kind, &scaled, LocMode::Free);
            assert_close(
                param(&fit, shape_name),
                param(&reference, shape_name),
                1e-9,
                0.0,
            );
            assert_close(
                param(&fit, "scale") / factor,
                param(&reference, "scale"),
                1e-9,
                0.0,
            );
            // The location to 1e-8 of the scale (the shape and scale above
            // to 1e-9): for dweibull with c > 1 the density vanishes at loc,
            // so the likelihood has a downward cusp at every data value and
            // rounding the data (× 1e-6) moves the maximizing loc by up to
            // 4e-9 of the scale, six orders below its standard error.
            assert_close(
                param(&fit, "loc") / factor,
                param(&reference, "loc"),
                0.0,
                1e-8 * param(&reference, "scale"),
            );
            let n = base.len() as f64;
            assert_close(fit.loglik + n * factor.ln(), reference.loglik, 1e-10, 0.0);
        }
    }
}

#[test]
fn large_samples_recover_the_true_parameters_within_their_standard_errors() {
    for (kind, shape) in [(FamilyKind::GenNorm, 0.7), (FamilyKind::DWeibull, 2.5)] {
        let data = seeded(kind, shape, 100_000, 3);
        let fit = fitted(kind, &data, LocMode::Free);
        for (name, truth) in [(kind.param_names()[0], shape), ("scale", 1.0), ("loc", 0.1)] {
            let se = fit
                .std_errors
                .iter()
                .find(|(n, _)| *n == name)
                .and_then(|s| s.1)
                .unwrap_or_else(|| panic!("{kind}: no standard error for {name}"));
            assert_close(param(&fit, name), truth, 0.0, 5.0 * se);
        }
        assert_eq!(fit.se_method, "observed+expected(loc)");
    }
}

#[test]
fn fits_are_bitwise_reproducible() {
    let data = seeded(FamilyKind::GenNorm, 0.6, 50_000, 5);
    for kind in FamilyKind::ALL {
        let a = fitted(kind, &data, LocMode::Free);
        let b = fitted(kind, &data, LocMode::Free);
        let bits = |f: &Fit| -> Vec<u64> {
            let mut v: Vec<u64> = f.model.params().iter().map(|p| p.1.to_bits()).collect();
            v.push(f.loglik.to_bits());
            v
        };
        assert_eq!(bits(&a), bits(&b), "{kind}");
    }
}

#[test]
fn dweibull_below_one_with_free_loc_notes_the_unbounded_likelihood() {
    let data = seeded(FamilyKind::DWeibull, 0.6, 5_000, 9);
    let fit = fitted(FamilyKind::DWeibull, &data, LocMode::Free);
    assert!(fit.loglik.is_finite());
    let note = fit.note.unwrap_or_default();
    assert!(note.contains("unbounded"), "note: {note}");
}

#[test]
fn bad_input_is_an_error_that_says_what_is_wrong() {
    let opts = FitOptions::default();
    let too_few = fit(FamilyKind::GenNorm, &[1.0, 2.0], &opts);
    assert!(matches!(
        too_few,
        Err(FitError::TooFewValues {
            n: 2,
            needed: 3,
            ..
        })
    ));
    let constant = fit(FamilyKind::Normal, &[0.5; 10], &opts);
    assert!(matches!(
        constant,
        Err(FitError::ConstantData { n: 10, .. })
    ));
    let nonfinite = fit(
        FamilyKind::Laplace,
        &[1.0, f64::NAN, 2.0, f64::INFINITY],
        &opts,
    );
    match nonfinite {
        Err(
            e @ FitError::NonFinite {
                count: 2,
                first_index: 1,
                ..
            },
        ) => {
            assert!(e.to_string().contains("2 of 4"), "{e}")
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
    let zeros_at_loc = FitOptions {
        loc: LocMode::Fixed(0.0),
        ..opts
    };
    let with_zeros = [0.0, 0.3, -0.2, 0.0, 1.1];
    assert!(matches!(
        fit(FamilyKind::DWeibull, &with_zeros, &zeros_at_loc),
        Err(FitError::ValuesAtFixedLoc { count: 2, n: 5, .. })
    ));
    // gennorm has a finite density at loc: exact zeros kept with loc 0 are fine.
    let kept = fit(FamilyKind::GenNorm, &with_zeros, &zeros_at_loc);
    assert!(kept.is_ok_and(|f| f.loglik.is_finite()));
    let bad_tol = FitOptions { tol: -1.0, ..opts };
    assert!(matches!(
        fit(FamilyKind::GenNorm, &with_zeros, &bad_tol),
        Err(FitError::InvalidOption { name: "tol", .. })
    ));
}

fn finite_fit(fit: &Fit) -> bool {
    fit.loglik.is_finite()
        && fit.model.params().iter().all(|p| p.1.is_finite())
        && fit
            .std_errors
            .iter()
            .all(|(_, se)| se.is_none_or(|s| s.is_finite() && s > 0.0))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Ties, exact zeros, tiny and huge magnitudes: a fit or an error, never a
    /// panic, never a non-finite number.
    #[test]
    fn any_finite_input_gives_a_finite_fit_or_an_error(
        mantissas in prop::collection::vec(-1000i32..1000, 0..60),
        exponent in -300i32..300,
        fixed in any::<bool>(),
    ) {
        let data: Vec<f64> = mantissas.iter().map(|&m| f64::from(m) * 10f64.powi(exponent) / 1000.0).collect();
        let loc = if fixed { LocMode::Fixed(0.0) } else { LocMode::Free };
        let opts = FitOptions { loc, ..FitOptions::default() };
        for kind in FamilyKind::ALL {
            if let Ok(f) = fit(kind, &data, &opts) {
                prop_assert!(finite_fit(&f), "{kind}: {f:?}");
            }
        }
    }
}
