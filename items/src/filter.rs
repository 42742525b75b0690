//! Answer extraction: a task's filters compiled once and run in order on each generation.

use regex::Regex;

use crate::latex::{boxed_all, normalize_math};
use crate::task::{Filter, FilterOp, OnMiss, Select, TaskError};

/// A task's filters, compiled: regular expressions built once, choice labels at hand.
#[derive(Clone, Debug)]
pub struct Extractor {
    steps: Vec<Step>,
    labels: Vec<String>,
}

#[derive(Clone, Debug)]
struct Step {
    filter: Filter,
    regex: Option<Regex>,
}

/// Numbers as the `number` filter reads them: thousands groups, plain digits, or a leading
/// decimal point; the sign and currency sign are looked for before the match.
const NUMBER: &str = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+";

impl Extractor {
    /// Compiles `filters`; `labels` are the choice labels the `letter` filter looks for.
    pub fn new(filters: &[Filter], labels: &[String]) -> Result<Self, TaskError> {
        let number = Regex::new(NUMBER).map_err(|error| TaskError::Filter {
            index: 0,
            message: error.to_string(),
        })?;
        let mut steps = Vec::with_capacity(filters.len());
        for (index, filter) in filters.iter().enumerate() {
            let regex = match filter.op {
                FilterOp::Regex => {
                    let regex = Regex::new(&filter.pattern).map_err(|error| TaskError::Filter {
                        index,
                        message: format!("the pattern does not compile: {error}"),
                    })?;
                    if filter.group >= regex.captures_len() {
                        return Err(TaskError::Filter {
                            index,
                            message: format!(
                                "the pattern has {} capture groups, so group {} does not exist",
                                regex.captures_len() - 1,
                                filter.group
                            ),
                        });
                    }
                    Some(regex)
                }
                FilterOp::Number => Some(number.clone()),
                _ => None,
            };
            if filter.op == FilterOp::Letter && labels.is_empty() {
                return Err(TaskError::Filter {
                    index,
                    message: "the letter filter needs choice labels".to_string(),
                });
            }
            steps.push(Step {
                filter: filter.clone(),
                regex,
            });
        }
        Ok(Self {
            steps,
            labels: labels.to_vec(),
        })
    }

    /// The answer extracted from `generation`: every filter in order, each on the previous
    /// one's output; with no filter, the generation with surrounding whitespace trimmed.
    pub fn extract(&self, generation: &str) -> String {
        if self.steps.is_empty() {
            return generation.trim().to_string();
        }
        let mut text = generation.to_string();
        for step in &self.steps {
            text = step.apply(&text, &self.labels);
        }
        text
    }
}

impl Step {
    fn apply(&self, text: &str, labels: &[String]) -> String {
        let filter = &self.filter;
        let found = match (filter.op, &self.regex) {
            (FilterOp::Regex, Some(regex)) => {
                let matches = regex.captures_iter(text).filter_map(|captures| {
                    captures.get(filter.group).map(|m| m.as_str().to_string())
                });
                pick(matches, filter.select)
            }
            (FilterOp::Number, Some(regex)) => pick(
                regex
                    .find_iter(text)
                    .map(|m| number_text(text, m.start(), m.as_str())),
                filter.select,
            ),
            (FilterOp::Boxed, _) => pick(
                boxed_all(text).into_iter().map(str::to_string),
                filter.select,
            ),
            (FilterOp::Letter, _) => letter(text, labels, filter.select),
            (FilterOp::FirstLine, _) => {
                Some(text.split(['\n', '\r']).next().unwrap_or("").to_string())
            }
            (FilterOp::Strip, _) => Some(strip(text)),
            (FilterOp::Lowercase, _) => Some(text.to_lowercase()),
            (FilterOp::MathNormalize, _) => Some(normalize_math(text)),
            (FilterOp::Regex | FilterOp::Number, None) => None,
        };
        match (found, filter.on_miss) {
            (Some(found), _) => found,
            (None, OnMiss::Empty) => String::new(),
            (None, OnMiss::Keep) => text.to_string(),
        }
    }
}

fn pick(mut matches: impl Iterator<Item = String>, select: Select) -> Option<String> {
    match select {
        Select::First => matches.next(),
        Select::Last => matches.last(),
    }
}

/// Trims surrounding whitespace and one final period.
fn strip(text: &str) -> String {
    let trimmed = text.trim();
    trimmed
        .strip_suffix('.')
        .unwrap_or(trimmed)
        .trim_end()
        .to_string()
}

/// A number found at byte `start` of `text` in canonical form: its sign (a `-` or `−` right
/// before it, or before a currency sign, not ending a word), no commas, no leading zeros, no
/// trailing zeros after the decimal point.
fn number_text(text: &str, start: usize, digits: &str) -> String {
    let before = &text[..start];
    let before = before.strip_suffix(['$', '€', '£']).unwrap_or(before);
    let negative = before
        .strip_suffix(['-', '\u{2212}'])
        .is_some_and(|prefix| {
            !prefix
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
        });
    let plain = digits.replace(',', "");
    let (whole, fraction) = match plain.split_once('.') {
        Some((whole, fraction)) => (whole, fraction.trim_end_matches('0')),
        None => (plain.as_str(), ""),
    };
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    let mut out = String::new();
    if negative && (whole != "0" || !fraction.is_empty()) {
        out.push('-');
    }
    out.push_str(whole);
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// The selected standalone choice label in `text`.
///
/// A label counts where it is not part of a word (no letter, digit or apostrophe touches it).
/// Clear answers are preferred: a label in parentheses or brackets, one opening a line followed
/// by `)`, `.` or `:`, one right after "answer is", "answer:", "option" or "choice", or a text
/// that is only the label. Only when there is no clear answer does any standalone label count.
fn letter(text: &str, labels: &[String], select: Select) -> Option<String> {
    let mut clear = Vec::new();
    let mut loose = Vec::new();
    for (start, _) in text.char_indices() {
        let Some(label) = labels
            .iter()
            .filter(|label| !label.is_empty() && text[start..].starts_with(label.as_str()))
            .max_by_key(|label| label.len())
        else {
            continue;
        };
        let end = start + label.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let word = |c: Option<char>| {
            c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '\'' | '\u{2019}'))
        };
        if word(before) || word(after) {
            continue;
        }
        if is_clear(text, start, end, before, after) {
            clear.push(label.clone());
        } else if !opens_a_phrase(&text[end..]) {
            loose.push(label.clone());
        }
    }
    let candidates = if clear.is_empty() { loose } else { clear };
    pick(candidates.into_iter(), select)
}

