//! Language models for rung on burn: the Llama/Qwen2 decoder, its weights from Hugging Face
//! directories and GGUF files, tokenizers, chat templates, batched generation and scoring.
//!
//! A pure library: it knows nothing of the engine or the language. The stdlib's `sft` and
//! `evaluate` nodes call it.

pub mod chat;
pub mod gguf;
pub mod tokenizer;
