//! A matrix built from (subject, item, response) triples, as the long formats give them:
//! subjects and items in the order of first appearance, pairs never given missing, a pair given
//! twice an error naming both places.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::LoadError;
use crate::matrix::{MISSING, ResponseMatrix};

/// Marks a cell no response has filled yet; distinct from every cell value.
const UNSET: u8 = 2;

/// Collects responses file by file, then builds the matrix.
pub(super) struct MatrixBuilder {
    subjects: Ids,
    items: Ids,
    responses: Vec<Response>,
    /// Each file read, with the index of its first response (responses come file by file).
    files: Vec<(PathBuf, usize)>,
}

/// One response and the line that gave it.
struct Response {
    subject: usize,
    item: usize,
    line: usize,
    cell: u8,
}

/// Ids in the order of first appearance, with their indices.
#[derive(Default)]
struct Ids {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Ids {
    fn intern(&mut self, id: &str) -> usize {
        if let Some(&k) = self.index.get(id) {
            return k;
        }
        let k = self.names.len();
        self.names.push(id.to_string());
        self.index.insert(id.to_string(), k);
        k
    }
}

impl MatrixBuilder {
    /// An empty builder; call [`MatrixBuilder::start_file`] before adding responses.
    pub(super) fn new() -> Self {
        Self {
            subjects: Ids::default(),
            items: Ids::default(),
            responses: Vec::new(),
            files: Vec::new(),
        }
    }

    /// Notes that the responses added from now on come from `path`.
    pub(super) fn start_file(&mut self, path: &Path) {
        self.files.push((path.to_path_buf(), self.responses.len()));
    }

    /// The index of subject `id`, adding it (with no responses yet) when new.
    pub(super) fn subject(&mut self, id: &str) -> usize {
        self.subjects.intern(id)
    }

    /// The index of item `id`, adding it when new.
    pub(super) fn item(&mut self, id: &str) -> usize {
        self.items.intern(id)
    }

    /// Records `cell` as the response of `subject` to `item`, given on `line` of the current
    /// file.
    pub(super) fn add(&mut self, subject: usize, item: usize, cell: u8, line: usize) {
        self.responses.push(Response {
            subject,
            item,
            line,
            cell,
        });
    }

    /// The matrix of every response added, failing on a (subject, item) pair given twice.
    pub(super) fn finish(self) -> Result<ResponseMatrix, LoadError> {
        let (n_subjects, n_items) = (self.subjects.names.len(), self.items.names.len());
        // Sparse long files can name far more pairs than fit in memory as a dense matrix.
        let mut cells = Vec::new();
        let size = n_subjects
            .checked_mul(n_items)
            .filter(|&size| cells.try_reserve_exact(size).is_ok())
            .ok_or_else(|| {
                LoadError::whole(
                    self.file_of(0),
                    format!("{n_subjects} subjects x {n_items} items are too many cells to hold"),
                )
            })?;
        cells.resize(size, UNSET);
        for (k, response) in self.responses.iter().enumerate() {
            let cell = &mut cells[response.subject * n_items + response.item];
            if *cell != UNSET {
                return Err(self.duplicate(k));
            }
            *cell = response.cell;
        }
        for cell in cells.iter_mut().filter(|cell| **cell == UNSET) {
            *cell = MISSING;
        }
        let path = self.file_of(0).to_path_buf();
        ResponseMatrix::new(self.subjects.names, self.items.names, cells)
            .map_err(|error| LoadError::whole(&path, error.to_string()))
    }

    /// The error for response `k`, whose pair an earlier response already gave.
    fn duplicate(&self, k: usize) -> LoadError {
        let again = &self.responses[k];
        let subject = &self.subjects.names[again.subject];
        let item = &self.items.names[again.item];
        let path = self.file_of(k);
        let first = self.responses[..k]
            .iter()
            .position(|r| r.subject == again.subject && r.item == again.item)
            .map_or_else(String::new, |j| {
                let (first_path, line) = (self.file_of(j), self.responses[j].line);
                if first_path == path {
                    format!(": first on line {line}")
                } else {
                    format!(": first at {}:{line}", first_path.display())
                }
            });
        LoadError::at(
            path,
            again.line,
            format!("subject `{subject}` and item `{item}` appear twice{first}"),
        )
    }

    /// The file response `k` came from.
    fn file_of(&self, k: usize) -> &Path {
        let after = self.files.partition_point(|(_, start)| *start <= k);
        self.files
            .get(after.saturating_sub(1))
            .map_or(Path::new(""), |(path, _)| path)
    }
}
