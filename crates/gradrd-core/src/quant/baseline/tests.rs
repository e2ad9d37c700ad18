use super::*;
use crate::dist::{ContinuousDist, DWeibull, Normal};
use crate::quant::empirical::design_from_samples;
use crate::quant::DesignSpec;
use gradrd_testkit::assert_close;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_pcg::Pcg64;

fn options(rate: f64) -> BaselineOptions {
    BaselineOptions {
        rate,
        ..BaselineOptions::default()
    }
}

/// `(i + ½)/n` quantiles of a distribution: a dense deterministic "sample".
fn quantile_sample<D: ContinuousDist>(dist: &D, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| dist.quantile((i as f64 + 0.5) / n as f64))
        .collect()
}

fn uniform_grid(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| -1.0 + 2.0 * (i as f64 + 0.5) / n as f64)
        .collect()
}

fn gaussian_draws(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = Pcg64::seed_from_u64(seed);
    Normal::new(0.0, 1.0).unwrap().sample(&mut rng, n)
}

#[test]
fn names_round_trip() {
    for kind in BaselineKind::ALL {
        assert_eq!(kind.name().parse::<BaselineKind>(), Ok(kind));
    }
    let mut names: Vec<&str> = BaselineKind::ALL.iter().map(|k| k.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 11);
    assert!(matches!(
        "fp16".parse::<BaselineKind>(),
        Err(BaselineError::UnknownName(_))
    ));
}

#[test]
fn min_max_uniform_mse_is_step_squared_over_12() {
    // dense uniform sample on [−1, 1]: the error is uniform on [−Δ/2, Δ/2]
    let samples = uniform_grid(1_000_000);
    for bits in [2u32, 4, 6] {
        let eval = evaluate(
            BaselineKind::UniformMinMax,
            &samples,
            &options(f64::from(bits)),
        )
        .unwrap();
        let step = 2.0 / f64::from((1u32 << bits) - 1);
        assert_close(eval.result.mse, step * step / 12.0, 2e-3, 0.0);
        assert_close(eval.result.bits, f64::from(bits), 0.0, 0.0);
        // end cells are half-width: p = Δ/4 (two of them), Δ/2 (L − 2 inner)
        let levels = f64::from(1u32 << bits);
        let entropy = -2.0 * (step / 4.0) * (step / 4.0).log2()
            - (levels - 2.0) * (step / 2.0) * (step / 2.0).log2()
            + 64.0 / samples.len() as f64;
        assert_close(eval.result.entropy_bits, entropy, 1e-4, 0.0);
        assert!(eval.result.coded_bits >= eval.result.entropy_bits);
        assert_eq!(eval.result.sent, samples.len());
    }
}

#[test]
fn optimal_uniform_step_on_a_uniform_source_covers_it() {
    // the optimum on U[−1, 1] is Δ = 2/L (no overload), MSE = Δ²/12
    let samples = uniform_grid(400_000);
    for bits in [1u32, 3, 5] {
        let levels = f64::from(1u32 << bits);
        let step = uniform::optimal_mid_rise_step(&samples, bits, 0.0).unwrap();
        assert_close(step, 2.0 / levels, 1e-3, 0.0);
        let eval = evaluate(
            BaselineKind::UniformOpt,
            &samples,
            &options(f64::from(bits)),
        )
        .unwrap();
        assert_close(eval.result.mse, 1.0 / (3.0 * levels * levels), 2e-3, 0.0);
    }
}

#[test]
fn optimal_uniform_step_on_a_gaussian() {
    // scripts/uniform_step_reference.py: scipy.optimize.minimize_scalar of the
    // exact mid-rise MSE of N(0, 1) (Max 1960, Table II, to its 4 digits)
    let reference = [
        (2u32, 0.995686683424968, 0.11884605038407715),
        (3, 0.5860194329107925, 0.03743965939152341),
        (4, 0.33520061864889256, 0.011542884431350549),
    ];
    let samples = quantile_sample(&Normal::new(0.0, 1.0).unwrap(), 400_000);
    for (bits, step, mse) in reference {
        let found = uniform::optimal_mid_rise_step(&samples, bits, 0.0).unwrap();
        assert_close(found, step, 2e-3, 0.0);
        let eval = evaluate(
            BaselineKind::UniformOpt,
            &samples,
            &options(f64::from(bits)),
        )
        .unwrap();
        assert_close(eval.result.mse, mse, 1e-3, 0.0);
    }
}

