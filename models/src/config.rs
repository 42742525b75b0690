//! The shape of a decoder: read from a Hugging Face `config.json`, or made tiny for tests.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The model families this decoder covers. They differ only in where biases sit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    /// Llama 2/3.x (`LlamaForCausalLM`, GGUF `llama`), also SmolLM2.
    Llama,
    /// Qwen2 and Qwen2.5 (`Qwen2ForCausalLM`, GGUF `qwen2`): biases on Q, K and V.
    Qwen2,
}

impl Architecture {
    /// The Hugging Face class name, as written in `config.json`'s `architectures`.
    pub fn hf_class(self) -> &'static str {
        match self {
            Architecture::Llama => "LlamaForCausalLM",
            Architecture::Qwen2 => "Qwen2ForCausalLM",
        }
    }

    /// The Hugging Face `model_type`.
    pub fn model_type(self) -> &'static str {
        match self {
            Architecture::Llama => "llama",
            Architecture::Qwen2 => "qwen2",
        }
    }
}

/// Llama 3's rescaling of the rotary frequencies for long contexts (`rope_type: llama3`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Llama3RopeScaling {
    /// How much the context was stretched.
    pub factor: f64,
    /// Wavelengths longer than `original_max_position_embeddings / low_freq_factor` are scaled
    /// fully.
    pub low_freq_factor: f64,
    /// Wavelengths shorter than `original_max_position_embeddings / high_freq_factor` are kept.
    pub high_freq_factor: f64,
    /// The context length the model was pre-trained with.
    pub original_max_position_embeddings: f64,
}

/// Everything the decoder's shape and numerics depend on.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    /// Which family (decides the biases).
    pub architecture: Architecture,
    /// Rows of the embedding and of the output projection.
    pub vocab_size: usize,
    /// Width of the residual stream.
    pub hidden_size: usize,
    /// Width of the SwiGLU MLP.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_layers: usize,
    /// Query heads.
    pub num_heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `num_heads`).
    pub num_kv_heads: usize,
    /// Width of one head.
    pub head_dim: usize,
    /// The RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// The RoPE base.
    pub rope_theta: f64,
    /// Llama 3 frequency scaling, when the model uses it.
    pub rope_scaling: Option<Llama3RopeScaling>,
    /// Per-frequency divisors of the rotary frequencies (GGUF `rope_freqs.weight`, how
    /// llama.cpp stores Llama 3 scaling), when given.
    pub rope_freq_factors: Option<Vec<f32>>,
    /// The longest context the model supports.
    pub max_position_embeddings: usize,
    /// Biases on the Q, K and V projections (Qwen2; Llama's `attention_bias`).
    pub qkv_bias: bool,
    /// A bias on the output projection (Llama's `attention_bias`; never in Qwen2).
    pub o_bias: bool,
    /// The output projection shares the embedding matrix.
    pub tie_word_embeddings: bool,
    /// The beginning-of-sequence token, if the config names one.
    pub bos_token_id: Option<u32>,
    /// The end-of-sequence tokens (generation stops at any of them).
    pub eos_token_ids: Vec<u32>,
}

/// A `config.json` that cannot be used.
#[derive(Debug)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for ConfigError {}

impl ModelConfig {
    /// A small Llama-shaped decoder for tests and the toy world.
    pub fn tiny(
        vocab_size: usize,
        hidden_size: usize,
        num_layers: usize,
        num_heads: usize,
    ) -> Self {
        ModelConfig {
            architecture: Architecture::Llama,
            vocab_size,
            hidden_size,
            intermediate_size: hidden_size * 8 / 3,
            num_layers,
            num_heads,
            num_kv_heads: num_heads,
            head_dim: hidden_size / num_heads,
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            rope_scaling: None,
            rope_freq_factors: None,
            max_position_embeddings: 2048,
            qkv_bias: false,
            o_bias: false,
            tie_word_embeddings: true,
            bos_token_id: None,
            eos_token_ids: Vec::new(),
        }
    }

