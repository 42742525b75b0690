//! py-irt JSONL: one subject per line, `{"subject_id": "...", "responses": {"item": 0 or 1}}`,
//! items kept in the order the file gives them.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::Path;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::jsonl;
use super::matrix_builder::MatrixBuilder;
use super::{LoadError, LoadOptions};
use crate::matrix::{CORRECT, ResponseMatrix, WRONG};

/// The subject field of py-irt files, whatever [`LoadOptions::subject_field`] says.
const SUBJECT: &str = "subject_id";
/// The field holding a subject's responses.
const RESPONSES: &str = "responses";

/// Reads a py-irt JSONL file.
pub(super) fn load(path: &Path, options: &LoadOptions) -> Result<ResponseMatrix, LoadError> {
    let mut builder = MatrixBuilder::new();
    builder.start_file(path);
    let mut first_lines = HashMap::new();
    let expected = "one JSON object per line: {\"subject_id\": ..., \"responses\": {...}}";
    jsonl::for_each_line(path, expected, |line, text| {
        read_line(line, text, options, &mut first_lines, &mut builder)
            .map_err(|message| LoadError::at(path, line, message))
    })?;
    builder.finish()
}

/// Adds the subject and the responses on one line; `first_lines` holds the line of each
/// subject read so far. The error is a message saying what was expected.
fn read_line(
    line: usize,
    text: &str,
    options: &LoadOptions,
    first_lines: &mut HashMap<String, usize>,
    builder: &mut MatrixBuilder,
) -> Result<(), String> {
    let parsed: PyIrtLine = jsonl::parse_line(text, PhantomData)?;
    let subject = subject_id(&parsed)?;
    if let Some(first) = first_lines.get(&subject) {
        return Err(format!(
            "subject `{subject}` appears twice: first on line {first}"
        ));
    }
    let responses = parsed
        .responses
        .as_ref()
        .ok_or_else(|| jsonl::missing_field(RESPONSES, "the responses", &parsed.present))?;
    let row = builder.subject(&subject);
    first_lines.insert(subject, line);
    for (item, value) in responses {
        let cell = cell(item, value)?;
        let item = builder.item(options.item_id(item));
        builder.add(row, item, cell, line);
    }
    Ok(())
}

/// The subject id of a line, or a message saying what was expected.
fn subject_id(parsed: &PyIrtLine) -> Result<String, String> {
    let value = parsed
        .subject
        .as_ref()
        .ok_or_else(|| jsonl::missing_field(SUBJECT, "the subject id", &parsed.present))?;
    jsonl::id_text(value).ok_or_else(|| {
        format!(
            "expected a non-empty string or a number in `{SUBJECT}`, found `{}`",
            jsonl::shown(value)
        )
    })
}

/// The cell a response stands for: 0, 1, true or false.
fn cell(item: &str, value: &Value) -> Result<u8, String> {
    if item.is_empty() {
        return Err(format!(
            "expected non-empty item ids in `{RESPONSES}`, found an empty one"
        ));
    }
    match value {
        Value::Bool(true) => Ok(CORRECT),
        Value::Bool(false) => Ok(WRONG),
        Value::Number(number) if number.as_u64() == Some(1) => Ok(CORRECT),
        Value::Number(number) if number.as_u64() == Some(0) => Ok(WRONG),
        _ => Err(format!(
            "item `{item}`: expected 0, 1, true or false, found `{}`",
            jsonl::shown(value)
        )),
    }
}

/// One line of a py-irt file: the subject id, the responses in file order, and the names of
/// all the fields the line has (for error messages).
struct PyIrtLine {
    subject: Option<Value>,
    responses: Option<Vec<(String, Value)>>,
    present: Vec<String>,
}

impl<'de> Deserialize<'de> for PyIrtLine {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(LineVisitor)
    }
}

struct LineVisitor;

impl<'de> Visitor<'de> for LineVisitor {
    type Value = PyIrtLine;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON object with `{SUBJECT}` and `{RESPONSES}`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut line = PyIrtLine {
            subject: None,
            responses: None,
            present: Vec::new(),
        };
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                SUBJECT => line.subject = Some(map.next_value()?),
                RESPONSES => line.responses = Some(map.next_value::<Responses>()?.0),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            line.present.push(key);
        }
        Ok(line)
    }
}

/// The responses object, its entries in file order (serde_json's own map would sort them).
struct Responses(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Responses {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ResponsesVisitor)
    }
}

struct ResponsesVisitor;

impl<'de> Visitor<'de> for ResponsesVisitor {
    type Value = Responses;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{RESPONSES}` to be an object of item ids to 0 or 1")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Responses(entries))
    }
}
