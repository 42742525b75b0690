//! A whole fine-tuning run: tokenize, plan the steps, resume from the latest checkpoint, train
//! with progress and per-step metrics, checkpoint along the way.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;
use rung_models::LanguageModel;
use serde_json::json;

use crate::SftError;
use crate::checkpoint::{self, CheckpointState};
use crate::data::{self, Curriculum, Example, Format, FormatReport, Sequence};
use crate::recipe::Recipe;
use crate::schedule::Schedule;
use crate::trainer::{StepStats, Trainer};

/// Where a run keeps its checkpoints, and how often it writes one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkpointing {
    /// The folder of resumable checkpoints (none = no checkpoints, no resume).
    pub dir: Option<PathBuf>,
    /// Write one every this many optimizer steps (none = only when the run is cancelled).
    pub every: Option<usize>,
}

/// Where a run stands after a step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    /// What the step did.
    pub stats: StepStats,
    /// Steps in the whole run.
    pub total_steps: usize,
    /// The epoch of the step, from 0.
    pub epoch: usize,
    /// The curriculum stage of the step, from 0 (none without a curriculum).
    pub stage: Option<usize>,
    /// Tokens per second over this process's steps so far.
    pub tokens_per_second: f64,
    /// Estimated seconds until the end.
    pub eta_seconds: f64,
}

/// What a finished run produced.
pub struct Outcome<B: AutodiffBackend> {
    /// The fine-tuned model (f32 weights), with the tokenizer and chat template it started with.
    pub model: LanguageModel<B::InnerBackend>,
    /// What tokenizing the examples had to do.
    pub report: FormatReport,
    /// One JSON object per optimizer step: step, epoch, loss, lr, grad_norm, tokens, targets,
    /// tokens_per_second, elapsed_seconds, and with a curriculum its stage.
    pub metrics: Vec<serde_json::Value>,
    /// The step the run resumed from (0 when it started afresh).
    pub resumed_from: usize,
}

