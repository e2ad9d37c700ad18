//! NumPy `.npy` reader (NEP 1, <https://numpy.org/neps/nep-0001-npy-format.html>):
//!
//! ```text
//! "\x93NUMPY" major minor  header_len (u16 LE for 1.0, u32 LE for 2.0/3.0)
//! header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }"   (a Python dict literal)
//! data   = Π shape × itemsize bytes
//! ```
//! Writing ([`f64_npy_bytes`]) produces the version 1.0 file `numpy.save`
//! writes for a 1-D little-endian float64 array.
//!
//! Accepted `descr`: `<f2 <f4 <f8 >f2 >f4 >f8` (and `=`/`|` treated as little
//! endian for `f2/f4/f8`); object (`|O`), integer, complex and structured
//! dtypes are rejected. The declared size is checked against the file before
//! anything is allocated.
//!
//! The header dict must hold exactly the keys `descr`, `fortran_order` and
//! `shape`, each once: numpy refuses any other key set ("Header does not
//! contain the correct keys", `numpy.lib.format._read_array_header`), and a
//! repeated key, which numpy's `ast.literal_eval` would resolve to its last
//! value, is refused rather than read differently.

use std::io::Read;
use std::path::Path;

use super::elements::Encoding;
use super::input::Input;
use super::layout::{self, Layout, Locator, Source};
use super::{DType, DumpError, Found, InnerStep};

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Largest header accepted; numpy itself refuses headers above 10 000 bytes
/// unless told otherwise.
const MAX_HEADER_BYTES: u32 = 1 << 20;

/// What an `.npy` header says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NpyHeader {
    pub encoding: Encoding,
    pub fortran_order: bool,
    pub shape: Vec<u64>,
    /// Bytes before the data (preamble + header).
    pub data_start: u64,
}

impl NpyHeader {
    /// Data bytes the header declares, or `None` on overflow.
    pub(crate) fn data_bytes(&self) -> Option<u64> {
        layout::element_count(&self.shape)?.checked_mul(self.encoding.dtype.size_in_bytes() as u64)
    }

    /// The tensor this header describes, after checking that the data fits in
    /// `available` bytes (the file or zip entry length).
    pub(crate) fn into_found(
        self,
        path: &Path,
        name: &str,
        source: Source,
        available: u64,
    ) -> Result<Found, DumpError> {
        let data_bytes = self
            .data_bytes()
            .ok_or_else(|| DumpError::bad_field(path, name, "shape", "element count overflows"))?;
        let needed = self.data_start.saturating_add(data_bytes);
        if needed > available {
            return Err(DumpError::Truncated {
                file: path.to_path_buf(),
                tensor: name.to_string(),
                needed,
                available,
            });
        }
        Ok(Found {
            name: name.to_string(),
            dtype: self.encoding.dtype,
            locator: Locator {
                source,
                data_start: self.data_start,
                extent: data_bytes / self.encoding.dtype.size_in_bytes() as u64,
                encoding: self.encoding,
                layout: if self.fortran_order {
                    Layout::Fortran
                } else {
                    Layout::C
                },
            },
            shape: self.shape,
            inner_step: InnerStep::Absent,
            placement: None,
        })
    }
}

/// The header of the single tensor in an `.npy` file (named by the file stem).
pub(crate) fn scan(input: Input) -> Result<Found, DumpError> {
    let path = input.path;
    let name = path
        .file_stem()
        .map(super::file_name::os_text)
        .unwrap_or_default();
    let contents = input.contents()?;
    let header = read_header(&mut &contents[..], path, &name)?;
    header.into_found(path, &name, Source::Mapped, contents.len() as u64)
}

