//! A population of tiny models of varied width, depth and training length whose greedy answers
//! to toy items make a real response matrix.
//!
//! Each member is trained from scratch on its own seed; at every listed step it answers the
//! test items, and each of those snapshots is a subject of the matrix: early snapshots know
//! little, late ones of wide models know the most, and which items they get right is up to
//! what they learned.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use burn::tensor::backend::{AutodiffBackend, Backend};
use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use rung_items::{Extractor, Filter, FilterOp, Item, exact_match};
use rung_models::tokenizer::Tokenizer;
use rung_models::{GenerateOptions, LanguageModel};

use crate::ToyError;
use crate::train::{TrainConfig, character_model, character_tokenizer, prompt, tiny_config, train};

/// What population to train.
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationConfig {
    /// Members trained, each from scratch.
    pub members: usize,
    /// Hidden widths, cycled through by member.
    pub widths: Vec<usize>,
    /// Layer counts, cycled through once per round of widths.
    pub depths: Vec<usize>,
    /// Steps at which every member answers the items; each is a subject of its own.
    pub checkpoints: Vec<usize>,
    /// Share of the test items each member trains on (its own sample), when no training items
    /// are given.
    pub sample: f64,
    /// Items per training step.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Seed of the members' initialisation and data order.
    pub seed: u64,
}

impl PopulationConfig {
    /// The width and depth of member `k`: widths vary fastest, so that the first
    /// `widths.len() * depths.len()` members cover every combination.
    pub fn shape(&self, k: usize) -> (usize, usize) {
        let widths = self.widths.len().max(1);
        (
            self.widths[k % widths],
            self.depths[(k / widths) % self.depths.len().max(1)],
        )
    }

    fn check(&self) -> Result<(), ToyError> {
        let mut sorted = self.checkpoints.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if self.members == 0 || self.widths.is_empty() || self.depths.is_empty() {
            Err(ToyError::Config(
                "a population needs at least one member, width and depth".into(),
            ))
        } else if self.widths.iter().any(|&w| w < 16 || w % 16 != 0) {
            Err(ToyError::Config(format!(
                "widths must be multiples of 16 (heads of 16 dimensions), found {:?}",
                self.widths
            )))
        } else if !(self.sample > 0.0 && self.sample <= 1.0) {
            Err(ToyError::Config(format!(
                "`sample` must be in (0, 1], found {}",
                self.sample
            )))
        } else if self.depths.contains(&0) {
            Err(ToyError::Config("depths must be at least 1".into()))
        } else if sorted.is_empty() || sorted[0] == 0 || sorted != self.checkpoints {
            Err(ToyError::Config(format!(
                "`steps` must list increasing step counts of at least 1, found {:?}",
                self.checkpoints
            )))
        } else {
            Ok(())
        }
    }
}

/// One subject of the response matrix: a member at one point of its training.
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    /// `m<k>-h<width>-l<depth>-s<step>`.
    pub name: String,
    /// Whether each test item was answered correctly, in the order given.
    pub correct: Vec<bool>,
}

/// What the population is doing, for progress displays.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Status {
    /// Training steps done over all members.
    pub done: usize,
    /// Training steps of the whole population.
    pub total: usize,
    /// The member training now.
    pub member: usize,
    /// Its latest loss.
    pub loss: f64,
}

/// Trains the population and records every snapshot's answers to `test_items`. Member `k`
/// trains on `train_items`, or, when there are none, on its own sample of `config.sample` of
/// the test items. Members train `threads` at a time. `observer` sees each step and may stop
/// the run ([`ToyError::Cancelled`]).
pub fn population<B: AutodiffBackend>(
    train_items: &[Item],
    test_items: &[Item],
    config: &PopulationConfig,
    device: &burn::tensor::Device<B::InnerBackend>,
    threads: usize,
    observer: &(dyn Fn(Status) -> ControlFlow<()> + Sync),
) -> Result<Vec<Subject>, ToyError> {
    config.check()?;
    let tokenizer = character_tokenizer()?;
    let last = *config.checkpoints.last().unwrap_or(&0);
    let total = last * config.members;
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<MemberOutcome>> = Mutex::new(Vec::new());
    let work = || {
        loop {
            let k = next.fetch_add(1, Ordering::SeqCst);
            if k >= config.members || stop.load(Ordering::SeqCst) {
                return;
            }
            let mut on_step = |loss: f64| {
                let status = Status {
                    done: done.fetch_add(1, Ordering::SeqCst) + 1,
                    total,
                    member: k,
                    loss,
                };
                stop.load(Ordering::SeqCst) || observer(status).is_break()
            };
            let outcome = member::<B>(
                k,
                train_items,
                test_items,
                config,
                &tokenizer,
                device,
                &mut on_step,
            );
            if outcome.is_err() {
                stop.store(true, Ordering::SeqCst);
            }
            results
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((k, outcome));
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads.clamp(1, config.members) {
            scope.spawn(work);
        }
        work();
    });
    let mut results = results.into_inner().unwrap_or_else(PoisonError::into_inner);
    results.sort_by_key(|(k, _)| *k);
    let mut subjects = Vec::with_capacity(config.members * config.checkpoints.len());
    for (_, outcome) in results {
        subjects.extend(outcome?);
    }
    if subjects.len() < config.members * config.checkpoints.len() {
        return Err(ToyError::Cancelled);
    }
    Ok(subjects)
}

