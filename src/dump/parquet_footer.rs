//! A bounds check of a Parquet file's footer before polars decodes it.
//!
//! ```text
//! "PAR1" … column chunks … FileMetaData (Thrift compact protocol) · u32 LE length · "PAR1"
//! ```
//! polars-parquet 0.55 reserves `Vec::with_capacity(n)` for every Thrift
//! list from the `n` the list header declares, so a footer of a few hundred
//! bytes can ask for gigabytes (found by `fuzz/` target `parquet`). This
//! walks the footer once with a generic compact-protocol reader (Apache
//! Thrift, `doc/specs/thrift-compact-protocol.md`) and rejects any list,
//! set, map or binary that declares more elements or bytes than remain:
//! every element of a compact-protocol container takes at least one byte,
//! so a real footer always passes. Nesting is limited to [`MAX_DEPTH`].

/// Deepest struct/container nesting accepted (Parquet's schema nests less).
const MAX_DEPTH: u32 = 64;

/// `Err` names what in the footer is out of bounds.
pub(crate) fn check(file: &[u8]) -> Result<(), String> {
    let body = file
        .len()
        .checked_sub(8)
        .filter(|&n| n >= 4 && file.starts_with(b"PAR1") && file.ends_with(b"PAR1"))
        .ok_or("not a Parquet file (no PAR1 magic at both ends)")?;
    let len_bytes: [u8; 4] = file[body..body + 4].try_into().expect("4 bytes");
    let len = u32::from_le_bytes(len_bytes) as usize;
    let start = body
        .checked_sub(len)
        .filter(|&s| s >= 4)
        .ok_or_else(|| format!("footer length {len} exceeds the file size {}", file.len()))?;
    let mut reader = Compact {
        bytes: &file[start..body],
        at: 0,
    };
    reader
        .skip_struct(0)
        .map_err(|what| format!("corrupt footer at byte {}: {what}", start + reader.at))
}

struct Compact<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl Compact<'_> {
    fn remaining(&self) -> u64 {
        (self.bytes.len() - self.at) as u64
    }

    fn byte(&mut self) -> Result<u8, String> {
        let b = *self.bytes.get(self.at).ok_or("truncated")?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn skip(&mut self, n: u64) -> Result<(), String> {
        if n > self.remaining() {
            return Err(format!("{n} bytes declared, {} remain", self.remaining()));
        }
        self.at += n as usize;
        Ok(())
    }

    /// A container of `count` elements, each at least `min_bytes` long.
    fn check_count(&self, count: u64, min_bytes: u64) -> Result<(), String> {
        if count.saturating_mul(min_bytes) > self.remaining() {
            return Err(format!(
                "container declares {count} elements, {} bytes remain",
                self.remaining()
            ));
        }
        Ok(())
    }

    fn skip_struct(&mut self, depth: u32) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH}"));
        }
        loop {
            let header = self.byte()?;
            if header == 0 {
                return Ok(()); // STOP
            }
            if header >> 4 == 0 {
                self.varint()?; // long-form field id (zigzag i16)
            }
            match header & 0x0f {
                1 | 2 => {} // BOOLEAN_TRUE / BOOLEAN_FALSE: the value is the type
                kind => self.skip_value(kind, depth)?,
            }
        }
    }

    /// One value of compact type `kind` (as a list element for booleans).
    fn skip_value(&mut self, kind: u8, depth: u32) -> Result<(), String> {
        match kind {
            1..=3 => self.skip(1),              // bool (in a container), byte
            4..=6 => self.varint().map(|_| ()), // i16, i32, i64
            7 => self.skip(8),                  // double
            8 => {
                let len = self.varint()?; // binary / string
                self.skip(len)
            }
            9 | 10 => {
                // list / set: size in the high nibble, 15 = varint follows
                let header = self.byte()?;
                let count = match header >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                self.check_count(count, 1)?;
                for _ in 0..count {
                    self.skip_value(header & 0x0f, depth + 1)?;
                }
                Ok(())
            }
            11 => {
                let count = self.varint()?; // map
                if count == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                self.check_count(count, 2)?;
                for _ in 0..count {
                    self.skip_value(types >> 4, depth + 1)?;
                    self.skip_value(types & 0x0f, depth + 1)?;
                }
                Ok(())
            }
            12 => self.skip_struct(depth + 1),
            other => Err(format!("unknown compact type {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn footer(metadata: &[u8]) -> Vec<u8> {
        let mut file = b"PAR1".to_vec();
        file.extend(metadata);
        file.extend((metadata.len() as u32).to_le_bytes());
        file.extend(b"PAR1");
        file
    }

    #[test]
    fn lists_may_not_declare_more_elements_than_bytes() {
        // field 1 (delta 1) of type list (9): header 0x19; list header 0xF5 =
        // varint size, i32 elements; size 2^31 − 1 as a varint.
        let huge = footer(&[0x19, 0xF5, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00]);
        let error = check(&huge).unwrap_err();
        assert!(
            error.contains("container declares 2147483647 elements"),
            "{error}"
        );
        // the same list with its two i32 elements present: (2 << 4) | 5, zigzag 1, 2
        assert_eq!(check(&footer(&[0x19, 0x25, 0x02, 0x04, 0x00])), Ok(()));
    }

    #[test]
    fn binary_lengths_and_nesting_are_bounded() {
        let long_string = footer(&[0x18, 0x7F, b'a', 0x00]); // binary of 127 bytes, 1 present
        assert!(check(&long_string)
            .unwrap_err()
            .contains("127 bytes declared"));
        let deep = footer(&[0x1C; 100]); // struct in struct in …
        assert!(check(&deep).unwrap_err().contains("nesting deeper than 64"));
        assert!(check(b"PAR1PAR1").is_err());
    }
}