/// Whether the text after a label continues a sentence (a space, then a lower-case word), as
/// after the words "I" and "A" rather than an answer letter.
fn opens_a_phrase(after: &str) -> bool {
    after
        .strip_prefix(' ')
        .and_then(|rest| rest.chars().next())
        .is_some_and(char::is_lowercase)
}

fn is_clear(
    text: &str,
    start: usize,
    end: usize,
    before: Option<char>,
    after: Option<char>,
) -> bool {
    if matches!(
        (before, after),
        (Some('('), Some(')')) | (Some('['), Some(']'))
    ) {
        return true;
    }
    let line_start = text[..start].rfind('\n').map_or(0, |newline| newline + 1);
    let opening = text[line_start..start]
        .chars()
        .all(|c| c.is_whitespace() || matches!(c, '*' | '#' | '-' | '>'));
    if opening
        && (after.is_none_or(|c| matches!(c, ')' | '.' | ':' | '\n'))
            || text[end..].trim().is_empty())
    {
        return true;
    }
    let lead = text[..start]
        .trim_end_matches(|c: char| c.is_whitespace() || matches!(c, '*' | ':' | '(' | '['))
        .to_lowercase();
    ["answer is", "answer", "option", "choice"]
        .iter()
        .any(|cue| lead.ends_with(cue))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ('A'..='J').map(String::from).collect()
    }

    fn run(filters: &[Filter], text: &str) -> String {
        Extractor::new(filters, &labels()).unwrap().extract(text)
    }

    #[test]
    fn numbers_are_canonical() {
        let number = [Filter::new(FilterOp::Number).last()];
        assert_eq!(run(&number, "It costs $1,234.50 in total."), "1234.5");
        assert_eq!(run(&number, "The change is -$5."), "-5");
        assert_eq!(run(&number, "pages 3-4"), "4");
        assert_eq!(run(&number, "x = \u{2212}7"), "-7");
        assert_eq!(run(&number, "18.00"), "18");
        assert_eq!(run(&number, "-0.0"), "0");
        assert_eq!(run(&number, "007 and .5"), "0.5");
        assert_eq!(run(&number, "no digits"), "");
    }

    #[test]
    fn regex_misses_can_fall_through() {
        let filters = [
            Filter::regex(r"answer is (\d+)").keep_on_miss(),
            Filter::new(FilterOp::Number).last(),
        ];
        assert_eq!(run(&filters, "the answer is 12, not 13"), "12");
        assert_eq!(run(&filters, "I get 12, then 13"), "13");
        let strict = [Filter::regex(r"answer is (\d+)")];
        assert_eq!(run(&strict, "I get 12"), "");
        let whole = [Filter::regex(r"\d+").group(0).last()];
        assert_eq!(run(&whole, "1 2 3"), "3");
    }

    #[test]
    fn a_missing_capture_group_is_refused() {
        let error = Extractor::new(&[Filter::regex(r"\d+")], &labels()).unwrap_err();
        assert!(error.to_string().contains("group 1 does not exist"));
    }

    #[test]
    fn letters_prefer_clear_answers() {
        let letter = [Filter::new(FilterOp::Letter)];
        assert_eq!(run(&letter, "(B)"), "B");
        assert_eq!(run(&letter, "B) Paris"), "B");
        assert_eq!(run(&letter, "C."), "C");
        assert_eq!(run(&letter, "A good guess: the answer is D"), "D");
        assert_eq!(run(&letter, "I think it's E"), "E");
        assert_eq!(run(&letter, "I'm sure: Answer: (F)"), "F");
        assert_eq!(run(&letter, "no label here, K"), "");
        let last = [Filter::new(FilterOp::Letter).last()];
        assert_eq!(run(&last, "(A) is wrong, (C) is right"), "C");
    }

    #[test]
    fn text_steps() {
        assert_eq!(run(&[Filter::new(FilterOp::FirstLine)], "yes\nno"), "yes");
        assert_eq!(run(&[Filter::new(FilterOp::Strip)], "  True. \n"), "True");
        assert_eq!(run(&[Filter::new(FilterOp::Lowercase)], "YeS"), "yes");
        assert_eq!(
            run(
                &[Filter::new(FilterOp::Boxed).last()],
                r"\boxed{1} \boxed{\frac{1}{2}}"
            ),
            r"\frac{1}{2}"
        );
        assert_eq!(
            run(&[Filter::new(FilterOp::MathNormalize)], r"\dfrac12"),
            r"\frac{1}{2}"
        );
        assert_eq!(run(&[], "  raw  "), "raw");
    }
}
