//! Seeded random weights for tiny models: normal(0, std) matrices, unit norms, zero biases.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::{HostTensor, LoadError, WeightSource};
use crate::config::ModelConfig;

/// Draws every weight the config implies from a seeded generator, in the order they are read,
/// so the same seed gives the same model on every backend.
#[derive(Debug)]
pub struct RandomInit {
    config: ModelConfig,
    rng: ChaCha8Rng,
    std: f32,
}

impl RandomInit {
    /// Weights with standard deviation `std` (Hugging Face's `initializer_range`, 0.02 for
    /// the Llama family).
    pub fn new(config: &ModelConfig, seed: u64, std: f32) -> Self {
        RandomInit {
            config: config.clone(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            std,
        }
    }

    fn shape_of(&self, name: &str) -> Option<Vec<usize>> {
        let c = &self.config;
        let (d, f) = (c.hidden_size, c.intermediate_size);
        let (q, kv) = (c.num_heads * c.head_dim, c.num_kv_heads * c.head_dim);
        let local = name.rsplit_once("layers.").map_or(name, |(_, rest)| {
            rest.split_once('.').map_or(rest, |(_, tail)| tail)
        });
        Some(match local {
            "model.embed_tokens.weight" => vec![c.vocab_size, d],
            "lm_head.weight" => vec![c.vocab_size, d],
            "model.norm.weight" | "input_layernorm.weight" | "post_attention_layernorm.weight" => {
                vec![d]
            }
            "self_attn.q_proj.weight" => vec![q, d],
            "self_attn.k_proj.weight" | "self_attn.v_proj.weight" => vec![kv, d],
            "self_attn.o_proj.weight" => vec![d, q],
            "self_attn.q_proj.bias" => vec![q],
            "self_attn.k_proj.bias" | "self_attn.v_proj.bias" => vec![kv],
            "self_attn.o_proj.bias" => vec![d],
            "mlp.gate_proj.weight" | "mlp.up_proj.weight" => vec![f, d],
            "mlp.down_proj.weight" => vec![d, f],
            _ => return None,
        })
    }
}

impl WeightSource for RandomInit {
    fn describe(&self) -> String {
        "random initialisation".to_string()
    }

    fn contains(&self, name: &str) -> bool {
        self.shape_of(name).is_some()
    }

    fn read(&mut self, name: &str) -> Result<HostTensor, LoadError> {
        let shape = self.shape_of(name).ok_or_else(|| LoadError::Missing {
            source: self.describe(),
            tensor: name.to_string(),
        })?;
        let len = shape.iter().product();
        let data = if name.ends_with("norm.weight") {
            vec![1.0; len]
        } else if name.ends_with(".bias") {
            vec![0.0; len]
        } else {
            let normal = Normal::new(0.0, self.std)
                .map_err(|e| LoadError::Config(format!("initialisation std {}: {e}", self.std)))?;
            (0..len).map(|_| normal.sample(&mut self.rng)).collect()
        };
        Ok(HostTensor { data, shape })
    }
}
