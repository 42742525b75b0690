//! GSM8K JSON lines `{"question", "answer"}`, the answer being a worked solution ending in `#### N`.

use std::path::Path;

use serde::Deserialize;

use super::{Loaded, file_stem, numbered_lines, parse_line, read_text};
use crate::error::LoadError;
use crate::item::Item;

#[derive(Deserialize)]
struct Row {
    question: String,
    answer: String,
}

/// One item per line, id `gsm8k-<file stem>-<line index from 0>`; the target is the number
/// after `####` without commas, the `solution` field the text before it without the `<<...>>`
/// calculator annotations, and the `steps` metadata its number of non-blank lines.
pub(super) fn load(path: &Path) -> Result<Vec<Loaded>, LoadError> {
    let text = read_text(path)?;
    let stem = file_stem(path)?;
    let mut loaded = Vec::new();
    for (line, content) in numbered_lines(&text) {
        let row: Row = parse_line(path, line, content)?;
        let Some((solution, answer)) = row.answer.rsplit_once("####") else {
            return Err(LoadError::at(
                path,
                line,
                "expected the answer to end in `#### <number>`, found no `####`",
            ));
        };
        let target = answer.trim().replace(',', "");
        if target.parse::<f64>().is_err() {
            return Err(LoadError::at(
                path,
                line,
                format!("expected a number after `####`, found `{}`", answer.trim()),
            ));
        }
        let solution = remove_annotations(solution).trim().to_string();
        let steps = solution
            .lines()
            .filter(|step| !step.trim().is_empty())
            .count();
        let mut item = Item::new(format!("gsm8k-{stem}-{}", line - 1), row.question);
        item.target = Some(target);
        item.fields.insert("solution".to_string(), solution);
        item.metadata
            .insert("steps".to_string(), serde_json::Value::from(steps));
        loaded.push(Loaded {
            item,
            line: Some(line),
        });
    }
    Ok(loaded)
}

/// `text` without its `<<16-3-4=9>>` calculator annotations (an unclosed `<<` is kept).
fn remove_annotations(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<<") {
        let Some(length) = rest[start..].find(">>") else {
            break;
        };
        out.push_str(&rest[..start]);
        rest = &rest[start + length + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_removed() {
        assert_eq!(
            remove_annotations("She makes 9 * 2 = $<<9*2=18>>18 every day."),
            "She makes 9 * 2 = $18 every day."
        );
        assert_eq!(remove_annotations("a << b"), "a << b");
    }
}
