//! The toy world: the whole study in miniature, with nothing to download.
//!
//! - [`arithmetic`]: generated arithmetic items of varied structure;
//! - [`train`]: tiny Llama-family models over a character tokenizer, trained from scratch on
//!   those items with rung-sft's trainer;
//! - [`mod@population`]: many such models, snapshotted along training, whose greedy answers make a
//!   real response matrix for IRT.

use std::fmt;

pub mod arithmetic;
pub mod population;
pub mod train;

pub use arithmetic::{ItemsConfig, Operation, generate};
pub use population::{PopulationConfig, Status, Subject, answer, population};
pub use train::{TrainConfig, character_model, character_tokenizer, tiny_config};

/// Why the toy world could not be built as asked.
#[derive(Debug)]
pub enum ToyError {
    /// The settings do not make sense.
    Config(String),
    /// Building, training or running a model failed.
    Model(String),
    /// The observer asked to stop.
    Cancelled,
}

impl fmt::Display for ToyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToyError::Config(message) | ToyError::Model(message) => f.write_str(message),
            ToyError::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl std::error::Error for ToyError {}