/// Reads and parses the preamble and header from `reader`, which is left at
/// the first data byte. `tensor` names the array in error messages.
pub(crate) fn read_header(
    reader: &mut impl Read,
    path: &Path,
    tensor: &str,
) -> Result<NpyHeader, DumpError> {
    let malformed = |what: String| DumpError::malformed(path, format!("npy `{tensor}`: {what}"));
    let mut preamble = [0u8; 8];
    reader
        .read_exact(&mut preamble)
        .map_err(|_| malformed("shorter than the 8-byte preamble".into()))?;
    if &preamble[..6] != MAGIC {
        return Err(malformed("wrong magic (not a .npy file)".into()));
    }
    let (major, minor) = (preamble[6], preamble[7]);
    let (header_len, preamble_len) = match major {
        1 => {
            let mut len = [0u8; 2];
            reader
                .read_exact(&mut len)
                .map_err(|_| malformed("truncated header length".into()))?;
            (u32::from(u16::from_le_bytes(len)), 10u64)
        }
        2 | 3 => {
            let mut len = [0u8; 4];
            reader
                .read_exact(&mut len)
                .map_err(|_| malformed("truncated header length".into()))?;
            (u32::from_le_bytes(len), 12u64)
        }
        _ => {
            return Err(malformed(format!(
                "unsupported format version {major}.{minor}"
            )))
        }
    };
    if header_len > MAX_HEADER_BYTES {
        return Err(malformed(format!(
            "header length {header_len} exceeds {MAX_HEADER_BYTES} bytes"
        )));
    }
    let mut text = Vec::new();
    reader
        .take(u64::from(header_len))
        .read_to_end(&mut text)
        .map_err(|e| DumpError::io(path, e))?;
    if text.len() != header_len as usize {
        return Err(malformed(format!(
            "header declares {header_len} bytes but only {} follow",
            text.len()
        )));
    }
    // 1.0 and 2.0 headers are latin-1 (ASCII in practice), 3.0 is UTF-8.
    let text = String::from_utf8(text).map_err(|_| malformed("header is not valid text".into()))?;
    let mut header = parse_header_dict(&text, path, tensor)?;
    header.data_start = preamble_len + u64::from(header_len);
    Ok(header)
}

/// The keys of an .npy header dict, all required, no other allowed
/// (`numpy.lib.format._read_array_header`).
const HEADER_KEYS: [&str; 3] = ["descr", "fortran_order", "shape"];

/// Parses the header dict literal (data_start left at 0).
fn parse_header_dict(text: &str, path: &Path, tensor: &str) -> Result<NpyHeader, DumpError> {
    let field = |field: &str, what: String| DumpError::bad_field(path, tensor, field, what);
    let dict = match literal::parse(text) {
        Ok(literal::Lit::Dict(entries)) => entries,
        Ok(_) => {
            return Err(DumpError::malformed(
                path,
                format!("npy `{tensor}`: header is not a dict"),
            ))
        }
        Err(e) => {
            return Err(DumpError::malformed(
                path,
                format!("npy `{tensor}`: header: {e}"),
            ))
        }
    };
    // numpy: `EXPECTED_KEYS != d.keys()` -> "Header does not contain the
    // correct keys"; a repeated key is refused too, since numpy's
    // `ast.literal_eval` would keep its last value.
    for (index, (key, _)) in dict.iter().enumerate() {
        if !HEADER_KEYS.contains(&key.as_str()) {
            return Err(field(
                key,
                "not a header key (numpy reads exactly `descr`, `fortran_order` and `shape`)"
                    .into(),
            ));
        }
        if dict[..index].iter().any(|(k, _)| k == key) {
            return Err(field(key, "appears twice in the header".into()));
        }
    }
    let get = |key: &str| dict.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let descr = match get("descr") {
        Some(literal::Lit::Str(d)) => d.as_str(),
        Some(_) => {
            return Err(field(
                "descr",
                "not a simple dtype string (structured dtypes are not supported)".into(),
            ))
        }
        None => return Err(field("descr", "missing".into())),
    };
    let encoding = parse_descr(descr).ok_or_else(|| DumpError::UnsupportedDtype {
        file: path.to_path_buf(),
        tensor: tensor.to_string(),
        dtype: descr.to_string(),
    })?;
    let fortran_order = match get("fortran_order") {
        Some(literal::Lit::Bool(b)) => *b,
        _ => return Err(field("fortran_order", "missing or not True/False".into())),
    };
    let shape = match get("shape") {
        Some(literal::Lit::Tuple(items)) => items
            .iter()
            .map(|item| match item {
                literal::Lit::Int(n) => Some(*n),
                _ => None,
            })
            .collect::<Option<Vec<u64>>>()
            .ok_or_else(|| field("shape", "not a tuple of non-negative integers".into()))?,
        _ => return Err(field("shape", "missing or not a tuple".into())),
    };
    Ok(NpyHeader {
        encoding,
        fortran_order,
        shape,
        data_start: 0,
    })
}

