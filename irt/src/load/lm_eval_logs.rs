//! lm-evaluation-harness sample logs (`--log_samples`): a directory holding one subdirectory
//! per model, or one `samples_<model>.jsonl` file per model.
//!
//! In the first layout the subject is the subdirectory's name, every `samples_*.jsonl` file
//! under it (at any depth) belongs to it, and the item id is `<task>/<doc_id>` with the task
//! taken from the file name `samples_<task>_<timestamp>.jsonl`. In the second the subject is
//! the file name without `samples_` and `.jsonl`; as that name names the model rather than the
//! task, the item id is the `doc_id` alone. A directory of files named like one model's tasks
//! (`samples_<task>_<timestamp>.jsonl`) is refused rather than read as one model per task.
//!
//! The score is the field named by [`LoadOptions::score_field`] (`acc`, `exact_match`, ...):
//! a number at or above the threshold is correct, a boolean counts as it is, null is missing.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs::{self, FileType};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::jsonl::{self, Fields};
use super::matrix_builder::MatrixBuilder;
use super::{LoadError, LoadOptions};
use crate::matrix::ResponseMatrix;

/// How sample files start and end.
const PREFIX: &str = "samples_";
const SUFFIX: &str = ".jsonl";

/// The layouts accepted, for error messages.
const EXPECTED: &str = "one subdirectory per model holding lm-evaluation-harness \
    `samples_<task>_<timestamp>.jsonl` files, or one `samples_<model>.jsonl` file per model";

/// One model's sample files, in path order.
struct Model {
    name: String,
    files: Vec<PathBuf>,
}

/// The models a directory holds, and whether item ids carry the task from the file names.
struct Layout {
    models: Vec<Model>,
    tasks_in_names: bool,
}

/// What one sample line gives.
struct Sample {
    doc: String,
    cell: u8,
    /// The line's `filter` field, if any: lm-evaluation-harness logs one line per filter.
    filter: Option<String>,
}

/// Reads a directory of sample logs.
pub(super) fn load(dir: &Path, options: &LoadOptions) -> Result<ResponseMatrix, LoadError> {
    let layout = layout(dir)?;
    let mut builder = MatrixBuilder::new();
    for model in &layout.models {
        let subject = builder.subject(&model.name);
        for file in &model.files {
            let task = layout.tasks_in_names.then(|| task_of(file));
            read_samples(file, task.as_deref(), subject, options, &mut builder)?;
        }
    }
    builder.finish()
}

/// Finds the models in `dir` and which layout it uses.
fn layout(dir: &Path) -> Result<Layout, LoadError> {
    let meta = fs::metadata(dir).map_err(|error| LoadError::io(dir, &error))?;
    if !meta.is_dir() {
        return Err(LoadError::whole(
            dir,
            "expected a directory of lm-evaluation-harness sample logs, found a file",
        ));
    }
    let entries = sorted_entries(dir)?;
    if entries.is_empty() {
        return Err(LoadError::whole(
            dir,
            format!("the directory is empty: expected {EXPECTED}"),
        ));
    }
    let (mut per_directory, mut per_file) = (Vec::new(), Vec::new());
    for (path, _) in entries {
        if path.is_dir() {
            let mut files = Vec::new();
            collect_samples(&path, &mut files)?;
            if !files.is_empty() {
                per_directory.push(Model {
                    name: file_name(&path).to_string(),
                    files,
                });
            }
        } else if let Some(model) = sample_stem(&path) {
            per_file.push(Model {
                name: model.to_string(),
                files: vec![path],
            });
        }
    }
    match (per_directory.is_empty(), per_file.is_empty()) {
        (false, true) => Ok(Layout {
            models: per_directory,
            tasks_in_names: true,
        }),
        (true, false) => one_file_per_model(dir, per_file),
        (true, true) => Err(LoadError::whole(
            dir,
            format!("no `samples_*.jsonl` files found: expected {EXPECTED}"),
        )),
        (false, false) => Err(LoadError::whole(
            dir,
            format!(
                "holds both model subdirectories and samples files of its own: expected {EXPECTED}"
            ),
        )),
    }
}

/// The layout with one file per model, unless the names say that the files are one model's
/// tasks (`samples_<task>_<timestamp>.jsonl`, as lm-evaluation-harness names them inside a
/// model's directory): then the directory above was meant.
fn one_file_per_model(dir: &Path, models: Vec<Model>) -> Result<Layout, LoadError> {
    let stamped = models.iter().find(|model| {
        model
            .name
            .rsplit_once('_')
            .is_some_and(|(_, last)| looks_like_timestamp(last))
    });
    if let Some(model) = stamped {
        return Err(LoadError::whole(
            dir,
            format!(
                "`samples_{}.jsonl` is named like one task of one model: expected the directory \
                 holding one subdirectory per model, or one `samples_<model>.jsonl` file per model",
                model.name
            ),
        ));
    }
    Ok(Layout {
        models,
        tasks_in_names: false,
    })
}

