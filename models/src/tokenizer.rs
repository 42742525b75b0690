//! Tokenizers: Hugging Face `tokenizer.json` through the `tokenizers` crate, or byte-level BPE
//! built from a GGUF file's embedded vocabulary and merges.
//!
//! [`Tokenizer`] wraps a `tokenizers::Tokenizer` with what generation and chat formatting need
//! besides: the special tokens (BOS, the EOS ids, pad) and their text, whether encoding adds
//! BOS, and the vocabulary size.
//!
//! - [`Tokenizer::from_hf_dir`]: `tokenizer.json` as Hugging Face wrote it, with the special
//!   tokens from `tokenizer_config.json`, `config.json` and `generation_config.json`.
//! - [`Tokenizer::from_gguf`]: the byte-level BPE a GGUF file describes (`tokenizer.ggml.*`),
//!   split the way the model's own tokenizer splits (see `from_gguf.rs`), so that a GGUF model
//!   is usable without its Hugging Face repository.
//! - [`Tokenizer::characters`]: one token per character, with ChatML markup, for tiny models.

pub mod characters;
mod from_gguf;

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::gguf::{GgufError, GgufFile};

/// A tokenizer with its special tokens.
#[derive(Clone)]
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    bos: Option<Special>,
    eos: Option<Special>,
    eos_ids: Vec<u32>,
    pad: Option<Special>,
    adds_bos: bool,
    vocab_size: usize,
}

/// A special token: its id and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Special {
    id: u32,
    text: String,
}

impl Tokenizer {
    /// Loads a Hugging Face tokenizer directory.
    ///
    /// - `tokenizer.json` (required) is the whole pipeline; its post-processor decides what
    ///   encoding with special tokens adds. Like transformers 5, the `add_bos_token` and
    ///   `add_eos_token` flags of `tokenizer_config.json` do not change it when a
    ///   `tokenizer.json` exists; [`Tokenizer::adds_bos`] reports what the post-processor does.
    /// - `tokenizer_config.json` (optional): `bos_token`, `eos_token` and `pad_token`, each a
    ///   string, an `{"content": ...}` object or null.
    /// - `config.json` and `generation_config.json` (optional): `eos_token_id` (an int or a list)
    ///   adds to the EOS ids; `bos_token_id` and `pad_token_id` are used when
    ///   `tokenizer_config.json` names no such token.
    pub fn from_hf_dir(dir: &Path) -> Result<Self, TokenizerError> {
        let tokenizer_path = dir.join("tokenizer.json");
        let text =
            std::fs::read_to_string(&tokenizer_path).map_err(|source| TokenizerError::Io {
                path: tokenizer_path.clone(),
                source,
            })?;
        let inner: tokenizers::Tokenizer = text.parse().map_err(|error| TokenizerError::Parse {
            path: tokenizer_path.clone(),
            message: format!("{error}"),
        })?;

        let config_path = dir.join("tokenizer_config.json");
        let tokenizer_config = read_optional_json(&config_path)?;
        let model_configs = [dir.join("config.json"), dir.join("generation_config.json")]
            .into_iter()
            .map(|path| Ok(read_optional_json(&path)?.map(|json| (path, json))))
            .collect::<Result<Vec<_>, TokenizerError>>()?
            .into_iter()
            .flatten()
            .collect::<Vec<_>>();

        let named = |key: &str| -> Result<Option<Special>, TokenizerError> {
            let Some(config) = &tokenizer_config else {
                return Ok(None);
            };
            let Some(text) = special_token_text(config, key, &config_path)? else {
                return Ok(None);
            };
            let id = inner
                .token_to_id(&text)
                .ok_or_else(|| TokenizerError::Invalid {
                    path: config_path.clone(),
                    message: format!(
                        "`{key}` is `{text}`, which is not in tokenizer.json's vocabulary"
                    ),
                })?;
            Ok(Some(Special { id, text }))
        };
        let by_id = |key: &str| -> Result<Option<Special>, TokenizerError> {
            for (path, json) in &model_configs {
                if let Some(&id) = token_ids(json, key, path)?.first() {
                    return special_by_id(&inner, id, key, path).map(Some);
                }
            }
            Ok(None)
        };

        let bos = match named("bos_token")? {
            Some(bos) => Some(bos),
            None => by_id("bos_token_id")?,
        };
        let pad = match named("pad_token")? {
            Some(pad) => Some(pad),
            None => by_id("pad_token_id")?,
        };
        let mut eos = named("eos_token")?;
        let mut eos_ids: Vec<u32> = eos.iter().map(|eos| eos.id).collect();
        for (path, json) in &model_configs {
            for id in token_ids(json, "eos_token_id", path)? {
                let special = special_by_id(&inner, id, "eos_token_id", path)?;
                if !eos_ids.contains(&id) {
                    eos_ids.push(id);
                }
                eos.get_or_insert(special);
            }
        }

        // What the post-processor adds: compare an encoding with and without special tokens.
        let adds_bos = match &bos {
            Some(bos) => {
                let with = encode_ids(&inner, "a", true)?;
                let without = encode_ids(&inner, "a", false)?;
                with.first() == Some(&bos.id) && without.first() != Some(&bos.id)
            }
            None => false,
        };
        Ok(Self::new(inner, bos, eos, eos_ids, pad, adds_bos))
    }

