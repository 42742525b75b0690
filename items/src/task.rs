//! Tasks as data: how items are put to a model and how its answers are scored, mirroring the
//! `Task` and `Filter` records of the stdlib catalog (field names, defaults and enum values).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::filter::Extractor;
use crate::template::{Template, TemplateError};

/// How a model answers an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskOutput {
    /// Each choice is scored as a continuation of the prompt by log-likelihood.
    MultipleChoice,
    /// The model generates greedily and the filters extract its answer.
    Generate,
}

/// What continuation a multiple-choice item scores for each choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceScoring {
    /// The choice's text.
    #[default]
    Text,
    /// The choice's label (`A`, `B`, ...).
    Label,
}

/// How an answer is scored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// The most likely choice is the gold one.
    Acc,
    /// The most likely choice per character of its text is the gold one.
    AccNorm,
    /// The filtered output equals the reference answer.
    ExactMatch,
    /// The filtered output is mathematically equivalent to the reference answer.
    MathEquiv,
}

impl Metric {
    /// The name specs and reports use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Acc => "acc",
            Self::AccNorm => "acc_norm",
            Self::ExactMatch => "exact_match",
            Self::MathEquiv => "math_equiv",
        }
    }

    /// Whether the metric scores multiple-choice log-likelihoods (rather than generations).
    pub fn is_multiple_choice(self) -> bool {
        matches!(self, Self::Acc | Self::AccNorm)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One step of answer extraction from a generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    /// Keep capture `group` of the selected match of `pattern`.
    Regex,
    /// Keep the selected number, without commas, currency sign or trailing zeros.
    Number,
    /// Keep the content of the selected `\boxed{...}`, braces balanced.
    Boxed,
    /// Keep the selected standalone choice label.
    Letter,
    /// Keep the text up to the first line break.
    FirstLine,
    /// Trim surrounding whitespace and a final period.
    Strip,
    /// Lower-case the text.
    Lowercase,
    /// Put a LaTeX answer in a canonical form.
    MathNormalize,
}

/// Which match a filter keeps when there are several.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Select {
    /// The first match.
    #[default]
    First,
    /// The last match.
    Last,
}

/// What a filter passes on when it finds nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnMiss {
    /// An empty answer, which scores as wrong.
    #[default]
    Empty,
    /// Its input unchanged, so the next filter acts as a fallback.
    Keep,
}

/// One answer-extraction step; a task's filters run in order, each on the previous one's output.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// What the step does.
    pub op: FilterOp,
    /// The regular expression of `regex` (Rust `regex` syntax).
    #[serde(default)]
    pub pattern: String,
    /// The capture group `regex` keeps (0 = the whole match).
    #[serde(default = "default_group")]
    pub group: usize,
    /// Which match to keep.
    #[serde(default)]
    pub select: Select,
    /// What to pass on when nothing matches.
    #[serde(default)]
    pub on_miss: OnMiss,
}

fn default_group() -> usize {
    1
}

impl Filter {
    /// A step doing `op` with the catalog's defaults (group 1, first match, empty on a miss).
    pub fn new(op: FilterOp) -> Self {
        Self {
            op,
            pattern: String::new(),
            group: default_group(),
            select: Select::First,
            on_miss: OnMiss::Empty,
        }
    }

    /// A `regex` step keeping group 1 of the first match of `pattern`.
    pub fn regex(pattern: impl Into<String>) -> Self {
        Self {
            pattern: pattern.into(),
            ..Self::new(FilterOp::Regex)
        }
    }

    /// The same step keeping the last match.
    pub fn last(mut self) -> Self {
        self.select = Select::Last;
        self
    }

    /// The same step passing its input on unchanged when it finds nothing.
    pub fn keep_on_miss(mut self) -> Self {
        self.on_miss = OnMiss::Keep;
        self
    }

    /// The same step keeping capture group `group`.
    pub fn group(mut self, group: usize) -> Self {
        self.group = group;
        self
    }
}

/// How items are put to a model and scored.
///
/// Templates write `{field}` for an item field or metadata and `{choices}` for the labelled
/// choices (see [`Template`]). Deserialising fills the catalog's defaults for absent fields and
/// refuses unknown ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Whether the model picks a choice or generates an answer.
    pub output: TaskOutput,
    /// Template of the prompt (the user turn when the chat template is on).
    #[serde(default = "default_prompt")]
    pub prompt: String,
    /// Template of the reference answer a generation is compared with.
    #[serde(default = "default_target")]
    pub target: String,
    /// Render the prompt through the model's chat template.
    #[serde(default = "default_true")]
    pub chat_template: bool,
    /// A system message before every prompt (none = no system message).
    #[serde(default)]
    pub system_prompt: Option<String>,
    /// Labels given to the choices, in order (default A-J).
    #[serde(default = "default_labels")]
    pub choice_labels: Vec<String>,
    /// What continuation is scored for each choice (multiple choice).
    #[serde(default)]
    pub score_choices: ChoiceScoring,
    /// Text between the prompt and a scored continuation (multiple choice, without chat
    /// template).
    #[serde(default = "default_delimiter")]
    pub target_delimiter: String,
    /// Sequences that end a generation (the end-of-turn token always does).
    #[serde(default)]
    pub stop: Vec<String>,
    /// Most tokens generated per item.
    #[serde(default = "default_max_new_tokens")]
    pub max_new_tokens: usize,
    /// Answer extraction, in order (empty = compare the stripped generation).
    #[serde(default)]
    pub filters: Vec<Filter>,
    /// Metrics to compute, the first being the primary one (empty = acc and acc_norm for
    /// multiple choice, exact_match for generate).
    #[serde(default)]
    pub metrics: Vec<Metric>,
    /// Compare answers case-insensitively (exact_match).
    #[serde(default)]
    pub ignore_case: bool,
    /// Ignore punctuation when comparing answers (exact_match).
    #[serde(default)]
    pub ignore_punctuation: bool,
}

