//! A bounds check of a Parquet file's footer and page headers before polars
//! decodes it.
//!
//! ```text
//! "PAR1" · column chunks (page header · page)* … FileMetaData · u32 LE length · "PAR1"
//! ```
//! Both the footer (`FileMetaData`) and every page header are Thrift
//! compact-protocol structs (Apache Thrift, `doc/specs/thrift-compact-protocol.md`;
//! field numbers from `parquet.thrift` of apache/parquet-format). polars-parquet
//! 0.55 trusts what they declare: it reserves `Vec::with_capacity(n)` for every
//! Thrift list, `with_capacity(num_values)` for a column chunk's values and
//! `resize(uncompressed_page_size)` for a page's decompression buffer, so a
//! 1 KB file declaring 2^40 rows aborts allocating terabytes and 2^62 panics
//! ("capacity overflow"; found by `fuzz/` target `parquet` and by hand).
//!
//! This module checks, in order:
//!
//! 1. the footer, walked once as polars decodes it (`parquet_thrift.rs`): every
//!    field polars reads by id has the compact type `parquet.thrift` declares,
//!    so the lists polars reserves capacity for are the lists checked here; no
//!    list or binary declares more elements or bytes than remain (every
//!    element takes at least one byte), nesting at most 64;
//! 2. the footer's meaning: `num_rows` of the file is the sum of its row groups'
//!    and no count or size is negative; every column chunk lies inside the
//!    file before the footer, holds data in this file (no `file_path`), and
//!    declares at least as many values as its row group has rows;
//! 3. every page header of every column chunk, walked inside the chunk's byte
//!    range, first as polars decodes it (as the footer in 1.): each page lies inside its chunk; an uncompressed page's two sizes
//!    agree; a compressed page expands at most [`MAX_EXPANSION`] times; a
//!    dictionary page (always PLAIN) holds no more values than its bytes can
//!    (`num_values × width ≤ uncompressed_page_size`, width from the physical
//!    type); a v2 data page's null/row counts and level lengths fit in it; and
//!    the data pages' `num_values` add up to the chunk's `num_values`;
//! 4. what a chunk or data page decodes to, `num_values × width` (booleans one
//!    bit, byte arrays their 4-byte length at least, fixed-length arrays
//!    `type_length`), is at most [`MAX_EXPANSION`] times the bytes it occupies
//!    in the file.
//!
//! Limit stated: a column chunk or page decodes to at most [`MAX_EXPANSION`] =
//! 2^18 times its stored size. The most compressible files measured, constant
//! columns written by polars 0.55 (10^6 and 10^7 rows, uncompressed, Snappy or
//! zstd), expand 26 700× (float64) and 13 300× (strings); gradients expand
//! less than 10×. A hostile footer or page header is refused in one pass over
//! the headers, before polars allocates anything from it.

use super::parquet_thrift::{self, Compact, FILE_METADATA, PAGE_HEADER};

/// Largest accepted ratio of decoded (or decompressed) bytes to stored bytes.
pub(crate) const MAX_EXPANSION: u64 = 1 << 18;

/// `Err` names what in the file is out of bounds.
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
    let mut reader = Compact::new(&file[start..body]);
    parquet_thrift::walk(&mut reader, &FILE_METADATA)
        .map_err(|what| format!("corrupt footer at byte {}: {what}", start + reader.at))?;
    let mut reader = Compact::new(&file[start..body]);
    let footer = Footer::read(&mut reader)
        .map_err(|what| format!("corrupt footer at byte {}: {what}", start + reader.at))?;
    footer.check(&file[..start])
}

/// A leaf column of the schema: its name and physical type.
#[derive(Debug, Default, Clone)]
struct Leaf {
    name: String,
    physical: i64,
    type_length: i64,
    children: Option<i64>,
}