/// The entries of `dir` with their types (links not followed), sorted by path.
fn sorted_entries(dir: &Path) -> Result<Vec<(PathBuf, FileType)>, LoadError> {
    let mut entries = fs::read_dir(dir)
        .and_then(|entries| {
            entries
                .map(|entry| entry.and_then(|entry| Ok((entry.path(), entry.file_type()?))))
                .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|error| LoadError::io(dir, &error))?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

/// Adds the sample files under `dir` (at any depth, not following linked directories) to
/// `files`, in path order.
fn collect_samples(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    for (path, kind) in sorted_entries(dir)? {
        if kind.is_dir() {
            collect_samples(&path, files)?;
        } else if sample_stem(&path).is_some() && path.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// For a file named `samples_<rest>.jsonl`, the `<rest>`.
fn sample_stem(path: &Path) -> Option<&str> {
    file_name(path).strip_prefix(PREFIX)?.strip_suffix(SUFFIX)
}

/// The last part of a path as text (lossy names give an empty string rather than an error).
fn file_name(path: &Path) -> &str {
    path.file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("")
}

/// The task of a file named `samples_<task>_<timestamp>.jsonl`, or everything after
/// `samples_` when the name does not end in a timestamp.
fn task_of(path: &Path) -> String {
    let rest = sample_stem(path).unwrap_or("");
    match rest.rsplit_once('_') {
        Some((task, last)) if looks_like_timestamp(last) => task.to_string(),
        _ => rest.to_string(),
    }
}

/// Whether `text` looks like lm-evaluation-harness's date-time, `2024-05-01T12-00-00.123456`:
/// a date, then optionally `T` and a time of digits, `-`, `:` and `.`.
fn looks_like_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |from: usize, to: usize| {
        bytes
            .get(from..to)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let date = digits(0, 4)
        && bytes.get(4) == Some(&b'-')
        && digits(5, 7)
        && bytes.get(7) == Some(&b'-')
        && digits(8, 10);
    let time = bytes.get(10).is_none_or(|&c| c == b'T')
        && bytes
            .iter()
            .skip(11)
            .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b':' | b'.'));
    date && time
}

/// Adds the responses of one sample file to `subject`'s row.
fn read_samples(
    file: &Path,
    task: Option<&str>,
    subject: usize,
    options: &LoadOptions,
    builder: &mut MatrixBuilder,
) -> Result<(), LoadError> {
    let score_field = options.score_field.as_str();
    let wanted = ["doc_id", score_field, "filter"];
    let expected =
        format!("one JSON object per line with `doc_id` and the score field `{score_field}`");
    let mut seen: HashMap<String, (usize, Option<String>)> = HashMap::new();
    builder.start_file(file);
    jsonl::for_each_line(file, &expected, |line, text| {
        let sample = sample(text, &wanted, options).map_err(|m| LoadError::at(file, line, m))?;
        let id = match task {
            Some(task) => format!("{task}/{}", sample.doc),
            None => sample.doc,
        };
        match seen.entry(id.clone()) {
            Entry::Occupied(first) => {
                let (first_line, first_filter) = first.get();
                return Err(LoadError::at(
                    file,
                    line,
                    repeated(
                        &id,
                        *first_line,
                        first_filter.as_deref(),
                        sample.filter.as_deref(),
                    ),
                ));
            }
            Entry::Vacant(slot) => {
                slot.insert((line, sample.filter));
            }
        }
        let item = builder.item(options.item_id(&id));
        builder.add(subject, item, sample.cell, line);
        Ok(())
    })
}

/// Reads one sample line.
fn sample(text: &str, wanted: &[&str; 3], options: &LoadOptions) -> Result<Sample, String> {
    let fields = Fields::parse(text, wanted)?;
    let doc = fields.id(0, "the document id")?;
    let score = fields.get(1, "the score field")?;
    let cell = jsonl::score_cell(score, options.threshold)
        .ok_or_else(|| jsonl::bad_score(wanted[1], score))?;
    let filter = fields
        .optional(2)
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Sample { doc, cell, filter })
}

/// The message for an item a file gives twice, with a hint when the two lines differ in filter.
fn repeated(id: &str, first: usize, first_filter: Option<&str>, filter: Option<&str>) -> String {
    let message = format!("item `{id}` appears twice: first on line {first}");
    match (first_filter, filter) {
        (Some(first_filter), Some(filter)) if first_filter != filter => format!(
            "{message} (filter `{first_filter}`, here `{filter}`): lm-evaluation-harness logs \
             one line per filter; expected the lines of one filter only"
        ),
        _ => message,
    }
}
