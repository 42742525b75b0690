//! Generic JSON-lines and CSV item files, read through a [`Fields`] mapping.

use std::path::Path;

use serde_json::{Map, Value};

use super::{
    Fields, Loaded, file_stem, label_index, numbered_lines, parse_line, read_text, scalar_text,
};
use crate::error::LoadError;
use crate::item::Item;

/// Which of the two generic formats a row came from: CSV cells are all text, so list-valued
/// fields are parsed from JSON and metadata that reads as a JSON number becomes a number.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Jsonl,
    Csv,
}

/// One item per non-blank line; the default id is `<file stem>-<line index from 0>`.
pub(super) fn load_jsonl(path: &Path, fields: &Fields) -> Result<Vec<Loaded>, LoadError> {
    check_mapping(path, fields)?;
    let text = read_text(path)?;
    let stem = file_stem(path)?;
    let mut loaded = Vec::new();
    for (line, content) in numbered_lines(&text) {
        let row: Map<String, Value> = parse_line(path, line, content)?;
        let item = build(&row, fields, Source::Jsonl, &format!("{stem}-{}", line - 1))
            .map_err(|message| LoadError::at(path, line, message))?;
        loaded.push(Loaded {
            item,
            line: Some(line),
        });
    }
    Ok(loaded)
}

/// One item per row under a header row; the default id is `<file stem>-<row index from 0>`.
pub(super) fn load_csv(path: &Path, fields: &Fields) -> Result<Vec<Loaded>, LoadError> {
    check_mapping(path, fields)?;
    let text = read_text(path)?;
    let stem = file_stem(path)?;
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| csv_error(path, &error))?
        .clone();
    if headers.is_empty() {
        return Err(LoadError::whole(
            path,
            "expected a header row naming the columns, found an empty file",
        ));
    }
    let mut loaded = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|error| csv_error(path, &error))?;
        let line = record
            .position()
            .map_or(index + 2, |position| position.line() as usize);
        let row: Map<String, Value> = headers
            .iter()
            .zip(record.iter())
            .map(|(name, cell)| (name.to_string(), Value::from(cell)))
            .collect();
        let item = build(&row, fields, Source::Csv, &format!("{stem}-{index}"))
            .map_err(|message| LoadError::at(path, line, message))?;
        loaded.push(Loaded {
            item,
            line: Some(line),
        });
    }
    Ok(loaded)
}

fn csv_error(path: &Path, error: &csv::Error) -> LoadError {
    match error.position() {
        Some(position) => LoadError::at(
            path,
            position.line() as usize,
            format!("malformed CSV: {error}"),
        ),
        None => LoadError::whole(path, format!("malformed CSV: {error}")),
    }
}

/// A mapping that cannot work on any row: a gold choice without the choices.
fn check_mapping(path: &Path, fields: &Fields) -> Result<(), LoadError> {
    if fields.gold.is_some() && fields.choices.is_none() {
        return Err(LoadError::whole(
            path,
            "the field mapping names `gold` but not `choices`; expected both for multiple-choice items",
        ));
    }
    Ok(())
}

/// The item one row describes, or what is wrong with the row.
fn build(
    row: &Map<String, Value>,
    fields: &Fields,
    source: Source,
    default_id: &str,
) -> Result<Item, String> {
    let get = |name: &str, role: &str| {
        row.get(name).ok_or_else(|| {
            format!(
                "expected a field `{name}` (the {role}); the row has {}",
                names(row)
            )
        })
    };
    let id = match &fields.id {
        Some(name) => text(get(name, "id")?, name)?,
        None => default_id.to_string(),
    };
    if id.is_empty() {
        return Err("expected a non-empty id".to_string());
    }
    let mut item = Item::new(id, text(get(&fields.prompt, "prompt")?, &fields.prompt)?);
    if let Some(name) = &fields.target {
        item.target = optional_text(get(name, "target")?, name)?;
    }
    if let Some(name) = &fields.context {
        item.context = optional_text(get(name, "context")?, name)?;
    }
    if let Some(name) = &fields.choices {
        item.choices = choices(get(name, "choices")?, name, source)?;
    }
    if let Some(name) = &fields.gold {
        item.gold = Some(gold(get(name, "gold")?, name, item.choices.len())?);
    }
    for name in &fields.metadata {
        let value = get(name, "metadata")?;
        let value = match (source, value) {
            (Source::Csv, Value::String(cell)) => {
                match serde_json::from_str::<serde_json::Number>(cell) {
                    Ok(number) => Value::Number(number),
                    Err(_) => value.clone(),
                }
            }
            _ => value.clone(),
        };
        item.metadata.insert(name.clone(), value);
    }
    Ok(item)
}

