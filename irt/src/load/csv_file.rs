//! CSV files read record by record, with the 1-based line of each record and errors that name
//! it; the wide and long CSV readers share it.
//!
//! The csv crate's own record positions count a record's line from the end of the record
//! before it, so they are one short in CRLF files and after blank lines; [`LineStarts`] counts
//! lines as the bytes pass instead.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use csv::ByteRecord;

use super::LoadError;

/// A byte-order mark, which spreadsheet exports put before the header.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// An open CSV file.
pub(super) struct CsvFile<'a> {
    path: &'a Path,
    reader: csv::Reader<LineStarts<File>>,
    /// The file's size in bytes, for preallocation (0 when unknown).
    len: u64,
}

impl<'a> CsvFile<'a> {
    /// Opens `path`; rows may have any width, as [`CsvFile::next`] checks widths itself.
    pub(super) fn open(path: &'a Path) -> Result<Self, LoadError> {
        let file = File::open(path).map_err(|error| LoadError::io(path, &error))?;
        let len = file.metadata().map_or(0, |meta| meta.len());
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 20)
            .from_reader(LineStarts::new(file));
        Ok(Self { path, reader, len })
    }

    /// The file's size in bytes (0 when unknown).
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// Reads the header row: its line and its names, without a leading byte-order mark.
    ///
    /// An empty file is an error saying that `expected` (a header row, described) was expected.
    pub(super) fn header(&mut self, expected: &str) -> Result<(usize, Vec<String>), LoadError> {
        let mut record = ByteRecord::new();
        let line = self
            .read(&mut record)?
            .ok_or_else(|| LoadError::empty(self.path, expected))?;
        let names = header_names(self.path, line, record.iter())?;
        Ok((line, names))
    }

    /// Reads the next row into `record` and returns its line, or `None` at the end of the file.
    ///
    /// A row with other than `width` cells is an error.
    pub(super) fn next(
        &mut self,
        record: &mut ByteRecord,
        width: usize,
    ) -> Result<Option<usize>, LoadError> {
        let Some(line) = self.read(record)? else {
            return Ok(None);
        };
        if record.len() != width {
            return Err(ragged(self.path, line, width, record.len()));
        }
        Ok(Some(line))
    }

    fn read(&mut self, record: &mut ByteRecord) -> Result<Option<usize>, LoadError> {
        match self.reader.read_byte_record(record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let start = record.position().map_or(0, csv::Position::byte);
                Ok(Some(self.reader.get_mut().line_at(start)))
            }
            Err(error) => Err(LoadError::whole(
                self.path,
                format!("cannot read it: {error}"),
            )),
        }
    }
}

/// Passes a file through to the csv crate, noting the line of each place where a line's
/// content starts (a byte other than `\r` or `\n` after one of them, or at the start).
struct LineStarts<R> {
    inner: R,
    /// Bytes passed so far.
    offset: u64,
    /// The line of the next byte: 1 plus the `\n` bytes passed.
    line: usize,
    after_terminator: bool,
    /// (offset, line) of each content start passed and not yet asked about.
    starts: VecDeque<(u64, usize)>,
}

impl<R> LineStarts<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            line: 1,
            after_terminator: true,
            starts: VecDeque::new(),
        }
    }

    /// The line of a record the csv crate started parsing at byte `start`: the line of the
    /// first content at or after it, since the parser skips line ends before a record.
    ///
    /// Records are asked about in order, so the starts before `start` are dropped.
    fn line_at(&mut self, start: u64) -> usize {
        while self
            .starts
            .front()
            .is_some_and(|&(offset, _)| offset < start)
        {
            self.starts.pop_front();
        }
        self.starts.front().map_or(self.line, |&(_, line)| line)
    }
}

impl<R: Read> Read for LineStarts<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        for &byte in &buf[..read] {
            match byte {
                b'\n' => {
                    self.line += 1;
                    self.after_terminator = true;
                }
                b'\r' => self.after_terminator = true,
                _ if self.after_terminator => {
                    self.starts.push_back((self.offset, self.line));
                    self.after_terminator = false;
                }
                _ => {}
            }
            self.offset += 1;
        }
        Ok(read)
    }
}

/// The names in a header row, as text, without a leading byte-order mark.
pub(super) fn header_names<'r>(
    path: &Path,
    line: usize,
    fields: impl Iterator<Item = &'r [u8]>,
) -> Result<Vec<String>, LoadError> {
    fields
        .enumerate()
        .map(|(k, name)| {
            let name = if k == 0 {
                name.strip_prefix(BOM).unwrap_or(name)
            } else {
                name
            };
            String::from_utf8(name.to_vec()).map_err(|_| {
                LoadError::at(
                    path,
                    line,
                    format!("expected UTF-8 text in header column {}", k + 1),
                )
            })
        })
        .collect()
}

/// The error for a row of `found` cells under a header of `width`.
pub(super) fn ragged(path: &Path, line: usize, width: usize, found: usize) -> LoadError {
    LoadError::at(
        path,
        line,
        format!("expected {width} cells (as in the header), found {found}"),
    )
}
