//! JSON Lines files: one object per line, blank lines skipped, only the named fields of each
//! object kept (the rest are skipped without being built, which matters for lm-evaluation-harness
//! logs whose lines carry whole prompts).

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::{LoadError, listed};
use crate::matrix::{CORRECT, MISSING, WRONG};

/// Calls `each` with the 1-based number and the text of every non-blank line of `path`.
///
/// A file without any such line is an error saying that `expected` (its lines, described) was
/// expected.
pub(super) fn for_each_line(
    path: &Path,
    expected: &str,
    mut each: impl FnMut(usize, &str) -> Result<(), LoadError>,
) -> Result<(), LoadError> {
    let file = File::open(path).map_err(|error| LoadError::io(path, &error))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut text = String::new();
    let mut any = false;
    for line in 1.. {
        text.clear();
        match reader.read_line(&mut text) {
            Ok(0) => break,
            Ok(_) if text.trim().is_empty() => {}
            Ok(_) => {
                any = true;
                each(line, &text)?;
            }
            Err(error) if error.kind() == io::ErrorKind::InvalidData => {
                return Err(LoadError::at(path, line, "expected UTF-8 text"));
            }
            Err(error) => return Err(LoadError::io(path, &error)),
        }
    }
    if any {
        Ok(())
    } else {
        Err(LoadError::empty(path, expected))
    }
}

/// The wanted fields of one JSON object, with the names of all the fields it has.
pub(super) struct Fields<'w> {
    wanted: &'w [&'w str],
    values: Vec<Option<Value>>,
    present: Vec<String>,
}

impl<'w> Fields<'w> {
    /// Parses one line as a JSON object, keeping the fields named in `wanted`.
    ///
    /// The error is a message saying what was expected.
    pub(super) fn parse(text: &str, wanted: &'w [&'w str]) -> Result<Self, String> {
        parse_line(text, FieldsSeed { wanted })
    }

    /// The value of `wanted[k]`, if the object has it.
    pub(super) fn optional(&self, k: usize) -> Option<&Value> {
        self.values.get(k).and_then(Option::as_ref)
    }

    /// The value of `wanted[k]`, or a message listing the fields present when it is absent.
    pub(super) fn get(&self, k: usize, role: &str) -> Result<&Value, String> {
        self.optional(k)
            .ok_or_else(|| missing_field(self.wanted.get(k).unwrap_or(&""), role, &self.present))
    }

    /// The id in `wanted[k]`: a non-empty string, or a number written as JSON writes it.
    pub(super) fn id(&self, k: usize, role: &str) -> Result<String, String> {
        let value = self.get(k, role)?;
        id_text(value).ok_or_else(|| {
            format!(
                "expected a non-empty string or a number in `{}` ({role}), found `{}`",
                self.wanted.get(k).unwrap_or(&""),
                shown(value)
            )
        })
    }
}

/// Parses one line with `seed`, which must take all of it; the error is a message saying what
/// was expected.
pub(super) fn parse_line<'t, S: DeserializeSeed<'t>>(
    text: &'t str,
    seed: S,
) -> Result<S::Value, String> {
    let mut deserializer = serde_json::Deserializer::from_str(text.trim_end());
    seed.deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(|error| json_error(&error))
}

/// The message for an object lacking the field `name`, listing the fields it has.
pub(super) fn missing_field(name: &str, role: &str, present: &[String]) -> String {
    if present.is_empty() {
        format!("expected a field `{name}` ({role}); the object has no fields")
    } else {
        format!(
            "expected a field `{name}` ({role}); the object has {}",
            listed(present)
        )
    }
}

/// An id as text: a non-empty string as it is, a number as JSON writes it.
pub(super) fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The response a score stands for: a number at or above `threshold` is correct and below it
/// wrong, a boolean counts as it is, and null is missing.
pub(super) fn score_cell(value: &Value, threshold: f64) -> Option<u8> {
    match value {
        Value::Bool(true) => Some(CORRECT),
        Value::Bool(false) => Some(WRONG),
        Value::Null => Some(MISSING),
        Value::Number(number) => number
            .as_f64()
            .map(|score| if score >= threshold { CORRECT } else { WRONG }),
        _ => None,
    }
}

/// The message for a score that is not one.
pub(super) fn bad_score(name: &str, value: &Value) -> String {
    format!(
        "expected a number, true, false or null in `{name}` (the score field), found `{}`",
        shown(value)
    )
}

/// A JSON value as error messages quote it.
pub(super) fn shown(value: &Value) -> String {
    super::shown(value.to_string().as_bytes())
}

/// A serde_json error as a message, without its position (each line is parsed on its own, so
/// serde_json's "line 1" would mislead; the column is kept).
fn json_error(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let message = text
        .rsplit_once(" at line ")
        .map_or(text.as_str(), |(message, _)| message);
    if error.is_syntax() || error.is_eof() {
        return format!("malformed JSON at column {}: {message}", error.column());
    }
    // serde's "invalid type: X, expected Y", turned round to read like the other messages.
    match message
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.split_once(", expected "))
    {
        Some((found, expected)) => format!("expected {expected}, found {found}"),
        None => message.to_string(),
    }
}

/// Deserializes an object into [`Fields`], skipping the values of unwanted fields.
struct FieldsSeed<'w> {
    wanted: &'w [&'w str],
}

impl<'de, 'w> DeserializeSeed<'de> for FieldsSeed<'w> {
    type Value = Fields<'w>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, 'w> Visitor<'de> for FieldsSeed<'w> {
    type Value = Fields<'w>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Fields {
            wanted: self.wanted,
            values: vec![None; self.wanted.len()],
            present: Vec::new(),
        };
        while let Some(key) = map.next_key::<String>()? {
            // A field may be wanted twice (say, as subject and item): fill every slot.
            let mut slots = (0..self.wanted.len()).filter(|&k| self.wanted[k] == key);
            match slots.next() {
                Some(first) => {
                    let value: Value = map.next_value()?;
                    for k in slots {
                        fields.values[k] = Some(value.clone());
                    }
                    fields.values[first] = Some(value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            fields.present.push(key);
        }
        Ok(fields)
    }
}
