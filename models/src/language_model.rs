//! A model with its tokenizer and chat template, loaded from a Hugging Face directory or a GGUF
//! file: what evaluation and fine-tuning work with.

use std::fmt;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::tensor::DType;

use crate::chat::{ChatError, ChatTemplate, Message, SpecialTokens};
use crate::config::{Architecture, ModelConfig};
use crate::generate::{self, Completion, GenerateOptions};
use crate::gguf::GgufFile;
use crate::model::CausalLm;
use crate::score::{self, Loglikelihood, Request};
use crate::tokenizer::{Tokenizer, TokenizerError};
use crate::weights::{self, LoadError};

/// Why a model could not be loaded or used.
#[derive(Debug)]
pub enum ModelError {
    /// The weights or the config.
    Load(LoadError),
    /// The tokenizer.
    Tokenizer(TokenizerError),
    /// The chat template.
    Chat(ChatError),
    /// The model has no chat template but a chat prompt was asked for.
    NoChatTemplate(PathBuf),
    /// Generation or scoring was asked for something it cannot do.
    Inference(String),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Load(error) => write!(f, "{error}"),
            ModelError::Tokenizer(error) => write!(f, "{error}"),
            ModelError::Chat(error) => write!(f, "chat template: {error}"),
            ModelError::NoChatTemplate(path) => write!(
                f,
                "{}: the model has no chat template (tokenizer_config.json `chat_template` or \
                 GGUF `tokenizer.chat_template`)",
                path.display()
            ),
            ModelError::Inference(message) => write!(f, "{message}"),
        }
    }
}

impl std::error::Error for ModelError {}

impl From<LoadError> for ModelError {
    fn from(error: LoadError) -> Self {
        ModelError::Load(error)
    }
}

impl From<TokenizerError> for ModelError {
    fn from(error: TokenizerError) -> Self {
        ModelError::Tokenizer(error)
    }
}

impl From<ChatError> for ModelError {
    fn from(error: ChatError) -> Self {
        ModelError::Chat(error)
    }
}

/// A decoder, its tokenizer and its chat template (when it has one).
#[derive(Debug)]
pub struct LanguageModel<B: Backend> {
    /// The decoder's shape.
    pub config: ModelConfig,
    /// The decoder.
    pub model: CausalLm<B>,
    /// Its tokenizer.
    pub tokenizer: Tokenizer,
    /// Its chat template.
    pub chat_template: Option<ChatTemplate>,
    /// Where it was loaded from.
    pub source: PathBuf,
}

impl<B: Backend> LanguageModel<B> {
    /// Loads a Hugging Face model directory or a `.gguf` file, with weights in `dtype`.
    pub fn load(path: &Path, device: &B::Device, dtype: DType) -> Result<Self, ModelError> {
        if path.is_dir() {
            let (config, model) = weights::load_hf_dir(path, device, dtype)?;
            let tokenizer = Tokenizer::from_hf_dir(path)?;
            let chat_template =
                match ChatTemplate::from_tokenizer_config(path.join("tokenizer_config.json")) {
                    Ok(template) => Some(template),
                    Err(ChatError::MissingTemplate { .. } | ChatError::Read { .. }) => None,
                    Err(error) => return Err(error.into()),
                };
            return Ok(LanguageModel {
                config,
                model,
                tokenizer,
                chat_template,
                source: path.into(),
            });
        }
        let file = GgufFile::open(path).map_err(LoadError::Gguf)?;
        let (config, model) = weights::load_gguf(&file, device, dtype)?;
        let tokenizer = Tokenizer::from_gguf(&file)?;
        let chat_template = match file
            .opt_str("tokenizer.chat_template")
            .map_err(LoadError::Gguf)?
        {
            None => None,
            Some(source) => {
                let mut special = SpecialTokens::new();
                if let Some(bos) = tokenizer.bos_token() {
                    special.insert("bos_token", bos);
                }
                if let Some(eos) = tokenizer.eos_token() {
                    special.insert("eos_token", eos);
                }
                if let Some(pad) = tokenizer.pad_token() {
                    special.insert("pad_token", pad);
                }
                Some(ChatTemplate::new(source, special)?)
            }
        };
        Ok(LanguageModel {
            config,
            model,
            tokenizer,
            chat_template,
            source: path.into(),
        })
    }

    /// Wraps a decoder and a tokenizer that were built separately (a tiny model, a fine-tuned
    /// one still in memory).
    pub fn new(config: ModelConfig, model: CausalLm<B>, tokenizer: Tokenizer) -> Self {
        LanguageModel {
            config,
            model,
            tokenizer,
            chat_template: None,
            source: PathBuf::new(),
        }
    }

