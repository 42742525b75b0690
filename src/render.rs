//! Rendering the front end's diagnostics: `file:line:col`, the source line, carets, code, hints.

use codespan_reporting::diagnostic::{Diagnostic as Report, Label as ReportLabel};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Config};
use rung_lang::{Diagnostic, Severity, Sources};

/// Renders diagnostics as plain text, in the order given.
pub(crate) fn diagnostics(sources: &Sources, diagnostics: &[Diagnostic]) -> String {
    let mut files = SimpleFiles::new();
    for file in sources.files() {
        files.add(file.name.clone(), file.text.clone());
    }
    let config = Config::default();
    let mut out = String::new();
    for diagnostic in diagnostics {
        let report = match diagnostic.severity {
            Severity::Error => Report::error(),
            Severity::Warning => Report::warning(),
        };
        let mut labels = Vec::new();
        if let Some(primary) = &diagnostic.primary {
            let label = ReportLabel::primary(primary.span.file.index(), primary.span.range());
            labels.push(label.with_message(primary.message.clone()));
        }
        for secondary in &diagnostic.secondary {
            let label = ReportLabel::secondary(secondary.span.file.index(), secondary.span.range());
            labels.push(label.with_message(secondary.message.clone()));
        }
        let report = report
            .with_code(diagnostic.code.as_str())
            .with_message(diagnostic.message.clone())
            .with_labels(labels)
            .with_notes(
                diagnostic
                    .hints
                    .iter()
                    .map(|h| format!("help: {h}"))
                    .collect(),
            );
        match term::emit_into_string(&config, &files, &report) {
            Ok(text) => out.push_str(&text),
            Err(_) => out.push_str(&format!(
                "{}[{}]: {}\n",
                if diagnostic.is_error() {
                    "error"
                } else {
                    "warning"
                },
                diagnostic.code,
                diagnostic.message
            )),
        }
    }
    out
}