#[test]
fn weighted_step_search_minimizes_the_weighted_distortion() {
    let samples = gaussian_draws(20_000, 3);
    for m in [0.0, 1.0, 2.0] {
        let step = uniform::optimal_mid_rise_step(&samples, 3, m).unwrap();
        let options = BaselineOptions {
            rate: 3.0,
            m,
            ..BaselineOptions::default()
        };
        let at_optimum = evaluate(BaselineKind::UniformOpt, &samples, &options).unwrap();
        // any other step, on a fine scan, is no better (up to the f32 step)
        for i in 1..200 {
            let other = step * (0.5 + i as f64 / 200.0);
            let decoded: Vec<f64> = samples
                .iter()
                .map(|&x| {
                    let index = ((x / other).floor() + 4.0).clamp(0.0, 7.0);
                    (index - 4.0 + 0.5) * other
                })
                .collect();
            let (d, _) = weighted_distortion(&samples, &decoded, m);
            assert!(
                d >= at_optimum.result.distortion * (1.0 - 1e-6),
                "m {m}: step {other} gives {d} < {}",
                at_optimum.result.distortion
            );
        }
    }
}

#[test]
fn int8_and_minifloats_decode_to_their_grids() {
    let samples = gaussian_draws(50_000, 4);
    let top = samples.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    for (kind, format) in [
        (BaselineKind::Fp8E4M3, minifloat::FP8_E4M3),
        (BaselineKind::Fp8E5M2, minifloat::FP8_E5M2),
        (BaselineKind::Fp4E2M1, minifloat::FP4_E2M1),
    ] {
        let eval = evaluate(kind, &samples, &options(8.0)).unwrap();
        let scale = f64::from((top / format.max_finite()) as f32);
        for (&x, &y) in samples.iter().zip(&eval.decoded) {
            let code = format.encode(x / scale).unwrap();
            assert_close(y, format.decode(code) * scale, 0.0, 0.0);
        }
        assert_close(eval.result.bits, f64::from(format.bits()), 0.0, 0.0);
        assert!(eval.result.coded_bits >= eval.result.entropy_bits);
        assert!(eval.result.entropy_bits <= f64::from(format.bits()) + 1e-3);
    }
    let eval = evaluate(BaselineKind::Int8, &samples, &options(8.0)).unwrap();
    let scale = f64::from((top / 127.0) as f32);
    // round to nearest: |error| ≤ s/2 inside the range
    for (&x, &y) in samples.iter().zip(&eval.decoded) {
        assert_close(y, x, 0.0, scale / 2.0 * (1.0 + 1e-9));
    }
    // uniform error: MSE ≈ s²/12
    assert_close(eval.result.mse, scale * scale / 12.0, 0.03, 0.0);
}

#[test]
fn topk_keeps_the_largest_and_meets_the_rate() {
    let samples = gaussian_draws(100_000, 5);
    let top = absmax(&samples);
    for (kind, format) in [
        (BaselineKind::TopkFp8, minifloat::FP8_E4M3),
        (BaselineKind::TopkFp4, minifloat::FP4_E2M1),
    ] {
        for rate in [0.1, 0.5, 2.0] {
            let eval = evaluate(kind, &samples, &options(rate)).unwrap();
            let k = eval.result.sent;
            let kept = topk::top_k_positions(&samples, k);
            let mut is_kept = vec![false; samples.len()];
            kept.iter().for_each(|&i| is_kept[i] = true);
            // the kept set holds the k largest magnitudes
            let smallest_kept = kept
                .iter()
                .map(|&i| samples[i].abs())
                .fold(f64::INFINITY, f64::min);
            let largest_dropped = (0..samples.len())
                .filter(|&i| !is_kept[i])
                .map(|i| samples[i].abs())
                .fold(0.0, f64::max);
            assert!(smallest_kept >= largest_dropped);
            let scale = f64::from((top / format.max_finite()) as f32);
            for (i, (&x, &y)) in samples.iter().zip(&eval.decoded).enumerate() {
                // dropped entries decode to 0; kept ones to 0 only when they
                // round to 0 in the format: |x/s| ≤ half the smallest subnormal
                let smallest = format.decode(1);
                let expect_nonzero = is_kept[i] && (x / scale).abs() > smallest / 2.0;
                assert_eq!(
                    y.abs() > 0.0,
                    expect_nonzero,
                    "{kind} rate {rate}: entry {i} = {x}"
                );
            }
            // budget: k·b + positions + 32 ≤ R·n
            let spent = eval.result.bits * samples.len() as f64 + 32.0;
            assert!(spent <= rate * samples.len() as f64 + 1e-6);
            let value_bits = k as f64 * f64::from(format.bits());
            let position_bits = eval.result.bits * samples.len() as f64 - value_bits;
            // real positions vs log2 C(n, k) of top-k of i.i.d. draws (a random set)
            let bound = coding::log2_binomial(samples.len() as u64, k as u64);
            assert!(
                position_bits >= bound - 20.0 && position_bits <= 1.02 * bound + 100.0,
                "rate {rate}: positions {position_bits} bits vs log2 C = {bound}"
            );
        }
    }
}

