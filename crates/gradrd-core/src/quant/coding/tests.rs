use super::*;
use gradrd_testkit::assert_close;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64;

/// Draws `n` symbols of a geometric-like distribution over `0..alphabet`.
fn skewed_symbols(n: usize, alphabet: u32, seed: u64) -> Vec<u32> {
    let mut rng = Pcg64::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let mut s = 0;
            while s + 1 < alphabet && rng.random::<f64>() < 0.6 {
                s += 1;
            }
            s
        })
        .collect()
}

#[test]
fn empirical_entropy_matches_scipy() {
    // scipy.stats.entropy([3, 1, 2, 2], base=2) -> 1.9056390622295665
    let symbols = [0, 0, 0, 1, 2, 2, 3, 3];
    assert_close(
        empirical_entropy_bits(&symbols),
        1.9056390622295665,
        1e-15,
        0.0,
    );
    assert_close(empirical_entropy_bits(&[7, 7, 7]), 0.0, 0.0, 0.0);
    assert_close(empirical_entropy_bits(&[]), 0.0, 0.0, 0.0);
}

#[test]
fn header_size_follows_the_documented_format() {
    // [2, 0, 2, 2] × 100, A = 4: γ(401) (17 bits), mode (1), γ(2) = 010 (3),
    // bitmap (A = 4 ≤ K·w(A) = 4): flag + 4 bits, count flag + one count:
    // |400| = 9 bits (γ(100) would take 13) → 36
    let symbols: Vec<u32> = [2, 0, 2, 2].repeat(100);
    let encoded = encode_symbols(&symbols, 4).unwrap();
    assert!(!encoded.is_raw());
    assert_eq!(encoded.header_bits(), 36);
    assert_eq!(decode_symbols(&encoded).unwrap(), symbols);
    // a list is cheaper for 1 used symbol of 256: γ(4) 5 bits + mode + γ(1)
    // 1 bit + flag + 8-bit id + count flag; no count and no payload → 17 bits
    let single = encode_symbols(&[200, 200, 200], 256).unwrap();
    assert_eq!(single.header_bits(), 17);
    assert_eq!(single.payload_bits(), 0);
    assert_eq!(decode_symbols(&single).unwrap(), vec![200, 200, 200]);
    let empty = encode_symbols(&[], 16).unwrap();
    assert_eq!(empty.total_bits(), 1);
    assert_eq!(decode_symbols(&empty).unwrap(), Vec::<u32>::new());
}

#[test]
fn small_counts_are_gamma_coded() {
    // 16 symbols once each, then one symbol 10 000 times: n = 10 016, 16
    // counts of 1 sent (γ(1) = 1 bit each, |n| = 14 bits each);
    // header = γ(10 017) (27) + mode + γ(17) (9) + list (1 + 17 × 8, cheaper
    // than the 256-bit bitmap) + count flag + 16
    let mut symbols: Vec<u32> = (0..16).map(|s| s * 16).collect();
    symbols.extend(std::iter::repeat_n(255, 10_000));
    let encoded = encode_symbols(&symbols, 256).unwrap();
    assert_eq!(encoded.header_bits(), 27 + 1 + 9 + 1 + 17 * 8 + 1 + 16);
    assert_eq!(decode_symbols(&encoded).unwrap(), symbols);
}

#[test]
fn short_streams_are_sent_raw() {
    // [2, 0, 2, 2], A = 4: raw is γ(5) (5) + mode (1) + 4 × 2 bits = 14, the
    // model alone would take 16 bits and the payload a 32-bit word
    let encoded = encode_symbols(&[2, 0, 2, 2], 4).unwrap();
    assert!(encoded.is_raw());
    assert_eq!(encoded.total_bits(), 14);
    assert_eq!(decode_symbols(&encoded).unwrap(), vec![2, 0, 2, 2]);
    // a 64-entry FP8 bias with 60 distinct codes: the histogram would cost
    // more than the 8 bits per code
    let bias: Vec<u32> = (0..64).map(|i| (i * 37 % 60) as u32 + 100).collect();
    let encoded = encode_symbols(&bias, 256).unwrap();
    assert!(encoded.is_raw());
    assert_eq!(encoded.total_bits(), 13 + 1 + 64 * 8);
    assert_eq!(decode_symbols(&encoded).unwrap(), bias);
    // a one-letter alphabet costs only its length
    let ones = encode_symbols(&[0; 1000], 1).unwrap();
    assert_eq!(ones.total_bits(), 19 + 1);
    assert_eq!(decode_symbols(&ones).unwrap(), vec![0; 1000]);
}

#[test]
fn coded_size_is_close_to_the_entropy_for_large_streams() {
    for (alphabet, seed) in [(16u32, 1u64), (256, 2), (4, 3)] {
        let n = 200_000;
        let symbols = skewed_symbols(n, alphabet, seed);
        let encoded = encode_symbols(&symbols, alphabet).unwrap();
        assert_eq!(decode_symbols(&encoded).unwrap(), symbols);
        let ideal = n as f64 * empirical_entropy_bits(&symbols);
        let total = encoded.total_bits() as f64;
        assert!(total >= ideal, "coded {total} < n·H {ideal}");
        // ANS overhead: ≤ 64 bits of state; 24-bit model: ≤ 1e-4 bit/symbol here
        let payload_excess = encoded.payload_bits() as f64 - ideal;
        assert!(
            payload_excess <= 64.0 + 1e-4 * n as f64,
            "payload exceeds n·H by {payload_excess} bits"
        );
    }
}

