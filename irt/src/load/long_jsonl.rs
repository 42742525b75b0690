//! Long JSONL: one JSON object per line with a subject, an item and a score field; the score a
//! number (against the threshold), a boolean, or null for a missing response.

use std::path::Path;

use super::jsonl::{self, Fields};
use super::matrix_builder::MatrixBuilder;
use super::{LoadError, LoadOptions};
use crate::matrix::ResponseMatrix;

/// Reads a long JSONL file.
pub(super) fn load(path: &Path, options: &LoadOptions) -> Result<ResponseMatrix, LoadError> {
    let wanted = [
        options.subject_field.as_str(),
        options.item_field.as_str(),
        options.score_field.as_str(),
    ];
    let expected = format!(
        "one JSON object per line with the fields `{}`, `{}` and `{}`",
        wanted[0], wanted[1], wanted[2]
    );
    let mut builder = MatrixBuilder::new();
    builder.start_file(path);
    jsonl::for_each_line(path, &expected, |line, text| {
        let (subject, item, cell) = read_line(text, &wanted, options, &mut builder)
            .map_err(|message| LoadError::at(path, line, message))?;
        builder.add(subject, item, cell, line);
        Ok(())
    })?;
    builder.finish()
}

/// The subject index, item index and cell one line gives.
fn read_line(
    text: &str,
    wanted: &[&str; 3],
    options: &LoadOptions,
    builder: &mut MatrixBuilder,
) -> Result<(usize, usize, u8), String> {
    let fields = Fields::parse(text, wanted)?;
    let subject = fields.id(0, "the subject field")?;
    let item = fields.id(1, "the item field")?;
    let score = fields.get(2, "the score field")?;
    let cell = jsonl::score_cell(score, options.threshold)
        .ok_or_else(|| jsonl::bad_score(wanted[2], score))?;
    Ok((
        builder.subject(&subject),
        builder.item(options.item_id(&item)),
        cell,
    ))
}
