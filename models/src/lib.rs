//! Language models for rung on burn: the Llama/Qwen2 decoder, its weights from Hugging Face
//! directories and GGUF files, tokenizers, chat templates, batched generation and scoring.
//!
//! A pure library: it knows nothing of the engine or the language. The stdlib's `sft` and
//! `evaluate` nodes call it.

pub mod chat;
pub mod config;
pub mod generate;
pub mod gguf;
mod language_model;
pub mod model;
pub mod score;
pub mod tokenizer;
pub mod weights;

pub use config::{Architecture, ModelConfig};
pub use generate::{Completion, Finish, GenerateOptions};
pub use language_model::{LanguageModel, ModelError};
pub use model::{CausalLm, KvCache};
pub use score::{Loglikelihood, Request};
pub use weights::{
    HfParam, LoadError, WeightSource, hf_params, init_random, load_gguf, load_hf_dir,
    save_safetensors,
};
