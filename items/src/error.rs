//! The error every loader returns: the file, the line, and what was expected there.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Why items cannot be loaded: the file (or folder), the 1-based line when the fault is on one,
/// and what was expected.
///
/// It displays as `path:line: message`, or `path: message` without a line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The file or folder at fault.
    pub path: PathBuf,
    /// The 1-based line at fault, when the fault is on one line.
    pub line: Option<usize>,
    /// What went wrong, saying what was expected.
    pub message: String,
}

impl LoadError {
    /// An error on line `line` (1-based) of `path`.
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

    /// `path` could not be read.
    pub(crate) fn io(path: &Path, error: &io::Error) -> Self {
        Self::whole(path, format!("cannot read it: {error}"))
    }

    /// A JSON error on line `line` of a JSON-lines file: serde's message, with the position
    /// inside the line given as a column (the line number serde reports is always 1 there).
    pub(crate) fn json(path: &Path, line: usize, error: &serde_json::Error) -> Self {
        let message = serde_message(error);
        Self::at(path, line, format!("{message} (column {})", error.column()))
    }

    /// A JSON error in a file holding one JSON document: serde's message at the line it names.
    pub(crate) fn json_document(path: &Path, error: &serde_json::Error) -> Self {
        let message = serde_message(error);
        match error.line() {
            0 => Self::whole(path, message),
            line => Self::at(path, line, format!("{message} (column {})", error.column())),
        }
    }
}

/// serde_json's message without the ` at line L column C` it appends.
fn serde_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    match text.strip_suffix(&suffix) {
        Some(message) => message.to_string(),
        None => text,
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