/// Fine-tunes `model` on `examples` with `recipe`. `observer` sees every step and may stop the
/// run (which then checkpoints, when checkpointing is on, and returns
/// [`SftError::Cancelled`]).
pub fn fine_tune<B: AutodiffBackend>(
    model: LanguageModel<B::InnerBackend>,
    examples: &[Example],
    format: &Format,
    recipe: &Recipe,
    checkpointing: &Checkpointing,
    observer: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Outcome<B>, SftError> {
    fine_tune_with_curriculum(
        model,
        examples,
        None,
        format,
        recipe,
        checkpointing,
        observer,
    )
}

/// [`fine_tune`], on a curriculum when one is given: the steps then visit its stages in order
/// (see [`data::plan_curriculum`]), its `stage_of` in the order of `examples`. The learning-rate
/// schedule spans the whole run, every stage included.
pub fn fine_tune_with_curriculum<B: AutodiffBackend>(
    model: LanguageModel<B::InnerBackend>,
    examples: &[Example],
    curriculum: Option<&Curriculum>,
    format: &Format,
    recipe: &Recipe,
    checkpointing: &Checkpointing,
    observer: &mut dyn FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Outcome<B>, SftError> {
    recipe.validate()?;
    if let Some(curriculum) = curriculum {
        curriculum.check(examples.len())?;
    }
    if examples.is_empty() {
        return Err(SftError::Data("there are no training examples".into()));
    }
    let (sequences, report) = data::tokenize(&model, examples, format)?;
    let vocab = model.model.vocab_size();
    if let Some(id) = sequences
        .iter()
        .flat_map(|s| &s.ids)
        .find(|&&id| id as usize >= vocab)
    {
        return Err(SftError::Data(format!(
            "the tokenizer produced token {id}, but {} has only {vocab} embeddings",
            model.source.display()
        )));
    }
    let lengths: Vec<usize> = sequences.iter().map(|s| s.ids.len()).collect();
    let plan = match curriculum {
        Some(curriculum) => data::plan_curriculum(&lengths, curriculum, recipe)?,
        None => data::plan(
            &lengths,
            recipe.epochs,
            recipe.micro_batch,
            recipe.grad_accum,
            recipe.seed,
            recipe.shuffle,
            recipe.group_by_length,
        ),
    };
    let total_steps = plan.steps.len();
    let schedule = Schedule {
        peak: recipe.lr,
        warmup_steps: Schedule::warmup_for(total_steps, recipe.warmup_ratio),
        total_steps,
        decay: recipe.decay,
        min_ratio: recipe.min_lr_ratio,
    };
    let pad_id = model
        .tokenizer
        .pad_id()
        .or_else(|| model.tokenizer.eos_ids().first().copied())
        .unwrap_or(0);
    let fingerprint = fingerprint(recipe, format, curriculum, &sequences);
    let LanguageModel {
        config,
        model: weights,
        tokenizer,
        chat_template,
        source,
    } = model;
    let device = weights.device();
    let mut trainer = Trainer::<B>::new(weights, recipe.clone(), schedule, pad_id);
    let mut metrics = Vec::new();
    let mut resumed_from = 0;
    if let Some(folder) = checkpointing.dir.as_deref().and_then(checkpoint::latest) {
        let restored = checkpoint::load::<B::InnerBackend>(&folder, &device)?;
        if restored.state.fingerprint == fingerprint && restored.state.total_steps == total_steps {
            trainer = Trainer::new(restored.model, recipe.clone(), schedule, pad_id);
            trainer
                .optimizer_mut()
                .restore(restored.state.step, restored.moments);
            resumed_from = restored.state.step;
            metrics = restored.state.metrics;
        }
    }

    let started = Instant::now();
    let mut tokens_here = 0usize;
    let base_elapsed = metrics
        .last()
        .and_then(|m: &serde_json::Value| m["elapsed_seconds"].as_f64())
        .unwrap_or(0.0);
    for (index, micro_batches) in plan.steps.iter().enumerate().skip(resumed_from) {
        let stats = trainer.step(&sequences, micro_batches);
        tokens_here += stats.tokens;
        let seconds = started.elapsed().as_secs_f64();
        let per_step = seconds / (index + 1 - resumed_from) as f64;
        let tokens_per_second = tokens_here as f64 / seconds.max(1e-9);
        let progress = Progress {
            stats,
            total_steps,
            epoch: plan.epochs[index],
            stage: plan.stages.get(index).copied(),
            tokens_per_second,
            eta_seconds: per_step * (total_steps - index - 1) as f64,
        };
        let mut line = json!({
            "step": stats.step,
            "epoch": progress.epoch,
            "loss": stats.loss,
            "lr": stats.lr,
            "grad_norm": stats.grad_norm,
            "tokens": stats.tokens,
            "targets": stats.targets,
            "tokens_per_second": tokens_per_second,
            "elapsed_seconds": base_elapsed + seconds,
        });
        if let Some(stage) = progress.stage {
            line["stage"] = json!(stage);
        }
        metrics.push(line);
        let stop = observer(&progress).is_break();
        let due = checkpointing
            .every
            .is_some_and(|every| stats.step.is_multiple_of(every) && stats.step < total_steps);
        if let Some(dir) = &checkpointing.dir
            && (due || stop)
        {
            let state = CheckpointState {
                step: stats.step,
                total_steps,
                fingerprint: fingerprint.clone(),
                metrics: metrics.clone(),
            };
            checkpoint::save(
                dir,
                &config,
                trainer.model(),
                trainer.optimizer().moments(),
                &state,
            )?;
        }
        if stop {
            return Err(SftError::Cancelled);
        }
    }
    let model = LanguageModel {
        config,
        model: trainer.model().clone(),
        tokenizer,
        chat_template,
        source,
    };
    Ok(Outcome {
        model,
        report,
        metrics,
        resumed_from,
    })
}

/// A digest of what decides a run's trajectory: the recipe, the format, the curriculum and
/// every token.
fn fingerprint(
    recipe: &Recipe,
    format: &Format,
    curriculum: Option<&Curriculum>,
    sequences: &[Sequence],
) -> String {
    // FNV-1a, 64 bits: stable across builds, enough to tell runs apart.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    feed(format!("{recipe:?}{format:?}").as_bytes());
    if let Some(curriculum) = curriculum {
        feed(format!("{curriculum:?}").as_bytes());
    }
    for sequence in sequences {
        for (&id, &mask) in sequence.ids.iter().zip(&sequence.loss_mask) {
            feed(&id.to_le_bytes());
            feed(&[u8::from(mask)]);
        }
        feed(b";");
    }
    format!("{hash:016x}")
}