/// `descr` → encoding, for the float dtypes gradrd reads.
fn parse_descr(descr: &str) -> Option<Encoding> {
    let (order, kind) = descr.split_at_checked(1)?;
    let big_endian = match order {
        "<" | "=" | "|" => false,
        ">" => true,
        _ => return None,
    };
    let dtype = match kind {
        "f2" => DType::F16,
        "f4" => DType::F32,
        "f8" => DType::F64,
        _ => return None,
    };
    Some(Encoding { dtype, big_endian })
}

/// A parser for the Python literals an `.npy` header uses: dicts with string
/// keys, strings, `True`/`False`/`None`, non-negative integers and tuples.
pub(crate) mod literal {
    /// A parsed literal.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Lit {
        Str(String),
        Bool(bool),
        None,
        Int(u64),
        Tuple(Vec<Lit>),
        Dict(Vec<(String, Lit)>),
    }

    /// Nesting deeper than this is rejected (headers nest two levels).
    const MAX_DEPTH: usize = 16;

    /// Parses one literal; trailing whitespace is allowed, anything else is not.
    pub fn parse(text: &str) -> Result<Lit, String> {
        let mut parser = Parser {
            text: text.as_bytes(),
            at: 0,
        };
        let value = parser.value(0)?;
        parser.skip_space();
        if parser.at != parser.text.len() {
            return Err(format!("unexpected text at byte {}", parser.at));
        }
        Ok(value)
    }

    struct Parser<'t> {
        text: &'t [u8],
        at: usize,
    }

    impl Parser<'_> {
        fn skip_space(&mut self) {
            while self.text.get(self.at).is_some_and(u8::is_ascii_whitespace) {
                self.at += 1;
            }
        }

        fn peek(&mut self) -> Option<u8> {
            self.skip_space();
            self.text.get(self.at).copied()
        }

        fn expect(&mut self, byte: u8) -> Result<(), String> {
            if self.peek() == Some(byte) {
                self.at += 1;
                Ok(())
            } else {
                Err(format!("expected `{}` at byte {}", byte as char, self.at))
            }
        }

        fn value(&mut self, depth: usize) -> Result<Lit, String> {
            if depth > MAX_DEPTH {
                return Err("nesting too deep".into());
            }
            match self.peek() {
                Some(b'{') => self.dict(depth),
                Some(b'(') => self.tuple(depth),
                Some(b'\'' | b'"') => self.string().map(Lit::Str),
                Some(b'0'..=b'9') => self.integer(),
                Some(_) => self.word(),
                None => Err("unexpected end of header".into()),
            }
        }

        fn dict(&mut self, depth: usize) -> Result<Lit, String> {
            self.expect(b'{')?;
            let mut entries = Vec::new();
            while self.peek() != Some(b'}') {
                let key = self.string()?;
                self.expect(b':')?;
                entries.push((key, self.value(depth + 1)?));
                if self.peek() == Some(b',') {
                    self.at += 1;
                } else {
                    break;
                }
            }
            self.expect(b'}')?;
            Ok(Lit::Dict(entries))
        }

        /// `()`, `(x,)`, `(x, y)`, `(x, y,)`.
        fn tuple(&mut self, depth: usize) -> Result<Lit, String> {
            self.expect(b'(')?;
            let mut items = Vec::new();
            while self.peek() != Some(b')') {
                items.push(self.value(depth + 1)?);
                if self.peek() == Some(b',') {
                    self.at += 1;
                } else {
                    break;
                }
            }
            self.expect(b')')?;
            Ok(Lit::Tuple(items))
        }

        fn string(&mut self) -> Result<String, String> {
            let quote = self.peek().filter(|q| *q == b'\'' || *q == b'"');
            let quote = quote.ok_or_else(|| format!("expected a string at byte {}", self.at))?;
            let start = self.at + 1;
            let len = self.text[start..]
                .iter()
                .position(|&b| b == quote || b == b'\\')
                .ok_or("unterminated string")?;
            if self.text[start + len] == b'\\' {
                return Err("escape sequences in header strings are not supported".into());
            }
            self.at = start + len + 1;
            String::from_utf8(self.text[start..start + len].to_vec())
                .map_err(|_| "string is not UTF-8".into())
        }

        fn integer(&mut self) -> Result<Lit, String> {
            let start = self.at;
            while self.text.get(self.at).is_some_and(u8::is_ascii_digit) {
                self.at += 1;
            }
            let digits =
                std::str::from_utf8(&self.text[start..self.at]).map_err(|e| e.to_string())?;
            // Python 2 wrote longs as `3L`.
            if self.text.get(self.at) == Some(&b'L') {
                self.at += 1;
            }
            digits
                .parse()
                .map(Lit::Int)
                .map_err(|_| format!("integer `{digits}` out of range"))
        }

        fn word(&mut self) -> Result<Lit, String> {
            let rest = &self.text[self.at..];
            for (word, value) in [
                (&b"True"[..], Lit::Bool(true)),
                (b"False", Lit::Bool(false)),
                (b"None", Lit::None),
            ] {
                if rest.starts_with(word) {
                    self.at += word.len();
                    return Ok(value);
                }
            }
            Err(format!("unexpected character at byte {}", self.at))
        }
    }
}

