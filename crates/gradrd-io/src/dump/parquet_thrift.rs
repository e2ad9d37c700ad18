//! The Thrift compact protocol of Parquet footers and page headers, read the
//! way polars-parquet 0.55 reads them.
//!
//! polars decodes a struct by field id alone: for a field id `parquet.thrift`
//! names it runs that field's decoder whatever compact type the field header
//! declares, and it skips only the ids it does not know. A footer whose
//! field 5 of `FileMetaData` (`key_value_metadata`) is declared a boolean (a
//! type without payload) is therefore walked by a generic reader as one byte,
//! and read by polars as a list header taken from the bytes that follow: the
//! 1 058-byte file found by `fuzz/` target `parquet` made it reserve
//! 591 777 292 `KeyValue`s (28 GB). So [`walk`] follows the same rule as polars:
//! every field id of the [`Schema`]s below must carry the compact type that
//! `parquet.thrift` (apache/parquet-format) declares for it, list elements
//! included; other ids are skipped generically. Both readers then see the same
//! values, and every count and length is bounded by the bytes that remain
//! (a list or binary declares at most one element or byte per remaining byte).
//! Lists and sets of booleans, which `parquet.thrift` has nowhere in a footer
//! or page header and whose size its readers disagree on (polars skips them
//! as zero bytes per element, the spec says one), are refused, as are sets
//! and maps (polars refuses to skip them).

/// Deepest struct/container nesting accepted (Parquet's schema nests less).
pub(super) const MAX_DEPTH: u32 = 64;

/// A value's type as `parquet.thrift` declares it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Declared {
    /// Compact types 1 and 2 (the value is in the field header).
    Bool,
    /// Compact type 3, one byte (`IntType.bitWidth`).
    Byte,
    /// i16, i32 or i64 (compact types 4 to 6): one zigzag varint, which
    /// polars reads whichever of the three is declared.
    Int,
    /// Compact type 8: a varint length, then the bytes.
    Binary,
    Struct(&'static Schema),
    List(&'static Declared),
}

/// The fields of one Thrift struct that polars decodes by id.
#[derive(Debug)]
pub(super) struct Schema {
    pub name: &'static str,
    pub fields: &'static [(i16, &'static str, Declared)],
}

impl Declared {
    fn accepts(self, kind: u8) -> bool {
        match self {
            Declared::Bool => kind == 1 || kind == 2,
            Declared::Byte => kind == 3,
            Declared::Int => (4..=6).contains(&kind),
            Declared::Binary => kind == 8,
            Declared::List(_) => kind == 9,
            Declared::Struct(_) => kind == 12,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Declared::Bool => "a bool",
            Declared::Byte => "a byte",
            Declared::Int => "an integer",
            Declared::Binary => "a binary",
            Declared::List(_) => "a list",
            Declared::Struct(_) => "a struct",
        }
    }
}

use Declared::{Binary, Bool, Byte, Int, List, Struct};

/// A union member or struct without fields polars reads.
const EMPTY: Declared = Struct(&Schema {
    name: "empty struct",
    fields: &[],
});

/// `FileMetaData`, the footer.
pub(super) const FILE_METADATA: Schema = Schema {
    name: "FileMetaData",
    fields: &[
        (1, "version", Int),
        (2, "schema", List(&Struct(&SCHEMA_ELEMENT))),
        (3, "num_rows", Int),
        (4, "row_groups", List(&Struct(&ROW_GROUP))),
        (5, "key_value_metadata", List(&Struct(&KEY_VALUE))),
        (6, "created_by", Binary),
        (7, "column_orders", List(&Struct(&COLUMN_ORDER))),
    ],
};

const SCHEMA_ELEMENT: Schema = Schema {
    name: "SchemaElement",
    fields: &[
        (1, "type", Int),
        (2, "type_length", Int),
        (3, "repetition_type", Int),
        (4, "name", Binary),
        (5, "num_children", Int),
        (6, "converted_type", Int),
        (7, "scale", Int),
        (8, "precision", Int),
        (9, "field_id", Int),
        (10, "logicalType", Struct(&LOGICAL_TYPE)),
    ],
};

