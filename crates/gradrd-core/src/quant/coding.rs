//! Real entropy coding, so that every size gradrd reports is the length of a
//! stream that decodes back to the exact symbols.
//!
//! **Symbol streams** ([`encode_symbols`]): a stream of symbols from an
//! alphabet `0..A` (codebook cell indices, FP8 bytes, …) is sent as a header
//! that carries the decoder's model — the histogram of the used symbols — and
//! a payload coded by asymmetric numeral systems (J. Duda, "Asymmetric numeral
//! systems", arXiv:0902.0271, 2009) with the `constriction` crate's
//! `DefaultAnsCoder` (32-bit words, 64-bit state) and a categorical model of
//! fixed-point precision [`MODEL_PRECISION`] = 24 bits. The alphabet size `A`
//! is part of the scheme (both sides know it) and is not sent.
//!
//! Header, bit by bit (`γ(v)` is the Elias gamma code of `v ≥ 1`:
//! `⌊log2 v⌋` zeros, then `v` in binary, `2⌊log2 v⌋ + 1` bits;
//! `w(v) = ⌈log2 v⌉` bits for a value below `v`; `|n|` = bit length of `n`):
//!
//! ```text
//! γ(n + 1)                         number of symbols
//! if n > 0:
//!   1 mode bit                     0: raw — n symbols of w(A) bits follow, no model
//!                                  (chosen when cheaper: short streams)
//!                                  1: modeled — the model below, then the ANS payload
//!   γ(K)                           number of distinct symbols used
//!   1 flag bit                     0: bitmap of A bits (bit s = symbol s used)
//!                                  1: the K used symbols, ascending, w(A) bits each
//!                                  (the cheaper of the two is chosen)
//!   1 flag bit                     0: K − 1 counts, |n| bits each
//!                                  1: K − 1 counts as γ(count)
//!                                  (the cheaper; counts of the used symbols but
//!                                  the last, which is n minus their sum)
//! ```
//!
//! The payload is the ANS words (32 bits each; none when `K = 1`), or the raw
//! symbols. The coded size is `header_bits + payload_bits`, exactly what a
//! receiver would read. On the wire ([`EncodedSymbols::to_bytes`]) the
//! header bits are followed directly by the payload, most significant bit
//! first, and the last byte is zero-padded: `⌈coded size / 8⌉` bytes.
//! The model: used symbol `i` with count `c_i` gets weight
//! `w_i = max(1, ⌊c_i 2^24 / n⌋)`; the shortfall to `2^24` is added to the
//! most frequent symbol (first in order), an excess is taken from the
//! heaviest weights (keeping each ≥ 1). The decoder rebuilds it from the
//! counts in the header.
//!
//! **Positions** ([`encode_positions`]): a set of `k` kept positions among `n`
//! (sparse schemes; `n` is known to the receiver) is sent as the cheapest of
//! three forms, after a 2-bit method tag: a bitmap (`n` bits); Rice-coded
//! gaps (γ(k + 1), a 6-bit parameter `r`, then each `v − 1 = q 2^r + low` as
//! `q` ones, a zero and the `r` low bits — R. F. Rice, JPL 79-22, 1979; the
//! best `r` is found by an exact scan of the convex cost; near-optimal for
//! the geometric gaps of a random subset); or histogram-coded gaps, which win
//! on clustered sets (runs of neighbouring positions). The gaps
//! `v = p_i − p_{i−1}` (`p_{−1} = −1`, so `v ≥ 1`) are split into a symbol
//! and raw bits: `v ≤ 7` is the symbol `v` itself; otherwise with `L` the
//! bit length of `v`, the symbol is `8 + 4 (L − 4) + (the two bits after the
//! leading one)` and the `L − 3` low bits are sent raw. The symbols (alphabet
//! [`GAP_ALPHABET`]) form a symbol stream as above; the raw bits follow it.
//! The number of positions is the symbol count in that stream's header.
//! The reference is the enumerative bound `log2 C(n, k)` ([`log2_binomial`]):
//! no code for all k-subsets can beat it on average.

use constriction::stream::model::DefaultContiguousCategoricalEntropyModel;
use constriction::stream::stack::DefaultAnsCoder;
use constriction::stream::Decode;

/// Fixed-point precision (bits) of the categorical models.
pub const MODEL_PRECISION: usize = 24;

