//! GGUF files as a weight source: llama.cpp's tensor names mapped to Hugging Face's, tensors
//! dequantized to f32, and the Q/K rows of Llama models put back in Hugging Face's order.

use std::collections::BTreeMap;

use super::{HostTensor, LoadError, WeightSource};
use crate::config::{Architecture, ModelConfig};
use crate::gguf::{GgufError, GgufFile};

/// A GGUF model read as Hugging Face-named weights.
#[derive(Debug)]
pub struct GgufWeights<'a> {
    file: &'a GgufFile,
    config: ModelConfig,
    /// Hugging Face name -> GGUF name.
    names: BTreeMap<String, String>,
}

impl<'a> GgufWeights<'a> {
    /// Maps the tensors of `file`, whose shape `config` describes (see [`config_from_gguf`]).
    pub fn new(file: &'a GgufFile, config: &ModelConfig) -> Self {
        let mut names = BTreeMap::new();
        let mut map = |hf: String, gguf: String| {
            if file.has_tensor(&gguf) {
                names.insert(hf, gguf);
            }
        };
        map(
            "model.embed_tokens.weight".into(),
            "token_embd.weight".into(),
        );
        map("model.norm.weight".into(), "output_norm.weight".into());
        map("lm_head.weight".into(), "output.weight".into());
        for i in 0..config.num_layers {
            let (hf, gg) = (format!("model.layers.{i}"), format!("blk.{i}"));
            for (ours, theirs) in [
                ("input_layernorm.weight", "attn_norm.weight"),
                ("post_attention_layernorm.weight", "ffn_norm.weight"),
                ("self_attn.q_proj.weight", "attn_q.weight"),
                ("self_attn.k_proj.weight", "attn_k.weight"),
                ("self_attn.v_proj.weight", "attn_v.weight"),
                ("self_attn.o_proj.weight", "attn_output.weight"),
                ("self_attn.q_proj.bias", "attn_q.bias"),
                ("self_attn.k_proj.bias", "attn_k.bias"),
                ("self_attn.v_proj.bias", "attn_v.bias"),
                ("self_attn.o_proj.bias", "attn_output.bias"),
                ("mlp.gate_proj.weight", "ffn_gate.weight"),
                ("mlp.up_proj.weight", "ffn_up.weight"),
                ("mlp.down_proj.weight", "ffn_down.weight"),
            ] {
                map(format!("{hf}.{ours}"), format!("{gg}.{theirs}"));
            }
        }
        GgufWeights {
            file,
            config: config.clone(),
            names,
        }
    }
}

impl WeightSource for GgufWeights<'_> {
    fn describe(&self) -> String {
        self.file.path().display().to_string()
    }

    fn contains(&self, name: &str) -> bool {
        self.names.contains_key(name)
    }

    fn read(&mut self, name: &str) -> Result<HostTensor, LoadError> {
        let gguf_name = self.names.get(name).ok_or_else(|| LoadError::Missing {
            source: self.describe(),
            tensor: format!("{name} (GGUF: none mapped)"),
        })?;
        let tensor = self.file.dequantize(gguf_name).map_err(file_error)?;
        let mut host = HostTensor {
            data: tensor.data,
            shape: tensor.shape,
        };
        // llama.cpp's converter interleaves the two rotary halves of each Q and K head for
        // Llama models (not for Qwen2): undo it so the weights meet rotate-half RoPE.
        if self.config.architecture == Architecture::Llama {
            let heads = if name.ends_with("q_proj.weight") || name.ends_with("q_proj.bias") {
                Some(self.config.num_heads)
            } else if name.ends_with("k_proj.weight") || name.ends_with("k_proj.bias") {
                Some(self.config.num_kv_heads)
            } else {
                None
            };
            if let Some(heads) = heads {
                host.data = unpermute_rows(&host.data, &host.shape, heads, self.config.head_dim)
                    .ok_or_else(|| LoadError::Shape {
                        source: self.describe(),
                        tensor: name.to_string(),
                        expected: vec![heads * self.config.head_dim],
                        found: host.shape.clone(),
                    })?;
            }
        }
        Ok(host)
    }
}