const LOGICAL_TYPE: Schema = Schema {
    name: "LogicalType",
    fields: &[
        (1, "STRING", EMPTY),
        (2, "MAP", EMPTY),
        (3, "LIST", EMPTY),
        (4, "ENUM", EMPTY),
        (5, "DECIMAL", Struct(&DECIMAL_TYPE)),
        (6, "DATE", EMPTY),
        (7, "TIME", Struct(&TIME_TYPE)),
        (8, "TIMESTAMP", Struct(&TIME_TYPE)),
        (10, "INTEGER", Struct(&INT_TYPE)),
        (11, "UNKNOWN", EMPTY),
        (12, "JSON", EMPTY),
        (13, "BSON", EMPTY),
        (14, "UUID", EMPTY),
        (15, "FLOAT16", EMPTY),
    ],
};

const DECIMAL_TYPE: Schema = Schema {
    name: "DecimalType",
    fields: &[(1, "scale", Int), (2, "precision", Int)],
};

/// `TimeType` and `TimestampType` (same fields).
const TIME_TYPE: Schema = Schema {
    name: "TimeType",
    fields: &[
        (1, "isAdjustedToUTC", Bool),
        (2, "unit", Struct(&TIME_UNIT)),
    ],
};

const TIME_UNIT: Schema = Schema {
    name: "TimeUnit",
    fields: &[
        (1, "MILLIS", EMPTY),
        (2, "MICROS", EMPTY),
        (3, "NANOS", EMPTY),
    ],
};

const INT_TYPE: Schema = Schema {
    name: "IntType",
    fields: &[(1, "bitWidth", Byte), (2, "isSigned", Bool)],
};

const ROW_GROUP: Schema = Schema {
    name: "RowGroup",
    fields: &[
        (1, "columns", List(&Struct(&COLUMN_CHUNK))),
        (2, "total_byte_size", Int),
        (3, "num_rows", Int),
        (4, "sorting_columns", List(&Struct(&SORTING_COLUMN))),
        (5, "file_offset", Int),
        (6, "total_compressed_size", Int),
        (7, "ordinal", Int),
    ],
};

const COLUMN_CHUNK: Schema = Schema {
    name: "ColumnChunk",
    fields: &[
        (1, "file_path", Binary),
        (2, "file_offset", Int),
        (3, "meta_data", Struct(&COLUMN_META_DATA)),
        (4, "offset_index_offset", Int),
        (5, "offset_index_length", Int),
        (6, "column_index_offset", Int),
        (7, "column_index_length", Int),
    ],
};

const COLUMN_META_DATA: Schema = Schema {
    name: "ColumnMetaData",
    fields: &[
        (1, "type", Int),
        (2, "encodings", List(&Int)),
        (3, "path_in_schema", List(&Binary)),
        (4, "codec", Int),
        (5, "num_values", Int),
        (6, "total_uncompressed_size", Int),
        (7, "total_compressed_size", Int),
        (9, "data_page_offset", Int),
        (10, "index_page_offset", Int),
        (11, "dictionary_page_offset", Int),
        (12, "statistics", Struct(&STATISTICS)),
        (14, "bloom_filter_offset", Int),
        (15, "bloom_filter_length", Int),
    ],
};

const STATISTICS: Schema = Schema {
    name: "Statistics",
    fields: &[
        (1, "max", Binary),
        (2, "min", Binary),
        (3, "null_count", Int),
        (4, "distinct_count", Int),
        (5, "max_value", Binary),
        (6, "min_value", Binary),
        (7, "is_max_value_exact", Bool),
        (8, "is_min_value_exact", Bool),
    ],
};

const KEY_VALUE: Schema = Schema {
    name: "KeyValue",
    fields: &[(1, "key", Binary), (2, "value", Binary)],
};

const SORTING_COLUMN: Schema = Schema {
    name: "SortingColumn",
    fields: &[
        (1, "column_idx", Int),
        (2, "descending", Bool),
        (3, "nulls_first", Bool),
    ],
};

