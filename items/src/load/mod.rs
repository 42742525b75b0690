//! Item sets from the benchmarks' public formats and from generic JSONL/CSV files.
//!
//! [`load`] reads a file (a folder for BBH, a file or a folder for MuSR) in one of the
//! [`Format`]s and applies the [`LoadOptions`] shared by every format: the BBH task selection,
//! the first N items per task or category, the `subset` metadata and the id prefix. Every
//! loader returns an [`ItemSet`] or a [`LoadError`] naming the file, the line and what was
//! expected there; no input makes a loader panic.

mod arc;
mod bbh;
mod generic;
mod gsm8k;
mod math;
mod mmlu_pro;
mod musr;

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::LoadError;
use crate::item::{Item, ItemSet};

pub use bbh::STUDY_BBH_TASKS;

/// The on-disk formats, named in specs as `arc`, `gsm8k`, `mmlu_pro`, `bbh`, `math`, `musr`,
/// `jsonl` and `csv`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// ARC as JSON lines `{query, choices, gold}` (the llm-foundry copy).
    Arc,
    /// GSM8K as JSON lines `{question, answer}`, the answer ending in `#### N`.
    Gsm8k,
    /// MMLU-Pro as JSON lines `{question_id, question, options, answer, answer_index, category,
    /// src}`.
    MmluPro,
    /// BIG-Bench Hard: a folder of `<task>.json` files `{canary, examples: [{input, target}]}`.
    Bbh,
    /// MATH as JSON lines `{problem, level, type, solution, idx}`.
    Math,
    /// MuSR: a JSON list of `{context, questions: [{question, choices, answer}]}`, or a folder
    /// of such files.
    Musr,
    /// Generic JSON lines read through [`Fields`].
    Jsonl,
    /// Generic CSV with a header row read through [`Fields`]; list-valued cells hold JSON arrays.
    Csv,
}

impl Format {
    /// Every format, in the order of the documentation.
    pub const ALL: [Self; 8] = [
        Self::Arc,
        Self::Gsm8k,
        Self::MmluPro,
        Self::Bbh,
        Self::Math,
        Self::Musr,
        Self::Jsonl,
        Self::Csv,
    ];

    /// The name specs use for this format.
    pub fn name(self) -> &'static str {
        match self {
            Self::Arc => "arc",
            Self::Gsm8k => "gsm8k",
            Self::MmluPro => "mmlu_pro",
            Self::Bbh => "bbh",
            Self::Math => "math",
            Self::Musr => "musr",
            Self::Jsonl => "jsonl",
            Self::Csv => "csv",
        }
    }

    /// The format a spec names, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|format| format.name() == name)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where the generic `jsonl` and `csv` formats find each item field: names of source fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fields {
    /// Field holding the item's stable id (none = `<file stem>-<row index from 0>`).
    pub id: Option<String>,
    /// Field holding the question text (default `prompt`).
    pub prompt: String,
    /// Field holding the reference answer of a generative item.
    pub target: Option<String>,
    /// Field holding the list of answer choices (a JSON array; in CSV, a cell holding one).
    pub choices: Option<String>,
    /// Field holding the correct choice: a 0-based index, or a label `A`, `B`, ... (also
    /// written `(B)`), which needs `choices`.
    pub gold: Option<String>,
    /// Field holding a passage the question refers to.
    pub context: Option<String>,
    /// Further fields kept as item metadata.
    pub metadata: Vec<String>,
}

impl Default for Fields {
    fn default() -> Self {
        Self {
            id: None,
            prompt: "prompt".to_string(),
            target: None,
            choices: None,
            gold: None,
            context: None,
            metadata: Vec::new(),
        }
    }
}

/// How to load an item set, beyond its format.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// BBH tasks to load, in this order (empty = every task in the folder, by name).
    pub tasks: Vec<String>,
    /// Keep only the first N items of each task or category: items are grouped by their
    /// `task` metadata, else `category`, else `type`; a set with none of these is one group.
    pub per_task: Option<usize>,
    /// Stored as every item's `subset` metadata (e.g. `challenge` for ARC-Challenge).
    pub subset: Option<String>,
    /// Put before every item id, to keep ids unique across sets.
    pub id_prefix: String,
    /// The field mapping of the generic `jsonl` and `csv` formats (must be left at its default
    /// for the benchmark formats).
    pub fields: Fields,
}

