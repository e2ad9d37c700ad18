//! Error-feedback replays of the real dump data/digits-mlp (18 steps × 6
//! tensors) against the independent numpy reference scripts/ref_ef.py.
//! Every expected value below is printed by
//!
//! ```text
//! python3 scripts/ref_ef.py data/digits-mlp      (numpy 2.x, safetensors 0.x)
//! ```
//!
//! under the configuration name given beside it; totals must agree to 1e-9
//! relative.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::assert_close;
use gradrd_core::compress::{
    replay_totals, BitModel, Compressor, Feedback, PositionCoding, RunTotals, Scope,
};
use gradrd_core::quant::Codebook;
use gradrd_io::dump::{Dump, Selection};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The dump as `steps[t][tensor]`, tensors in name order, and their names.
fn digits_mlp() -> (Vec<String>, Vec<Vec<Vec<f64>>>) {
    let dump = Dump::open(root().join("data/digits-mlp")).expect("dump opens");
    let metas = dump.select(&Selection::default());
    let mut steps: Vec<u64> = metas.iter().filter_map(|m| m.step).collect();
    steps.dedup();
    let mut names: Vec<String> = metas.iter().map(|m| m.name.clone()).collect();
    names.sort();
    names.dedup();
    let values = steps
        .iter()
        .map(|&s| {
            names
                .iter()
                .map(|n| {
                    let meta = metas
                        .iter()
                        .find(|m| m.step == Some(s) && &m.name == n)
                        .expect("every tensor at every step");
                    dump.read(meta).expect("tensor reads")
                })
                .collect()
        })
        .collect();
    (names, values)
}

fn codebook() -> Codebook {
    let text = std::fs::read_to_string(root().join("tests/fixtures/ef_codebook.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn costs(names: &[String], sizes: &[usize], unit: Option<usize>) -> Vec<f64> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/ef_costs.json")).unwrap();
    let map: HashMap<String, f64> = serde_json::from_str(&text).unwrap();
    let members: Vec<usize> = match unit {
        Some(u) => vec![u],
        None => (0..names.len()).collect(),
    };
    members
        .iter()
        .flat_map(|&i| std::iter::repeat_n(map[&names[i]], sizes[i]))
        .collect()
}

// data/digits-mlp is stored in f32: values sent at full precision cost 32 bits
const INDEX: BitModel = BitModel {
    positions: PositionCoding::Index,
    value_bits: 32.0,
};

fn check(actual: RunTotals, sent: u64, bits: f64, total_error: f64, residual_sq: f64) {
    assert_eq!(actual.sent, sent);
    assert_close(actual.bits, bits, 1e-12, 0.0);
    assert_close(actual.total_error, total_error, 1e-9, 0.0);
    assert_close(actual.residual_sq, residual_sq, 1e-9, 1e-300);
}

fn replay(
    scope: Scope,
    compressor: impl FnMut(usize, usize) -> Compressor,
    feedback: Feedback,
    bits: BitModel,
    seed: u64,
) -> RunTotals {
    let (_, steps) = digits_mlp();
    replay_totals(&steps, scope, compressor, feedback, bits, seed).expect("replay runs")
}

#[test]
fn top_k_full_feedback() {
    let top = |_, _| Compressor::TopK { fraction: 0.01 };
    // topk_full: sent=3150 bits=140868.0 total_error=34.78040510294346 residual_sq=1.3296303170636308
    let t = replay(Scope::PerTensor, top, Feedback::Full, INDEX, 0);
    check(t, 3150, 140868.0, 34.78040510294346, 1.3296303170636308);
}

#[test]
fn top_k_without_feedback() {
    let top = |_, _| Compressor::TopK { fraction: 0.01 };
    // topk_none: sent=3150 bits=140868.0 total_error=6.014288249471056 residual_sq=0.0
    let t = replay(Scope::PerTensor, top, Feedback::None, INDEX, 0);
    check(t, 3150, 140868.0, 6.014288249471056, 0.0);
}