    /// Reads a Hugging Face `config.json`: both the transformers 4 form (`rope_theta`,
    /// `rope_scaling` at the top) and the transformers 5 form (`rope_parameters`).
    pub fn from_hf_file(path: &Path) -> Result<Self, ConfigError> {
        let error = |message: String| ConfigError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read: {e}")))?;
        let json: Value = serde_json::from_str(&text)
            .map_err(|e| error(format!("not valid JSON (line {}): {e}", e.line())))?;
        Self::from_hf_json(&json).map_err(error)
    }

    /// Reads the parsed JSON of a Hugging Face `config.json`.
    pub fn from_hf_json(json: &Value) -> Result<Self, String> {
        let architecture = architecture_of(json)?;
        let usize_field = |key: &str| -> Result<usize, String> {
            let value = json.get(key).ok_or_else(|| format!("missing `{key}`"))?;
            value
                .as_u64()
                .and_then(|v| usize::try_from(v).ok())
                .ok_or_else(|| format!("`{key}` should be a non-negative integer, found {value}"))
        };
        let float_field = |key: &str, default: f64| -> Result<f64, String> {
            match json.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(value) => value
                    .as_f64()
                    .ok_or_else(|| format!("`{key}` should be a number, found {value}")),
            }
        };
        let bool_field = |key: &str, default: bool| -> Result<bool, String> {
            match json.get(key) {
                None | Some(Value::Null) => Ok(default),
                Some(value) => value
                    .as_bool()
                    .ok_or_else(|| format!("`{key}` should be true or false, found {value}")),
            }
        };

        let hidden_size = usize_field("hidden_size")?;
        let num_heads = usize_field("num_attention_heads")?;
        let num_kv_heads = match json.get("num_key_value_heads") {
            None | Some(Value::Null) => num_heads,
            Some(_) => usize_field("num_key_value_heads")?,
        };
        let head_dim = match json.get("head_dim") {
            None | Some(Value::Null) => {
                if num_heads == 0 || hidden_size % num_heads != 0 {
                    return Err(format!(
                        "`hidden_size` {hidden_size} is not a multiple of `num_attention_heads` \
                         {num_heads}"
                    ));
                }
                hidden_size / num_heads
            }
            Some(_) => usize_field("head_dim")?,
        };
        if num_kv_heads == 0 || num_heads % num_kv_heads != 0 {
            return Err(format!(
                "`num_attention_heads` {num_heads} is not a multiple of `num_key_value_heads` \
                 {num_kv_heads}"
            ));
        }
        if head_dim % 2 != 0 {
            return Err(format!(
                "the head width {head_dim} is odd: rotary embeddings need pairs"
            ));
        }
        if bool_field("use_sliding_window", false)? {
            return Err(
                "sliding-window attention (`use_sliding_window: true`) is not supported"
                    .to_string(),
            );
        }
        if let Some(act) = json.get("hidden_act").and_then(Value::as_str)
            && act != "silu"
        {
            return Err(format!(
                "`hidden_act` {act:?} is not supported (expected \"silu\")"
            ));
        }
        if bool_field("mlp_bias", false)? {
            return Err("`mlp_bias: true` is not supported".to_string());
        }

        let rope = json.get("rope_parameters").filter(|v| !v.is_null());
        let scaling = rope.or_else(|| json.get("rope_scaling").filter(|v| !v.is_null()));
        let rope_theta = match rope.and_then(|r| r.get("rope_theta")) {
            Some(value) => value.as_f64().ok_or_else(|| {
                format!("`rope_parameters.rope_theta` should be a number, found {value}")
            })?,
            None => float_field("rope_theta", 10_000.0)?,
        };
        let rope_scaling = match scaling {
            None => None,
            Some(scaling) => rope_scaling_of(scaling)?,
        };

        let attention_bias = bool_field("attention_bias", false)?;
        let (qkv_bias, o_bias) = match architecture {
            Architecture::Qwen2 => (true, false),
            Architecture::Llama => (attention_bias, attention_bias),
        };

