//! BIG-Bench Hard: a folder of `<task>.json` files `{"canary", "examples": [{"input", "target"}]}`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Loaded, file_stem, read_text};
use crate::error::LoadError;
use crate::item::Item;

/// The 21 BBH tasks the study used (250 items each), in the order the shared data README lists
/// them.
pub const STUDY_BBH_TASKS: [&str; 21] = [
    "boolean_expressions",
    "date_understanding",
    "disambiguation_qa",
    "geometric_shapes",
    "hyperbaton",
    "logical_deduction_three_objects",
    "logical_deduction_five_objects",
    "logical_deduction_seven_objects",
    "movie_recommendation",
    "reasoning_about_colored_objects",
    "ruin_names",
    "salient_translation_error_detection",
    "temporal_sequences",
    "tracking_shuffled_objects_three_objects",
    "tracking_shuffled_objects_five_objects",
    "tracking_shuffled_objects_seven_objects",
    "navigate",
    "sports_understanding",
    "web_of_lies",
    "object_counting",
    "formal_fallacies",
];

#[derive(Deserialize)]
struct TaskFile {
    examples: Vec<Example>,
}

#[derive(Deserialize)]
struct Example {
    input: String,
    target: String,
}

/// One generative item per example, id `bbh-<task>-<index from 0>`, the task kept as metadata.
///
/// `path` is the folder (every `<task>.json` in it, or `tasks` in their order) or one task
/// file.
pub(super) fn load(path: &Path, tasks: &[String]) -> Result<Vec<Loaded>, LoadError> {
    let files = if path.is_dir() {
        task_files(path, tasks)?
    } else {
        let task = file_stem(path)?;
        if !tasks.is_empty() && tasks != [task.clone()] {
            return Err(LoadError::whole(
                path,
                format!(
                    "the file holds the task `{task}` only; expected `tasks` to be empty or [{task}]"
                ),
            ));
        }
        vec![(task, path.to_path_buf())]
    };
    let mut loaded = Vec::new();
    for (task, file) in files {
        let text = read_text(&file)?;
        let parsed: TaskFile =
            serde_json::from_str(&text).map_err(|error| LoadError::json_document(&file, &error))?;
        for (index, example) in parsed.examples.into_iter().enumerate() {
            let mut item = Item::new(format!("bbh-{task}-{index}"), example.input);
            item.target = Some(example.target);
            item.metadata
                .insert("task".to_string(), serde_json::Value::from(task.as_str()));
            loaded.push(Loaded { item, line: None });
        }
    }
    Ok(loaded)
}

/// The task files of `dir` to read: `tasks` in their order, or every `.json` file by name.
fn task_files(dir: &Path, tasks: &[String]) -> Result<Vec<(String, PathBuf)>, LoadError> {
    let entries = fs::read_dir(dir).map_err(|error| LoadError::io(dir, &error))?;
    let mut available = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| LoadError::io(dir, &error))?;
        let file = entry.path();
        if file.extension().is_some_and(|ext| ext == "json") && file.is_file() {
            available.push((file_stem(&file)?, file));
        }
    }
    available.sort();
    if available.is_empty() {
        return Err(LoadError::whole(
            dir,
            "expected BBH task files `<task>.json` in the folder, found none",
        ));
    }
    if tasks.is_empty() {
        return Ok(available);
    }
    tasks
        .iter()
        .map(|task| {
            available
                .iter()
                .find(|(name, _)| name == task)
                .cloned()
                .ok_or_else(|| {
                    let names: Vec<&str> =
                        available.iter().map(|(name, _)| name.as_str()).collect();
                    LoadError::whole(
                        dir,
                        format!(
                            "no BBH task `{task}` here; the tasks available are {}",
                            names.join(", ")
                        ),
                    )
                })
        })
        .collect()
}
