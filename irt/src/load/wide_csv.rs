//! Wide CSV: a header `model,<item ids...>` and one row per subject with cells `1`, `0` or
//! empty (missing), read straight into the matrix's cells, without a string per cell.
//!
//! Files without quotes take the byte scanner of [`super::wide_csv_fast`], several times faster
//! than the csv crate on the study's 5,000 x 12,000 matrices; files with quotes take the csv
//! crate. Both fill a [`WideMatrix`], so they check and report alike.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::{self, Write};
use std::path::Path;

use csv::ByteRecord;

use super::csv_file::CsvFile;
use super::{LoadError, LoadOptions, shown, wide_csv_fast};
use crate::matrix::{CORRECT, MISSING, ResponseMatrix, WRONG};

/// What the first row must be, for the error on an empty file.
pub(super) const HEADER: &str = "a header row `model,<item ids...>`";

/// Reads a wide CSV file.
pub(super) fn load(path: &Path, options: &LoadOptions) -> Result<ResponseMatrix, LoadError> {
    match wide_csv_fast::load(path, options)? {
        Some(matrix) => Ok(matrix),
        None => load_quoted(path, options),
    }
}

/// Reads a wide CSV file with the csv crate, which understands quoted cells.
fn load_quoted(path: &Path, options: &LoadOptions) -> Result<ResponseMatrix, LoadError> {
    let mut file = CsvFile::open(path)?;
    let (line, header) = file.header(HEADER)?;
    let mut matrix = WideMatrix::new(path, line, &header, options, file.len())?;
    let mut record = ByteRecord::new();
    while let Some(line) = file.next(&mut record, header.len())? {
        matrix.add_subject(line, record.get(0).unwrap_or_default())?;
        if let Err(j) = fill(matrix.push_row(), record.iter().skip(1)) {
            let field = record.get(j + 1).unwrap_or_default();
            return Err(matrix.bad_cell(line, j, field));
        }
    }
    matrix.finish()
}

/// Fills `row` from `fields`; the error is the index of the first field that is not a cell.
fn fill<'r>(row: &mut [u8], fields: impl Iterator<Item = &'r [u8]>) -> Result<(), usize> {
    for (j, (cell, field)) in row.iter_mut().zip(fields).enumerate() {
        *cell = cell_value(field).ok_or(j)?;
    }
    Ok(())
}

/// The value of a cell: `1` or `1.0` correct, `0` or `0.0` wrong, empty missing.
pub(super) fn cell_value(field: &[u8]) -> Option<u8> {
    match field {
        b"1" | b"1.0" => Some(CORRECT),
        b"0" | b"0.0" => Some(WRONG),
        b"" => Some(MISSING),
        _ => None,
    }
}

/// A wide matrix being read row by row: the checks both readers share.
pub(super) struct WideMatrix<'a> {
    path: &'a Path,
    items: Vec<String>,
    subjects: Vec<String>,
    /// The line of each subject's row, to name both lines of a subject given twice.
    first_lines: HashMap<String, usize>,
    cells: Vec<u8>,
}

impl<'a> WideMatrix<'a> {
    /// Starts a matrix with the items of `header` (every column after the first), for a file of
    /// `file_len` bytes.
    pub(super) fn new(
        path: &'a Path,
        line: usize,
        header: &[String],
        options: &LoadOptions,
        file_len: u64,
    ) -> Result<Self, LoadError> {
        // Every cell takes at least two bytes ("0,") unless it is missing: a close upper bound,
        // capped so that an odd file cannot ask for a huge reservation up front.
        let capacity = usize::try_from((file_len / 2).min(1 << 30)).unwrap_or(0);
        Ok(Self {
            path,
            items: item_ids(path, line, header, options)?,
            subjects: Vec::new(),
            first_lines: HashMap::new(),
            cells: Vec::with_capacity(capacity),
        })
    }