    /// Writes the model as a Hugging Face directory: `config.json`, `model.safetensors` (in the
    /// dtype the weights are held in), `tokenizer.json` and `tokenizer_config.json` with the chat
    /// template, so that transformers and [`LanguageModel::load`] read it back.
    pub fn save(&self, dir: &Path) -> Result<(), ModelError> {
        let io = |path: &Path, error: std::io::Error| {
            ModelError::Load(LoadError::File {
                path: path.display().to_string(),
                message: error.to_string(),
            })
        };
        if self.config.rope_freq_factors.is_some() {
            return Err(ModelError::Load(LoadError::Config(format!(
                "{}: the rotary frequencies carry per-frequency factors (GGUF `rope_freqs.weight`), \
                 which config.json cannot express; save the model from its Hugging Face directory",
                self.source.display()
            ))));
        }
        if self.config.architecture == Architecture::Llama
            && self.config.qkv_bias != self.config.o_bias
        {
            return Err(ModelError::Load(LoadError::Config(format!(
                "a Llama config.json has one `attention_bias` for the query, key, value and \
                 output projections, and this model has biases on {} of them; give it the \
                 Qwen2 architecture (biases on query, key and value only) to save it",
                if self.config.qkv_bias {
                    "query, key and value only"
                } else {
                    "the output only"
                }
            ))));
        }
        std::fs::create_dir_all(dir).map_err(|error| io(dir, error))?;
        let mut config = self.config.to_hf_json();
        config["torch_dtype"] = match self.model.dtype() {
            DType::BF16 => "bfloat16",
            DType::F16 => "float16",
            _ => "float32",
        }
        .into();
        let config_path = dir.join("config.json");
        std::fs::write(&config_path, format!("{config:#}\n"))
            .map_err(|error| io(&config_path, error))?;
        weights::save_safetensors(&self.model, &dir.join("model.safetensors"))?;
        self.tokenizer
            .save_hf(dir, self.chat_template.as_ref().map(ChatTemplate::source))?;
        Ok(())
    }

    /// The conversation rendered with the chat template, ending with the assistant's turn.
    pub fn chat_prompt(&self, messages: &[Message]) -> Result<String, ModelError> {
        let template = self
            .chat_template
            .as_ref()
            .ok_or_else(|| ModelError::NoChatTemplate(self.source.clone()))?;
        Ok(template.render(messages, true)?)
    }

    /// The tokens generation stops at: the tokenizer's end-of-sequence tokens and the config's.
    pub fn eos_token_ids(&self) -> Vec<u32> {
        let mut ids = self.tokenizer.eos_ids().to_vec();
        for id in &self.config.eos_token_ids {
            if !ids.contains(id) {
                ids.push(*id);
            }
        }
        ids
    }

    /// Greedy continuations of text prompts. `add_special_tokens` adds what the tokenizer adds
    /// to plain text (a BOS token for many models); leave it off for prompts rendered by the
    /// chat template, which carry their own. Without `eos_token_ids` in `options`, the model's
    /// are used.
    pub fn generate(
        &self,
        prompts: &[String],
        add_special_tokens: bool,
        options: &GenerateOptions,
    ) -> Result<Vec<Completion>, ModelError> {
        let encoded = self.tokenizer.encode_batch(prompts, add_special_tokens)?;
        let mut options = options.clone();
        if options.eos_token_ids.is_empty() {
            options.eos_token_ids = self.eos_token_ids();
        }
        generate::greedy(&self.model, Some(&self.tokenizer), &encoded, &options)
            .map_err(ModelError::Inference)
    }

    /// Log-likelihoods of text continuations after text contexts, tokenized as
    /// lm-evaluation-harness does: trailing whitespace of the context moves to the
    /// continuation, the continuation's tokens are those of context + continuation past the
    /// context's, and an empty context becomes the BOS (or EOS) token.
    pub fn loglikelihood(
        &self,
        pairs: &[(String, String)],
        batch_size: usize,
    ) -> Result<Vec<Loglikelihood>, ModelError> {
        let mut requests = Vec::with_capacity(pairs.len());
        for (context, continuation) in pairs {
            let trimmed = context.trim_end();
            let moved = &context[trimmed.len()..];
            let continuation = format!("{moved}{continuation}");
            let whole = self
                .tokenizer
                .encode(&format!("{trimmed}{continuation}"), false)?;
            let mut context_ids = self.tokenizer.encode(trimmed, false)?;
            let split = context_ids.len().min(whole.len());
            let continuation_ids = whole[split..].to_vec();
            if context_ids.is_empty() {
                let start = self
                    .tokenizer
                    .bos_id()
                    .or_else(|| self.eos_token_ids().first().copied());
                context_ids = start.into_iter().collect();
            }
            requests.push(Request {
                context: context_ids,
                continuation: continuation_ids,
            });
        }
        score::loglikelihood(
            &self.model,
            &requests,
            batch_size,
            self.config.max_position_embeddings,
        )
        .map_err(ModelError::Inference)
    }
}