/// Largest alphabet a symbol stream accepts (every used symbol needs a
/// nonzero weight out of `2^24`).
pub const MAX_ALPHABET: u64 = 1 << MODEL_PRECISION;

/// Alphabet of the gap symbols of [`encode_positions`]: 8 small values and
/// 4 refinements for each bit length 4..=64.
pub const GAP_ALPHABET: u32 = 8 + 4 * 61;

/// Why a stream could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CodingError {
    #[error("coding: alphabet size must be between 1 and {MAX_ALPHABET}, got {0}")]
    Alphabet(u64),
    #[error("coding: symbol[{index}] = {symbol} is outside the alphabet 0..{alphabet}")]
    SymbolOutOfRange {
        index: usize,
        symbol: u32,
        alphabet: u32,
    },
    #[error("coding: positions must be strictly increasing and below n = {n}; positions[{index}] = {position} is not")]
    Positions {
        index: usize,
        position: usize,
        n: usize,
    },
    #[error("coding: the stream announces {n} symbols, more than the {limit} allowed")]
    TooLong { n: u64, limit: u64 },
    #[error("coding: the stream is corrupt or truncated ({0})")]
    Corrupt(&'static str),
    #[error("coding: the entropy coder failed ({0})")]
    Coder(String),
}

/// A symbol stream as sent: header bits, then ANS words or raw symbols.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedSymbols {
    alphabet: u32,
    header: BitBuffer,
    words: Vec<u32>,
    raw: BitBuffer,
    is_raw: bool,
}

impl EncodedSymbols {
    /// Bits of the header (length, mode and the decoder's model).
    pub fn header_bits(&self) -> u64 {
        self.header.len
    }
    /// Bits of the payload: `32 ·` ANS words, or the raw symbols.
    pub fn payload_bits(&self) -> u64 {
        32 * self.words.len() as u64 + self.raw.len
    }
    /// Whether the symbols were sent raw (fixed width, no model).
    pub fn is_raw(&self) -> bool {
        self.is_raw
    }
    /// Total bits sent: header + payload.
    pub fn total_bits(&self) -> u64 {
        self.header_bits() + self.payload_bits()
    }
    /// The alphabet size the stream was coded for.
    pub fn alphabet(&self) -> u32 {
        self.alphabet
    }

    /// The stream as bytes on the wire: the header bits, then the payload
    /// (ANS words most significant bit first, or the raw symbols), zero-padded
    /// to a whole byte — `⌈total_bits / 8⌉` bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut wire = self.header.clone();
        for &word in &self.words {
            wire.push_bits(u64::from(word), 32);
        }
        wire.append(&self.raw, self.raw.len);
        wire.bytes
    }

    /// Reads a stream written by [`EncodedSymbols::to_bytes`] for `alphabet`
    /// (known to both sides). The header says how many symbols follow raw;
    /// a modeled payload is the whole 32-bit words after the header, and
    /// what is left must be the zero padding of the last byte.
    /// Refuses a stream announcing more than `limit` symbols (see
    /// [`decode_symbols_at_most`]).
    pub fn from_bytes(
        bytes: &[u8],
        alphabet: u32,
        limit: u64,
    ) -> Result<EncodedSymbols, CodingError> {
        if alphabet == 0 || u64::from(alphabet) > MAX_ALPHABET {
            return Err(CodingError::Alphabet(u64::from(alphabet)));
        }
        let wire = BitBuffer {
            bytes: bytes.to_vec(),
            len: 8 * bytes.len() as u64,
        };
        let mut reader = BitReader::new(&wire);
        let header = read_header(&mut reader, alphabet)?;
        let n = header.symbols();
        if n > limit {
            return Err(CodingError::TooLong { n, limit });
        }
        let header_bits = reader.position;
        let mut words = Vec::new();
        let mut raw = BitBuffer::default();
        let id_width = ceil_log2(u64::from(alphabet));
        match &header {
            Header::Empty => {}
            Header::Raw { n } => {
                if n.saturating_mul(u64::from(id_width)) > wire.len - header_bits {
                    return Err(CodingError::Corrupt("raw symbols end early"));
                }
                for _ in 0..*n {
                    raw.push_bits(reader.bits(id_width)?, id_width);
                }
            }
            Header::Modeled { used, .. } if used.len() == 1 => {}
            Header::Modeled { .. } => {
                while wire.len - reader.position >= 32 {
                    words.push(reader.bits(32)? as u32);
                }
            }
        }
        let padding = wire.len - reader.position;
        if padding >= 8 || reader.bits(padding as u32)? != 0 {
            return Err(CodingError::Corrupt("bytes after the stream"));
        }
        let mut header_bits_only = BitBuffer::default();
        header_bits_only.append(&wire, header_bits);
        Ok(EncodedSymbols {
            alphabet,
            header: header_bits_only,
            words,
            raw,
            is_raw: matches!(header, Header::Raw { .. }),
        })
    }
}

