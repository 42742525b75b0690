//! The front end's entry point: a spec file in, a plan or diagnostics out.

use std::path::Path;

use rung_engine::{Catalog, Plan};

use crate::diagnostic::{Code, Diagnostic};
pub use crate::eval::DeclNodes;
use crate::eval::Evaluator;
use crate::loader::{self, Disk, FileSystem};
use crate::parser::parse_value;
use crate::source::{Sources, Span};

/// A checked spec, lowered: the plan and which nodes each root declaration produced.
#[derive(Debug, Clone)]
pub struct Program {
    /// The nodes, each with its canonical form, in dependency order.
    pub plan: Plan,
    /// The root file's artifact declarations, in source order.
    pub decls: Vec<DeclNodes>,
}

/// The outcome of checking a spec.
#[derive(Debug)]
pub struct Checked {
    /// Every file read (and one per `--set`), for rendering diagnostics.
    pub sources: Sources,
    /// The program, when no error was found (warnings allowed).
    pub program: Option<Program>,
    /// Every problem found, errors and warnings, by file and position.
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks the spec at `path` (and its imports) on disk; `overrides` are `--set name=value`s.
pub fn check_file(path: &Path, catalog: &Catalog, overrides: &[String]) -> Checked {
    check_with(&Disk, path, &path.display().to_string(), catalog, overrides)
}

/// Checks a spec read through `fs`; `display` is how its path is shown.
pub fn check_with(
    fs: &dyn FileSystem,
    path: &Path,
    display: &str,
    catalog: &Catalog,
    overrides: &[String],
) -> Checked {
    let mut sources = Sources::new();
    let mut diagnostics = Vec::new();
    let loaded = loader::load(fs, path, display, &mut sources, &mut diagnostics);
    let mut program = None;
    if let Some(loaded) = loaded {
        let mut evaluator = Evaluator::new(catalog, &loaded.modules);
        for text in overrides {
            let file = sources.add("--set", Path::new("--set"), text.clone());
            let whole = Span::new(file, 0, text.len());
            let Some((name, _)) = text.split_once('=') else {
                diagnostics.push(
                    Diagnostic::error(Code::SetSyntax, whole, "a `--set` takes `name=value`")
                        .with_hint("for example `--set seed=7` or `--set paper.lr=1e-5`"),
                );
                continue;
            };
            let blanked = format!("{}{}", " ".repeat(name.len() + 1), &text[name.len() + 1..]);
            match parse_value(file, &blanked) {
                Ok(value) => {
                    evaluator.add_override(name.trim(), Span::new(file, 0, name.len()), value)
                }
                Err(error) => diagnostics.push(error),
            }
        }
        let decls = evaluator.run();
        let plan = std::mem::take(&mut evaluator.plan);
        diagnostics.extend(evaluator.into_diagnostics());
        if !diagnostics.iter().any(Diagnostic::is_error) {
            program = Some(Program { plan, decls });
        }
    }
    diagnostics.sort_by_key(|d| d.primary.as_ref().map(|l| (l.span.file, l.span.start)));
    Checked {
        sources,
        program,
        diagnostics,
    }
}
