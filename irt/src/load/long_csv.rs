//! Long CSV: a header naming at least the subject, item and score columns, then one row per
//! (subject, item, score); an empty score is a missing response.

use std::path::Path;

use csv::ByteRecord;

use super::csv_file::CsvFile;
use super::matrix_builder::MatrixBuilder;
use super::{LoadError, LoadOptions, listed, shown};
use crate::matrix::{CORRECT, MISSING, ResponseMatrix, WRONG};

/// Where the subject, item and score columns are.
struct Columns {
    subject: usize,
    item: usize,
    score: usize,
}

/// Reads a long CSV file.
pub(super) fn load(path: &Path, options: &LoadOptions) -> Result<ResponseMatrix, LoadError> {
    let mut file = CsvFile::open(path)?;
    let expected = format!(
        "a header row naming the columns `{}`, `{}` and `{}`",
        options.subject_field, options.item_field, options.score_field
    );
    let (line, header) = file.header(&expected)?;
    let columns = columns(path, line, &header, options)?;
    let mut builder = MatrixBuilder::new();
    builder.start_file(path);
    let mut record = ByteRecord::new();
    while let Some(line) = file.next(&mut record, header.len())? {
        let field = |k: usize| record.get(k).unwrap_or_default();
        let subject = id(path, line, field(columns.subject), &options.subject_field)?;
        let item = id(path, line, field(columns.item), &options.item_field)?;
        let cell = score(path, line, field(columns.score), options)?;
        let (subject, item) = (
            builder.subject(subject),
            builder.item(options.item_id(item)),
        );
        builder.add(subject, item, cell, line);
    }
    builder.finish()
}

/// Finds the named columns in the header, listing the columns present when one is absent.
fn columns(
    path: &Path,
    line: usize,
    header: &[String],
    options: &LoadOptions,
) -> Result<Columns, LoadError> {
    let find = |name: &str, role: &str| {
        header
            .iter()
            .position(|column| column == name)
            .ok_or_else(|| {
                LoadError::at(
                    path,
                    line,
                    format!(
                        "expected a column `{name}` ({role}); the header has {}",
                        listed(header)
                    ),
                )
            })
    };
    Ok(Columns {
        subject: find(&options.subject_field, "the subject field")?,
        item: find(&options.item_field, "the item field")?,
        score: find(&options.score_field, "the score field")?,
    })
}

/// A subject or item id from the column `name`: UTF-8 and non-empty.
fn id<'r>(path: &Path, line: usize, cell: &'r [u8], name: &str) -> Result<&'r str, LoadError> {
    match std::str::from_utf8(cell) {
        Ok("") => Err(LoadError::at(
            path,
            line,
            format!("expected an id in column `{name}`, found an empty cell"),
        )),
        Ok(id) => Ok(id),
        Err(_) => Err(LoadError::at(
            path,
            line,
            format!(
                "expected a UTF-8 id in column `{name}`, found `{}`",
                shown(cell)
            ),
        )),
    }
}

/// The response a score cell stands for: empty is missing, a number at or above the threshold
/// correct, any other number wrong.
fn score(path: &Path, line: usize, cell: &[u8], options: &LoadOptions) -> Result<u8, LoadError> {
    if cell.is_empty() {
        return Ok(MISSING);
    }
    let number = std::str::from_utf8(cell)
        .ok()
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|number| number.is_finite());
    match number {
        Some(number) if number >= options.threshold => Ok(CORRECT),
        Some(_) => Ok(WRONG),
        None => Err(LoadError::at(
            path,
            line,
            format!(
                "expected a number or an empty cell in column `{}`, found `{}`",
                options.score_field,
                shown(cell)
            ),
        )),
    }
}