/// Encodes `symbols` (each `< alphabet`) as described in the module docs.
pub fn encode_symbols(symbols: &[u32], alphabet: u32) -> Result<EncodedSymbols, CodingError> {
    if alphabet == 0 || u64::from(alphabet) > MAX_ALPHABET {
        return Err(CodingError::Alphabet(u64::from(alphabet)));
    }
    if let Some((index, &symbol)) = symbols.iter().enumerate().find(|(_, s)| **s >= alphabet) {
        return Err(CodingError::SymbolOutOfRange {
            index,
            symbol,
            alphabet,
        });
    }
    let n = symbols.len() as u64;
    let mut header = BitBuffer::default();
    header.push_gamma(n + 1);
    if n == 0 {
        return Ok(EncodedSymbols {
            alphabet,
            header,
            words: Vec::new(),
            raw: BitBuffer::default(),
            is_raw: false,
        });
    }
    let id_width = ceil_log2(u64::from(alphabet));
    let mut raw_header = header.clone();
    header.push_bits(1, 1);
    raw_header.push_bits(0, 1);
    let mut histogram = vec![0u64; alphabet as usize];
    for &s in symbols {
        histogram[s as usize] += 1;
    }
    let used: Vec<u32> = (0..alphabet)
        .filter(|&s| histogram[s as usize] > 0)
        .collect();
    let counts: Vec<u64> = used.iter().map(|&s| histogram[s as usize]).collect();
    let k = used.len() as u64;
    header.push_gamma(k);
    if u64::from(alphabet) <= k * u64::from(id_width) {
        header.push_bits(0, 1);
        for count in &histogram {
            header.push_bits(u64::from(*count > 0), 1);
        }
    } else {
        header.push_bits(1, 1);
        for &s in &used {
            header.push_bits(u64::from(s), id_width);
        }
    }
    let count_width = bit_length(n);
    let sent_counts = &counts[..counts.len() - 1];
    let fixed_bits = sent_counts.len() as u64 * u64::from(count_width);
    let gamma_bits: u64 = sent_counts.iter().map(|&c| gamma_length(c)).sum();
    if fixed_bits <= gamma_bits {
        header.push_bits(0, 1);
        for &c in sent_counts {
            header.push_bits(c, count_width);
        }
    } else {
        header.push_bits(1, 1);
        for &c in sent_counts {
            header.push_gamma(c);
        }
    }
    let words = if used.len() == 1 {
        Vec::new()
    } else {
        let mut rank_of = vec![0u32; alphabet as usize];
        for (rank, &s) in used.iter().enumerate() {
            rank_of[s as usize] = rank as u32;
        }
        let model = categorical_model(&counts)?;
        let mut coder = DefaultAnsCoder::new();
        coder
            .encode_iid_symbols_reverse(
                symbols.iter().map(|&s| rank_of[s as usize] as usize),
                &model,
            )
            .map_err(|e| CodingError::Coder(e.to_string()))?;
        coder
            .into_compressed()
            .map_err(|e| CodingError::Coder(format!("{e:?}")))?
    };
    let raw_bits = n.saturating_mul(u64::from(id_width));
    if raw_header.len.saturating_add(raw_bits) < header.len + 32 * words.len() as u64 {
        let mut raw = BitBuffer::default();
        for &s in symbols {
            raw.push_bits(u64::from(s), id_width);
        }
        return Ok(EncodedSymbols {
            alphabet,
            header: raw_header,
            words: Vec::new(),
            raw,
            is_raw: true,
        });
    }
    Ok(EncodedSymbols {
        alphabet,
        header,
        words,
        raw: BitBuffer::default(),
        is_raw: false,
    })
}