fn names(row: &Map<String, Value>) -> String {
    if row.is_empty() {
        return "no fields".to_string();
    }
    row.keys()
        .map(|key| format!("`{key}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn text(value: &Value, name: &str) -> Result<String, String> {
    scalar_text(value)
        .ok_or_else(|| format!("expected `{name}` to be a string or a number, found {value}"))
}

fn optional_text(value: &Value, name: &str) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        other => text(other, name).map(Some),
    }
}

fn choices(value: &Value, name: &str, source: Source) -> Result<Vec<String>, String> {
    let parsed;
    let list = match (source, value) {
        (_, Value::Array(list)) => list,
        (Source::Csv, Value::String(cell)) => {
            parsed = serde_json::from_str::<Value>(cell).map_err(|error| {
                format!("expected `{name}` to hold a JSON array of choices: {error}")
            })?;
            match &parsed {
                Value::Array(list) => list,
                other => {
                    return Err(format!(
                        "expected `{name}` to hold a JSON array of choices, found {other}"
                    ));
                }
            }
        }
        (_, other) => {
            return Err(format!(
                "expected `{name}` to be an array of choices, found {other}"
            ));
        }
    };
    if list.is_empty() {
        return Err(format!("expected at least one choice in `{name}`"));
    }
    list.iter()
        .map(|choice| {
            scalar_text(choice).ok_or_else(|| {
                format!(
                    "expected every choice in `{name}` to be a string or a number, found {choice}"
                )
            })
        })
        .collect()
}

fn gold(value: &Value, name: &str, count: usize) -> Result<usize, String> {
    let index = match value {
        Value::Number(number) => number.as_u64().and_then(|n| usize::try_from(n).ok()),
        Value::String(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .or_else(|| label_index(text, count)),
        _ => None,
    };
    match index {
        Some(index) if index < count => Ok(index),
        _ => Err(format!(
            "expected `{name}` to be a 0-based index below {count} or a label A-{}, found {value}",
            char::from(b'A' + (count.clamp(1, 26) - 1) as u8)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn gold_accepts_indices_and_labels() {
        assert_eq!(gold(&serde_json::json!(2), "g", 3), Ok(2));
        assert_eq!(gold(&serde_json::json!("1"), "g", 3), Ok(1));
        assert_eq!(gold(&serde_json::json!("C"), "g", 3), Ok(2));
        assert_eq!(gold(&serde_json::json!("(a)"), "g", 3), Ok(0));
        let message = gold(&serde_json::json!("D"), "g", 3).unwrap_err();
        assert!(message.contains("label A-C"), "{message}");
    }

    #[test]
    fn a_missing_mapped_field_is_named() {
        let fields = Fields {
            target: Some("answer".into()),
            ..Fields::default()
        };
        let message = build(
            &row(serde_json::json!({"prompt": "q"})),
            &fields,
            Source::Jsonl,
            "x-0",
        )
        .unwrap_err();
        assert!(message.contains("`answer`"), "{message}");
        assert!(message.contains("the row has `prompt`"), "{message}");
    }

    #[test]
    fn csv_cells_become_choices_and_numbers() {
        let fields = Fields {
            choices: Some("choices".into()),
            gold: Some("gold".into()),
            metadata: vec!["level".into(), "name".into()],
            ..Fields::default()
        };
        let row = row(serde_json::json!({
            "prompt": "q", "choices": "[\"a\", \"b\"]", "gold": "B", "level": "3", "name": "007"
        }));
        let item = build(&row, &fields, Source::Csv, "x-0").unwrap();
        assert_eq!(item.choices, ["a", "b"]);
        assert_eq!(item.gold, Some(1));
        assert_eq!(item.metadata["level"], serde_json::json!(3));
        assert_eq!(item.metadata["name"], serde_json::json!("007"));
    }
}
