//! Parquet and CSV tables (read with polars):
//!
//! ```text
//! long form:  tensor (string) | step (integer, optional, may be null) | value (float)
//!             one row per value; rows of one (tensor, step) keep file order
//! wide form:  one float column per tensor (no `tensor` column); the file is one step
//!             (ragged columns may end in nulls)
//! ```
//! Integer value columns are accepted and widened to f64. A value column of
//! text (a CSV column polars did not take for numbers: its inference knows
//! `NaN` and `inf` but not Python's and pandas' lowercase `nan`, `-inf`) is
//! parsed cell by cell as Python's `float()` reads it (`nan`, `inf`,
//! `infinity`, any case and sign; Rust's `f64::from_str` grammar), an error
//! naming the row and cell otherwise. Tables are decoded when the file is
//! opened and kept in memory (they have no random access).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use polars::io::mmap::MmapBytesReader;
use polars::prelude::*;

use super::elements::Encoding;
use super::format::FileKind;
use super::input::{Contents, Handle, Input};
use super::layout::{Layout, Locator, Source};
use super::{parquet_footer, DType, DumpError, Found, InnerStep};

/// All tensors of a Parquet or CSV table.
pub(crate) fn scan(input: Input, kind: FileKind) -> Result<Vec<Found>, DumpError> {
    let path = input.path;
    if kind == FileKind::Parquet {
        parquet_footer::check(&input.contents()?)
            .map_err(|what| DumpError::malformed(path, format!("Parquet: {what}")))?;
    }
    let frame = match input.open()? {
        Handle::File(file) => read_frame(file, kind),
        Handle::Memory(cursor) => read_frame(cursor, kind),
    }
    .map_err(|what| DumpError::Table {
        file: path.to_path_buf(),
        what: one_line(&what, || input.contents().ok()),
    })?;
    if frame.column("tensor").is_ok() {
        long_form(path, &frame)
    } else {
        wide_form(path, &frame)
    }
}

/// The table in `reader` (Parquet, or CSV with a header row).
///
/// polars 0.55 panics on some corrupt files instead of returning an error
/// (its Parquet thrift decoder `expect`s well-formed fields; found by
/// `fuzz/` target `parquet`): the panic is caught here and becomes the
/// error message. The panic hook still runs (the default hook prints it).
fn read_frame<R: MmapBytesReader>(reader: R, kind: FileKind) -> Result<DataFrame, String> {
    let read = move || match kind {
        FileKind::Parquet => ParquetReader::new(reader).finish(),
        _ => CsvReadOptions::default()
            .with_has_header(true)
            .into_reader_with_file_handle(reader)
            .finish(),
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
        Ok(frame) => frame.map_err(|e| e.to_string()),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("no message");
            Err(format!("corrupt file (polars failed on it: {message})"))
        }
    }
}

/// polars' error message in one line: its first line, the reason polars
/// gives after "Original error:", and, for a CSV cell polars could not parse
/// (its message names the cell and column, and a byte offset of its parse
/// chunk, not of the cell), the row of that cell, found again with the `csv`
/// crate in `contents`. Hints and blank lines are dropped.
fn one_line(message: &str, contents: impl FnOnce() -> Option<Contents>) -> String {
    let first = message.lines().next().unwrap_or_default().trim_end();
    let mut line = first.to_string();
    let unparsed = regex::Regex::new(r"^could not parse `(.*)` as dtype `[^`]*` at column '(.*)'")
        .expect("valid regex");
    if let Some(found) = unparsed.captures(first) {
        if let Some(row) = contents().and_then(|bytes| row_of_cell(&bytes, &found[2], &found[1])) {
            line.push_str(&format!(", row {row}"));
        }
    }
    if let Some(reason) = message
        .split_once("Original error: ")
        .map(|(_, rest)| rest.lines().next().unwrap_or_default().trim_matches('`'))
        .filter(|reason| !reason.is_empty())
    {
        line.push_str(&format!(" ({reason})"));
    }
    line
}

/// The data row (0-based, after the header) of the first `cell` in
/// `column` of a CSV table.
fn row_of_cell(bytes: &[u8], column: &str, cell: &str) -> Option<usize> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let at = reader
        .headers()
        .ok()?
        .iter()
        .position(|name| name == column)?;
    reader
        .records()
        .map_while(Result::ok)
        .position(|record| record.get(at) == Some(cell))
}

fn column_error(path: &Path, column: &str, what: impl Into<String>) -> DumpError {
    DumpError::Column {
        file: path.to_path_buf(),
        column: column.to_string(),
        what: what.into(),
    }
}

/// The dtype a float/integer (or text) column is reported as, or an error
/// naming it.
fn value_dtype(path: &Path, column: &Column) -> Result<DType, DumpError> {
    match column.dtype() {
        DataType::Float32 => Ok(DType::F32),
        dt if dt.is_float() || dt.is_integer() || dt.is_string() => Ok(DType::F64),
        other => Err(column_error(
            path,
            column.name(),
            format!("expected a float column, found {other}"),
        )),
    }
}