/// Decodes a stream of [`encode_symbols`] back to its symbols, reading the
/// model from the header bits only.
pub fn decode_symbols(encoded: &EncodedSymbols) -> Result<Vec<u32>, CodingError> {
    decode_symbols_at_most(encoded, u64::MAX)
}

/// [`decode_symbols`], refusing a stream whose header announces more than
/// `limit` symbols before anything is allocated (a stream from outside: a
/// skewed model codes billions of symbols in a few bytes).
pub fn decode_symbols_at_most(
    encoded: &EncodedSymbols,
    limit: u64,
) -> Result<Vec<u32>, CodingError> {
    let alphabet = encoded.alphabet;
    let header = read_header(&mut BitReader::new(&encoded.header), alphabet)?;
    let n = header.symbols();
    if n > limit {
        return Err(CodingError::TooLong { n, limit });
    }
    match header {
        Header::Empty => Ok(Vec::new()),
        Header::Raw { n } => {
            let id_width = ceil_log2(u64::from(alphabet));
            if n.saturating_mul(u64::from(id_width)) > encoded.raw.len {
                return Err(CodingError::Corrupt("raw symbols end early"));
            }
            let mut raw = BitReader::new(&encoded.raw);
            (0..n)
                .map(|_| {
                    let s = raw.bits(id_width)? as u32;
                    if s < alphabet {
                        Ok(s)
                    } else {
                        Err(CodingError::Corrupt("raw symbol beyond the alphabet"))
                    }
                })
                .collect()
        }
        Header::Modeled { used, .. } if used.len() == 1 => Ok(vec![used[0]; n as usize]),
        Header::Modeled { used, counts } => {
            let model = categorical_model(&counts)?;
            let mut decoder = DefaultAnsCoder::from_compressed(encoded.words.clone())
                .map_err(|_| CodingError::Corrupt("payload"))?;
            let ranks: Vec<usize> = decoder
                .decode_iid_symbols(n as usize, &model)
                .collect::<Result<_, _>>()
                .map_err(|_| CodingError::Corrupt("payload"))?;
            Ok(ranks.into_iter().map(|r| used[r]).collect())
        }
    }
}

/// What a symbol stream's header says.
enum Header {
    /// No symbols.
    Empty,
    /// `n` symbols sent raw.
    Raw { n: u64 },
    /// Symbols `used` (ascending) with their `counts`, ANS-coded.
    Modeled { used: Vec<u32>, counts: Vec<u64> },
}

impl Header {
    fn symbols(&self) -> u64 {
        match self {
            Header::Empty => 0,
            Header::Raw { n } => *n,
            Header::Modeled { counts, .. } => counts.iter().sum(),
        }
    }
}

/// Reads the header of the module docs for `alphabet`.
fn read_header(reader: &mut BitReader<'_>, alphabet: u32) -> Result<Header, CodingError> {
    let n = reader.gamma()? - 1;
    if n == 0 {
        return Ok(Header::Empty);
    }
    let id_width = ceil_log2(u64::from(alphabet));
    if reader.bits(1)? == 0 {
        return Ok(Header::Raw { n });
    }
    let k = reader.gamma()?;
    if k > u64::from(alphabet) || k > n {
        return Err(CodingError::Corrupt("more distinct symbols than possible"));
    }
    let used: Vec<u32> = if reader.bits(1)? == 0 {
        let mut used = Vec::new();
        for s in 0..alphabet {
            if reader.bits(1)? == 1 {
                used.push(s);
            }
        }
        used
    } else {
        (0..k)
            .map(|_| reader.bits(id_width).map(|s| s as u32))
            .collect::<Result<_, _>>()?
    };
    if used.len() as u64 != k || used.iter().any(|&s| s >= alphabet) {
        return Err(CodingError::Corrupt("symbol set"));
    }
    let count_width = bit_length(n);
    let gamma_counts = reader.bits(1)? == 1;
    let mut counts: Vec<u64> = (0..k - 1)
        .map(|_| {
            if gamma_counts {
                reader.gamma()
            } else {
                reader.bits(count_width)
            }
        })
        .collect::<Result<_, _>>()?;
    let partial = counts
        .iter()
        .try_fold(0u64, |sum, &c| sum.checked_add(c))
        .filter(|&sum| sum < n);
    let Some(partial) = partial.filter(|_| !counts.contains(&0)) else {
        return Err(CodingError::Corrupt("counts"));
    };
    counts.push(n - partial);
    Ok(Header::Modeled { used, counts })
}

