//! Response matrices from disk: wide CSV, long CSV and JSONL, py-irt JSONL and
//! lm-evaluation-harness sample logs.
//!
//! Every loader returns a [`ResponseMatrix`] or a [`LoadError`] that names the file, the line
//! where there is one, and what was expected there; no input makes a loader panic. The long
//! formats share one `MatrixBuilder`, which puts subjects and items in the order of their first
//! appearance and leaves the pairs never given missing. Wide CSV files without quotes take a
//! byte scanner rather than the csv crate: five times faster at the study's 5,000 x 12,000.

mod csv_file;
mod jsonl;
mod lm_eval_logs;
mod long_csv;
mod long_jsonl;
mod matrix_builder;
mod pyirt_jsonl;
mod wide_csv;
mod wide_csv_fast;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::matrix::ResponseMatrix;

pub use wide_csv::write_wide_csv;

/// The on-disk formats, named in specs as `wide_csv`, `long_csv`, `long_jsonl`, `pyirt_jsonl`
/// and `lm_eval_logs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// A header `model,<item ids...>` and one row per subject with cells `1`, `0` or empty.
    WideCsv,
    /// One row per (subject, item, score) under a header naming the columns.
    LongCsv,
    /// One JSON object per line with a subject, an item and a score field.
    LongJsonl,
    /// py-irt's `{"subject_id": ..., "responses": {item: 0 or 1, ...}}`, one subject per line.
    PyIrtJsonl,
    /// A directory of lm-evaluation-harness `--log_samples` files.
    LmEvalLogs,
}

impl Format {
    /// Every format, in the order of the documentation.
    pub const ALL: [Self; 5] = [
        Self::WideCsv,
        Self::LongCsv,
        Self::LongJsonl,
        Self::PyIrtJsonl,
        Self::LmEvalLogs,
    ];

    /// The name specs use for this format.
    pub fn name(self) -> &'static str {
        match self {
            Self::WideCsv => "wide_csv",
            Self::LongCsv => "long_csv",
            Self::LongJsonl => "long_jsonl",
            Self::PyIrtJsonl => "pyirt_jsonl",
            Self::LmEvalLogs => "lm_eval_logs",
        }
    }

    /// The format a spec names, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|format| format.name() == name)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How to read a response file: its format and, for the long formats, which fields hold what.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadOptions {
    /// The format of the file (or directory, for [`Format::LmEvalLogs`]).
    pub format: Format,
    /// The column or field holding the subject id in long formats (default `model`).
    pub subject_field: String,
    /// The column or field holding the item id in long formats (default `item`).
    pub item_field: String,
    /// The column or field holding the score in long formats and lm-evaluation-harness logs
    /// (default `correct`).
    pub score_field: String,
    /// Scores at or above this count as correct (default 0.5), so 0/1 and fractional scores
    /// both work; booleans count as they are.
    pub threshold: f64,
    /// Removed from the start of every item id that starts with it (default empty: ids are
    /// kept as they are).
    pub id_prefix: String,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            format: Format::WideCsv,
            subject_field: "model".to_string(),
            item_field: "item".to_string(),
            score_field: "correct".to_string(),
            threshold: 0.5,
            id_prefix: String::new(),
        }
    }
}

impl LoadOptions {
    /// An item id with [`LoadOptions::id_prefix`] removed where it starts with it.
    fn item_id<'a>(&self, id: &'a str) -> &'a str {
        id.strip_prefix(self.id_prefix.as_str()).unwrap_or(id)
    }
}

/// Why a response file cannot be loaded: the file, the line (1-based, when there is one) and
/// what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The file (or directory) at fault.
    pub path: PathBuf,
    /// The 1-based line at fault, when the fault is on one line.
    pub line: Option<usize>,
    /// What went wrong, saying what was expected.
    pub message: String,
}

impl LoadError {
    /// An error on one line of `path`.
    pub(crate) fn at(path: &Path, line: usize, message: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            line: Some(line),
            message: message.into(),
        }
    }

    /// An error about `path` as a whole.
    pub(crate) fn whole(path: &Path, message: impl Into<String>) -> Self {
        Self {
            path: path.to_path_buf(),
            line: None,
            message: message.into(),
        }
    }

    /// `path` holds nothing to read, where `expected` (described) was expected.
    pub(crate) fn empty(path: &Path, expected: &str) -> Self {
        Self::whole(path, format!("the file is empty: expected {expected}"))
    }

    /// `path` could not be opened or read.
    pub(crate) fn io(path: &Path, error: &io::Error) -> Self {
        Self::whole(path, format!("cannot read it: {error}"))
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for LoadError {}

/// Loads the response matrix at `path` (a file, or a directory for [`Format::LmEvalLogs`]) as
/// `options` describe it.
pub fn load(path: &Path, options: &LoadOptions) -> Result<ResponseMatrix, LoadError> {
    if !options.threshold.is_finite() {
        return Err(LoadError::whole(
            path,
            format!(
                "expected a finite score threshold, found {}",
                options.threshold
            ),
        ));
    }
    match options.format {
        Format::WideCsv => wide_csv::load(path, options),
        Format::LongCsv => long_csv::load(path, options),
        Format::LongJsonl => long_jsonl::load(path, options),
        Format::PyIrtJsonl => pyirt_jsonl::load(path, options),
        Format::LmEvalLogs => lm_eval_logs::load(path, options),
    }
}

/// A value found in a file, as error messages quote it: lossy UTF-8, cut after 40 characters.
fn shown(bytes: &[u8]) -> String {
    const MAX: usize = 40;
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}

/// Field or column names as error messages list them: `a`, `b`, `c`.
fn listed(names: &[String]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