#[test]
fn bad_alphabets_and_symbols_are_errors() {
    assert_eq!(encode_symbols(&[0], 0), Err(CodingError::Alphabet(0)));
    assert!(matches!(
        encode_symbols(&[0, 4], 4),
        Err(CodingError::SymbolOutOfRange {
            index: 1,
            symbol: 4,
            alphabet: 4
        })
    ));
    assert!(matches!(
        encode_positions(10, &[3, 3]),
        Err(CodingError::Positions { index: 1, .. })
    ));
    assert!(matches!(
        encode_positions(10, &[10]),
        Err(CodingError::Positions { index: 0, .. })
    ));
}

#[test]
fn log2_binomial_matches_python() {
    // math.log2(math.comb(1000, 100)) -> 464.42270337623427
    assert_close(log2_binomial(1000, 100), 464.42270337623427, 1e-12, 0.0);
    // math.log2(math.comb(10**6, 1000)) -> 11401.4496987378
    assert_close(log2_binomial(1_000_000, 1000), 11401.4496987378, 1e-12, 0.0);
    // math.log2(math.comb(64, 32)) -> 60.66861663700344
    assert_close(log2_binomial(64, 32), 60.66861663700344, 1e-12, 0.0);
    assert_close(log2_binomial(5, 0), 0.0, 0.0, 0.0);
    assert!(log2_binomial(5, 6).is_infinite());
}

fn random_subset(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut rng = Pcg64::seed_from_u64(seed);
    let mut positions = rand::seq::index::sample(&mut rng, n, k).into_vec();
    positions.sort_unstable();
    positions
}

#[test]
fn sparse_positions_cost_close_to_log2_binomial() {
    for (n, k, seed) in [
        (1_000_000usize, 1000usize, 5u64),
        (1_000_000, 10_000, 6),
        (100_000, 5_000, 7),
    ] {
        let positions = random_subset(n, k, seed);
        let encoded = encode_positions(n, &positions).unwrap();
        assert!(!encoded.is_bitmap());
        assert_eq!(decode_positions(&encoded).unwrap(), positions);
        let bound = log2_binomial(n as u64, k as u64);
        let bits = encoded.total_bits() as f64;
        // Kraft: a random subset beats the bound by t bits with probability ≤ 2^−t
        assert!(bits >= bound - 20.0, "{bits} bits < log2 C(n,k) = {bound}");
        assert_eq!(encoded.method(), "rice");
        // Rice codes of geometric gaps: ≤ ~0.03 bit/gap redundancy (Gallager &
        // Van Voorhis 1975) → within 1 % here
        assert!(
            bits <= 1.01 * bound + 100.0,
            "{bits} bits vs log2 C(n,k) = {bound}"
        );
    }
}

#[test]
fn dense_positions_use_the_bitmap() {
    let n = 10_000;
    let positions = random_subset(n, n / 2, 8);
    let encoded = encode_positions(n, &positions).unwrap();
    assert!(encoded.is_bitmap());
    assert_eq!(encoded.total_bits(), n as u64 + 2);
    assert_eq!(decode_positions(&encoded).unwrap(), positions);
    let none = encode_positions(n, &[]).unwrap();
    assert_eq!(decode_positions(&none).unwrap(), Vec::<usize>::new());
    let all: Vec<usize> = (0..n).collect();
    assert_eq!(
        decode_positions(&encode_positions(n, &all).unwrap()).unwrap(),
        all
    );
}

#[test]
fn clustered_positions_use_the_histogram() {
    // runs of 50 consecutive positions every 10 000: gaps 1 or ~9 951
    let n = 1_000_000;
    let positions: Vec<usize> = (0..100)
        .flat_map(|run| (0..50).map(move |i| run * 10_000 + i))
        .collect();
    let encoded = encode_positions(n, &positions).unwrap();
    assert_eq!(encoded.method(), "histogram");
    assert_eq!(decode_positions(&encoded).unwrap(), positions);
}

#[test]
fn large_gaps_round_trip() {
    let n = usize::MAX;
    let positions = vec![0, 7, 8, 15, 16, 1 << 20, (1 << 40) + 3, usize::MAX - 1];
    let encoded = encode_positions(n, &positions).unwrap();
    assert_eq!(decode_positions(&encoded).unwrap(), positions);
    // gaps near 2^63: the Rice cost saturates at small r
    let huge = vec![
        1usize << 62,
        (1 << 63) + 5,
        (1 << 63) + (1 << 62) + 9,
        usize::MAX - 1,
    ];
    let encoded = encode_positions(n, &huge).unwrap();
    assert_eq!(decode_positions(&encoded).unwrap(), huge);
    // Rice with r = 61: each gap < 2^63 costs q + 1 + 61 ≤ 3 + 1 + 61 bits,
    // plus the tag (2), γ(5) (5) and r (6) — not a saturated cost
    assert!(
        encoded.total_bits() <= 2 + 5 + 6 + 4 * 65,
        "{} {}",
        encoded.method(),
        encoded.total_bits()
    );
}