/// The model of the used symbols (ranks `0..K`) from their counts.
fn categorical_model(
    counts: &[u64],
) -> Result<DefaultContiguousCategoricalEntropyModel, CodingError> {
    let weights = fixed_point_weights(counts);
    DefaultContiguousCategoricalEntropyModel::from_nonzero_fixed_point_probabilities(
        &weights, false,
    )
    .map_err(|()| CodingError::Coder("invalid fixed-point model".to_string()))
}

/// Weights summing to exactly `2^24`, each ≥ 1 (see the module docs).
fn fixed_point_weights(counts: &[u64]) -> Vec<u32> {
    let total_weight = 1u64 << MODEL_PRECISION;
    let n: u128 = counts.iter().map(|&c| u128::from(c)).sum();
    let mut weights: Vec<u64> = counts
        .iter()
        .map(|&c| ((u128::from(c) << MODEL_PRECISION) / n).max(1) as u64)
        .collect();
    let sum: u64 = weights.iter().sum();
    if sum < total_weight {
        let heaviest = (0..counts.len())
            .max_by(|&a, &b| counts[a].cmp(&counts[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        weights[heaviest] += total_weight - sum;
    } else if sum > total_weight {
        let mut excess = sum - total_weight;
        let mut order: Vec<usize> = (0..weights.len()).collect();
        order.sort_by(|&a, &b| weights[b].cmp(&weights[a]).then(a.cmp(&b)));
        for i in order {
            if excess == 0 {
                break;
            }
            let take = excess.min(weights[i] - 1);
            weights[i] -= take;
            excess -= take;
        }
    }
    weights.into_iter().map(|w| w as u32).collect()
}

/// Coded size in bits of `symbols` (header + payload) by [`encode_symbols`].
pub fn coded_bits(symbols: &[u32], alphabet: u32) -> Result<u64, CodingError> {
    encode_symbols(symbols, alphabet).map(|e| e.total_bits())
}

/// Empirical entropy of the symbols in bits per symbol,
/// `−Σ_s (c_s/n) log2(c_s/n)` (0 for an empty stream).
pub fn empirical_entropy_bits(symbols: &[u32]) -> f64 {
    if symbols.is_empty() {
        return 0.0;
    }
    let mut sorted = symbols.to_vec();
    sorted.sort_unstable();
    let n = sorted.len() as f64;
    sorted
        .chunk_by(|a, b| a == b)
        .map(|run| {
            let p = run.len() as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// `log2 C(n, k)`, the bits needed to single out one of the k-subsets of n
/// positions (0 when `k = 0` or `k = n`; `−∞` when `k > n`).
pub fn log2_binomial(n: u64, k: u64) -> f64 {
    use crate::dist::special::ln_gamma;
    if k > n {
        return f64::NEG_INFINITY;
    }
    if k == 0 || k == n {
        return 0.0;
    }
    let (n, k) = (n as f64, k as f64);
    (ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)) / std::f64::consts::LN_2
}

/// How a position set was sent.
#[derive(Debug, Clone, PartialEq)]
enum PositionBody {
    Bitmap(BitBuffer),
    Rice(BitBuffer),
    Gaps {
        symbols: EncodedSymbols,
        raw: BitBuffer,
    },
}

/// A set of kept positions as sent (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedPositions {
    n: usize,
    body: PositionBody,
}

impl EncodedPositions {
    /// Total bits sent: the 2-bit method tag plus the body.
    pub fn total_bits(&self) -> u64 {
        2 + match &self.body {
            PositionBody::Bitmap(bits) | PositionBody::Rice(bits) => bits.len,
            PositionBody::Gaps { symbols, raw } => symbols.total_bits() + raw.len,
        }
    }
    /// Whether the bitmap was cheaper than the coded gaps.
    pub fn is_bitmap(&self) -> bool {
        matches!(self.body, PositionBody::Bitmap(_))
    }
    /// Which form was sent: `"bitmap"`, `"rice"` or `"histogram"`.
    pub fn method(&self) -> &'static str {
        match self.body {
            PositionBody::Bitmap(_) => "bitmap",
            PositionBody::Rice(_) => "rice",
            PositionBody::Gaps { .. } => "histogram",
        }
    }
}

/// The gap symbol and its raw low bits (value, count) of a gap `v ≥ 1`.
fn gap_symbol(v: u64) -> (u32, u64, u32) {
    if v <= 7 {
        return (v as u32, 0, 0);
    }
    let len = bit_length(v);
    let refinement = (v >> (len - 3)) & 3;
    let raw_width = len - 3;
    (
        8 + 4 * (len - 4) + refinement as u32,
        v & ((1u64 << raw_width) - 1),
        raw_width,
    )
}

/// Encodes the strictly increasing `positions` (each `< n`); the cheaper of
/// a bitmap and coded gaps.
pub fn encode_positions(n: usize, positions: &[usize]) -> Result<EncodedPositions, CodingError> {
    for (index, &position) in positions.iter().enumerate() {
        if position >= n || (index > 0 && position <= positions[index - 1]) {
            return Err(CodingError::Positions { index, position, n });
        }
    }
    let gaps: Vec<u64> = positions
        .iter()
        .scan(-1i128, |previous, &p| {
            let v = (p as i128 - *previous) as u64;
            *previous = p as i128;
            Some(v)
        })
        .collect();
    let mut symbols = Vec::with_capacity(gaps.len());
    let mut raw = BitBuffer::default();
    for &v in &gaps {
        let (symbol, low, width) = gap_symbol(v);
        symbols.push(symbol);
        raw.push_bits(low, width);
    }
    let symbols = encode_symbols(&symbols, GAP_ALPHABET)?;
    let histogram_bits = symbols.total_bits() + raw.len;
    let (rice_parameter, rice_bits) = best_rice_parameter(&gaps);
    let rice_bits = rice_bits.saturating_add(gamma_length(gaps.len() as u64 + 1) + 6);
    let body = if (n as u64) <= histogram_bits.min(rice_bits) {
        let mut bitmap = BitBuffer::default();
        let mut next = positions.iter().peekable();
        for i in 0..n {
            let kept = next.peek() == Some(&&i);
            if kept {
                next.next();
            }
            bitmap.push_bits(u64::from(kept), 1);
        }
        PositionBody::Bitmap(bitmap)
    } else if rice_bits <= histogram_bits {
        let mut bits = BitBuffer::default();
        bits.push_gamma(gaps.len() as u64 + 1);
        bits.push_bits(u64::from(rice_parameter), 6);
        for &v in &gaps {
            let q = (v - 1) >> rice_parameter;
            for _ in 0..q {
                bits.push_bits(1, 1);
            }
            bits.push_bits(0, 1);
            bits.push_bits(v - 1, rice_parameter);
        }
        PositionBody::Rice(bits)
    } else {
        PositionBody::Gaps { symbols, raw }
    };
    Ok(EncodedPositions { n, body })
}

/// Decodes a position set of [`encode_positions`].
pub fn decode_positions(encoded: &EncodedPositions) -> Result<Vec<usize>, CodingError> {
    match &encoded.body {
        PositionBody::Bitmap(bits) => {
            let mut reader = BitReader::new(bits);
            let mut positions = Vec::new();
            for i in 0..encoded.n {
                if reader.bits(1)? == 1 {
                    positions.push(i);
                }
            }
            Ok(positions)
        }
        PositionBody::Rice(bits) => {
            let mut reader = BitReader::new(bits);
            let k = reader.gamma()? - 1;
            let r = reader.bits(6)? as u32;
            let mut positions = Vec::new();
            let mut previous: i128 = -1;
            for _ in 0..k {
                let mut q = 0u64;
                while reader.bits(1)? == 1 {
                    q += 1;
                }
                let v = q
                    .checked_shl(r)
                    .and_then(|high| high.checked_add(reader.bits(r).ok()? + 1))
                    .ok_or(CodingError::Corrupt("rice gap"))?;
                let p = previous + i128::from(v);
                if p >= encoded.n as i128 {
                    return Err(CodingError::Corrupt("position beyond n"));
                }
                positions.push(p as usize);
                previous = p;
            }
            Ok(positions)
        }
        PositionBody::Gaps { symbols, raw } => {
            let gap_symbols = decode_symbols(symbols)?;
            let mut reader = BitReader::new(raw);
            let mut positions = Vec::with_capacity(gap_symbols.len());
            let mut previous: i128 = -1;
            for s in gap_symbols {
                let v = if s <= 7 {
                    u64::from(s)
                } else {
                    let len = (s - 8) / 4 + 4;
                    let refinement = u64::from((s - 8) % 4);
                    let width = len - 3;
                    ((4 | refinement) << width) | reader.bits(width)?
                };
                if v == 0 {
                    return Err(CodingError::Corrupt("zero gap"));
                }
                let p = previous + i128::from(v);
                if p >= encoded.n as i128 {
                    return Err(CodingError::Corrupt("position beyond n"));
                }
                positions.push(p as usize);
                previous = p;
            }
            Ok(positions)
        }
    }
}

/// The Rice parameter `r` (0..=63) with the fewest body bits for the gaps
/// `v ≥ 1`, and that number of bits: `Σ ((v − 1) >> r) + 1 + r`. The cost is
/// convex in r — with `q = (v − 1) >> r`, a step from r to r + 1 saves
/// `Σ ⌈q/2⌉`, which never grows with r, and adds k — so the scan stops at
/// the first step that does not decrease it.
fn best_rice_parameter(gaps: &[u64]) -> (u32, u64) {
    let cost = |r: u32| {
        gaps.iter()
            .map(|&v| ((v - 1) >> r) + 1 + u64::from(r))
            .fold(0u64, u64::saturating_add)
    };
    let mut best = (0, cost(0));
    for r in 1..64 {
        let bits = cost(r);
        if bits < best.1 {
            best = (r, bits);
        } else if bits < u64::MAX {
            break; // (a saturated cost says nothing about the slope)
        }
    }
    best
}

/// Length of the Elias gamma code of `v ≥ 1`.
fn gamma_length(v: u64) -> u64 {
    2 * u64::from(bit_length(v)) - 1
}

/// Number of bits to write `v` (0 for 0).
fn bit_length(v: u64) -> u32 {
    64 - v.leading_zeros()
}

/// `⌈log2 v⌉` for `v ≥ 1`: the width of a value below `v`.
fn ceil_log2(v: u64) -> u32 {
    if v <= 1 {
        0
    } else {
        bit_length(v - 1)
    }
}

/// Bits, most significant first within each pushed value.
#[derive(Debug, Clone, Default, PartialEq)]
struct BitBuffer {
    bytes: Vec<u8>,
    len: u64,
}

impl BitBuffer {
    /// Appends the `width` low bits of `value`, most significant first.
    fn push_bits(&mut self, value: u64, width: u32) {
        for i in (0..width).rev() {
            let bit = (value >> i) & 1;
            let byte = (self.len / 8) as usize;
            if byte == self.bytes.len() {
                self.bytes.push(0);
            }
            self.bytes[byte] |= (bit as u8) << (7 - (self.len % 8));
            self.len += 1;
        }
    }

    /// Appends the first `len` bits of `other`.
    fn append(&mut self, other: &BitBuffer, len: u64) {
        for i in 0..len {
            let bit = (other.bytes[(i / 8) as usize] >> (7 - (i % 8))) & 1;
            self.push_bits(u64::from(bit), 1);
        }
    }

    /// Elias gamma code of `v ≥ 1`.
    fn push_gamma(&mut self, v: u64) {
        let len = bit_length(v);
        self.push_bits(0, len - 1);
        self.push_bits(v, len);
    }
}

struct BitReader<'a> {
    buffer: &'a BitBuffer,
    position: u64,
}

impl<'a> BitReader<'a> {
    fn new(buffer: &'a BitBuffer) -> Self {
        Self {
            buffer,
            position: 0,
        }
    }

    fn bits(&mut self, width: u32) -> Result<u64, CodingError> {
        if self.position + u64::from(width) > self.buffer.len {
            return Err(CodingError::Corrupt("header ends early"));
        }
        let mut value = 0u64;
        for _ in 0..width {
            let byte = self.buffer.bytes[(self.position / 8) as usize];
            let bit = (byte >> (7 - (self.position % 8))) & 1;
            value = (value << 1) | u64::from(bit);
            self.position += 1;
        }
        Ok(value)
    }

    fn gamma(&mut self) -> Result<u64, CodingError> {
        let mut zeros = 0;
        while self.bits(1)? == 0 {
            zeros += 1;
            if zeros > 63 {
                return Err(CodingError::Corrupt("gamma code too long"));
            }
        }
        Ok((1u64 << zeros) | self.bits(zeros)?)
    }
}

#[cfg(test)]
mod tests;