    /// Adds the subject of the row on `line`: UTF-8, non-empty and new.
    pub(super) fn add_subject(&mut self, line: usize, id: &[u8]) -> Result<(), LoadError> {
        let subject = match std::str::from_utf8(id) {
            Ok("") => {
                return Err(LoadError::at(
                    self.path,
                    line,
                    "expected a subject id in the first column, found an empty cell",
                ));
            }
            Ok(subject) => subject.to_string(),
            Err(_) => {
                return Err(LoadError::at(
                    self.path,
                    line,
                    format!(
                        "expected a UTF-8 subject id in the first column, found `{}`",
                        shown(id)
                    ),
                ));
            }
        };
        match self.first_lines.entry(subject.clone()) {
            Entry::Occupied(first) => Err(LoadError::at(
                self.path,
                line,
                format!(
                    "subject `{subject}` appears twice: first on line {}",
                    first.get()
                ),
            )),
            Entry::Vacant(slot) => {
                slot.insert(line);
                self.subjects.push(subject);
                Ok(())
            }
        }
    }

    /// Appends a row of cells for the subject just added, to be filled in by the reader.
    pub(super) fn push_row(&mut self) -> &mut [u8] {
        let start = self.cells.len();
        self.cells.resize(start + self.items.len(), MISSING);
        &mut self.cells[start..]
    }

    /// The error for `field`, found on `line` in the column of item `j`.
    pub(super) fn bad_cell(&self, line: usize, j: usize, field: &[u8]) -> LoadError {
        let item = self.items.get(j).map_or("", String::as_str);
        LoadError::at(
            self.path,
            line,
            format!(
                "item `{item}`: expected 0, 1 or an empty cell, found `{}`",
                shown(field)
            ),
        )
    }

    /// The matrix read.
    pub(super) fn finish(self) -> Result<ResponseMatrix, LoadError> {
        ResponseMatrix::new(self.subjects, self.items, self.cells)
            .map_err(|error| LoadError::whole(self.path, error.to_string()))
    }
}

/// The item ids of the header: every column after the first, unique and non-empty.
fn item_ids(
    path: &Path,
    line: usize,
    header: &[String],
    options: &LoadOptions,
) -> Result<Vec<String>, LoadError> {
    let mut columns: HashMap<&str, usize> = HashMap::with_capacity(header.len());
    let mut items = Vec::with_capacity(header.len().saturating_sub(1));
    for (k, name) in header.iter().enumerate().skip(1) {
        let column = k + 1;
        if name.is_empty() {
            return Err(LoadError::at(
                path,
                line,
                format!("expected an item id in header column {column}, found an empty cell"),
            ));
        }
        let id = options.item_id(name);
        if let Some(first) = columns.insert(id, column) {
            return Err(LoadError::at(
                path,
                line,
                format!("item `{id}` appears twice in the header: columns {first} and {column}"),
            ));
        }
        items.push(id.to_string());
    }
    Ok(items)
}

/// Writes `matrix` as wide CSV: a header `model,<item ids...>`, then one row per subject with
/// cells `1`, `0` or empty for missing. [`super::load`] with [`super::Format::WideCsv`] reads it
/// back unchanged.
pub fn write_wide_csv(matrix: &ResponseMatrix, out: impl Write) -> io::Result<()> {
    let mut writer = csv::WriterBuilder::new()
        .buffer_capacity(1 << 20)
        .from_writer(out);
    let mut record = ByteRecord::with_capacity(2 * matrix.n_items() + 64, matrix.n_items() + 1);
    record.push_field(b"model");
    for item in matrix.items() {
        record.push_field(item.as_bytes());
    }
    writer.write_byte_record(&record)?;
    for (s, subject) in matrix.subjects().iter().enumerate() {
        record.clear();
        record.push_field(subject.as_bytes());
        for &cell in matrix.row(s) {
            record.push_field(match cell {
                CORRECT => b"1".as_slice(),
                WRONG => b"0".as_slice(),
                _ => b"".as_slice(),
            });
        }
        writer.write_byte_record(&record)?;
    }
    writer.flush()
}
