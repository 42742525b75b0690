//! Supervised fine-tuning on burn: the study's training recipe and its variations.
//!
//! - [`data`]: prompt/completion examples rendered through the chat template, tokenized with
//!   a completion-only loss mask, truncated, and planned into epochs, micro-batches and steps,
//!   stage by stage for a [`Curriculum`];
//! - [`schedule`]: warmup then cosine, linear or constant decay (transformers' formulas);
//! - [`optim`]: AdamW as PyTorch computes it, gradient accumulation, global-norm clipping;
//! - [`trainer`]: one optimizer step, with layer-by-layer recomputation and the vocabulary
//!   projection and loss in chunks;
//! - [`recipe`]: every knob, with the study's values as [`Recipe::study`];
//! - [`memory`]: what a run needs, estimated before it starts;
//! - [`checkpoint`]: resumable checkpoints (weights, moments, step, metrics);
//! - [`fine_tune`]: a whole run, resumed from the latest checkpoint, with progress
//!   ([`fine_tune_with_curriculum`] on a curriculum).

use std::fmt;

pub mod checkpoint;
pub mod data;
pub mod memory;
pub mod optim;
pub mod recipe;
mod run;
pub mod schedule;
pub mod trainer;

pub use data::{Curriculum, Example, Format, Pacing, Sequence};
pub use memory::{MemoryEstimate, estimate};
pub use recipe::{Precision, Recipe, RecipeError};
pub use run::{Checkpointing, Outcome, Progress, fine_tune, fine_tune_with_curriculum};
pub use schedule::{Decay, Schedule};
pub use trainer::{StepStats, Trainer};

/// Why fine-tuning could not run or finish.
#[derive(Debug)]
pub enum SftError {
    /// The recipe's values do not make sense.
    Recipe(RecipeError),
    /// The examples cannot be formatted or tokenized.
    Data(String),
    /// Loading or saving a model or checkpoint failed.
    Model(String),
    /// The run would not fit in memory.
    Memory(String),
    /// The observer asked to stop.
    Cancelled,
}

impl fmt::Display for SftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SftError::Recipe(error) => write!(f, "recipe: {error}"),
            SftError::Data(message) | SftError::Model(message) | SftError::Memory(message) => {
                f.write_str(message)
            }
            SftError::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for SftError {}

impl From<RecipeError> for SftError {
    fn from(error: RecipeError) -> Self {
        SftError::Recipe(error)
    }
}