    /// Builds the byte-level BPE tokenizer a GGUF file describes: `tokenizer.ggml.model` must be
    /// `gpt2`. The vocabulary (`tokens`) and `merges` make the BPE; CONTROL tokens (type 3) become
    /// special tokens and USER_DEFINED ones (type 4) added tokens, so both are matched whole in
    /// text; `tokenizer.ggml.pre` chooses how text is split before BPE (`smollm`, `starcoder`,
    /// `llama-bpe` and its aliases, `qwen2`, `deepseek-r1-qwen`, `gpt2` and `default`);
    /// `bos_token_id`, `eos_token_id`, `padding_token_id`, `add_bos_token` and `add_eos_token`
    /// give the special tokens and what encoding adds. The EOS ids are `eos_token_id` followed by
    /// `eot_token_id` and `eom_token_id` when present: llama.cpp stops generation at all three.
    pub fn from_gguf(file: &GgufFile) -> Result<Self, TokenizerError> {
        from_gguf::build(file)
    }

    /// A character-level tokenizer over `alphabet` with ChatML markup (see
    /// [`characters`]): ids 0-3 are `<pad>`, `<|im_start|>`, `<|im_end|>` (the EOS) and
    /// `<unk>`, then each distinct character of `alphabet` in order.
    pub fn characters(alphabet: &str) -> Result<Self, TokenizerError> {
        characters::build(alphabet)
    }

    fn new(
        inner: tokenizers::Tokenizer,
        bos: Option<Special>,
        eos: Option<Special>,
        eos_ids: Vec<u32>,
        pad: Option<Special>,
        adds_bos: bool,
    ) -> Self {
        // The largest id + 1: added tokens may lie past the model's vocabulary.
        let vocab_size = inner
            .get_vocab(true)
            .values()
            .max()
            .map_or(0, |&max| max as usize + 1);
        Self {
            inner,
            bos,
            eos,
            eos_ids,
            pad,
            adds_bos,
            vocab_size,
        }
    }

    /// The ids of `text`. With `add_special_tokens`, what the tokenizer adds around it (BOS, for
    /// instance); special tokens written in `text` are matched either way.
    pub fn encode(&self, text: &str, add_special_tokens: bool) -> Result<Vec<u32>, TokenizerError> {
        encode_ids(&self.inner, text, add_special_tokens)
    }

    /// [`Tokenizer::encode`] for many texts, in parallel.
    pub fn encode_batch<S: AsRef<str>>(
        &self,
        texts: &[S],
        add_special_tokens: bool,
    ) -> Result<Vec<Vec<u32>>, TokenizerError> {
        let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        let encodings = self
            .inner
            .encode_batch(inputs, add_special_tokens)
            .map_err(|error| TokenizerError::Encode {
                message: format!("{error}"),
            })?;
        Ok(encodings
            .into_iter()
            .map(|encoding| encoding.get_ids().to_vec())
            .collect())
    }

    /// The text of `ids`; special tokens left out with `skip_special_tokens`. Ids outside the
    /// vocabulary are skipped, as Hugging Face does (a model's embedding may have more rows than
    /// the tokenizer has tokens).
    pub fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String, TokenizerError> {
        self.inner
            .decode(ids, skip_special_tokens)
            .map_err(|error| TokenizerError::Decode {
                message: format!("{error}"),
            })
    }

