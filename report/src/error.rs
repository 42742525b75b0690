//! Why a report could not be written: every error names the file or the input involved.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use plotters::drawing::DrawingAreaErrorKind;

/// Why a report's figures, tables or page could not be written.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReportError {
    /// Reading or writing a file failed.
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A JSON file could not be parsed or written.
    Json {
        /// The file involved.
        path: PathBuf,
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// An SVG could not be rasterised.
    Svg {
        /// The figure involved (a file name, or `<memory>`).
        figure: String,
        /// What went wrong.
        message: String,
    },
    /// Drawing a figure failed.
    Draw {
        /// The figure being drawn.
        figure: String,
        /// What plotters said.
        message: String,
    },
    /// The input cannot be reported on (mismatched shapes, no cells, an unknown format, ...).
    Invalid(String),
}

impl ReportError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A JSON error on `path`.
    pub fn json(path: &Path, source: serde_json::Error) -> Self {
        Self::Json {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Bad input, described by `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Invalid(message.into())
    }

    /// Names `figure` in a drawing or rasterising error that did not know which figure it was.
    pub(crate) fn in_figure(self, name: &str) -> Self {
        match self {
            Self::Draw { figure, message } if figure.is_empty() => Self::Draw {
                figure: name.to_string(),
                message,
            },
            Self::Svg { figure, message } if figure == MEMORY => Self::Svg {
                figure: name.to_string(),
                message,
            },
            other => other,
        }
    }
}

/// The name an SVG has when it was never a file.
pub(crate) const MEMORY: &str = "<memory>";

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Json { path, source } => write!(f, "{}: invalid JSON: {source}", path.display()),
            Self::Svg { figure, message } => write!(f, "{figure}: cannot rasterise: {message}"),
            Self::Draw { figure, message } if figure.is_empty() => {
                write!(f, "cannot draw a figure: {message}")
            }
            Self::Draw { figure, message } => write!(f, "{figure}: cannot draw: {message}"),
            Self::Invalid(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Json { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for ReportError {
    fn from(error: DrawingAreaErrorKind<E>) -> Self {
        Self::Draw {
            figure: String::new(),
            message: error.to_string(),
        }
    }
}

impl From<resvg::usvg::Error> for ReportError {
    fn from(error: resvg::usvg::Error) -> Self {
        Self::Svg {
            figure: MEMORY.to_string(),
            message: error.to_string(),
        }
    }
}
