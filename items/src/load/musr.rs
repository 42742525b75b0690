//! MuSR: a JSON list of `{"context", "questions": [{"question", "choices", "answer", ...}]}`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Loaded, file_stem, read_text};
use crate::error::LoadError;
use crate::item::Item;

#[derive(Deserialize)]
struct Story {
    context: String,
    questions: Vec<Question>,
}

#[derive(Deserialize)]
struct Question {
    question: String,
    choices: serde_json::Value,
    answer: serde_json::Value,
}

/// One multiple-choice item per question, id `musr-<file stem>-<context index>-<question
/// index>` (both from 0), the narrative as `context` and the file stem as `task` metadata.
///
/// `path` is one file or a folder whose `.json` files are read in name order. Choices are a
/// list of strings or a string holding one (JSON or a Python list literal, as in the Hugging
/// Face copy); the answer is a 0-based index (a number or a string of digits) or the text of
/// a choice.
pub(super) fn load(path: &Path) -> Result<Vec<Loaded>, LoadError> {
    let mut loaded = Vec::new();
    for file in files(path)? {
        load_file(&file, &mut loaded)?;
    }
    Ok(loaded)
}

fn files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = fs::read_dir(path).map_err(|error| LoadError::io(path, &error))?;
    let mut files = Vec::new();
    for entry in entries {
        let file = entry.map_err(|error| LoadError::io(path, &error))?.path();
        if file.extension().is_some_and(|ext| ext == "json") && file.is_file() {
            files.push(file);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(LoadError::whole(
            path,
            "expected MuSR `.json` files in the folder, found none",
        ));
    }
    Ok(files)
}

fn load_file(path: &Path, loaded: &mut Vec<Loaded>) -> Result<(), LoadError> {
    let text = read_text(path)?;
    let stem = file_stem(path)?;
    let stories: Vec<Story> =
        serde_json::from_str(&text).map_err(|error| LoadError::json_document(path, &error))?;
    for (story_index, story) in stories.into_iter().enumerate() {
        for (question_index, question) in story.questions.into_iter().enumerate() {
            let place = |message: String| {
                LoadError::whole(
                    path,
                    format!("context {story_index}, question {question_index}: {message}"),
                )
            };
            let choices = choices(&question.choices).map_err(place)?;
            let gold = answer(&question.answer, &choices).map_err(place)?;
            let mut item = Item::new(
                format!("musr-{stem}-{story_index}-{question_index}"),
                question.question,
            );
            item.context = Some(story.context.clone());
            item.choices = choices;
            item.gold = Some(gold);
            item.metadata
                .insert("task".to_string(), serde_json::Value::from(stem.as_str()));
            loaded.push(Loaded { item, line: None });
        }
    }
    Ok(())
}

/// The choices of a question: a JSON list of strings, or a string holding one.
fn choices(value: &serde_json::Value) -> Result<Vec<String>, String> {
    let choices = match value {
        serde_json::Value::Array(values) => values
            .iter()
            .map(|value| value.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>(),
        serde_json::Value::String(text) => serde_json::from_str::<Vec<String>>(text)
            .ok()
            .or_else(|| python_string_list(text)),
        _ => None,
    };
    match choices {
        Some(choices) if !choices.is_empty() => Ok(choices),
        _ => Err(format!(
            "expected `choices` to be a non-empty list of strings, or a string holding one, found {value}"
        )),
    }
}

/// The 0-based index of the correct choice.
fn answer(value: &serde_json::Value, choices: &[String]) -> Result<usize, String> {
    let index = match value {
        serde_json::Value::Number(number) => number.as_u64().and_then(|n| usize::try_from(n).ok()),
        serde_json::Value::String(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .or_else(|| choices.iter().position(|choice| choice == text)),
        _ => None,
    };
    match index {
        Some(index) if index < choices.len() => Ok(index),
        _ => Err(format!(
            "expected `answer` to be the index of one of the {} choices (or its text), found {value}",
            choices.len()
        )),
    }
}

/// A Python list of string literals, as `str(list)` writes it: `['a', "b's"]`.
fn python_string_list(text: &str) -> Option<Vec<String>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    let mut chars = inner.chars().peekable();
    let mut items = Vec::new();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(quote) = chars.next() else {
            return Some(items);
        };
        if quote != '\'' && quote != '"' {
            return None;
        }
        let mut item = String::new();
        loop {
            match chars.next()? {
                '\\' => match chars.next()? {
                    'n' => item.push('\n'),
                    't' => item.push('\t'),
                    other => item.push(other),
                },
                c if c == quote => break,
                c => item.push(c),
            }
        }
        items.push(item);
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.next() {
            None => return Some(items),
            Some(',') => {}
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_lists_are_parsed() {
        assert_eq!(
            python_string_list(r#"['Mackenzie', "Ana's", 'a\'b']"#),
            Some(vec![
                "Mackenzie".to_string(),
                "Ana's".to_string(),
                "a'b".to_string()
            ])
        );
        assert_eq!(python_string_list("[]"), Some(vec![]));
        assert_eq!(python_string_list("['a' 'b']"), None);
        assert_eq!(python_string_list("['a"), None);
    }

    #[test]
    fn choices_come_as_lists_or_strings() {
        let expected = vec!["x".to_string(), "y".to_string()];
        assert_eq!(
            choices(&serde_json::json!(["x", "y"])),
            Ok(expected.clone())
        );
        assert_eq!(
            choices(&serde_json::json!("[\"x\", \"y\"]")),
            Ok(expected.clone())
        );
        assert_eq!(choices(&serde_json::json!("['x', 'y']")), Ok(expected));
        assert!(choices(&serde_json::json!([1, 2])).is_err());
        assert!(choices(&serde_json::json!([])).is_err());
    }

    #[test]
    fn answers_are_indices_or_choice_texts() {
        let options = ["x".to_string(), "y".to_string()];
        assert_eq!(answer(&serde_json::json!(1), &options), Ok(1));
        assert_eq!(answer(&serde_json::json!("0"), &options), Ok(0));
        assert_eq!(answer(&serde_json::json!("y"), &options), Ok(1));
        assert!(answer(&serde_json::json!(2), &options).is_err());
        assert!(answer(&serde_json::json!(-1), &options).is_err());
    }
}