fn as_f64(path: &Path, column: &Column) -> Result<Vec<Option<f64>>, DumpError> {
    if let Ok(text) = column.str() {
        return parse_text(path, column.name(), text);
    }
    let cast = column
        .cast(&DataType::Float64)
        .map_err(|e| column_error(path, column.name(), e.to_string()))?;
    let values = cast
        .f64()
        .map_err(|e| column_error(path, column.name(), e.to_string()))?;
    Ok(values.iter().collect())
}

/// Text cells as numbers (module doc); a null stays null.
fn parse_text(
    path: &Path,
    column: &str,
    text: &StringChunked,
) -> Result<Vec<Option<f64>>, DumpError> {
    text.iter()
        .enumerate()
        .map(|(row, cell)| match cell {
            None => Ok(None),
            Some(cell) => cell.trim().parse::<f64>().map(Some).map_err(|_| {
                let shown: String = cell.chars().take(40).collect();
                column_error(
                    path,
                    column,
                    format!("{shown:?} at row {row} is not a number"),
                )
            }),
        })
        .collect()
}

fn long_form(path: &Path, frame: &DataFrame) -> Result<Vec<Found>, DumpError> {
    let required = |name: &str| {
        frame.column(name).map_err(|_| {
            column_error(
                path,
                name,
                "missing (long tables need `tensor` and `value`)",
            )
        })
    };
    let tensor_column = required("tensor")?;
    let value_column = required("value")?;
    // A pandas `category` column (Arrow dictionary of strings) is text too.
    let tensor_text = if tensor_column.dtype().is_categorical() {
        tensor_column
            .cast(&DataType::String)
            .map_err(|e| column_error(path, "tensor", e.to_string()))?
    } else {
        tensor_column.clone()
    };
    let names = tensor_text.str().map_err(|_| {
        column_error(
            path,
            "tensor",
            format!("expected strings, found {}", tensor_column.dtype()),
        )
    })?;
    let dtype = value_dtype(path, value_column)?;
    let values = as_f64(path, value_column)?;
    let steps: Vec<Option<u64>> = match frame.column("step") {
        Err(_) => vec![None; frame.height()],
        Ok(step) if step.dtype().is_integer() || step.dtype().is_null() => {
            let cast = step
                .cast(&DataType::Int64)
                .map_err(|e| column_error(path, "step", e.to_string()))?;
            let ints = cast
                .i64()
                .map_err(|e| column_error(path, "step", e.to_string()))?;
            ints.iter()
                .enumerate()
                .map(|(row, s)| match s {
                    None => Ok(None),
                    Some(s) => u64::try_from(s).map(Some).map_err(|_| {
                        column_error(path, "step", format!("negative step {s} at row {row}"))
                    }),
                })
                .collect::<Result<_, _>>()?
        }
        Ok(step) => {
            return Err(column_error(
                path,
                "step",
                format!("expected integers, found {}", step.dtype()),
            ))
        }
    };

    let mut groups: Vec<(String, Option<u64>, Vec<f64>)> = Vec::new();
    let mut index: HashMap<(String, Option<u64>), usize> = HashMap::new();
    for (row, ((name, value), step)) in names.iter().zip(values).zip(steps).enumerate() {
        let name =
            name.ok_or_else(|| column_error(path, "tensor", format!("null at row {row}")))?;
        let value =
            value.ok_or_else(|| column_error(path, "value", format!("null at row {row}")))?;
        let slot = *index.entry((name.to_string(), step)).or_insert_with(|| {
            groups.push((name.to_string(), step, Vec::new()));
            groups.len() - 1
        });
        groups[slot].2.push(value);
    }
    if groups.is_empty() {
        return Err(DumpError::malformed(path, "table has no rows"));
    }
    Ok(groups
        .into_iter()
        .map(|(name, step, values)| {
            in_memory(
                name,
                dtype,
                values,
                step.map_or(InnerStep::Absent, InnerStep::Column),
            )
        })
        .collect())
}

fn wide_form(path: &Path, frame: &DataFrame) -> Result<Vec<Found>, DumpError> {
    if frame.width() == 0 {
        return Err(DumpError::malformed(path, "table has no columns"));
    }
    frame
        .columns()
        .iter()
        .map(|column| {
            let dtype = value_dtype(path, column)?;
            let cells = as_f64(path, column)?;
            let len = cells
                .iter()
                .position(Option::is_none)
                .unwrap_or(cells.len());
            if let Some(row) = cells[len..].iter().position(Option::is_some) {
                return Err(column_error(
                    path,
                    column.name(),
                    format!("null at row {len} before a value at row {}", len + row),
                ));
            }
            let values = cells[..len].iter().flatten().copied().collect();
            Ok(in_memory(
                column.name().to_string(),
                dtype,
                values,
                InnerStep::Absent,
            ))
        })
        .collect()
}

fn in_memory(name: String, dtype: DType, values: Vec<f64>, inner_step: InnerStep) -> Found {
    let len = values.len() as u64;
    Found {
        name,
        dtype,
        shape: vec![len],
        locator: Locator {
            source: Source::Memory(Arc::from(values)),
            data_start: 0,
            extent: len,
            encoding: Encoding::little(dtype),
            layout: Layout::C,
        },
        inner_step,
        placement: None,
    }
}
