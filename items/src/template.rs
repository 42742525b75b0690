//! Prompt and target templates: `{field}` placeholders filled from an item.
//!
//! A placeholder names one of the item's values:
//! - `{id}`, `{prompt}`, `{context}` and `{target}`: the item's own fields;
//! - `{choices}`: the labelled choices, one per line, as `A) text`;
//! - `{gold}`: the label of the correct choice, `{gold_text}` its text;
//! - any key of the item's `fields` (e.g. `{solution}`), then any key of its metadata (e.g.
//!   `{category}`; numbers are printed plainly, `3` and `2.5`).
//!
//! `{{` and `}}` write literal braces. A name the item does not have is an error naming it and
//! listing the names it has.

use std::fmt;

use crate::item::Item;
use crate::task::{ChoiceScoring, Task};

/// The names every item may offer, before its `fields` and metadata.
pub const BUILT_IN: [&str; 7] = [
    "id",
    "prompt",
    "context",
    "target",
    "choices",
    "gold",
    "gold_text",
];

/// A parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(String),
}

impl Template {
    /// Parses `source`, or says where its braces are wrong.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((position, c)) = chars.next() {
            match c {
                '{' if chars.next_if(|&(_, next)| next == '{').is_some() => text.push('{'),
                '}' if chars.next_if(|&(_, next)| next == '}').is_some() => text.push('}'),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, '{')) | None => {
                                return Err(TemplateError::Syntax {
                                    position,
                                    message: "this `{` is not closed by `}` (write `{{` for a literal brace)".to_string(),
                                });
                            }
                            Some((_, c)) => name.push(c),
                        }
                    }
                    let name = name.trim().to_string();
                    if name.is_empty() {
                        return Err(TemplateError::Syntax {
                            position,
                            message: "expected a field name between the braces".to_string(),
                        });
                    }
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Field(name));
                }
                '}' => {
                    return Err(TemplateError::Syntax {
                        position,
                        message: "this `}` closes nothing (write `}}` for a literal brace)"
                            .to_string(),
                    });
                }
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Self { pieces })
    }

    /// The names the template uses, in order of first use.
    pub fn fields(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for piece in &self.pieces {
            if let Piece::Field(name) = piece
                && !names.contains(&name.as_str())
            {
                names.push(name);
            }
        }
        names
    }

    /// The template filled from `item`, the choices labelled with `labels`.
    pub fn render(&self, item: &Item, labels: &[String]) -> Result<String, TemplateError> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Field(name) => out.push_str(&value(item, name, labels)?),
            }
        }
        Ok(out)
    }
}

/// The value of placeholder `name` for `item`.
fn value(item: &Item, name: &str, labels: &[String]) -> Result<String, TemplateError> {
    let missing = || TemplateError::Missing {
        name: name.to_string(),
        item: item.id.clone(),
    };
    match name {
        "id" => Ok(item.id.clone()),
        "prompt" => Ok(item.prompt.clone()),
        "context" => item.context.clone().ok_or_else(missing),
        "target" => item.target.clone().ok_or_else(missing),
        "choices" => {
            if item.choices.is_empty() {
                return Err(missing());
            }
            let labels = choice_labels(item, labels)?;
            Ok(labels
                .iter()
                .zip(&item.choices)
                .map(|(label, choice)| format!("{label}) {choice}"))
                .collect::<Vec<_>>()
                .join("\n"))
        }
        "gold" => {
            let gold = item
                .gold
                .filter(|&gold| gold < item.choices.len())
                .ok_or_else(missing)?;
            Ok(choice_labels(item, labels)?[gold].clone())
        }
        "gold_text" => item.gold_choice().map(str::to_string).ok_or_else(missing),
        _ => {
            if let Some(text) = item.fields.get(name) {
                return Ok(text.clone());
            }
            match item.metadata.get(name) {
                Some(serde_json::Value::String(text)) => Ok(text.clone()),
                Some(serde_json::Value::Null) => Ok(String::new()),
                Some(other) => Ok(other.to_string()),
                None => Err(TemplateError::UnknownField {
                    name: name.to_string(),
                    available: available(item),
                }),
            }
        }
    }
}

/// The labels of `item`'s choices, or an error when there are fewer labels than choices.
fn choice_labels<'a>(item: &Item, labels: &'a [String]) -> Result<&'a [String], TemplateError> {
    labels
        .get(..item.choices.len())
        .ok_or_else(|| TemplateError::TooManyChoices {
            item: item.id.clone(),
            choices: item.choices.len(),
            labels: labels.len(),
        })
}