/// Loads the item set at `path` (a folder for BBH; a file or a folder for MuSR) in `format`.
pub fn load(path: &Path, format: Format, options: &LoadOptions) -> Result<ItemSet, LoadError> {
    if format != Format::Bbh && !options.tasks.is_empty() {
        return Err(LoadError::whole(
            path,
            format!("`tasks` selects BBH tasks, but the format is {format}; expected no tasks"),
        ));
    }
    if !matches!(format, Format::Jsonl | Format::Csv) && options.fields != Fields::default() {
        return Err(LoadError::whole(
            path,
            format!(
                "a field mapping applies to the jsonl and csv formats, but the format is {format}, which has its own; expected no `fields`"
            ),
        ));
    }
    let loaded = match format {
        Format::Arc => arc::load(path)?,
        Format::Gsm8k => gsm8k::load(path)?,
        Format::MmluPro => mmlu_pro::load(path)?,
        Format::Bbh => bbh::load(path, &options.tasks)?,
        Format::Math => math::load(path)?,
        Format::Musr => musr::load(path)?,
        Format::Jsonl => generic::load_jsonl(path, &options.fields)?,
        Format::Csv => generic::load_csv(path, &options.fields)?,
    };
    finish(loaded, path, options)
}

/// An item as a loader read it, with the 1-based line it came from when that means something.
pub(crate) struct Loaded {
    pub(crate) item: Item,
    pub(crate) line: Option<usize>,
}

/// Applies the options every format shares, then checks that ids are unique.
fn finish(loaded: Vec<Loaded>, path: &Path, options: &LoadOptions) -> Result<ItemSet, LoadError> {
    let mut kept = Vec::with_capacity(loaded.len());
    let mut lines = Vec::with_capacity(loaded.len());
    let mut per_group: HashMap<String, usize> = HashMap::new();
    for Loaded { mut item, line } in loaded {
        if let Some(limit) = options.per_task {
            let count = per_group.entry(group_of(&item)).or_insert(0);
            if *count >= limit {
                continue;
            }
            *count += 1;
        }
        if let Some(subset) = &options.subset {
            item.metadata.insert(
                "subset".to_string(),
                serde_json::Value::from(subset.as_str()),
            );
        }
        if !options.id_prefix.is_empty() {
            item.id = format!("{}{}", options.id_prefix, item.id);
        }
        kept.push(item);
        lines.push(line);
    }
    unique_at(kept, &lines, path)
}

/// The group `per_task` counts an item in: its task, category or type, else one shared group.
fn group_of(item: &Item) -> String {
    ["task", "category", "type"]
        .iter()
        .find_map(|key| item.metadata.get(*key))
        .map(|value| match value {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        })
        .unwrap_or_default()
}

/// The items as a set, or an error naming both lines of the first repeated id.
pub(crate) fn unique(items: Vec<Item>, lines: &[usize], path: &Path) -> Result<ItemSet, LoadError> {
    let lines: Vec<Option<usize>> = lines.iter().copied().map(Some).collect();
    unique_at(items, &lines, path)
}

fn unique_at(items: Vec<Item>, lines: &[Option<usize>], path: &Path) -> Result<ItemSet, LoadError> {
    ItemSet::new(items).map_err(|duplicate| {
        let first = lines.get(duplicate.first).copied().flatten();
        let second = lines.get(duplicate.second).copied().flatten();
        match (first, second) {
            (Some(first), Some(second)) => LoadError::at(
                path,
                second,
                format!(
                    "the id `{}` was already used on line {first}; expected unique ids",
                    duplicate.id
                ),
            ),
            _ => LoadError::whole(
                path,
                format!(
                    "items {} and {} share the id `{}`; expected unique ids",
                    duplicate.first, duplicate.second, duplicate.id
                ),
            ),
        }
    })
}