/// A member's number and its snapshots' answers, or why it stopped.
type MemberOutcome = (usize, Result<Vec<Subject>, ToyError>);

/// Trains member `k` and returns its snapshots' answers; `on_step` sees each step's loss and
/// returns whether to stop.
fn member<B: AutodiffBackend>(
    k: usize,
    train_items: &[Item],
    test_items: &[Item],
    config: &PopulationConfig,
    tokenizer: &Tokenizer,
    device: &burn::tensor::Device<B::InnerBackend>,
    on_step: &mut dyn FnMut(f64) -> bool,
) -> Result<Vec<Subject>, ToyError> {
    let (hidden, layers) = config.shape(k);
    let seed = config.seed.wrapping_mul(1_000).wrapping_add(k as u64);
    let sample: Vec<Item>;
    let train_on = if train_items.is_empty() {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let count = ((test_items.len() as f64 * config.sample).round() as usize).max(1);
        sample = test_items
            .choose_multiple(&mut rng, count.min(test_items.len()))
            .cloned()
            .collect();
        &sample[..]
    } else {
        train_items
    };
    let shape = tiny_config(tokenizer, hidden, layers);
    let model = character_model::<B::InnerBackend>(shape, tokenizer.clone(), seed, device)?;
    let train_config = TrainConfig {
        steps: *config.checkpoints.last().unwrap_or(&0),
        batch_size: config.batch_size,
        lr: config.lr,
        seed,
    };
    let mut subjects = Vec::with_capacity(config.checkpoints.len());
    let mut after_step = |step: usize,
                          _total: usize,
                          loss: f64,
                          model: &LanguageModel<B::InnerBackend>|
     -> Result<ControlFlow<()>, ToyError> {
        if on_step(loss) {
            return Err(ToyError::Cancelled);
        }
        if config.checkpoints.contains(&step) {
            subjects.push(Subject {
                name: format!("m{k}-h{hidden}-l{layers}-s{step}"),
                correct: answer(model, test_items)?,
            });
        }
        Ok(ControlFlow::Continue(()))
    };
    train::<B>(model, train_on, &train_config, &mut after_step)?;
    Ok(subjects)
}

/// Whether `model` answers each item correctly: greedy decoding after `<prompt>=`, the first
/// number of the output compared with the target (as the quickstart's evaluation task does).
pub fn answer<B: Backend>(model: &LanguageModel<B>, items: &[Item]) -> Result<Vec<bool>, ToyError> {
    let longest = items
        .iter()
        .filter_map(|item| item.target.as_ref().map(String::len))
        .max()
        .unwrap_or(0);
    let options = GenerateOptions {
        max_new_tokens: longest + 2,
        eos_token_ids: Vec::new(),
        stop: vec!["\n".into()],
        batch_size: 512,
    };
    let extractor = Extractor::new(&[Filter::new(FilterOp::Number)], &[])
        .map_err(|e| ToyError::Config(e.to_string()))?;
    let prompts: Vec<String> = items.iter().map(prompt).collect();
    let outputs = model
        .generate(&prompts, false, &options)
        .map_err(|e| ToyError::Model(e.to_string()))?;
    Ok(items
        .iter()
        .zip(outputs)
        .map(|(item, output)| {
            let reference = item.target.as_deref().unwrap_or_default();
            exact_match(&extractor.extract(&output.text), reference, false, false)
        })
        .collect())
}