#[test]
fn top_k_decayed_memory_with_entropy_positions() {
    let top = |_, _| Compressor::TopK { fraction: 0.05 };
    let entropy = BitModel {
        positions: PositionCoding::Entropy,
        value_bits: 32.0,
    };
    // topk_decay_entropy: sent=15552 bits=586278.516799063 total_error=5.983252618259121 residual_sq=0.009800193200345508
    let t = replay(
        Scope::PerTensor,
        top,
        Feedback::Decay { gamma: 0.9 },
        entropy,
        0,
    );
    check(
        t,
        15552,
        586278.516799063,
        5.983252618259121,
        0.009800193200345508,
    );
}

#[test]
fn global_top_k_full_feedback() {
    let top = |_, _| Compressor::TopK { fraction: 0.01 };
    // topk_global_full: sent=3114 bits=146358.0 total_error=29.161364050388823 residual_sq=1.0894050060369507
    let t = replay(Scope::Global, top, Feedback::Full, INDEX, 0);
    check(t, 3114, 146358.0, 29.161364050388823, 1.0894050060369507);
}

#[test]
fn rand_k_unbiased_with_full_feedback() {
    let rand = |_, _| Compressor::RandK {
        fraction: 0.05,
        unbiased: true,
    };
    // randk_unbiased_full: sent=15552 bits=696690.0 total_error=1497248340593.4375 residual_sq=380229493195.07104
    // (the n/k scaling makes the memory grow without bound under full feedback)
    let t = replay(Scope::PerTensor, rand, Feedback::Full, INDEX, 7);
    check(t, 15552, 696690.0, 1497248340593.4375, 380229493195.07104);
}

#[test]
fn rand_k_without_feedback() {
    let rand = |_, _| Compressor::RandK {
        fraction: 0.1,
        unbiased: false,
    };
    // randk_none: sent=31050 bits=1302498.0 total_error=7.381859701717853 residual_sq=0.0
    let t = replay(Scope::PerTensor, rand, Feedback::None, INDEX, 3);
    check(t, 31050, 1302498.0, 7.381859701717853, 0.0);
}

#[test]
fn hard_threshold_full_feedback() {
    let threshold = |_, _| Compressor::Threshold { lambda: 0.02 };
    // threshold_full: sent=6831 bits=293175.0 total_error=11.282101091948368 residual_sq=0.663615385026306
    let t = replay(Scope::PerTensor, threshold, Feedback::Full, INDEX, 0);
    check(t, 6831, 293175.0, 11.282101091948368, 0.663615385026306);
}

#[test]
fn cwmp_per_tensor_full_and_global_none() {
    let (names, steps) = digits_mlp();
    let sizes: Vec<usize> = steps[0].iter().map(Vec::len).collect();
    let per = |u, _| Compressor::Cwmp {
        fraction: 0.1,
        costs: costs(&names, &sizes, Some(u)),
    };
    // cwmp_full: sent=30978 bits=1299960.0 total_error=3.145679635554675 residual_sq=0.005193178257502721
    let t = replay_totals(&steps, Scope::PerTensor, per, Feedback::Full, INDEX, 0).unwrap();
    check(t, 30978, 1299960.0, 3.145679635554675, 0.005193178257502721);
    let global = |_, _| Compressor::Cwmp {
        fraction: 0.05,
        costs: costs(&names, &sizes, None),
    };
    // cwmp_global_none: sent=22169 bits=1018069.0 total_error=2.3860379722562737 residual_sq=0.0
    let t = replay_totals(&steps, Scope::Global, global, Feedback::None, INDEX, 0).unwrap();
    check(t, 22169, 1018069.0, 2.3860379722562737, 0.0);
}

#[test]
fn codebook_full_feedback() {
    let cb = codebook();
    // codebook_full: sent=310068 bits=930204.0 total_error=1.6175327353896196 residual_sq=0.02651633916481735
    let t = replay(
        Scope::PerTensor,
        |_, _| Compressor::Codebook(cb.clone()),
        Feedback::Full,
        INDEX,
        0,
    );
    check(t, 310068, 930204.0, 1.6175327353896196, 0.02651633916481735);
}

