//! ARC in the llm-foundry JSON-lines form: `{"query": "Question: ...", "choices": [...], "gold": i}`.

use std::path::Path;

use serde::Deserialize;

use super::{Loaded, file_stem, numbered_lines, parse_line, read_text};
use crate::error::LoadError;
use crate::item::Item;

#[derive(Deserialize)]
struct Row {
    query: String,
    choices: Vec<String>,
    gold: usize,
}

/// One item per line, id `<file stem>-<line index from 0>`, the `Question: ` prefix removed.
pub(super) fn load(path: &Path) -> Result<Vec<Loaded>, LoadError> {
    let text = read_text(path)?;
    let stem = file_stem(path)?;
    let mut loaded = Vec::new();
    for (line, content) in numbered_lines(&text) {
        let row: Row = parse_line(path, line, content)?;
        if row.choices.is_empty() {
            return Err(LoadError::at(
                path,
                line,
                "expected at least one choice in `choices`",
            ));
        }
        if row.gold >= row.choices.len() {
            return Err(LoadError::at(
                path,
                line,
                format!(
                    "`gold` is {}, but there are {} choices; expected an index below {}",
                    row.gold,
                    row.choices.len(),
                    row.choices.len()
                ),
            ));
        }
        let prompt = match row.query.strip_prefix("Question: ") {
            Some(question) => question.to_string(),
            None => row.query,
        };
        let mut item = Item::new(format!("{stem}-{}", line - 1), prompt);
        item.choices = row.choices;
        item.gold = Some(row.gold);
        loaded.push(Loaded {
            item,
            line: Some(line),
        });
    }
    Ok(loaded)
}