#[test]
fn fixed_point_weights_sum_to_the_precision() {
    for counts in [
        vec![1u64, 1],
        vec![1, 1_000_000_000],
        vec![3; 1000],
        vec![u64::MAX / 4, 1, 1],
    ] {
        let weights = fixed_point_weights(&counts);
        assert_eq!(
            weights.iter().map(|&w| u64::from(w)).sum::<u64>(),
            1u64 << MODEL_PRECISION
        );
        assert!(weights.iter().all(|&w| w >= 1));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn rice_scan_finds_the_brute_force_minimum(
        gaps in proptest::collection::vec(1u64..(1 << 40), 0..300),
        shift in 0u32..40,
    ) {
        let gaps: Vec<u64> = gaps.iter().map(|v| (v >> shift).max(1)).collect();
        let brute = (0..64u32)
            .map(|r| gaps.iter().map(|&v| ((v - 1) >> r) + 1 + u64::from(r)).sum::<u64>())
            .min()
            .unwrap();
        prop_assert_eq!(best_rice_parameter(&gaps).1, brute);
    }

    #[test]
    fn symbol_streams_decode_exactly(
        alphabet in 1u32..300,
        raw in proptest::collection::vec(any::<u32>(), 0..2000),
    ) {
        let symbols: Vec<u32> = raw.iter().map(|s| s % alphabet).collect();
        let encoded = encode_symbols(&symbols, alphabet).unwrap();
        prop_assert_eq!(decode_symbols(&encoded).unwrap(), symbols.clone());
        let ideal = symbols.len() as f64 * empirical_entropy_bits(&symbols);
        prop_assert!(encoded.total_bits() as f64 >= ideal);
    }

    #[test]
    fn wire_bytes_are_the_counted_bits_and_decode_exactly(
        alphabet in 1u32..300,
        skew in 0usize..3,
        len in 0usize..3000,
        seed in any::<u64>(),
    ) {
        // skew 0: uniform (raw or modeled), 1: geometric-like, 2: one symbol
        let mut rng = Pcg64::seed_from_u64(seed);
        let symbols: Vec<u32> = match skew {
            0 => (0..len).map(|_| rng.random_range(0..alphabet)).collect(),
            1 => skewed_symbols(len, alphabet, seed),
            _ => vec![alphabet - 1; len],
        };
        let encoded = encode_symbols(&symbols, alphabet).unwrap();
        let bytes = encoded.to_bytes();
        prop_assert_eq!(bytes.len() as u64, encoded.total_bits().div_ceil(8));
        let read = EncodedSymbols::from_bytes(&bytes, alphabet, u64::MAX).unwrap();
        prop_assert_eq!(&read, &encoded);
        prop_assert_eq!(decode_symbols(&read).unwrap(), symbols);
    }

    #[test]
    fn position_sets_decode_exactly(
        n in 1usize..5000,
        picks in proptest::collection::vec(any::<u64>(), 0..400),
    ) {
        let mut positions: Vec<usize> = picks.iter().map(|p| (*p % n as u64) as usize).collect();
        positions.sort_unstable();
        positions.dedup();
        let encoded = encode_positions(n, &positions).unwrap();
        prop_assert_eq!(decode_positions(&encoded).unwrap(), positions.clone());
        prop_assert!(encoded.total_bits() <= n as u64 + 2);
    }
}

#[test]
fn wire_bytes_refuse_trailing_data_and_long_announcements() {
    let symbols = skewed_symbols(500, 8, 3);
    let encoded = encode_symbols(&symbols, 8).unwrap();
    let mut bytes = encoded.to_bytes();
    bytes.push(0);
    assert!(matches!(
        EncodedSymbols::from_bytes(&bytes, 8, u64::MAX),
        Err(CodingError::Corrupt(_))
    ));
    bytes.pop();
    assert_eq!(
        EncodedSymbols::from_bytes(&bytes, 8, 499),
        Err(CodingError::TooLong { n: 500, limit: 499 })
    );
    // a single-symbol stream has no payload: its header alone says n = 63
    let single = encode_symbols(&[5; 63], 8).unwrap();
    let bytes = single.to_bytes();
    assert!(bytes.len() <= 3);
    assert_eq!(
        decode_symbols_at_most(&single, 62),
        Err(CodingError::TooLong { n: 63, limit: 62 })
    );
    assert_eq!(
        decode_symbols(&EncodedSymbols::from_bytes(&bytes, 8, 63).unwrap()).unwrap(),
        vec![5; 63]
    );
    // a truncated raw stream
    let raw = encode_symbols(&[1, 2, 3], 8).unwrap();
    assert!(raw.is_raw());
    let bytes = raw.to_bytes();
    assert!(EncodedSymbols::from_bytes(&bytes[..1], 8, u64::MAX).is_err());
}
