//! The study's tasks: one preset per benchmark, reproducing its prompt format and scoring.
//!
//! Every preset renders the prompt through the model's chat template (the study evaluates with
//! it on), zero-shot, with no system prompt. Where the study does not say, the presets follow
//! lm-evaluation-harness conventions.

use crate::task::{ChoiceScoring, Filter, FilterOp, Metric, Task, TaskOutput};

/// The names of the presets, as [`by_name`] knows them.
pub const NAMES: [&str; 6] = ["arc", "gsm8k", "mmlu_pro", "bbh", "math", "musr"];

/// The preset called `name`, if any (see [`NAMES`]).
pub fn by_name(name: &str) -> Option<Task> {
    match name {
        "arc" => Some(arc()),
        "gsm8k" => Some(gsm8k()),
        "mmlu_pro" => Some(mmlu_pro()),
        "bbh" => Some(bbh()),
        "math" => Some(math()),
        "musr" => Some(musr()),
        _ => None,
    }
}

/// The lettered question format ARC and MMLU-Pro share: the question, the choices as `A) text`,
/// then `Answer:` and a line break.
const LETTERED: &str = "Question: {prompt}\n{choices}\nAnswer:\n";

/// ARC: multiple choice by log-likelihood of each choice's letter after the lettered question;
/// acc and acc_norm (equal here, since the letters have the same length).
pub fn arc() -> Task {
    Task {
        prompt: LETTERED.to_string(),
        score_choices: ChoiceScoring::Label,
        // The prompt ends in a line break, so the letter follows it directly.
        target_delimiter: String::new(),
        metrics: vec![Metric::Acc, Metric::AccNorm],
        ..Task::new(TaskOutput::MultipleChoice)
    }
}

/// MMLU-Pro: the lettered question answered by generation; the answer is the first choice
/// label A-J in the output (a clear one such as `(B)` or "the answer is B" first), compared
/// with the gold letter.
pub fn mmlu_pro() -> Task {
    Task {
        prompt: LETTERED.to_string(),
        target: "{gold}".to_string(),
        max_new_tokens: 64,
        filters: vec![Filter::new(FilterOp::Letter)],
        metrics: vec![Metric::ExactMatch],
        ..Task::new(TaskOutput::Generate)
    }
}

/// The strict GSM8K answer: the number after "So the answer is".
const GSM8K_STRICT: &str = r"(?i)so the answer is\s*:?\s*(-?[$€£]?-?\d[\d,]*(?:\.\d+)?)";

/// GSM8K: `Q: ... A:` answered by a rationale ending in "So the answer is N"; the number after
/// that phrase (strict), else the last number of the output (flexible), compared exactly with
/// the target after numeric normalisation (no commas, `$` or trailing zeros).
pub fn gsm8k() -> Task {
    Task {
        prompt: "Q: {prompt}\nA:\n".to_string(),
        stop: vec!["Q:".to_string()],
        filters: vec![
            Filter::regex(GSM8K_STRICT).keep_on_miss(),
            Filter::new(FilterOp::Number).last(),
        ],
        metrics: vec![Metric::ExactMatch],
        ..Task::new(TaskOutput::Generate)
    }
}

/// BBH: `Question: ... Answer:` answered by generation; the first line of the output, trimmed
/// and without a final period, must equal the target (`True`, `(A)`, `valid`, ...) ignoring
/// case, as lm-evaluation-harness's zero-shot BBH does.
pub fn bbh() -> Task {
    Task {
        prompt: "Question: {prompt}\nAnswer:\n".to_string(),
        max_new_tokens: 256,
        filters: vec![
            Filter::new(FilterOp::Strip),
            Filter::new(FilterOp::FirstLine),
            Filter::new(FilterOp::Strip),
        ],
        metrics: vec![Metric::ExactMatch],
        ignore_case: true,
        ..Task::new(TaskOutput::Generate)
    }
}

/// MATH: `Problem: ... Answer:` answered by generation; the content of the last `\boxed{}`
/// (the whole output when there is none) must be mathematically equivalent to the target.
pub fn math() -> Task {
    Task {
        prompt: "Problem:\n{prompt}\n\nAnswer:".to_string(),
        stop: vec!["Problem:".to_string()],
        max_new_tokens: 1024,
        filters: vec![
            Filter::new(FilterOp::Boxed).last().keep_on_miss(),
            Filter::new(FilterOp::Strip),
        ],
        metrics: vec![Metric::MathEquiv],
        ..Task::new(TaskOutput::Generate)
    }
}

/// MuSR: the narrative, the question and the numbered choices (`1) text`), multiple choice by
/// log-likelihood of each choice's text as in the Open LLM Leaderboard; acc_norm first.
pub fn musr() -> Task {
    Task {
        prompt: "{context}\n\n{prompt}\n\n{choices}\n\nAnswer:".to_string(),
        choice_labels: (1..=10).map(|n| n.to_string()).collect(),
        metrics: vec![Metric::AccNorm, Metric::Acc],
        ..Task::new(TaskOutput::MultipleChoice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_checks_and_is_found_by_name() {
        for name in NAMES {
            let task = by_name(name).unwrap();
            task.check()
                .unwrap_or_else(|error| panic!("{name}: {error}"));
        }
        assert!(by_name("hellaswag").is_none());
    }
}
