//! The benchmark item, the item set, and the set's `items.jsonl` file.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::LoadError;

/// The file name an item set is stored under in its directory.
pub const ITEMS_FILE: &str = "items.jsonl";

/// One benchmark question with what is needed to prompt a model and score its answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Stable id, unique within its set (see the crate docs for the scheme of each format).
    pub id: String,
    /// The question text.
    pub prompt: String,
    /// A passage the question refers to (a MuSR narrative, for instance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The answer choices of a multiple-choice item, in order; empty for a generative item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// Index into `choices` of the correct choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gold: Option<usize>,
    /// Reference answer of a generative item (`18` for GSM8K, the boxed answer for MATH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Further text usable in templates, such as `solution` (the worked solution).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// Descriptive values (`category`, `level`, `type`, `task`, `subset`, ...), also usable in
    /// templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, serde_json::Value>,
    /// Which side of a train/test split the item is on; none when the set was never split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
}

impl Item {
    /// An item with only an id and a prompt.
    pub fn new(id: impl Into<String>, prompt: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            prompt: prompt.into(),
            ..Self::default()
        }
    }

    /// The text of the correct choice, when the item has one.
    pub fn gold_choice(&self) -> Option<&str> {
        self.gold
            .and_then(|gold| self.choices.get(gold))
            .map(String::as_str)
    }
}

/// The side of a train/test split an item is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Used for training.
    Train,
    /// Held out for testing.
    Test,
}

/// Two items of one set share an id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateId {
    /// The shared id.
    pub id: String,
    /// 0-based position of the first item with the id.
    pub first: usize,
    /// 0-based position of the second item with the id.
    pub second: usize,
}

impl fmt::Display for DuplicateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "items {} and {} share the id `{}`; ids must be unique",
            self.first, self.second, self.id
        )
    }
}

impl std::error::Error for DuplicateId {}

/// The first pair of items in `items` sharing an id, if any.
pub(crate) fn find_duplicate(items: &[Item]) -> Option<DuplicateId> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        if let Some(&first) = seen.get(item.id.as_str()) {
            return Some(DuplicateId {
                id: item.id.clone(),
                first,
                second: index,
            });
        }
        seen.insert(&item.id, index);
    }
    None
}

/// An ordered set of items with unique ids.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ItemSet {
    items: Vec<Item>,
}

impl ItemSet {
    /// A set of `items`, in their order, or the first pair sharing an id.
    pub fn new(items: Vec<Item>) -> Result<Self, DuplicateId> {
        match find_duplicate(&items) {
            Some(duplicate) => Err(duplicate),
            None => Ok(Self { items }),
        }
    }

    /// The items, in order.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// The items, in order, given up by the set.
    pub fn into_items(self) -> Vec<Item> {
        self.items
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the set holds no item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The items, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Item> {
        self.items.iter()
    }

    /// The item with id `id`, if any (a linear search).
    pub fn get(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|item| item.id == id)
    }

    /// Writes the set to `dir/items.jsonl`, one JSON object per line, creating `dir` if needed.
    ///
    /// The file is written under a temporary name first and then renamed, so a reader never
    /// sees half a set. Returns the path written.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, SaveError> {
        fs::create_dir_all(dir).map_err(|error| SaveError::new(dir, error))?;
        let path = dir.join(ITEMS_FILE);
        let partial = dir.join(format!("{ITEMS_FILE}.partial"));
        let mut text = String::new();
        for item in &self.items {
            let line = serde_json::to_string(item)
                .map_err(|error| SaveError::new(&partial, io::Error::other(error)))?;
            text.push_str(&line);
            text.push('\n');
        }
        let mut file =
            fs::File::create(&partial).map_err(|error| SaveError::new(&partial, error))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|error| SaveError::new(&partial, error))?;
        fs::rename(&partial, &path).map_err(|error| SaveError::new(&path, error))?;
        Ok(path)
    }

    /// Reads the set in `dir/items.jsonl`.
    ///
    /// Blank lines are skipped. A line that is not an item, or an id seen on an earlier line,
    /// is an error naming the file and the line (both lines for a repeated id).
    pub fn open(dir: &Path) -> Result<Self, LoadError> {
        let path = dir.join(ITEMS_FILE);
        let text = crate::load::read_text(&path)?;
        let mut items = Vec::new();
        let mut lines = Vec::new();
        for (line, content) in crate::load::numbered_lines(&text) {
            let item: Item = serde_json::from_str(content)
                .map_err(|error| LoadError::json(&path, line, &error))?;
            items.push(item);
            lines.push(line);
        }
        crate::load::unique(items, &lines, &path)
    }
}

impl<'a> IntoIterator for &'a ItemSet {
    type Item = &'a Item;
    type IntoIter = std::slice::Iter<'a, Item>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

impl IntoIterator for ItemSet {
    type Item = Item;
    type IntoIter = std::vec::IntoIter<Item>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// An item set could not be written.
#[derive(Debug)]
pub struct SaveError {
    /// The file or directory being written.
    pub path: PathBuf,
    /// What the operating system said.
    pub error: io::Error,
}

impl SaveError {
    fn new(path: &Path, error: io::Error) -> Self {
        Self {
            path: path.to_path_buf(),
            error,
        }
    }
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: cannot write it: {}",
            self.path.display(),
            self.error
        )
    }
}

impl std::error::Error for SaveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str) -> Item {
        Item::new(id, format!("question {id}"))
    }

    #[test]
    fn new_rejects_a_repeated_id_and_names_both_positions() {
        let error = ItemSet::new(vec![item("a"), item("b"), item("a")]).unwrap_err();
        assert_eq!((error.first, error.second), (0, 2));
        assert!(error.to_string().contains("`a`"));
    }

    #[test]
    fn save_then_open_gives_the_same_set() {
        let dir = tempfile::tempdir().unwrap();
        let mut full = item("x");
        full.context = Some("A passage.".into());
        full.choices = vec!["yes".into(), "no".into()];
        full.gold = Some(1);
        full.target = Some("no".into());
        full.fields.insert("solution".into(), "because".into());
        full.metadata.insert("level".into(), serde_json::json!(3));
        full.split = Some(Split::Test);
        let set = ItemSet::new(vec![full, item("y")]).unwrap();
        let path = set.save(dir.path()).unwrap();
        assert_eq!(path, dir.path().join(ITEMS_FILE));
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.lines().nth(1).unwrap() == r#"{"id":"y","prompt":"question y"}"#);
        assert_eq!(ItemSet::open(dir.path()).unwrap(), set);
    }

    #[test]
    fn open_names_both_lines_of_a_repeated_id() {
        let dir = tempfile::tempdir().unwrap();
        let text = "{\"id\":\"a\",\"prompt\":\"p\"}\n\n{\"id\":\"b\",\"prompt\":\"p\"}\n{\"id\":\"a\",\"prompt\":\"q\"}\n";
        fs::write(dir.path().join(ITEMS_FILE), text).unwrap();
        let message = ItemSet::open(dir.path()).unwrap_err().to_string();
        assert!(message.contains("items.jsonl:4:"), "{message}");
        assert!(message.contains("line 1"), "{message}");
    }

    #[test]
    fn open_names_the_line_of_a_malformed_item() {
        let dir = tempfile::tempdir().unwrap();
        let text = "{\"id\":\"a\",\"prompt\":\"p\"}\n{\"id\":\"b\"}\n";
        fs::write(dir.path().join(ITEMS_FILE), text).unwrap();
        let message = ItemSet::open(dir.path()).unwrap_err().to_string();
        assert!(
            message.contains("items.jsonl:2: missing field `prompt`"),
            "{message}"
        );
    }
}
