//! Training examples: prompt/completion pairs rendered through the chat template and
//! tokenized with a loss mask, and the order in which optimizer steps visit them.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rung_models::LanguageModel;
use rung_models::chat::Message;

use burn::prelude::Backend;

use crate::SftError;

/// A prompt and the completion the model should learn to give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// The user's turn.
    pub prompt: String,
    /// The assistant's turn.
    pub completion: String,
}

/// How examples become token sequences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Format {
    /// Render each example through the model's chat template (system, user, assistant turns);
    /// otherwise the prompt and completion are concatenated and an end-of-sequence token
    /// appended.
    pub chat_template: bool,
    /// A system message before every example.
    pub system_prompt: Option<String>,
    /// Train on the completion's tokens only (everything the template adds after the prompt,
    /// the end-of-turn token included); otherwise on every token.
    pub completion_only: bool,
    /// Longest sequence; longer ones lose their end.
    pub max_length: usize,
}

/// One tokenized example.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sequence {
    /// The tokens.
    pub ids: Vec<u32>,
    /// Whether each token is a target of the loss.
    pub loss_mask: Vec<bool>,
}

impl Sequence {
    /// Tokens that are targets of the loss (the first token never is: nothing predicts it).
    pub fn targets(&self) -> usize {
        self.loss_mask.iter().skip(1).filter(|&&m| m).count()
    }
}

/// What tokenizing a set of examples had to do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FormatReport {
    /// Examples longer than `max_length`, cut.
    pub truncated: usize,
    /// Examples left without any target token (their completion was cut away entirely).
    pub without_targets: usize,
    /// Examples whose full rendering does not start with the tokens of the prompt alone: the
    /// mask then falls where the prompt's tokens end.
    pub boundary_mismatches: usize,
}

/// Tokenizes examples for `model` with their loss masks.
pub fn tokenize<B: Backend>(
    model: &LanguageModel<B>,
    examples: &[Example],
    format: &Format,
) -> Result<(Vec<Sequence>, FormatReport), SftError> {
    let mut report = FormatReport::default();
    let mut sequences = Vec::with_capacity(examples.len());
    for (index, example) in examples.iter().enumerate() {
        let failed = |message: String| SftError::Data(format!("example {index}: {message}"));
        let (prefix, full, add_special) = if format.chat_template {
            let template = model.chat_template.as_ref().ok_or_else(|| {
                failed(format!(
                    "{} has no chat template; set `chat_template = false` to train on plain text",
                    model.source.display()
                ))
            })?;
            let mut messages = Vec::new();
            if let Some(system) = &format.system_prompt {
                messages.push(Message::system(system.clone()));
            }
            messages.push(Message::user(example.prompt.clone()));
            let prefix = template
                .render(&messages, true)
                .map_err(|e| failed(e.to_string()))?;
            messages.push(Message::assistant(example.completion.clone()));
            let full = template
                .render(&messages, false)
                .map_err(|e| failed(e.to_string()))?;
            (prefix, full, false)
        } else {
            let prefix = example.prompt.clone();
            let full = format!("{}{}", example.prompt, example.completion);
            (prefix, full, true)
        };
        let encode = |text: &str| {
            model
                .tokenizer
                .encode(text, add_special)
                .map_err(|e| failed(e.to_string()))
        };
        let prefix_ids = encode(&prefix)?;
        let mut ids = encode(&full)?;
        if !format.chat_template
            && let Some(&eos) = model.tokenizer.eos_ids().first()
        {
            ids.push(eos);
        }
        if !ids.starts_with(&prefix_ids) {
            report.boundary_mismatches += 1;
        }
        let boundary = if format.completion_only {
            prefix_ids.len().min(ids.len())
        } else {
            0
        };
        let mut loss_mask: Vec<bool> = (0..ids.len()).map(|i| i >= boundary).collect();
        if ids.len() > format.max_length {
            report.truncated += 1;
            ids.truncate(format.max_length);
            loss_mask.truncate(format.max_length);
        }
        let sequence = Sequence { ids, loss_mask };
        if sequence.targets() == 0 {
            report.without_targets += 1;
        }
        sequences.push(sequence);
    }
    Ok((sequences, report))
}

/// Which sequences every optimizer step of a run trains on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepPlan {
    /// Per optimizer step, its micro-batches, each a list of sequence indices.
    pub steps: Vec<Vec<Vec<usize>>>,
    /// The epoch each step belongs to (from 0).
    pub epochs: Vec<usize>,
}

/// Plans a run: each epoch visits every sequence once, shuffled from `seed` and the epoch
/// number when `shuffle` is set; consecutive sequences form micro-batches of `micro_batch`, and
/// `grad_accum` consecutive micro-batches an optimizer step (the last of an epoch may be
/// smaller). With `group_by_length`, each run of 50 steps' worth of sequences is sorted by
/// length (longest first) before it is cut into micro-batches.
pub fn plan(
    lengths: &[usize],
    epochs: usize,
    micro_batch: usize,
    grad_accum: usize,
    seed: u64,
    shuffle: bool,
    group_by_length: bool,
) -> StepPlan {
    let mut steps = Vec::new();
    let mut epoch_of = Vec::new();
    for epoch in 0..epochs {
        let mut order: Vec<usize> = (0..lengths.len()).collect();
        if shuffle {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            rng.set_stream(epoch as u64);
            order.shuffle(&mut rng);
        }
        if group_by_length {
            for group in order.chunks_mut(50 * micro_batch * grad_accum) {
                group.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
            }
        }
        let micro: Vec<Vec<usize>> = order.chunks(micro_batch).map(<[usize]>::to_vec).collect();
        for step in micro.chunks(grad_accum) {
            steps.push(step.to_vec());
            epoch_of.push(epoch);
        }
    }
    StepPlan {
        steps,
        epochs: epoch_of,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_epoch_visits_every_sequence_once_in_its_own_order() {
        let lengths = vec![5; 10];
        let plan = plan(&lengths, 3, 2, 2, 42, true, false);
        assert_eq!(
            plan.steps.len(),
            3 * 3,
            "5 micro-batches per epoch make 3 steps"
        );
        assert_eq!(plan.epochs, vec![0, 0, 0, 1, 1, 1, 2, 2, 2]);
        let epoch = |e: usize| -> Vec<usize> {
            plan.steps[3 * e..3 * e + 3]
                .iter()
                .flatten()
                .flatten()
                .copied()
                .collect()
        };
        for e in 0..3 {
            let mut seen = epoch(e);
            seen.sort_unstable();
            assert_eq!(seen, (0..10).collect::<Vec<_>>());
        }
        assert_ne!(epoch(0), epoch(1), "each epoch is shuffled anew");
        assert_eq!(
            plan,
            super::plan(&lengths, 3, 2, 2, 42, true, false),
            "seeded"
        );
        assert_ne!(plan, super::plan(&lengths, 3, 2, 2, 43, true, false));
    }

    #[test]
    fn without_shuffling_the_order_is_the_given_one() {
        let plan = plan(&[1, 2, 3], 1, 2, 1, 0, false, false);
        assert_eq!(plan.steps, vec![vec![vec![0, 1]], vec![vec![2]]]);
    }

    #[test]
    fn grouping_by_length_puts_similar_lengths_together() {
        let lengths: Vec<usize> = (0..8).map(|i| if i % 2 == 0 { 100 } else { 3 }).collect();
        let plan = plan(&lengths, 1, 2, 1, 7, true, true);
        for micro in plan.steps.iter().flatten() {
            assert_eq!(lengths[micro[0]], lengths[micro[1]], "{micro:?}");
        }
    }
}