fn default_prompt() -> String {
    "{prompt}".to_string()
}

fn default_target() -> String {
    "{target}".to_string()
}

fn default_true() -> bool {
    true
}

fn default_labels() -> Vec<String> {
    ('A'..='J').map(String::from).collect()
}

fn default_delimiter() -> String {
    " ".to_string()
}

fn default_max_new_tokens() -> usize {
    512
}

impl Task {
    /// A task answering by `output` with the catalog's defaults for everything else.
    pub fn new(output: TaskOutput) -> Self {
        Self {
            output,
            prompt: default_prompt(),
            target: default_target(),
            chat_template: true,
            system_prompt: None,
            choice_labels: default_labels(),
            score_choices: ChoiceScoring::Text,
            target_delimiter: default_delimiter(),
            stop: Vec::new(),
            max_new_tokens: default_max_new_tokens(),
            filters: Vec::new(),
            metrics: Vec::new(),
            ignore_case: false,
            ignore_punctuation: false,
        }
    }

    /// The metrics to compute, the primary one first: `metrics`, or the default for the output
    /// when it is empty.
    pub fn effective_metrics(&self) -> Vec<Metric> {
        if !self.metrics.is_empty() {
            return self.metrics.clone();
        }
        match self.output {
            TaskOutput::MultipleChoice => vec![Metric::Acc, Metric::AccNorm],
            TaskOutput::Generate => vec![Metric::ExactMatch],
        }
    }

    /// Checks everything that can be checked without items: the templates parse, the filters
    /// compile, labels are present, and the metrics suit the output.
    pub fn check(&self) -> Result<(), TaskError> {
        Template::parse(&self.prompt).map_err(|error| TaskError::Template {
            which: "prompt",
            error,
        })?;
        Template::parse(&self.target).map_err(|error| TaskError::Template {
            which: "target",
            error,
        })?;
        Extractor::new(&self.filters, &self.choice_labels)?;
        if self
            .choice_labels
            .iter()
            .any(|label| label.trim().is_empty())
        {
            return Err(TaskError::Invalid(
                "choice labels must not be empty".to_string(),
            ));
        }
        let multiple_choice = self.output == TaskOutput::MultipleChoice;
        if let Some(metric) = self
            .effective_metrics()
            .into_iter()
            .find(|metric| metric.is_multiple_choice() != multiple_choice)
        {
            let output = if multiple_choice {
                "multiple_choice"
            } else {
                "generate"
            };
            return Err(TaskError::Invalid(format!(
                "the metric {metric} does not apply to output {output}"
            )));
        }
        Ok(())
    }
}

/// A task that cannot work whatever the items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskError {
    /// A template does not parse.
    Template {
        /// Which template: `prompt` or `target`.
        which: &'static str,
        /// What is wrong with it.
        error: TemplateError,
    },
    /// A filter's regular expression does not compile.
    Filter {
        /// The filter's position in `filters`, from 0.
        index: usize,
        /// The compiler's message.
        message: String,
    },
    /// Fields that contradict each other.
    Invalid(String),
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Template { which, error } => write!(f, "the {which} template: {error}"),
            Self::Filter { index, message } => write!(f, "filter {index}: {message}"),
            Self::Invalid(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for TaskError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deserialising_fills_the_catalog_defaults() {
        let task: Task = serde_json::from_str(r#"{"output": "generate"}"#).unwrap();
        assert_eq!(task, Task::new(TaskOutput::Generate));
        assert_eq!(task.choice_labels.len(), 10);
        assert_eq!(task.target_delimiter, " ");
        assert_eq!(task.max_new_tokens, 512);
        let filter: Filter = serde_json::from_str(r#"{"op": "regex", "pattern": "x"}"#).unwrap();
        assert_eq!(filter, Filter::regex("x"));
    }

    #[test]
    fn unknown_fields_and_values_are_refused() {
        assert!(serde_json::from_str::<Task>(r#"{"output": "generate", "promt": "x"}"#).is_err());
        assert!(serde_json::from_str::<Task>(r#"{"output": "classify"}"#).is_err());
        let filter = r#"{"op": "number", "select": "middle"}"#;
        assert!(serde_json::from_str::<Filter>(filter).is_err());
    }

    #[test]
    fn default_metrics_follow_the_output() {
        assert_eq!(
            Task::new(TaskOutput::MultipleChoice).effective_metrics(),
            [Metric::Acc, Metric::AccNorm]
        );
        assert_eq!(
            Task::new(TaskOutput::Generate).effective_metrics(),
            [Metric::ExactMatch]
        );
    }

    #[test]
    fn check_finds_broken_templates_filters_and_metrics() {
        let mut task = Task::new(TaskOutput::Generate);
        task.prompt = "Q: {prompt".into();
        assert!(
            task.check()
                .unwrap_err()
                .to_string()
                .starts_with("the prompt template")
        );
        let mut task = Task::new(TaskOutput::Generate);
        task.filters = vec![Filter::regex("(")];
        assert!(
            task.check()
                .unwrap_err()
                .to_string()
                .starts_with("filter 0")
        );
        let mut task = Task::new(TaskOutput::Generate);
        task.metrics = vec![Metric::AccNorm];
        assert!(task.check().unwrap_err().to_string().contains("acc_norm"));
    }
}