const COLUMN_ORDER: Schema = Schema {
    name: "ColumnOrder",
    fields: &[(1, "TYPE_ORDER", EMPTY), (2, "IEEE_754_TOTAL_ORDER", EMPTY)],
};

/// `PageHeader`, in front of every page of a column chunk.
pub(super) const PAGE_HEADER: Schema = Schema {
    name: "PageHeader",
    fields: &[
        (1, "type", Int),
        (2, "uncompressed_page_size", Int),
        (3, "compressed_page_size", Int),
        (4, "crc", Int),
        (5, "data_page_header", Struct(&DATA_PAGE_HEADER)),
        (6, "index_page_header", EMPTY),
        (7, "dictionary_page_header", Struct(&DICTIONARY_PAGE_HEADER)),
        (8, "data_page_header_v2", Struct(&DATA_PAGE_HEADER_V2)),
    ],
};

const DATA_PAGE_HEADER: Schema = Schema {
    name: "DataPageHeader",
    fields: &[
        (1, "num_values", Int),
        (2, "encoding", Int),
        (3, "definition_level_encoding", Int),
        (4, "repetition_level_encoding", Int),
        (5, "statistics", Struct(&STATISTICS)),
    ],
};

const DICTIONARY_PAGE_HEADER: Schema = Schema {
    name: "DictionaryPageHeader",
    fields: &[
        (1, "num_values", Int),
        (2, "encoding", Int),
        (3, "is_sorted", Bool),
    ],
};

const DATA_PAGE_HEADER_V2: Schema = Schema {
    name: "DataPageHeaderV2",
    fields: &[
        (1, "num_values", Int),
        (2, "num_nulls", Int),
        (3, "num_rows", Int),
        (4, "encoding", Int),
        (5, "definition_levels_byte_length", Int),
        (6, "repetition_levels_byte_length", Int),
        (7, "is_compressed", Bool),
        (8, "statistics", Struct(&STATISTICS)),
    ],
};

/// Walks one struct of `schema` as polars decodes it (module doc); `Err`
/// names the first field whose type or size is out of bounds.
pub(super) fn walk(r: &mut Compact, schema: &Schema) -> Result<(), String> {
    r.walk_struct(schema, 0)
}

/// A reader of Thrift compact-protocol bytes.
pub(super) struct Compact<'b> {
    bytes: &'b [u8],
    pub at: usize,
}

impl<'b> Compact<'b> {
    pub(super) fn new(bytes: &'b [u8]) -> Self {
        Compact { bytes, at: 0 }
    }

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

    pub(super) fn expect_kind(&self, kind: u8, expected: u8) -> Result<(), String> {
        if kind != expected {
            return Err(format!("field of compact type {kind}, expected {expected}"));
        }
        Ok(())
    }

