//! Tiny character-level models, and training one from scratch on toy items.
//!
//! Training goes through rung-sft's [`Trainer`] (AdamW, clipping, completion-only loss) with
//! items rendered as plain text, `<prompt>=` followed by the answer and the end-of-sequence
//! token, the answer alone being the target of the loss.

use std::ops::ControlFlow;

use burn::tensor::backend::{AutodiffBackend, Backend};
use rung_items::Item;
use rung_models::chat::{ChatTemplate, SpecialTokens};
use rung_models::tokenizer::Tokenizer;
use rung_models::tokenizer::characters::{CHATML, IM_END};
use rung_models::{LanguageModel, ModelConfig, init_random};
use rung_sft::data::{self, Example, Format};
use rung_sft::optim::AdamWConfig;
use rung_sft::{Decay, Precision, Recipe, Schedule, Trainer};

use crate::ToyError;

/// The characters tiny models read: printable ASCII and the line break.
pub fn alphabet() -> String {
    (' '..='~').chain(std::iter::once('\n')).collect()
}

/// The character tokenizer of tiny models.
pub fn character_tokenizer() -> Result<Tokenizer, ToyError> {
    Tokenizer::characters(&alphabet()).map_err(|e| ToyError::Model(e.to_string()))
}

/// A tiny model of shape `config` with random weights from `seed`, the character tokenizer
/// and the ChatML chat template. `config.vocab_size` must be the tokenizer's.
pub fn character_model<B: Backend>(
    config: ModelConfig,
    tokenizer: Tokenizer,
    seed: u64,
    device: &B::Device,
) -> Result<LanguageModel<B>, ToyError> {
    let weights = init_random::<B>(&config, seed, device);
    let mut model = LanguageModel::new(config, weights, tokenizer);
    let special = SpecialTokens::new().with("eos_token", IM_END);
    model.chat_template =
        Some(ChatTemplate::new(CHATML, special).map_err(|e| ToyError::Model(e.to_string()))?);
    Ok(model)
}

/// The shape of a tiny Llama-family model over the character tokenizer.
pub fn tiny_config(tokenizer: &Tokenizer, hidden: usize, layers: usize) -> ModelConfig {
    let heads = (hidden / 16).max(1);
    let mut config = ModelConfig::tiny(tokenizer.vocab_size(), hidden, layers, heads);
    config.intermediate_size = (hidden * 8).div_ceil(3).div_ceil(8) * 8;
    config.max_position_embeddings = 128;
    config.eos_token_ids = tokenizer.eos_ids().to_vec();
    config
}

/// How a tiny model is trained from scratch.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Optimizer steps.
    pub steps: usize,
    /// Items per step.
    pub batch_size: usize,
    /// Peak learning rate (5% warmup, cosine decay to a tenth).
    pub lr: f64,
    /// Seed of the data order.
    pub seed: u64,
}

/// The prompt a toy item is asked with: the expression and `=`.
pub fn prompt(item: &Item) -> String {
    format!("{}=", item.prompt)
}

/// What [`train`] calls after every step: with the step number (from 1), the total, the loss
/// and the weights so far.
pub type AfterStep<'a, B> =
    dyn FnMut(usize, usize, f64, &LanguageModel<B>) -> Result<ControlFlow<()>, ToyError> + 'a;

/// Trains `model` on `items` (each needs a target). After every step, `after_step` sees the
/// step number (from 1), the total and the loss, and the weights so far; an error it returns
/// stops training and is returned.
pub fn train<B: AutodiffBackend>(
    model: LanguageModel<B::InnerBackend>,
    items: &[Item],
    config: &TrainConfig,
    after_step: &mut AfterStep<'_, B::InnerBackend>,
) -> Result<LanguageModel<B::InnerBackend>, ToyError> {
    if items.is_empty() || config.steps == 0 || config.batch_size == 0 {
        return Err(ToyError::Config(
            "training needs items, at least one step and a batch of at least one".into(),
        ));
    }
    let examples = items
        .iter()
        .map(|item| {
            let target = item.target.clone().ok_or_else(|| {
                ToyError::Config(format!("item `{}` has no target to train on", item.id))
            })?;
            Ok(Example {
                prompt: prompt(item),
                completion: target,
            })
        })
        .collect::<Result<Vec<_>, ToyError>>()?;
    let format = Format {
        chat_template: false,
        system_prompt: None,
        completion_only: true,
        max_length: model.config.max_position_embeddings,
    };
    let (sequences, _) =
        data::tokenize(&model, &examples, &format).map_err(|e| ToyError::Model(e.to_string()))?;
    let lengths: Vec<usize> = sequences.iter().map(|s| s.ids.len()).collect();
    let epochs = (config.steps * config.batch_size).div_ceil(items.len());
    let recipe = recipe(config, epochs);
    let plan = data::plan(
        &lengths,
        epochs,
        recipe.micro_batch,
        1,
        config.seed,
        true,
        false,
    );
    let schedule = Schedule {
        peak: config.lr,
        warmup_steps: Schedule::warmup_for(config.steps, recipe.warmup_ratio),
        total_steps: config.steps,
        decay: recipe.decay,
        min_ratio: recipe.min_lr_ratio,
    };
    let pad_id = model.tokenizer.pad_id().unwrap_or(0);
    let LanguageModel {
        config: shape,
        model: weights,
        tokenizer,
        chat_template,
        source,
    } = model;
    let mut trainer = Trainer::<B>::new(weights, recipe, schedule, pad_id);
    let mut current = LanguageModel {
        config: shape,
        model: trainer.model().clone(),
        tokenizer,
        chat_template,
        source,
    };
    for micro_batches in plan.steps.iter().take(config.steps) {
        let stats = trainer.step(&sequences, micro_batches);
        current.model = trainer.model().clone();
        if after_step(stats.step, config.steps, stats.loss, &current)?.is_break() {
            break;
        }
    }
    Ok(current)
}

/// The recipe of training from scratch: AdamW (0.9, 0.99), light weight decay, clipping at 1.
fn recipe(config: &TrainConfig, epochs: usize) -> Recipe {
    Recipe {
        epochs,
        lr: config.lr,
        decay: Decay::Cosine,
        warmup_ratio: 0.05,
        min_lr_ratio: 0.1,
        adamw: AdamWConfig {
            beta1: 0.9,
            beta2: 0.99,
            eps: 1e-8,
            weight_decay: 0.01,
        },
        max_grad_norm: 1.0,
        micro_batch: config.batch_size,
        grad_accum: 1,
        max_length: 128,
        seed: config.seed,
        shuffle: true,
        group_by_length: false,
        precision: Precision::F32,
        recompute: false,
        loss_chunk: 1 << 16,
    }
}