#[test]
fn countsketch_size_follows_the_rate() {
    let samples = gaussian_draws(30_000, 6);
    for (rate, depth) in [(1.0, 1), (4.0, 3), (8.0, 5)] {
        let options = BaselineOptions {
            rate,
            sketch_depth: depth,
            seed: 11,
            ..BaselineOptions::default()
        };
        let eval = evaluate(BaselineKind::CountSketch, &samples, &options).unwrap();
        let width = countsketch::width_for_rate(rate, samples.len(), depth);
        assert_eq!(eval.result.sent, width * depth);
        assert!(eval.result.coded_bits <= rate);
        assert!(eval.result.coded_bits > rate - 32.0 * depth as f64 / samples.len() as f64 - 1e-9);
        if depth == 1 {
            // one row: E[(x̂_j − x_j)²] = Σ_{i≠j} x_i² / w, so mse ≈ (n − 1)·mean(x²)/w;
            // it averages ~w bucket sums: relative spread ≈ √(2/w), allow 4 of them
            let mean_square = samples.iter().map(|x| x * x).sum::<f64>() / samples.len() as f64;
            let expected = (samples.len() - 1) as f64 * mean_square / width as f64;
            assert_close(
                eval.result.mse,
                expected,
                4.0 * (2.0 / width as f64).sqrt(),
                0.0,
            );
        }
    }
}

#[test]
fn m22_with_an_empirical_design_reports_its_distortion() {
    let samples = gaussian_draws(20_000, 7);
    for m in [0.0, 2.0] {
        let design = design_from_samples(
            &samples,
            &DesignSpec::from_bits(3, m, false).unwrap(),
            &crate::quant::LloydOptions::default(),
        )
        .unwrap();
        let options = BaselineOptions {
            rate: 3.0,
            m,
            codebook: Some(design.codebook.clone()),
            ..BaselineOptions::default()
        };
        let eval = evaluate(BaselineKind::M22, &samples, &options).unwrap();
        assert_close(eval.result.distortion, design.distortion, 1e-9, 0.0);
        assert_close(eval.result.mse, design.mse, 1e-9, 0.0);
        // 8 levels: side information 9 floats
        let entropy = design.entropy_bits + 9.0 * 32.0 / samples.len() as f64;
        assert_close(eval.result.entropy_bits, entropy, 1e-9, 0.0);
        assert!(eval.result.coded_bits >= eval.result.entropy_bits);
        assert!(eval.result.coded_bits <= eval.result.entropy_bits + 0.01);
    }
}

#[test]
fn tinyscript_matches_the_design_on_its_fit() {
    // a dense double Weibull "sample": the fit recovers c ≈ 0.8, and the
    // M = 0 Lloyd-Max MSE of the sample is the design's MSE of the density
    let source = DWeibull::new(0.8, 0.0, 1.0).unwrap();
    let samples = quantile_sample(&source, 100_001);
    let eval = evaluate(BaselineKind::TinyScript, &samples, &options(3.0)).unwrap();
    let design = crate::quant::lloyd::design_for_density(
        &source,
        &DesignSpec::from_bits(3, 0.0, false).unwrap(),
        &crate::quant::LloydOptions::default(),
    )
    .unwrap();
    assert_close(eval.result.mse, design.mse, 0.02, 0.0);
    // the fitted design beats the best uniform quantizer on this heavy tail
    let uniform = evaluate(BaselineKind::UniformOpt, &samples, &options(3.0)).unwrap();
    assert!(eval.result.mse < uniform.result.mse);
}