    /// An i16, i32 or i64 (zigzag varint).
    pub(super) fn int(&mut self, kind: u8) -> Result<i64, String> {
        if !(4..=6).contains(&kind) {
            return Err(format!("field of compact type {kind}, expected an integer"));
        }
        let v = self.varint()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    pub(super) fn string(&mut self, kind: u8) -> Result<String, String> {
        self.expect_kind(kind, 8)?;
        let len = self.varint()?;
        let start = self.at;
        self.skip(len)?;
        Ok(String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned())
    }

    /// A list header: its element count (bounded by the bytes that remain,
    /// every element taking at least one) and element type.
    fn list_header(&mut self) -> Result<(u64, u8), String> {
        let header = self.byte()?;
        let count = match header >> 4 {
            15 => self.varint()?,
            n => u64::from(n),
        };
        self.check_count(count, 1)?;
        Ok((count, header & 0x0f))
    }

    /// A list of structs, each read by `element`.
    pub(super) fn list<T>(
        &mut self,
        kind: u8,
        depth: u32,
        mut element: impl FnMut(&mut Self) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        self.expect_kind(kind, 9)?;
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH}"));
        }
        let (count, element_kind) = self.list_header()?;
        self.expect_kind(element_kind, 12)?;
        (0..count).map(|_| element(self)).collect()
    }

    /// The fields of a struct: `field(reader, id, compact type)` reads or
    /// skips each value.
    pub(super) fn fields(
        &mut self,
        depth: u32,
        mut field: impl FnMut(&mut Self, i16, u8) -> Result<(), String>,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH}"));
        }
        let mut id: i16 = 0;
        loop {
            let header = self.byte()?;
            if header == 0 {
                return Ok(()); // STOP
            }
            id = match header >> 4 {
                0 => {
                    let v = self.varint()?;
                    ((v >> 1) as i64 ^ -((v & 1) as i64)) as i16
                }
                delta => id.wrapping_add(i16::from(delta)),
            };
            field(self, id, header & 0x0f)?;
        }
    }

    /// A struct of `schema`: declared fields checked against their type,
    /// the others skipped.
    fn walk_struct(&mut self, schema: &Schema, depth: u32) -> Result<(), String> {
        self.fields(depth, |r, id, kind| {
            match schema.fields.iter().find(|(field, _, _)| *field == id) {
                Some(&(_, name, declared)) if !declared.accepts(kind) => Err(format!(
                    "field `{name}` ({id}) of `{}` has compact type {kind}, parquet.thrift declares {} (polars would read the bytes after it as one)",
                    schema.name,
                    declared.describe()
                )),
                Some(&(_, _, declared)) => r.walk_value(declared, depth + 1),
                None => r.skip_field(kind, depth),
            }
        })
    }

    /// One value of a declared type whose compact type matched.
    fn walk_value(&mut self, declared: Declared, depth: u32) -> Result<(), String> {
        match declared {
            Declared::Bool => Ok(()),
            Declared::Byte => self.skip(1),
            Declared::Int => self.varint().map(|_| ()),
            Declared::Binary => {
                let len = self.varint()?;
                self.skip(len)
            }
            Declared::Struct(schema) => self.walk_struct(schema, depth),
            Declared::List(element) => {
                if depth > MAX_DEPTH {
                    return Err(format!("nesting deeper than {MAX_DEPTH}"));
                }
                let (count, kind) = self.list_header()?;
                if count > 0 && !element.accepts(kind) {
                    return Err(format!(
                        "list of compact type {kind}, parquet.thrift declares its elements {}",
                        element.describe()
                    ));
                }
                (0..count).try_for_each(|_| self.walk_value(*element, depth + 1))
            }
        }
    }

    /// Skips a field's value of compact type `kind` (booleans carry it in
    /// the type).
    pub(super) fn skip_field(&mut self, kind: u8, depth: u32) -> Result<(), String> {
        match kind {
            1 | 2 => Ok(()),
            kind => self.skip_value(kind, depth),
        }
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
        self.fields(depth, |r, _, kind| r.skip_field(kind, depth))
    }

    /// One value of compact type `kind` (as a list element for booleans).
    fn skip_value(&mut self, kind: u8, depth: u32) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("nesting deeper than {MAX_DEPTH}"));
        }
        match kind {
            3 => self.skip(1),                  // byte
            4..=6 => self.varint().map(|_| ()), // i16, i32, i64
            7 => self.skip(8),                  // double
            8 => {
                let len = self.varint()?; // binary / string
                self.skip(len)
            }
            9 => {
                let (count, element) = self.list_header()?;
                if count > 0 && matches!(element, 1 | 2) {
                    return Err(format!(
                        "list of {count} booleans (none in parquet.thrift; readers disagree on their size)"
                    ));
                }
                (0..count).try_for_each(|_| self.skip_value(element, depth + 1))
            }
            10 | 11 => Err(format!(
                "{} (none in parquet.thrift; polars does not read them)",
                if kind == 10 { "a set" } else { "a map" }
            )),
            12 => self.skip_struct(depth + 1),
            other => Err(format!("unknown compact type {other}")),
        }
    }
}
