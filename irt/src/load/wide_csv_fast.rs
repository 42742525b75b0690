//! The fast path of the wide CSV reader: files without quotes, scanned byte by byte.
//!
//! Without quotes a CSV line is its cells joined by commas, so it can be read without the csv
//! crate's general state machine, and the common cells `0`, `1` and empty cost a few comparisons
//! each. At the first quote or lone carriage return the reader gives up and the caller reads the
//! file with the csv crate instead. Both end lines at `\n` or `\r\n`, skip blank lines and number
//! lines alike.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::ops::Range;
use std::path::Path;

use super::csv_file::{header_names, ragged};
use super::wide_csv::{HEADER, WideMatrix, cell_value};
use super::{LoadError, LoadOptions};
use crate::matrix::{CORRECT, MISSING, ResponseMatrix, WRONG};

/// Reads a wide CSV file without quotes; `Ok(None)` when it has some after all.
pub(super) fn load(
    path: &Path,
    options: &LoadOptions,
) -> Result<Option<ResponseMatrix>, LoadError> {
    let file = File::open(path).map_err(|error| LoadError::io(path, &error))?;
    let file_len = file.metadata().map_or(0, |meta| meta.len());
    let mut lines = Lines {
        path,
        reader: BufReader::with_capacity(1 << 20, file),
        buffer: Vec::new(),
        line: 0,
    };
    let Some((line, text)) = lines.next()? else {
        return Err(LoadError::empty(path, HEADER));
    };
    if needs_csv(text) {
        return Ok(None);
    }
    let header = header_names(path, line, text.split(|&b| b == b','))?;
    let mut matrix = WideMatrix::new(path, line, &header, options, file_len)?;
    while let Some((line, text)) = lines.next()? {
        if needs_csv(text) {
            return Ok(None);
        }
        let (subject, rest) = match text.iter().position(|&b| b == b',') {
            Some(comma) => (&text[..comma], Some(&text[comma + 1..])),
            None => (text, None),
        };
        matrix.add_subject(line, subject)?;
        let row = matrix.push_row();
        let scanned = match rest {
            Some(rest) => scan(rest, row),
            None if row.is_empty() => Ok(()),
            None => Err(Fault::Width),
        };
        match scanned {
            Ok(()) => {}
            Err(Fault::Width) => {
                let found = text.split(|&b| b == b',').count();
                return Err(ragged(path, line, header.len(), found));
            }
            Err(Fault::Cell(j, range)) => {
                let field = rest.unwrap_or_default().get(range).unwrap_or_default();
                return Err(matrix.bad_cell(line, j, field));
            }
        }
    }
    matrix.finish().map(Some)
}

/// Whether a line needs the csv crate: it has a quote, or a carriage return inside.
fn needs_csv(text: &[u8]) -> bool {
    text.contains(&b'"') || text.contains(&b'\r')
}

/// What is wrong with a row's cells.
enum Fault {
    /// The row has more or fewer cells than the header.
    Width,
    /// Cell `j` (its bytes at the range) is not 0, 1 or empty.
    Cell(usize, Range<usize>),
}

/// Fills `row` from `rest`, the cells after the subject id.
fn scan(rest: &[u8], row: &mut [u8]) -> Result<(), Fault> {
    // `i` is where the next cell starts; a cell ends at a comma or at the end of the line.
    let mut i = 0;
    for (j, cell) in row.iter_mut().enumerate() {
        match (rest.get(i), rest.get(i + 1)) {
            (Some(b'1'), Some(b',') | None) => {
                *cell = CORRECT;
                i += 2;
            }
            (Some(b'0'), Some(b',') | None) => {
                *cell = WRONG;
                i += 2;
            }
            (Some(b','), _) => {
                *cell = MISSING;
                i += 1;
            }
            // An empty last cell.
            (None, _) if i == rest.len() => {
                *cell = MISSING;
                i += 1;
            }
            (None, _) => return Err(Fault::Width),
            _ => {
                let end = rest[i..]
                    .iter()
                    .position(|&b| b == b',')
                    .map_or(rest.len(), |k| i + k);
                *cell = cell_value(&rest[i..end]).ok_or(Fault::Cell(j, i..end))?;
                i = end + 1;
            }
        }
    }
    // Having read every cell, `i` is one past the end of the line, as after a final comma.
    if i == rest.len() + 1 {
        Ok(())
    } else {
        Err(Fault::Width)
    }
}

/// The lines of a file, read into one reused buffer.
struct Lines<'a> {
    path: &'a Path,
    reader: BufReader<File>,
    buffer: Vec<u8>,
    /// The number of the line last read.
    line: usize,
}

impl Lines<'_> {
    /// The next non-blank line, without its `\n` or `\r\n`, and its 1-based number.
    fn next(&mut self) -> Result<Option<(usize, &[u8])>, LoadError> {
        let end = loop {
            self.buffer.clear();
            let read = self
                .reader
                .read_until(b'\n', &mut self.buffer)
                .map_err(|error| LoadError::io(self.path, &error))?;
            if read == 0 {
                return Ok(None);
            }
            self.line += 1;
            let text = self.buffer.strip_suffix(b"\n").unwrap_or(&self.buffer);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            if !text.is_empty() {
                break text.len();
            }
        };
        Ok(Some((self.line, &self.buffer[..end])))
    }
}
