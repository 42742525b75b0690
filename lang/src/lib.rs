//! The rung language: from spec text to a plan.
//!
//! - [`check`]: the entry point: [`check_file`] loads a spec ([`loader`]), evaluates it with
//!   types and lowers it into a [`rung_engine::Plan`];
//! - [`parser`]: text to [`ast`] (pest stays inside), with `trivia` for comments and depth;
//! - [`diagnostic`]: problems as plain data, rendered by the CLI;
//! - [`format`](mod@format): the canonical layout `rung fmt` prints, comments kept.

pub mod ast;
pub mod check;
pub mod diagnostic;
mod eval;
pub mod format;
pub mod loader;
pub mod parser;
pub mod source;
mod suggest;
mod trivia;

pub use diagnostic::{Code, Diagnostic, Label, Severity};
pub use source::{FileId, SourceFile, Sources, Span};

pub use check::{Checked, Program, check_file, check_with};