        Ok(ModelConfig {
            architecture,
            vocab_size: usize_field("vocab_size")?,
            hidden_size,
            intermediate_size: usize_field("intermediate_size")?,
            num_layers: usize_field("num_hidden_layers")?,
            num_heads,
            num_kv_heads,
            head_dim,
            rms_norm_eps: float_field("rms_norm_eps", 1e-6)?,
            rope_theta,
            rope_scaling,
            rope_freq_factors: None,
            max_position_embeddings: match json.get("max_position_embeddings") {
                None | Some(Value::Null) => 2048,
                Some(_) => usize_field("max_position_embeddings")?,
            },
            qkv_bias,
            o_bias,
            tie_word_embeddings: bool_field("tie_word_embeddings", false)?,
            bos_token_id: token_ids(json.get("bos_token_id"), "bos_token_id")?
                .first()
                .copied(),
            eos_token_ids: token_ids(json.get("eos_token_id"), "eos_token_id")?,
        })
    }

    /// The `config.json` Hugging Face transformers reads for this model (transformers 4 keys,
    /// which transformers 5 still accepts).
    pub fn to_hf_json(&self) -> Value {
        let mut json = serde_json::json!({
            "architectures": [self.architecture.hf_class()],
            "model_type": self.architecture.model_type(),
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_layers,
            "num_attention_heads": self.num_heads,
            "num_key_value_heads": self.num_kv_heads,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "max_position_embeddings": self.max_position_embeddings,
            "tie_word_embeddings": self.tie_word_embeddings,
            "torch_dtype": "float32",
        });
        if self.architecture == Architecture::Llama {
            json["attention_bias"] = Value::Bool(self.qkv_bias);
        }
        if let Some(scaling) = self.rope_scaling {
            json["rope_scaling"] = serde_json::json!({
                "rope_type": "llama3",
                "factor": scaling.factor,
                "low_freq_factor": scaling.low_freq_factor,
                "high_freq_factor": scaling.high_freq_factor,
                "original_max_position_embeddings": scaling.original_max_position_embeddings,
            });
        }
        if let Some(bos) = self.bos_token_id {
            json["bos_token_id"] = bos.into();
        }
        match self.eos_token_ids.as_slice() {
            [] => {}
            [one] => json["eos_token_id"] = (*one).into(),
            many => json["eos_token_id"] = many.into(),
        }
        json
    }

    /// The number of parameters (the output projection counted once when tied).
    pub fn parameter_count(&self) -> usize {
        let (d, f, hd) = (self.hidden_size, self.intermediate_size, self.head_dim);
        let q = d * self.num_heads * hd + usize::from(self.qkv_bias) * self.num_heads * hd;
        let kv =
            2 * (d * self.num_kv_heads * hd + usize::from(self.qkv_bias) * self.num_kv_heads * hd);
        let o = self.num_heads * hd * d + usize::from(self.o_bias) * d;
        let layer = q + kv + o + 3 * d * f + 2 * d;
        let head = if self.tie_word_embeddings {
            0
        } else {
            self.vocab_size * d
        };
        self.vocab_size * d + self.num_layers * layer + d + head
    }
}

fn architecture_of(json: &Value) -> Result<Architecture, String> {
    let classes: Vec<&str> = json
        .get("architectures")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let model_type = json.get("model_type").and_then(Value::as_str);
    for class in &classes {
        match *class {
            "LlamaForCausalLM" => return Ok(Architecture::Llama),
            "Qwen2ForCausalLM" => return Ok(Architecture::Qwen2),
            _ => {}
        }
    }
    match model_type {
        Some("llama") => Ok(Architecture::Llama),
        Some("qwen2") => Ok(Architecture::Qwen2),
        _ => Err(format!(
            "unsupported architecture (architectures {classes:?}, model_type {}): rung's decoder \
             covers LlamaForCausalLM and Qwen2ForCausalLM",
            model_type.map_or("missing".to_string(), |t| format!("{t:?}"))
        )),
    }
}