    /// The id of a token, as the vocabulary spells it (`Ġthe` for " the" in byte-level BPE).
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The token of an id, as the vocabulary spells it.
    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The BOS (beginning of sequence) token's id, if the tokenizer has one.
    pub fn bos_id(&self) -> Option<u32> {
        self.bos.as_ref().map(|bos| bos.id)
    }

    /// The BOS token's text, e.g. `<|begin_of_text|>` (a chat template's `bos_token`).
    pub fn bos_token(&self) -> Option<&str> {
        self.bos.as_ref().map(|bos| bos.text.as_str())
    }

    /// Whether [`Tokenizer::encode`] with special tokens starts with BOS.
    pub fn adds_bos(&self) -> bool {
        self.adds_bos
    }

    /// The ids that end generation: the EOS token's first, then any others the model's
    /// configuration names. Empty when there are none.
    pub fn eos_ids(&self) -> &[u32] {
        &self.eos_ids
    }

    /// The EOS token's text, e.g. `<|im_end|>` (a chat template's `eos_token`).
    pub fn eos_token(&self) -> Option<&str> {
        self.eos.as_ref().map(|eos| eos.text.as_str())
    }

    /// The padding token's id, if any.
    pub fn pad_id(&self) -> Option<u32> {
        self.pad.as_ref().map(|pad| pad.id)
    }

    /// The padding token's text, if any.
    pub fn pad_token(&self) -> Option<&str> {
        self.pad.as_ref().map(|pad| pad.text.as_str())
    }

    /// The number of ids: one more than the largest, added tokens included.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }
}

impl Tokenizer {
    /// Writes the tokenizer as a Hugging Face directory reads it: `tokenizer.json` (the whole
    /// pipeline) and `tokenizer_config.json` (the special tokens, and `chat_template` when
    /// given), so that [`Tokenizer::from_hf_dir`] and transformers load it back.
    pub fn save_hf(&self, dir: &Path, chat_template: Option<&str>) -> Result<(), TokenizerError> {
        let tokenizer_path = dir.join("tokenizer.json");
        self.inner
            .save(&tokenizer_path, false)
            .map_err(|error| TokenizerError::Invalid {
                path: tokenizer_path,
                message: format!("cannot write it: {error}"),
            })?;
        let mut config = serde_json::json!({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "add_bos_token": self.adds_bos,
            "bos_token": self.bos.as_ref().map(|s| s.text.clone()),
            "eos_token": self.eos.as_ref().map(|s| s.text.clone()),
            "pad_token": self.pad.as_ref().map(|s| s.text.clone()),
        });
        if let Some(template) = chat_template {
            config["chat_template"] = template.into();
        }
        let config_path = dir.join("tokenizer_config.json");
        let text =
            serde_json::to_string_pretty(&config).map_err(|error| TokenizerError::Invalid {
                path: config_path.clone(),
                message: error.to_string(),
            })?;
        std::fs::write(&config_path, text).map_err(|source| TokenizerError::Io {
            path: config_path,
            source,
        })
    }
}

impl fmt::Debug for Tokenizer {
    /// The special tokens and sizes; not the vocabulary.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.vocab_size)
            .field("bos", &self.bos)
            .field("adds_bos", &self.adds_bos)
            .field("eos", &self.eos)
            .field("eos_ids", &self.eos_ids)
            .field("pad", &self.pad)
            .finish_non_exhaustive()
    }
}

fn encode_ids(
    inner: &tokenizers::Tokenizer,
    text: &str,
    add_special_tokens: bool,
) -> Result<Vec<u32>, TokenizerError> {
    inner
        .encode(text, add_special_tokens)
        .map(|encoding| encoding.get_ids().to_vec())
        .map_err(|error| TokenizerError::Encode {
            message: format!("{error}"),
        })
}

/// A JSON file that may be absent.
fn read_optional_json(path: &Path) -> Result<Option<Value>, TokenizerError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(TokenizerError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|error| TokenizerError::Parse {
            path: path.to_path_buf(),
            message: error.to_string(),
        })
}