/// The whole text of `path`, without a leading byte-order mark.
pub(crate) fn read_text(path: &Path) -> Result<String, LoadError> {
    let bytes = fs::read(path).map_err(|error| LoadError::io(path, &error))?;
    let text = String::from_utf8(bytes).map_err(|error| {
        let line = 1 + error
            .as_bytes()
            .iter()
            .take(error.utf8_error().valid_up_to())
            .filter(|&&byte| byte == b'\n')
            .count();
        LoadError::at(path, line, "expected UTF-8 text")
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// The non-blank lines of `text` with their 1-based line numbers.
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| !line.trim().is_empty())
}

/// The file name of `path` without its extension, as ids use it.
pub(crate) fn file_stem(path: &Path) -> Result<String, LoadError> {
    path.file_stem()
        .and_then(|stem| stem.to_str())
        .map(str::to_string)
        .ok_or_else(|| LoadError::whole(path, "expected a file name in UTF-8"))
}

/// Parses one JSON line into `T`, with serde's message at `path:line` on failure.
pub(crate) fn parse_line<T: serde::de::DeserializeOwned>(
    path: &Path,
    line: usize,
    content: &str,
) -> Result<T, LoadError> {
    serde_json::from_str(content).map_err(|error| LoadError::json(path, line, &error))
}

/// The text of an id field that must be a whole number or a non-empty string (MATH's `idx`,
/// MMLU-Pro's `question_id`), or an error naming the field at `path:line`.
pub(crate) fn id_field(
    path: &Path,
    line: usize,
    field: &str,
    value: &serde_json::Value,
) -> Result<String, LoadError> {
    match value {
        serde_json::Value::Number(number) if number.is_u64() => Ok(number.to_string()),
        serde_json::Value::String(text) if !text.is_empty() => Ok(text.clone()),
        other => Err(LoadError::at(
            path,
            line,
            format!("expected `{field}` to be a whole number or a string, found {other}"),
        )),
    }
}

/// Text of a JSON scalar as a template would print it: strings as they are, numbers plainly.
pub(crate) fn scalar_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        serde_json::Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// The 0-based index a choice label names among `count` choices (`A` or `(A)` = 0, `B` = 1, ...).
pub(crate) fn label_index(label: &str, count: usize) -> Option<usize> {
    let label = label.trim();
    let label = label
        .strip_prefix('(')
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or(label);
    let mut chars = label.chars();
    let (Some(letter), None) = (chars.next(), chars.next()) else {
        return None;
    };
    let letter = letter.to_ascii_uppercase();
    if !letter.is_ascii_uppercase() {
        return None;
    }
    let index = usize::from(letter as u8 - b'A');
    (index < count).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip_through_their_names() {
        for format in Format::ALL {
            assert_eq!(Format::parse(format.name()), Some(format));
        }
        assert_eq!(Format::parse("parquet"), None);
    }

    #[test]
    fn labels_name_indices_within_the_choices() {
        assert_eq!(label_index("A", 4), Some(0));
        assert_eq!(label_index("(c)", 4), Some(2));
        assert_eq!(label_index("E", 4), None);
        assert_eq!(label_index("AB", 4), None);
        assert_eq!(label_index("1", 4), None);
    }

    #[test]
    fn per_task_keeps_the_first_items_of_each_group() {
        let mut loaded = Vec::new();
        for (index, task) in ["a", "b", "a", "a", "b"].iter().enumerate() {
            let mut item = Item::new(format!("i{index}"), "p");
            item.metadata.insert("task".into(), serde_json::json!(task));
            loaded.push(Loaded {
                item,
                line: Some(index + 1),
            });
        }
        let options = LoadOptions {
            per_task: Some(2),
            subset: Some("s".into()),
            id_prefix: "x-".into(),
            ..LoadOptions::default()
        };
        let set = finish(loaded, Path::new("f"), &options).unwrap();
        let ids: Vec<&str> = set.iter().map(|item| item.id.as_str()).collect();
        assert_eq!(ids, ["x-i0", "x-i1", "x-i2", "x-i4"]);
        assert!(set.iter().all(|item| item.metadata["subset"] == "s"));
    }

    #[test]
    fn tasks_are_refused_outside_bbh() {
        let options = LoadOptions {
            tasks: vec!["navigate".into()],
            ..LoadOptions::default()
        };
        let error = load(Path::new("x.jsonl"), Format::Gsm8k, &options).unwrap_err();
        assert!(error.to_string().contains("`tasks` selects BBH tasks"));
    }

    #[test]
    fn field_mappings_are_refused_for_benchmark_formats() {
        let options = LoadOptions {
            fields: Fields {
                prompt: "question".into(),
                ..Fields::default()
            },
            ..LoadOptions::default()
        };
        let error = load(Path::new("x.jsonl"), Format::Arc, &options).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("the format is arc, which has its own")
        );
    }
}
