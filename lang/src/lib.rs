//! The rung language: from spec text to a plan.
//!
//! - [`parser`]: text to [`ast`] (pest stays inside), with [`trivia`] for comments and depth;
//! - [`diagnostic`]: problems as plain data, rendered by the CLI.

pub mod ast;
pub mod diagnostic;
pub mod parser;
pub mod source;
mod suggest;
mod trivia;

pub use diagnostic::{Code, Diagnostic, Label, Severity};
pub use source::{FileId, SourceFile, Sources, Span};