/// Puts rows stored as `[head][pair][2]` back into `[head][half][pair]` order.
fn unpermute_rows(
    data: &[f32],
    shape: &[usize],
    heads: usize,
    head_dim: usize,
) -> Option<Vec<f32>> {
    let rows = *shape.first()?;
    if rows != heads * head_dim {
        return None;
    }
    let cols: usize = shape[1..].iter().product();
    let half = head_dim / 2;
    let mut out = vec![0.0; data.len()];
    for head in 0..heads {
        for pair in 0..half {
            for side in 0..2 {
                let from = (head * head_dim + 2 * pair + side) * cols;
                let to = (head * head_dim + side * half + pair) * cols;
                out[to..to + cols].copy_from_slice(&data[from..from + cols]);
            }
        }
    }
    Some(out)
}

/// The decoder's shape from a GGUF file's `{arch}.*` metadata.
pub fn config_from_gguf(file: &GgufFile) -> Result<ModelConfig, LoadError> {
    let arch = file.architecture().map_err(file_error)?;
    let architecture = match arch {
        "llama" => Architecture::Llama,
        "qwen2" => Architecture::Qwen2,
        other => {
            return Err(LoadError::Config(format!(
                "{}: architecture {other:?} is not supported (rung reads \"llama\" and \"qwen2\")",
                file.path().display()
            )));
        }
    };
    let key = |name: &str| format!("{arch}.{name}");
    let u = |name: &str| {
        file.get_u32(&key(name))
            .map(|v| v as usize)
            .map_err(file_error)
    };
    let hidden_size = u("embedding_length")?;
    let num_heads = u("attention.head_count")?;
    let num_kv_heads = match file
        .opt_u32(&key("attention.head_count_kv"))
        .map_err(file_error)?
    {
        Some(n) => n as usize,
        None => num_heads,
    };
    let head_dim = match file
        .opt_u32(&key("attention.key_length"))
        .map_err(file_error)?
    {
        Some(n) => n as usize,
        None if num_heads > 0 => hidden_size / num_heads,
        None => 0,
    };
    let vocab_size = match file.opt_u32(&key("vocab_size")).map_err(file_error)? {
        Some(n) => n as usize,
        None => file
            .get_str_array("tokenizer.ggml.tokens")
            .map_err(file_error)?
            .len(),
    };
    if num_heads == 0 || num_kv_heads == 0 || num_heads % num_kv_heads != 0 || head_dim % 2 != 0 {
        return Err(LoadError::Config(format!(
            "{}: {num_heads} heads, {num_kv_heads} key/value heads of width {head_dim} do not \
             make a grouped-query attention",
            file.path().display()
        )));
    }
    let rope_freq_factors = if file.has_tensor("rope_freqs.weight") {
        Some(
            file.dequantize("rope_freqs.weight")
                .map_err(file_error)?
                .data,
        )
    } else {
        None
    };
    let qkv_bias = file.has_tensor("blk.0.attn_q.bias");
    Ok(ModelConfig {
        architecture,
        vocab_size,
        hidden_size,
        intermediate_size: u("feed_forward_length")?,
        num_layers: u("block_count")?,
        num_heads,
        num_kv_heads,
        head_dim,
        rms_norm_eps: f64::from(
            file.get_f32(&key("attention.layer_norm_rms_epsilon"))
                .map_err(file_error)?,
        ),
        rope_theta: f64::from(
            file.opt_f32(&key("rope.freq_base"))
                .map_err(file_error)?
                .unwrap_or(10_000.0),
        ),
        rope_scaling: None,
        rope_freq_factors,
        max_position_embeddings: u("context_length")?,
        qkv_bias,
        o_bias: file.has_tensor("blk.0.attn_output.bias"),
        tie_word_embeddings: !file.has_tensor("output.weight"),
        bos_token_id: file
            .opt_u32("tokenizer.ggml.bos_token_id")
            .map_err(file_error)?,
        eos_token_ids: file
            .opt_u32("tokenizer.ggml.eos_token_id")
            .map_err(file_error)?
            .into_iter()
            .collect(),
    })
}

fn file_error(error: GgufError) -> LoadError {
    LoadError::Gguf(error)
}

#[cfg(test)]
mod tests {
    use super::unpermute_rows;

    #[test]
    fn interleaved_rotary_rows_return_to_halves() {
        // One head of width 4, one column: llama.cpp stores rows [a0, b0, a1, b1] for the
        // Hugging Face order [a0, a1, b0, b1].
        let stored = [10.0, 20.0, 11.0, 21.0];
        let rows = unpermute_rows(&stored, &[4, 1], 1, 4).expect("shape fits");
        assert_eq!(rows, vec![10.0, 11.0, 20.0, 21.0]);
        assert_eq!(unpermute_rows(&stored, &[4, 1], 2, 4), None);
    }
}
