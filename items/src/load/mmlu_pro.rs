//! MMLU-Pro JSON lines `{question_id, question, options, answer, answer_index, category, src}`.

use std::path::Path;

use serde::Deserialize;

use super::{Loaded, id_field, numbered_lines, parse_line, read_text};
use crate::error::LoadError;
use crate::item::Item;

/// The labels of MMLU-Pro's up to ten options.
const LABELS: &str = "ABCDEFGHIJ";

#[derive(Deserialize)]
struct Row {
    question_id: serde_json::Value,
    question: String,
    options: Vec<String>,
    answer: String,
    answer_index: usize,
    category: String,
    #[serde(default)]
    src: Option<String>,
}

/// One item per line, id `mmlu_pro-<question_id>`; choices are the options (labels A-J), gold
/// is `answer_index`, which must agree with the `answer` letter.
pub(super) fn load(path: &Path) -> Result<Vec<Loaded>, LoadError> {
    let text = read_text(path)?;
    let mut loaded = Vec::new();
    for (line, content) in numbered_lines(&text) {
        let row: Row = parse_line(path, line, content)?;
        let question_id = id_field(path, line, "question_id", &row.question_id)?;
        let count = row.options.len();
        if count == 0 || count > LABELS.len() {
            return Err(LoadError::at(
                path,
                line,
                format!("expected 1 to 10 options, found {count}"),
            ));
        }
        if row.answer_index >= count {
            return Err(LoadError::at(
                path,
                line,
                format!(
                    "`answer_index` is {}, but there are {count} options; expected an index below {count}",
                    row.answer_index
                ),
            ));
        }
        let letter = &LABELS[row.answer_index..=row.answer_index];
        if row.answer.trim() != letter {
            return Err(LoadError::at(
                path,
                line,
                format!(
                    "`answer` is `{}` but `answer_index` {} is option {letter}; expected them to agree",
                    row.answer, row.answer_index
                ),
            ));
        }
        let mut item = Item::new(format!("mmlu_pro-{question_id}"), row.question);
        item.choices = row.options;
        item.gold = Some(row.answer_index);
        item.metadata.insert(
            "category".to_string(),
            serde_json::Value::from(row.category),
        );
        if let Some(src) = row.src {
            item.metadata
                .insert("src".to_string(), serde_json::Value::from(src));
        }
        loaded.push(Loaded {
            item,
            line: Some(line),
        });
    }
    Ok(loaded)
}
