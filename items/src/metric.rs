//! Scoring: exact match and mathematical equivalence of extracted answers, and accuracy of
//! multiple-choice log-likelihoods (acc, and acc_norm per character of each continuation).

use std::fmt;

use crate::latex::math_equiv;
use crate::task::{Metric, Task};

/// Whether `prediction` equals `reference`, both trimmed; with `ignore_case` compared in lower
/// case, with `ignore_punctuation` without ASCII punctuation (as lm-evaluation-harness's
/// `exact_match` options).
pub fn exact_match(
    prediction: &str,
    reference: &str,
    ignore_case: bool,
    ignore_punctuation: bool,
) -> bool {
    let canonical = |text: &str| {
        let mut text = text.trim().to_string();
        if ignore_case {
            text = text.to_lowercase();
        }
        if ignore_punctuation {
            text.retain(|c| !c.is_ascii_punctuation());
        }
        text
    };
    canonical(prediction) == canonical(reference)
}

/// The generative metrics of `task` for an extracted `answer` and the rendered `reference`,
/// in the task's order (multiple-choice metrics are left out).
pub fn score_generation(task: &Task, answer: &str, reference: &str) -> Vec<(Metric, bool)> {
    task.effective_metrics()
        .into_iter()
        .filter_map(|metric| match metric {
            Metric::ExactMatch => Some((
                metric,
                exact_match(answer, reference, task.ignore_case, task.ignore_punctuation),
            )),
            Metric::MathEquiv => Some((metric, math_equiv(answer, reference))),
            Metric::Acc | Metric::AccNorm => None,
        })
        .collect()
}

/// The choices a model picked for one multiple-choice item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChoiceOutcome {
    /// The most likely choice.
    pub pred: usize,
    /// The most likely choice per character of its continuation.
    pub pred_norm: usize,
    /// Whether `pred` is the gold choice.
    pub acc: bool,
    /// Whether `pred_norm` is the gold choice.
    pub acc_norm: bool,
}

impl ChoiceOutcome {
    /// The outcome of one metric; false for a metric that is not multiple-choice.
    pub fn get(&self, metric: Metric) -> bool {
        match metric {
            Metric::Acc => self.acc,
            Metric::AccNorm => self.acc_norm,
            Metric::ExactMatch | Metric::MathEquiv => false,
        }
    }
}

/// Scores one multiple-choice item from the log-likelihood of each choice's continuation.
///
/// `acc` takes the largest log-likelihood; `acc_norm` the largest log-likelihood divided by the
/// length of the continuation text in characters, as lm-evaluation-harness's `acc_norm` divides
/// by the length of the Python string (without the target delimiter; at least 1). Ties go to
/// the first choice; a NaN never wins.
pub fn score_choices(
    log_likelihoods: &[f64],
    continuations: &[String],
    gold: usize,
) -> Result<ChoiceOutcome, ScoreError> {
    if log_likelihoods.len() != continuations.len() {
        return Err(ScoreError::LengthMismatch {
            log_likelihoods: log_likelihoods.len(),
            continuations: continuations.len(),
        });
    }
    if gold >= continuations.len() {
        return Err(ScoreError::GoldOutOfRange {
            gold,
            choices: continuations.len(),
        });
    }
    let normalised: Vec<f64> = log_likelihoods
        .iter()
        .zip(continuations)
        .map(|(ll, text)| ll / text.chars().count().max(1) as f64)
        .collect();
    let pred = argmax(log_likelihoods).ok_or(ScoreError::NoScore)?;
    let pred_norm = argmax(&normalised).ok_or(ScoreError::NoScore)?;
    Ok(ChoiceOutcome {
        pred,
        pred_norm,
        acc: pred == gold,
        acc_norm: pred_norm == gold,
    })
}

/// The index of the largest value, the first one on ties, ignoring NaN; none when every value
/// is NaN or there is none.
pub fn argmax(values: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (index, &value) in values.iter().enumerate() {
        if value.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, top)| value > top) {
            best = Some((index, value));
        }
    }
    best.map(|(index, _)| index)
}

/// Why a multiple-choice item cannot be scored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScoreError {
    /// There is not one log-likelihood per continuation.
    LengthMismatch {
        /// How many log-likelihoods were given.
        log_likelihoods: usize,
        /// How many continuations were given.
        continuations: usize,
    },
    /// The gold index is not a choice.
    GoldOutOfRange {
        /// The gold index.
        gold: usize,
        /// How many choices there are.
        choices: usize,
    },
    /// No log-likelihood is a number.
    NoScore,
}

impl fmt::Display for ScoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LengthMismatch {
                log_likelihoods,
                continuations,
            } => write!(
                f,
                "{log_likelihoods} log-likelihoods for {continuations} continuations; expected one each"
            ),
            Self::GoldOutOfRange { gold, choices } => {
                write!(
                    f,
                    "the gold choice {gold} is not among the {choices} choices"
                )
            }
            Self::NoScore => f.write_str("no choice has a log-likelihood that is a number"),
        }
    }
}

impl std::error::Error for ScoreError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskOutput;

    fn texts(texts: &[&str]) -> Vec<String> {
        texts.iter().map(|text| text.to_string()).collect()
    }

    #[test]
    fn exact_match_options() {
        assert!(exact_match(" (B) ", "(B)", false, false));
        assert!(!exact_match("yes", "Yes", false, false));
        assert!(exact_match("yes", "Yes", true, false));
        assert!(!exact_match("(B)", "B", false, false));
        assert!(exact_match("(B)", "B", false, true));
    }

    #[test]
    fn acc_norm_divides_by_characters() {
        // "a" at -2.0 is most likely; per character, "abcdefgh" at -4.0 (-0.5 each) wins.
        let outcome = score_choices(&[-2.0, -4.0], &texts(&["a", "abcdefgh"]), 1).unwrap();
        assert_eq!(
            outcome,
            ChoiceOutcome {
                pred: 0,
                pred_norm: 1,
                acc: false,
                acc_norm: true
            }
        );
        assert!(outcome.get(Metric::AccNorm) && !outcome.get(Metric::Acc));
        // Characters, not bytes (as lm-evaluation-harness): "é" counts once, so "éé" at -2.0
        // is -1.0 per character and "ab" at -1.5 wins with -0.75.
        let outcome = score_choices(&[-2.0, -1.5], &texts(&["éé", "ab"]), 0).unwrap();
        assert_eq!(outcome.pred_norm, 1);
    }

    #[test]
    fn ties_go_to_the_first_choice_and_nan_never_wins() {
        assert_eq!(argmax(&[-1.0, -1.0, -3.0]), Some(0));
        assert_eq!(argmax(&[f64::NAN, -5.0]), Some(1));
        assert_eq!(argmax(&[f64::NAN]), None);
        assert_eq!(argmax(&[]), None);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(
            score_choices(&[-1.0], &texts(&["a", "b"]), 0),
            Err(ScoreError::LengthMismatch { .. })
        ));
        assert!(matches!(
            score_choices(&[-1.0, -2.0], &texts(&["a", "b"]), 2),
            Err(ScoreError::GoldOutOfRange { .. })
        ));
    }

    #[test]
    fn generation_metrics_follow_the_task() {
        let mut task = Task::new(TaskOutput::Generate);
        assert_eq!(
            score_generation(&task, "18", "18"),
            [(Metric::ExactMatch, true)]
        );
        task.metrics = vec![Metric::MathEquiv, Metric::ExactMatch];
        assert_eq!(
            score_generation(&task, "0.5", r"\frac{1}{2}"),
            [(Metric::MathEquiv, true), (Metric::ExactMatch, false)]
        );
    }
}