/// A special token's text in tokenizer_config.json: a string, an object with a `content` string
/// (an `AddedToken`), or null or absent.
fn special_token_text(
    config: &Value,
    key: &str,
    path: &Path,
) -> Result<Option<String>, TokenizerError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(Value::Object(object)) => match object.get("content") {
            Some(Value::String(text)) => Ok(Some(text.clone())),
            _ => Err(TokenizerError::Invalid {
                path: path.to_path_buf(),
                message: format!("`{key}` is an object without a `content` string"),
            }),
        },
        Some(other) => Err(TokenizerError::Invalid {
            path: path.to_path_buf(),
            message: format!(
                "`{key}` is {other}, expected a string or an object with a `content` string"
            ),
        }),
    }
}

/// Token ids in config.json or generation_config.json: an int, a list of ints, or null or
/// absent.
fn token_ids(json: &Value, key: &str, path: &Path) -> Result<Vec<u32>, TokenizerError> {
    let invalid = |value: &Value| TokenizerError::Invalid {
        path: path.to_path_buf(),
        message: format!("`{key}` is {value}, expected a token id or a list of token ids"),
    };
    let id = |value: &Value| {
        value
            .as_u64()
            .and_then(|id| u32::try_from(id).ok())
            .ok_or_else(|| invalid(value))
    };
    match json.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(values)) => values.iter().map(id).collect(),
        Some(value) => Ok(vec![id(value)?]),
    }
}

fn special_by_id(
    inner: &tokenizers::Tokenizer,
    id: u32,
    key: &str,
    path: &Path,
) -> Result<Special, TokenizerError> {
    let text = inner
        .id_to_token(id)
        .ok_or_else(|| TokenizerError::Invalid {
            path: path.to_path_buf(),
            message: format!("`{key}` names id {id}, which is not in tokenizer.json's vocabulary"),
        })?;
    Ok(Special { id, text })
}

/// An error building or using a [`Tokenizer`]. Errors about a file name it.
#[derive(Debug)]
#[non_exhaustive]
pub enum TokenizerError {
    /// A file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not valid JSON, or not a tokenizer `tokenizers` can load.
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A file holds a value of the wrong form, or one that contradicts another.
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A GGUF metadata value is missing or of the wrong type.
    Gguf(GgufError),
    /// A GGUF file's tokenizer is not byte-level BPE.
    UnsupportedModel {
        /// The GGUF file.
        path: PathBuf,
        /// Its `tokenizer.ggml.model`.
        model: String,
    },
    /// A GGUF file's `tokenizer.ggml.pre` names a pre-tokenizer this crate does not know.
    UnsupportedPreTokenizer {
        /// The GGUF file.
        path: PathBuf,
        /// Its `tokenizer.ggml.pre`.
        pre: String,
    },
    /// Encoding failed.
    Encode {
        /// What `tokenizers` said.
        message: String,
    },
    /// Decoding failed.
    Decode {
        /// What `tokenizers` said.
        message: String,
    },
}

impl fmt::Display for TokenizerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Self::Parse { path, message } => {
                write!(f, "cannot parse {}: {message}", path.display())
            }
            Self::Invalid { path, message } => write!(f, "{}: {message}", path.display()),
            Self::Gguf(error) => write!(f, "cannot build a tokenizer: {error}"),
            Self::UnsupportedModel { path, model } => write!(
                f,
                "{}: tokenizer.ggml.model is `{model}`; only `gpt2` (byte-level BPE) tokenizers \
                 can be built from a GGUF file",
                path.display()
            ),
            Self::UnsupportedPreTokenizer { path, pre } => write!(
                f,
                "{}: tokenizer.ggml.pre is `{pre}`, which is not supported (supported: {})",
                path.display(),
                from_gguf::SUPPORTED_PRE_TOKENIZERS.join(", ")
            ),
            Self::Encode { message } => write!(f, "cannot encode: {message}"),
            Self::Decode { message } => write!(f, "cannot decode: {message}"),
        }
    }
}

impl std::error::Error for TokenizerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Gguf(error) => Some(error),
            _ => None,
        }
    }
}

impl From<GgufError> for TokenizerError {
    fn from(error: GgufError) -> Self {
        Self::Gguf(error)
    }
}