impl Leaf {
    /// Bits one value takes when PLAIN-encoded (its least for byte arrays:
    /// the 4-byte length).
    fn plain_bits(&self) -> u64 {
        match self.physical {
            0 => 1,                                                  // BOOLEAN
            1 | 4 => 32,                                             // INT32, FLOAT
            2 | 5 => 64,                                             // INT64, DOUBLE
            3 => 96,                                                 // INT96
            7 => (self.type_length.max(0) as u64).saturating_mul(8), // FIXED_LEN_BYTE_ARRAY
            _ => 32,                                                 // BYTE_ARRAY
        }
    }

    /// `values` decoded from `stored` bytes: `Err` when that is more than
    /// [`MAX_EXPANSION`] times `stored`.
    fn check_decoded(&self, values: u64, stored: u64) -> Result<(), String> {
        let decoded = values.saturating_mul(self.plain_bits()).div_ceil(8);
        if decoded > stored.max(1).saturating_mul(MAX_EXPANSION) {
            return Err(format!(
                "field `num_values`: {values} values decode to {decoded} bytes from {stored} stored bytes (at most {MAX_EXPANSION}× the stored size is read)"
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Chunk {
    has_file_path: bool,
    has_meta: bool,
    codec: i64,
    num_values: i64,
    total_uncompressed: i64,
    total_compressed: i64,
    data_page_offset: i64,
    dictionary_page_offset: Option<i64>,
}

#[derive(Debug, Default)]
struct RowGroup {
    num_rows: i64,
    total_byte_size: i64,
    chunks: Vec<Chunk>,
}

#[derive(Debug, Default)]
struct Footer {
    num_rows: i64,
    leaves: Vec<Leaf>,
    row_groups: Vec<RowGroup>,
}

impl Footer {
    fn read(r: &mut Compact) -> Result<Footer, String> {
        let mut footer = Footer::default();
        let mut schema = Vec::new();
        r.fields(0, |r, id, kind| match id {
            2 => {
                schema = r.list(kind, 1, |r| {
                    let mut element = Leaf::default();
                    r.fields(2, |r, id, kind| match id {
                        1 => r.int(kind).map(|v| element.physical = v),
                        2 => r.int(kind).map(|v| element.type_length = v),
                        4 => r.string(kind).map(|v| element.name = v),
                        5 => r.int(kind).map(|v| element.children = Some(v)),
                        _ => r.skip_field(kind, 2),
                    })?;
                    Ok(element)
                })?;
                Ok(())
            }
            3 => r.int(kind).map(|v| footer.num_rows = v),
            4 => {
                footer.row_groups = r.list(kind, 1, RowGroup::read)?;
                Ok(())
            }
            _ => r.skip_field(kind, 0),
        })?;
        // the root is the first element; leaves are the elements without children
        footer.leaves = schema
            .into_iter()
            .skip(1)
            .filter(|e| e.children.unwrap_or(0) == 0)
            .collect();
        Ok(footer)
    }

    /// Checks the declared counts and sizes against `data`, the file before
    /// its footer.
    fn check(&self, data: &[u8]) -> Result<(), String> {
        let mut total_rows: i64 = 0;
        for (group_index, group) in self.row_groups.iter().enumerate() {
            let at = |what: String| format!("row group {group_index}: {what}");
            nonnegative("num_rows", group.num_rows).map_err(at)?;
            nonnegative("total_byte_size", group.total_byte_size).map_err(at)?;
            total_rows = total_rows.saturating_add(group.num_rows);
            if group.chunks.len() != self.leaves.len() {
                return Err(at(format!(
                    "{} column chunks for {} schema columns",
                    group.chunks.len(),
                    self.leaves.len()
                )));
            }
            for (chunk, leaf) in group.chunks.iter().zip(&self.leaves) {
                chunk.check(leaf, group.num_rows, data).map_err(|what| {
                    format!("row group {group_index}: column `{}`: {what}", leaf.name)
                })?;
            }
        }
        if self.num_rows != total_rows {
            return Err(format!(
                "field `num_rows`: {} declared, its row groups hold {total_rows}",
                self.num_rows
            ));
        }
        Ok(())
    }
}

impl RowGroup {
    fn read(r: &mut Compact) -> Result<RowGroup, String> {
        let mut group = RowGroup::default();
        r.fields(2, |r, id, kind| match id {
            1 => {
                group.chunks = r.list(kind, 3, Chunk::read)?;
                Ok(())
            }
            2 => r.int(kind).map(|v| group.total_byte_size = v),
            3 => r.int(kind).map(|v| group.num_rows = v),
            _ => r.skip_field(kind, 2),
        })?;
        Ok(group)
    }
}

impl Chunk {
    fn read(r: &mut Compact) -> Result<Chunk, String> {
        let mut chunk = Chunk::default();
        r.fields(4, |r, id, kind| match id {
            1 => {
                chunk.has_file_path = true;
                r.skip_field(kind, 4)
            }
            3 => {
                chunk.has_meta = true;
                r.expect_kind(kind, 12)?;
                r.fields(5, |r, id, kind| match id {
                    4 => r.int(kind).map(|v| chunk.codec = v),
                    5 => r.int(kind).map(|v| chunk.num_values = v),
                    6 => r.int(kind).map(|v| chunk.total_uncompressed = v),
                    7 => r.int(kind).map(|v| chunk.total_compressed = v),
                    9 => r.int(kind).map(|v| chunk.data_page_offset = v),
                    11 => r.int(kind).map(|v| chunk.dictionary_page_offset = Some(v)),
                    _ => r.skip_field(kind, 5),
                })
            }
            _ => r.skip_field(kind, 4),
        })?;
        Ok(chunk)
    }

    fn check(&self, leaf: &Leaf, num_rows: i64, data: &[u8]) -> Result<(), String> {
        if self.has_file_path {
            return Err("field `file_path`: data in another file is not read".into());
        }
        if !self.has_meta {
            return Err("field `meta_data`: missing".into());
        }
        nonnegative("num_values", self.num_values)?;
        nonnegative("total_uncompressed_size", self.total_uncompressed)?;
        nonnegative("total_compressed_size", self.total_compressed)?;
        if self.num_values < num_rows {
            return Err(format!(
                "field `num_values`: {} values for {num_rows} rows",
                self.num_values
            ));
        }
        if self.num_values == 0 && self.total_compressed == 0 {
            return Ok(()); // an empty chunk need not point anywhere
        }
        let start = match self.dictionary_page_offset {
            Some(d) if d > 0 && d < self.data_page_offset => d,
            _ => self.data_page_offset,
        };
        let end = start.checked_add(self.total_compressed);
        if start < 4 || end.is_none_or(|end| end as u64 > data.len() as u64) {
            return Err(format!(
                "field `total_compressed_size`: bytes {start}..+{} lie outside the {} bytes of column data",
                self.total_compressed,
                data.len()
            ));
        }
        let stored = self.total_compressed as u64;
        check_expansion(
            "total_uncompressed_size",
            self.total_uncompressed as u64,
            stored,
            self.codec,
        )?;
        leaf.check_decoded(self.num_values as u64, stored)?;
        let pages = &data[start as usize..start as usize + self.total_compressed as usize];
        let values = walk_pages(pages, leaf, self.codec)
            .map_err(|(at, what)| format!("page at byte {}: {what}", start as usize + at))?;
        if values != self.num_values as u64 {
            return Err(format!(
                "field `num_values`: {} declared, its data pages hold {values}",
                self.num_values
            ));
        }
        Ok(())
    }
}

fn nonnegative(field: &str, value: i64) -> Result<(), String> {
    if value < 0 {
        return Err(format!("field `{field}`: negative ({value})"));
    }
    Ok(())
}

/// `uncompressed` bytes from `stored` bytes with compression `codec`
/// (0 = UNCOMPRESSED, which must not expand).
fn check_expansion(field: &str, uncompressed: u64, stored: u64, codec: i64) -> Result<(), String> {
    let limit = if codec == 0 {
        stored
    } else {
        stored.max(1).saturating_mul(MAX_EXPANSION)
    };
    if uncompressed > limit {
        return Err(format!(
            "field `{field}`: {uncompressed} bytes from {stored} stored bytes (codec {codec}; at most {}× is read)",
            if codec == 0 { 1 } else { MAX_EXPANSION }
        ));
    }
    Ok(())
}

/// Walks the page headers of one column chunk (`pages`, its stored bytes) and
/// returns the values its data pages declare; `Err` holds the offset of the
/// page within `pages` and what is wrong.
fn walk_pages(pages: &[u8], leaf: &Leaf, codec: i64) -> Result<u64, (usize, String)> {
    let mut at = 0;
    let mut values: u64 = 0;
    while at < pages.len() {
        let mut r = Compact::new(&pages[at..]);
        parquet_thrift::walk(&mut r, &PAGE_HEADER).map_err(|what| (at, what))?;
        let mut r = Compact::new(&pages[at..]);
        let mut header = PageHeader::read(&mut r).map_err(|what| (at, what))?;
        let header_len = r.at;
        header
            .check(
                leaf,
                codec,
                header_len,
                (pages.len() - at - header_len) as u64,
            )
            .map_err(|what| (at, what))?;
        values += header.data_values;
        at += header_len + header.compressed as usize;
    }
    Ok(values)
}

#[derive(Debug, Default)]
struct PageHeader {
    kind: i64,
    uncompressed: i64,
    compressed: i64,
    /// `num_values` of a data page (v1 or v2), 0 for other pages.
    data_values: u64,
    values: i64,
    dictionary: bool,
    v2: Option<(i64, i64, i64, i64)>, // num_nulls, num_rows, definition and repetition level bytes
}

impl PageHeader {
    fn read(r: &mut Compact) -> Result<PageHeader, String> {
        let mut page = PageHeader::default();
        r.fields(0, |r, id, kind| match id {
            1 => r.int(kind).map(|v| page.kind = v),
            2 => r.int(kind).map(|v| page.uncompressed = v),
            3 => r.int(kind).map(|v| page.compressed = v),
            5 | 7 => {
                page.dictionary = id == 7;
                r.expect_kind(kind, 12)?;
                r.fields(1, |r, id, kind| match id {
                    1 => r.int(kind).map(|v| page.values = v),
                    _ => r.skip_field(kind, 1),
                })
            }
            8 => {
                let mut v2 = (0, 0, 0, 0);
                r.expect_kind(kind, 12)?;
                r.fields(1, |r, id, kind| match id {
                    1 => r.int(kind).map(|v| page.values = v),
                    2 => r.int(kind).map(|v| v2.0 = v),
                    3 => r.int(kind).map(|v| v2.1 = v),
                    5 => r.int(kind).map(|v| v2.2 = v),
                    6 => r.int(kind).map(|v| v2.3 = v),
                    _ => r.skip_field(kind, 1),
                })?;
                page.v2 = Some(v2);
                Ok(())
            }
            _ => r.skip_field(kind, 0),
        })?;
        Ok(page)
    }

    /// Checks the sizes and counts; the header took `header_len` bytes, `room`
    /// is what is left of the chunk after it.
    fn check(
        &mut self,
        leaf: &Leaf,
        codec: i64,
        header_len: usize,
        room: u64,
    ) -> Result<(), String> {
        nonnegative("compressed_page_size", self.compressed)?;
        nonnegative("uncompressed_page_size", self.uncompressed)?;
        nonnegative("num_values", self.values)?;
        let compressed = self.compressed as u64;
        let uncompressed = self.uncompressed as u64;
        if compressed > room {
            return Err(format!(
                "field `compressed_page_size`: {compressed} bytes, {room} remain in the column chunk"
            ));
        }
        check_expansion("uncompressed_page_size", uncompressed, compressed, codec)?;
        let values = self.values as u64;
        if self.dictionary {
            let bytes = values.saturating_mul(leaf.plain_bits()).div_ceil(8);
            if bytes > uncompressed {
                return Err(format!(
                    "field `num_values`: {values} dictionary values need {bytes} bytes, the page has {uncompressed}"
                ));
            }
        }
        if let Some((nulls, rows, definition, repetition)) = self.v2 {
            if nulls < 0 || nulls > self.values || rows < 0 || rows > self.values {
                return Err(format!(
                    "data page v2 declares {nulls} nulls and {rows} rows in {values} values"
                ));
            }
            if definition < 0
                || repetition < 0
                || (definition as u64).saturating_add(repetition as u64) > uncompressed
            {
                return Err(format!(
                    "data page v2 declares {definition} + {repetition} level bytes in {uncompressed}"
                ));
            }
        }
        if self.kind == 0 || self.kind == 3 {
            leaf.check_decoded(values, compressed + header_len as u64)?;
            self.data_values = values;
        }
        Ok(())
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
        // field 10 (unknown to parquet.thrift, delta 10) of type list (9):
        // header 0xA9; list header 0xF5 = varint size, i32 elements; size
        // 2^31 − 1 as a varint.
        let huge = footer(&[0xA9, 0xF5, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00]);
        let error = check(&huge).unwrap_err();
        assert!(
            error.contains("container declares 2147483647 elements"),
            "{error}"
        );
        // the same list with its two i32 elements present: (2 << 4) | 5, zigzag 1, 2
        assert_eq!(check(&footer(&[0xA9, 0x25, 0x02, 0x04, 0x00])), Ok(()));
    }

    #[test]
    fn binary_lengths_and_nesting_are_bounded() {
        // field 6 (`created_by`, a binary) of 127 bytes, 1 present
        let long_string = footer(&[0x68, 0x7F, b'a', 0x00]);
        assert!(check(&long_string)
            .unwrap_err()
            .contains("127 bytes declared"));
        let deep = footer(&[0xAC; 100]); // unknown struct field in struct in …
        assert!(check(&deep).unwrap_err().contains("nesting deeper than 64"));
        let lists = footer(&[0xA9, 0x19, 0x19, 0x19].repeat(30)); // list of list of …
        assert!(check(&lists)
            .unwrap_err()
            .contains("nesting deeper than 64"));
        assert!(check(b"PAR1PAR1").is_err());
    }

    #[test]
    fn fields_polars_reads_by_id_must_have_their_declared_type() {
        // field 5 (`key_value_metadata`) declared a boolean (0x52, no
        // payload), then what polars reads as its list header instead: 0xF9,
        // varint 93 394 655 628 812 (591 777 292 as polars' i32), the bytes
        // of the fuzzed file that asked for 28 GB.
        let bool_field = footer(&[0x52, 0xF9, 0x8C, 0x9C, 0x97, 0x9A, 0x92, 0x9E, 0x15, 0x00]);
        assert_eq!(
            check(&bool_field).unwrap_err(),
            "corrupt footer at byte 5: field `key_value_metadata` (5) of `FileMetaData` has compact type 2, parquet.thrift declares a list (polars would read the bytes after it as one)"
        );
        // field 2 (`schema`) as a list of one i32, not of structs
        let schema_of_ints = footer(&[0x29, 0x15, 0x02, 0x00]);
        assert!(check(&schema_of_ints)
            .unwrap_err()
            .contains("list of compact type 5, parquet.thrift declares its elements a struct"));
        // an empty list may give any element type (fastparquet writes 0x00)
        assert_eq!(check(&footer(&[0x59, 0x00, 0x00])), Ok(()));
    }

    #[test]
    fn containers_whose_size_readers_disagree_on_are_refused() {
        // an unknown field 10 holding a list of two booleans: one byte each
        // in the spec, none in polars' skip
        let bools = footer(&[0xA9, 0x21, 0x01, 0x01, 0x00]);
        assert!(check(&bools).unwrap_err().contains("list of 2 booleans"));
        let map = footer(&[0xAB, 0x00, 0x00]); // an empty map
        assert!(check(&map).unwrap_err().contains("a map"));
    }
}