/// The bytes of a `.npy` file (version 1.0) holding `values` as a 1-D
/// little-endian float64 array, byte-identical to `numpy.save`: the header
/// is padded with spaces to a multiple of 64 bytes and ends in a newline.
pub fn f64_npy_bytes(values: &[f64]) -> Vec<u8> {
    let dict = format!(
        "{{'descr': '<f8', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    // preamble: magic (6) + version (2) + header length (2)
    let unpadded = MAGIC.len() + 4 + dict.len() + 1;
    let header_len = dict.len() + 1 + (64 - unpadded % 64) % 64;
    let mut bytes = Vec::with_capacity(MAGIC.len() + 4 + header_len + 8 * values.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&(header_len as u16).to_le_bytes());
    bytes.extend_from_slice(dict.as_bytes());
    bytes.resize(MAGIC.len() + 4 + header_len - 1, b' ');
    bytes.push(b'\n');
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::literal::{parse, Lit};
    use super::*;

    #[test]
    fn parses_numpy_header_literals() {
        // np.lib.format.header_data_from_array_1_0 + _wrap_header, numpy 2.4
        let h = parse("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 5), }").unwrap();
        let Lit::Dict(entries) = h else {
            panic!("not a dict")
        };
        assert_eq!(entries[0], ("descr".into(), Lit::Str("<f4".into())));
        assert_eq!(entries[1], ("fortran_order".into(), Lit::Bool(false)));
        assert_eq!(
            entries[2],
            ("shape".into(), Lit::Tuple(vec![Lit::Int(3), Lit::Int(5)]))
        );
        assert_eq!(parse("(7,)").unwrap(), Lit::Tuple(vec![Lit::Int(7)]));
        assert_eq!(parse("()").unwrap(), Lit::Tuple(vec![]));
        assert_eq!(
            parse("(3L, 4L)").unwrap(),
            Lit::Tuple(vec![Lit::Int(3), Lit::Int(4)])
        );
    }

    #[test]
    fn header_keys_are_exactly_numpys() {
        let path = Path::new("h.npy");
        let message = |text: &str| parse_header_dict(text, path, "h").unwrap_err().to_string();
        assert_eq!(
            message("{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"),
            "h.npy: tensor `h`: field `descr`: appears twice in the header"
        );
        assert_eq!(
            message("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'shape': (1,), }"),
            "h.npy: tensor `h`: field `shape`: appears twice in the header"
        );
        assert_eq!(
            message("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1}"),
            "h.npy: tensor `h`: field `extra`: not a header key (numpy reads exactly `descr`, `fortran_order` and `shape`)"
        );
        assert!(message("{'descr': '<f4', 'shape': (2,)}").contains("field `fortran_order`"));
        assert!(parse_header_dict(
            "{'shape': (2,), 'fortran_order': True, 'descr': '>f8'}",
            path,
            "h"
        )
        .is_ok());
    }

    #[test]
    fn rejects_malformed_literals() {
        for bad in [
            "{",
            "{'a' 1}",
            "(1, 2",
            "'open",
            "{'a': -1}",
            "{'a': 1} x",
            "((((((((((((((((((1))))))))))))))))))",
            "{'a': 99999999999999999999999}",
        ] {
            assert!(parse(bad).is_err(), "`{bad}` parsed");
        }
    }

    #[test]
    fn descr_accepts_float_kinds_only() {
        assert_eq!(
            parse_descr(">f8"),
            Some(Encoding {
                dtype: DType::F64,
                big_endian: true
            })
        );
        assert_eq!(parse_descr("<f2"), Some(Encoding::little(DType::F16)));
        for bad in ["|O", "<i4", "<c8", "|f1", "|b1", "<f16", "", "<"] {
            assert_eq!(parse_descr(bad), None, "`{bad}` accepted");
        }
    }

    proptest::proptest! {
        /// Any header numpy can write for a float array parses back.
        #[test]
        fn header_round_trip(shape in proptest::collection::vec(0u64..100_000, 0..5), fortran: bool, big: bool) {
            let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
            let tuple = match dims.len() { 1 => format!("({},)", dims[0]), _ => format!("({})", dims.join(", ")) };
            let descr = if big { ">f8" } else { "<f4" };
            let py_bool = if fortran { "True" } else { "False" };
            let text = format!("{{'descr': '{descr}', 'fortran_order': {py_bool}, 'shape': {tuple}, }}");
            let header = parse_header_dict(&text, Path::new("x.npy"), "x").unwrap();
            proptest::prop_assert_eq!(header.shape, shape);
            proptest::prop_assert_eq!(header.fortran_order, fortran);
            proptest::prop_assert_eq!(header.encoding.big_endian, big);
        }
    }

    #[test]
    fn written_npy_matches_numpy_save_and_reads_back() {
        // import io, numpy as np; b = io.BytesIO(); np.save(b, np.array([1.0, -2.5, 3e-300]))
        // b.getvalue()[:128] (152 bytes in all)
        let mut expected =
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"
                .to_vec();
        expected.resize(127, b' ');
        expected.push(b'\n');
        let values = [1.0, -2.5, 3e-300];
        let bytes = f64_npy_bytes(&values);
        assert_eq!(bytes.len(), 152);
        assert_eq!(&bytes[..128], expected.as_slice());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("centers.npy");
        std::fs::write(&path, &bytes).unwrap();
        let dump = crate::dump::Dump::open(&path).unwrap();
        let meta = &dump.tensors()[0];
        assert_eq!(meta.shape, vec![3]);
        assert_eq!(dump.read(meta).unwrap(), values.to_vec());
    }
}