#[test]
fn bad_input_is_an_error() {
    let ok = [0.1, -0.2, 0.3];
    let cases: Vec<(BaselineKind, Vec<f64>, BaselineOptions)> = vec![
        (BaselineKind::Int8, vec![], options(8.0)),
        (
            BaselineKind::Int8,
            vec![0.1, f64::NAN, f64::INFINITY],
            options(8.0),
        ),
        (BaselineKind::Int8, ok.to_vec(), options(0.0)),
        (BaselineKind::Int8, ok.to_vec(), options(-1.0)),
        (BaselineKind::Int8, ok.to_vec(), options(33.0)),
        (BaselineKind::Int8, ok.to_vec(), options(f64::NAN)),
        (BaselineKind::UniformMinMax, ok.to_vec(), options(2.5)),
        (BaselineKind::UniformOpt, ok.to_vec(), options(17.0)),
        (BaselineKind::TinyScript, ok.to_vec(), options(0.5)),
        (BaselineKind::M22, ok.to_vec(), options(3.0)),
        (BaselineKind::TopkFp8, ok.to_vec(), options(1.0)),
        (BaselineKind::CountSketch, ok.to_vec(), options(1.0)),
        (
            BaselineKind::CountSketch,
            vec![0.5; 1000],
            BaselineOptions {
                sketch_depth: 0,
                ..options(8.0)
            },
        ),
        (
            BaselineKind::Int8,
            ok.to_vec(),
            BaselineOptions {
                m: -1.0,
                ..options(8.0)
            },
        ),
        (BaselineKind::TinyScript, vec![1.0; 10], options(2.0)),
        (BaselineKind::Fp8E4M3, vec![1.0, -1e39], options(8.0)),
    ];
    for (kind, samples, options) in cases {
        let result = evaluate(kind, &samples, &options);
        assert!(
            result.is_err(),
            "{kind} on {samples:?} with {options:?}: {result:?}"
        );
    }
    assert_eq!(
        evaluate(
            BaselineKind::Int8,
            &[0.1, f64::NAN, f64::INFINITY],
            &options(8.0)
        ),
        Err(BaselineError::NonFinite {
            count: 2,
            first_index: 1
        })
    );
}

#[test]
fn all_zero_tensors_decode_to_zero() {
    let samples = vec![0.0; 1000];
    for kind in [
        BaselineKind::UniformMinMax,
        BaselineKind::UniformOpt,
        BaselineKind::Int8,
        BaselineKind::Fp8E4M3,
        BaselineKind::Fp8E5M2,
        BaselineKind::Fp4E2M1,
        BaselineKind::TopkFp8,
        BaselineKind::CountSketch,
    ] {
        let eval = evaluate(kind, &samples, &options(4.0)).unwrap();
        assert_close(eval.result.mse, 0.0, 0.0, 1e-80);
    }
}

