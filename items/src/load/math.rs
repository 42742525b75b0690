//! MATH JSON lines `{problem, level, type, solution, idx}` (the math-evaluation-harness copy).

use std::path::Path;

use serde::Deserialize;

use super::{Loaded, id_field, numbered_lines, parse_line, read_text};
use crate::error::LoadError;
use crate::item::Item;
use crate::latex::last_boxed;

#[derive(Deserialize)]
struct Row {
    problem: String,
    level: String,
    #[serde(rename = "type")]
    kind: String,
    solution: String,
    idx: serde_json::Value,
}

/// One item per line, id `math-<idx>`; the target is the content of the solution's last
/// `\boxed{...}`, the `solution` field the full solution, and the metadata `level` (the number
/// of `Level N`, or the text when it is not of that form) and `type`.
pub(super) fn load(path: &Path) -> Result<Vec<Loaded>, LoadError> {
    let text = read_text(path)?;
    let mut loaded = Vec::new();
    for (line, content) in numbered_lines(&text) {
        let row: Row = parse_line(path, line, content)?;
        let idx = id_field(path, line, "idx", &row.idx)?;
        let Some(target) = last_boxed(&row.solution) else {
            return Err(LoadError::at(
                path,
                line,
                "expected the solution to hold a final `\\boxed{...}` with balanced braces, found none",
            ));
        };
        let level = match row
            .level
            .strip_prefix("Level ")
            .and_then(|number| number.trim().parse::<u64>().ok())
        {
            Some(number) => serde_json::Value::from(number),
            None => serde_json::Value::from(row.level.as_str()),
        };
        let mut item = Item::new(format!("math-{idx}"), row.problem);
        item.target = Some(target.to_string());
        item.fields.insert("solution".to_string(), row.solution);
        item.metadata.insert("level".to_string(), level);
        item.metadata
            .insert("type".to_string(), serde_json::Value::from(row.kind));
        loaded.push(Loaded {
            item,
            line: Some(line),
        });
    }
    Ok(loaded)
}