/// The names `item` can fill, sorted.
fn available(item: &Item) -> Vec<String> {
    let mut names: Vec<String> = BUILT_IN
        .iter()
        .filter(|name| match **name {
            "context" => item.context.is_some(),
            "target" => item.target.is_some(),
            "choices" => !item.choices.is_empty(),
            "gold" | "gold_text" => item.gold_choice().is_some(),
            _ => true,
        })
        .map(|name| name.to_string())
        .chain(item.fields.keys().cloned())
        .chain(item.metadata.keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Why a template cannot be parsed or filled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateError {
    /// The braces are wrong.
    Syntax {
        /// Byte offset of the offending brace.
        position: usize,
        /// What is wrong.
        message: String,
    },
    /// A placeholder names nothing the item has.
    UnknownField {
        /// The name.
        name: String,
        /// The names the item has, sorted.
        available: Vec<String>,
    },
    /// A placeholder names a built-in value the item lacks (its context, target, choices or
    /// gold choice).
    Missing {
        /// The name.
        name: String,
        /// The item's id.
        item: String,
    },
    /// The item has more choices than the task has labels.
    TooManyChoices {
        /// The item's id.
        item: String,
        /// How many choices it has.
        choices: usize,
        /// How many labels the task has.
        labels: usize,
    },
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Syntax { position, message } => write!(f, "at byte {position}: {message}"),
            Self::UnknownField { name, available } => write!(
                f,
                "unknown field `{name}`; the item has {}",
                available.join(", ")
            ),
            Self::Missing { name, item } => write!(f, "the item `{item}` has no {name}"),
            Self::TooManyChoices {
                item,
                choices,
                labels,
            } => write!(
                f,
                "the item `{item}` has {choices} choices but the task only {labels} choice labels"
            ),
        }
    }
}

impl std::error::Error for TemplateError {}

/// The prompt `task` puts to a model for `item` (before any chat template).
pub fn render_prompt(task: &Task, item: &Item) -> Result<String, TemplateError> {
    Template::parse(&task.prompt)?.render(item, &task.choice_labels)
}

/// The reference answer a generation for `item` is compared with.
pub fn render_target(task: &Task, item: &Item) -> Result<String, TemplateError> {
    Template::parse(&task.target)?.render(item, &task.choice_labels)
}

/// The continuations a multiple-choice `task` scores for `item`, one per choice in order: the
/// choice texts, or their labels with [`ChoiceScoring::Label`].
///
/// They do not include `task.target_delimiter`, which goes between the prompt and each of them
/// when the chat template is off; `acc_norm` divides by the length of these texts in characters.
pub fn continuations(task: &Task, item: &Item) -> Result<Vec<String>, TemplateError> {
    if item.choices.is_empty() {
        return Err(TemplateError::Missing {
            name: "choices".to_string(),
            item: item.id.clone(),
        });
    }
    Ok(match task.score_choices {
        ChoiceScoring::Text => item.choices.clone(),
        ChoiceScoring::Label => choice_labels(item, &task.choice_labels)?.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskOutput;

    fn item() -> Item {
        let mut item = Item::new("q1", "What is 2+2?");
        item.choices = vec!["3".into(), "4".into()];
        item.gold = Some(1);
        item.fields.insert("solution".into(), "2+2=4".into());
        item.metadata.insert("level".into(), serde_json::json!(3));
        item.metadata
            .insert("category".into(), serde_json::json!("math"));
        item
    }

    fn labels() -> Vec<String> {
        ["A", "B", "C"].map(String::from).to_vec()
    }

    #[test]
    fn placeholders_are_filled() {
        let template = Template::parse(
            "{{{id}}} {prompt}\n{choices}\n{gold}={gold_text} L{level} {category}: {solution}",
        )
        .unwrap();
        assert_eq!(
            template.render(&item(), &labels()).unwrap(),
            "{q1} What is 2+2?\nA) 3\nB) 4\nB=4 L3 math: 2+2=4"
        );
        assert_eq!(
            template.fields(),
            [
                "id",
                "prompt",
                "choices",
                "gold",
                "gold_text",
                "level",
                "category",
                "solution"
            ]
        );
    }

    #[test]
    fn unknown_and_missing_names_are_errors() {
        let error = Template::parse("{answer}")
            .unwrap()
            .render(&item(), &labels())
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown field `answer`; the item has category, choices, gold, gold_text, id, level, prompt, solution"
        );
        let error = Template::parse("{context}")
            .unwrap()
            .render(&item(), &labels())
            .unwrap_err();
        assert_eq!(error.to_string(), "the item `q1` has no context");
        let error = Template::parse("{choices}")
            .unwrap()
            .render(&item(), &labels()[..1])
            .unwrap_err();
        assert!(matches!(
            error,
            TemplateError::TooManyChoices {
                choices: 2,
                labels: 1,
                ..
            }
        ));
    }

    #[test]
    fn brace_errors_say_where() {
        assert!(matches!(
            Template::parse("a {b"),
            Err(TemplateError::Syntax { position: 2, .. })
        ));
        assert!(matches!(
            Template::parse("a } b"),
            Err(TemplateError::Syntax { position: 2, .. })
        ));
        assert!(matches!(
            Template::parse("{ }"),
            Err(TemplateError::Syntax { position: 0, .. })
        ));
        assert_eq!(
            Template::parse("{{}}")
                .unwrap()
                .render(&item(), &labels())
                .unwrap(),
            "{}"
        );
    }

    #[test]
    fn continuations_are_texts_or_labels() {
        let mut task = Task::new(TaskOutput::MultipleChoice);
        assert_eq!(continuations(&task, &item()).unwrap(), ["3", "4"]);
        task.score_choices = ChoiceScoring::Label;
        assert_eq!(continuations(&task, &item()).unwrap(), ["A", "B"]);
        assert!(continuations(&task, &Item::new("x", "p")).is_err());
    }
}