fn sample_vectors() -> impl Strategy<Value = Vec<f64>> {
    proptest::collection::vec(
        prop_oneof![-1e3f64..1e3, -1e-3f64..1e-3, Just(0.0), -1e30f64..1e30,],
        1..400,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn dense_schemes_keep_their_invariants(samples in sample_vectors(), bits in 1u32..9, m in 0.0f64..3.0) {
        for kind in [
            BaselineKind::UniformMinMax,
            BaselineKind::UniformOpt,
            BaselineKind::Int8,
            BaselineKind::Fp8E4M3,
            BaselineKind::Fp8E5M2,
            BaselineKind::Fp4E2M1,
        ] {
            let options = BaselineOptions { rate: f64::from(bits), m, ..BaselineOptions::default() };
            let eval = evaluate(kind, &samples, &options).unwrap();
            prop_assert!(eval.result.distortion >= 0.0 && eval.result.mse >= 0.0);
            prop_assert!(eval.decoded.iter().all(|y| y.is_finite()));
            // the real coder never beats the empirical entropy (same side info)
            prop_assert!(eval.result.coded_bits >= eval.result.entropy_bits);
            if !matches!(kind, BaselineKind::UniformOpt) {
                // decode ∘ encode is idempotent: re-quantizing the decoded
                // tensor gives it back
                let again = evaluate(kind, &eval.decoded, &options).unwrap();
                let range = absmax(&eval.decoded);
                for (a, b) in again.decoded.iter().zip(&eval.decoded) {
                    assert_close(*a, *b, 1e-6, 1e-9 * range);
                }
            }
        }
    }

    #[test]
    fn sparse_schemes_stay_within_the_rate(samples in sample_vectors(), rate in 0.5f64..16.0, seed in 0u64..1000) {
        let n = samples.len() as f64;
        for kind in [BaselineKind::TopkFp8, BaselineKind::TopkFp4, BaselineKind::CountSketch] {
            let options = BaselineOptions { rate, seed, ..BaselineOptions::default() };
            match evaluate(kind, &samples, &options) {
                Ok(eval) => {
                    prop_assert!(eval.result.distortion >= 0.0);
                    if kind == BaselineKind::CountSketch {
                        prop_assert!(eval.result.coded_bits <= rate + 1e-12);
                    } else {
                        prop_assert!(eval.result.bits * n + 32.0 <= rate * n + 1e-6);
                        prop_assert!(eval.result.sent >= 1);
                    }
                }
                Err(BaselineError::RateTooLow { .. }) => {}
                Err(e) => prop_assert!(false, "{kind}: {e}"),
            }
        }
    }
}

#[test]
fn tinyscript_fits_the_non_zero_values() {
    // 1/3 exact zeros (dead units): a fit on all values collapses onto the
    // point mass (one cell takes everything, MSE ≈ 0.7); on the non-zeros
    // the 3-bit design of the Gaussian part is close to Lloyd-Max's 0.0345
    let mut samples = gaussian_draws(30_000, 12);
    for x in samples.iter_mut().step_by(3) {
        *x = 0.0;
    }
    let eval = evaluate(BaselineKind::TinyScript, &samples, &options(3.0)).unwrap();
    let non_zero: Vec<f64> = samples.iter().copied().filter(|x| x.abs() > 0.0).collect();
    let on_non_zero = evaluate(BaselineKind::TinyScript, &non_zero, &options(3.0)).unwrap();
    // a zero costs the squared smallest center (≈ 0.245² for N(0,1), 8 levels; allow 0.3²)
    let zeros_share = 1.0 / 3.0;
    assert!(
        eval.result.mse <= (1.0 - zeros_share) * on_non_zero.result.mse + zeros_share * 0.3 * 0.3
    );
    assert!(
        on_non_zero.result.mse < 0.05,
        "mse {}",
        on_non_zero.result.mse
    );
}

#[test]
fn result_serializes_with_the_contract_field_names() {
    let eval = evaluate(BaselineKind::Int8, &[0.5, -1.0, 0.25], &options(8.0)).unwrap();
    let json = serde_json::to_value(&eval.result).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "bits",
            "coded_bits",
            "distortion",
            "entropy_bits",
            "mse",
            "name",
            "sent"
        ]
    );
    assert_eq!(json["name"], "int8");
    assert_eq!(json["sent"], 3);
}

#[test]
fn coded_bits_are_a_stream_that_decodes_to_the_tensor() {
    // the receiver's side: decode the ANS stream, then the codes with the scale
    let samples = gaussian_draws(10_000, 13);
    let eval = evaluate(BaselineKind::Fp8E4M3, &samples, &options(8.0)).unwrap();
    let format = minifloat::FP8_E4M3;
    let scale = format.sent_scale(absmax(&samples));
    let codes: Vec<u32> = samples
        .iter()
        .map(|&x| u32::from(format.encode(x / scale).unwrap()))
        .collect();
    let stream = coding::encode_symbols(&codes, format.alphabet()).unwrap();
    let received = coding::decode_symbols(&stream).unwrap();
    for (&code, &y) in received.iter().zip(&eval.decoded) {
        assert_close(format.decode(code as u8) * scale, y, 0.0, 0.0);
    }
    let total = (stream.total_bits() + SIDE_FLOAT_BITS) as f64 / samples.len() as f64;
    assert_close(eval.result.coded_bits, total, 1e-15, 0.0);
}