#[test]
fn top_k_then_codebook_decayed_memory() {
    let cb = codebook();
    let top = |_, _| Compressor::TopKCodebook {
        fraction: 0.05,
        codebook: cb.clone(),
    };
    // topk_codebook_decay: sent=15552 bits=245682.0 total_error=4.113899720087898 residual_sq=0.0007551663563401615
    let t = replay(
        Scope::PerTensor,
        top,
        Feedback::Decay { gamma: 0.5 },
        INDEX,
        0,
    );
    check(t, 15552, 245682.0, 4.113899720087898, 0.0007551663563401615);
}

#[test]
fn top_k_of_everything_with_full_feedback_has_zero_error() {
    let all = |_, _| Compressor::TopK { fraction: 1.0 };
    let t = replay(Scope::PerTensor, all, Feedback::Full, INDEX, 0);
    assert_eq!(t.sent, 18 * 17226);
    assert_close(t.total_error, 0.0, 0.0, 0.0);
    assert_close(t.residual_sq, 0.0, 0.0, 0.0);
}

#[test]
fn stale_client_policies() {
    use gradrd_core::compress::stale::{replay_with_absences, StalePolicy};
    use gradrd_core::compress::Run;
    let (_, steps) = digits_mlp();
    let sizes: Vec<usize> = steps[0].iter().map(Vec::len).collect();
    let present: Vec<bool> = (0..steps.len())
        .map(|t| ![3, 4, 5, 10].contains(&t))
        .collect();
    // python3 scripts/ref_ef.py -> stale_<policy>: compression_error=… discarded_error=…
    for (policy, compression, discarded) in [
        (StalePolicy::Keep, 25.626989978938536, 0.0),
        (StalePolicy::Reset, 7.896577877967757, 3.7744211543938464),
        (
            StalePolicy::Decay { gamma: 0.5 },
            9.671424825222525,
            1.8611372527071741,
        ),
        (
            StalePolicy::ResetIfOlder { max_age: 2 },
            15.019569086687556,
            1.7851801269434457,
        ),
    ] {
        let mut run = Run::new(
            &sizes,
            Scope::PerTensor,
            |_, _| Compressor::TopK { fraction: 0.01 },
            Feedback::Full,
            INDEX,
            0,
        )
        .unwrap();
        let out = replay_with_absences(&mut run, &steps, &present, policy).unwrap();
        assert_eq!(out.rounds_present, 14);
        assert_close(out.compression_error, compression, 1e-9, 0.0);
        assert_close(out.discarded_error, discarded, 1e-9, 1e-300);
        assert_close(out.total_error, compression + discarded, 1e-12, 0.0);
    }
}

#[test]
fn top_k_then_fp8_and_fp4_full_feedback() {
    use gradrd_core::quant::minifloat::{FP4_E2M1, FP8_E4M3};
    // topk_fp8_e4m3_full: sent=15552 bits=326898.0 total_error=8.432479504132768 residual_sq=0.052331468922234996
    // topk_fp4_e2m1_full: sent=15552 bits=264690.0 total_error=8.79674382648058 residual_sq=0.06670765635274808
    // (the script's rounding formula agrees with ml_dtypes 0.6.0 casts on 10^5 values: it prints
    //  "minifloat rounding vs ml_dtypes: fp8_e4m3: 0 of 100000 differ, ...")
    for (format, bits, error, residual) in [
        (FP8_E4M3, 326898.0, 8.432479504132768, 0.052331468922234996),
        (FP4_E2M1, 264690.0, 8.79674382648058, 0.06670765635274808),
    ] {
        let top = |_, _| Compressor::TopKFloat {
            fraction: 0.05,
            format,
        };
        let t = replay(Scope::PerTensor, top, Feedback::Full, INDEX, 0);
        check(t, 15552, bits, error, residual);
    }
}