fn rope_scaling_of(scaling: &Value) -> Result<Option<Llama3RopeScaling>, String> {
    let kind = scaling
        .get("rope_type")
        .or_else(|| scaling.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    match kind {
        "default" => Ok(None),
        "llama3" => {
            let number = |key: &str| -> Result<f64, String> {
                scaling
                    .get(key)
                    .and_then(Value::as_f64)
                    .ok_or_else(|| format!("llama3 rope scaling needs a number `{key}`"))
            };
            Ok(Some(Llama3RopeScaling {
                factor: number("factor")?,
                low_freq_factor: number("low_freq_factor")?,
                high_freq_factor: number("high_freq_factor")?,
                original_max_position_embeddings: number("original_max_position_embeddings")?,
            }))
        }
        other => Err(format!(
            "rope scaling {other:?} is not supported (rung implements \"default\" and \"llama3\")"
        )),
    }
}

fn token_ids(value: Option<&Value>, key: &str) -> Result<Vec<u32>, String> {
    let id = |v: &Value| {
        v.as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| format!("`{key}` should be a token id or a list of them, found {v}"))
    };
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list.iter().map(id).collect(),
        Some(v) => Ok(vec![id(v)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn llama_json() -> Value {
        serde_json::json!({
            "architectures": ["LlamaForCausalLM"],
            "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
            "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
            "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "max_position_embeddings": 131072,
            "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                             "high_freq_factor": 4.0, "original_max_position_embeddings": 8192},
            "tie_word_embeddings": true, "bos_token_id": 128000,
            "eos_token_id": [128001, 128008, 128009]
        })
    }

    #[test]
    fn a_transformers_4_llama_3_config_is_read() {
        let config = ModelConfig::from_hf_json(&llama_json()).expect("valid");
        assert_eq!(config.architecture, Architecture::Llama);
        assert_eq!(config.head_dim, 64);
        assert_eq!(config.rope_theta, 500000.0);
        assert_eq!(config.rope_scaling.map(|s| s.factor), Some(32.0));
        assert_eq!(config.eos_token_ids, vec![128001, 128008, 128009]);
        // Llama 3.2 1B has 1.24 billion parameters.
        assert_eq!(config.parameter_count(), 1_235_814_400);
    }

    #[test]
    fn writing_and_reading_a_config_round_trips() {
        let config = ModelConfig::from_hf_json(&llama_json()).expect("valid");
        assert_eq!(
            ModelConfig::from_hf_json(&config.to_hf_json()).expect("valid"),
            config
        );
        let mut tiny = ModelConfig::tiny(64, 32, 2, 4);
        tiny.architecture = Architecture::Qwen2;
        tiny.qkv_bias = true;
        assert_eq!(
            ModelConfig::from_hf_json(&tiny.to_hf_json()).expect("valid"),
            tiny
        );
    }

    #[test]
    fn unsupported_shapes_are_named() {
        let mut json = llama_json();
        json["architectures"] = serde_json::json!(["MistralForCausalLM"]);
        json["model_type"] = "mistral".into();
        let error = ModelConfig::from_hf_json(&json).expect_err("mistral");
        assert!(error.contains("MistralForCausalLM"), "{error}");

        let mut json = llama_json();
        json["rope_scaling"] = serde_json::json!({"rope_type": "yarn", "factor": 4.0});
        let error = ModelConfig::from_hf_json(&json).expect_err("yarn");
        assert!(error.contains("\"yarn\""), "{error}");

        let mut json = llama_json();
        json["num_key_value_heads"] = 5.into();
        let error = ModelConfig::from_hf_json(&json).expect_err("5 kv heads");
        assert!(error.contains("num_key_value_heads"), "{error}");

        let mut json = llama_json();
        json.as_object_mut().expect("object").remove("hidden_size");
        let error = ModelConfig::from_hf_json(&json).expect_err("no width");
        assert_eq!(error, "missing `hidden_size`");
    }
}
