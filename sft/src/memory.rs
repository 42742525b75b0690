//! The memory a fine-tuning run needs, estimated from the model's shape and the recipe before
//! anything is loaded, so that a run that cannot fit is refused with the numbers up front.
//!
//! Model state: f32 master weights, f32 gradients and AdamW's two f32 moments (16 bytes per
//! parameter), plus a copy of the weights in the compute precision for bf16. Activations: with
//! recomputation, every layer's input kept for the backward pass plus one layer's autodiff
//! activations at a time; without, every layer's. burn trains attention by materialising the
//! score matrix, so one layer holds `batch x heads x seq x seq` f32 scores (and their softmax
//! and gradient). The loss chunk holds `loss_chunk x vocab` f32 logits, log-probabilities and
//! gradient. A tenth is added for the allocator's fragmentation and transient copies.

use std::fmt;

use rung_models::ModelConfig;

use crate::recipe::{Precision, Recipe};

/// Bytes a run needs, by what holds them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// f32 master weights.
    pub weights: u64,
    /// f32 gradients.
    pub gradients: u64,
    /// AdamW's f32 moments.
    pub optimizer: u64,
    /// The weights cast to the compute precision (bf16 only).
    pub compute_weights: u64,
    /// Activations of the forward and backward passes.
    pub activations: u64,
    /// The logits, log-probabilities and gradient of one loss chunk.
    pub loss_chunk: u64,
    /// Allocator slack and transient copies.
    pub overhead: u64,
}

impl MemoryEstimate {
    /// Everything together.
    pub fn total(&self) -> u64 {
        self.weights
            + self.gradients
            + self.optimizer
            + self.compute_weights
            + self.activations
            + self.loss_chunk
            + self.overhead
    }

    /// Refuses when the estimate exceeds `available` bytes of `device`.
    pub fn check(&self, available: u64, device: &str) -> Result<(), String> {
        if self.total() <= available {
            return Ok(());
        }
        Err(format!(
            "fine-tuning needs about {} but {device} has {}: {self}. Lower `micro_batch` or \
             `max_length` (raising `grad_accum` keeps the effective batch), keep \
             `recompute` on, or hand the model to the external trainer (`trl_sft`)",
            gib(self.total()),
            gib(available)
        ))
    }
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

impl fmt::Display for MemoryEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "weights {}, gradients {}, optimizer {}, compute copy {}, activations {}, loss chunk {}, overhead {}",
            gib(self.weights),
            gib(self.gradients),
            gib(self.optimizer),
            gib(self.compute_weights),
            gib(self.activations),
            gib(self.loss_chunk),
            gib(self.overhead)
        )
    }
}

/// The estimate for fine-tuning a model of `config`'s shape with `recipe` on sequences of up
/// to `recipe.max_length` tokens.
pub fn estimate(config: &ModelConfig, recipe: &Recipe) -> MemoryEstimate {
    let params = config.parameter_count() as u64;
    let compute = match recipe.precision {
        Precision::F32 => 4,
        Precision::Bf16 => 2,
    };
    let (b, s) = (recipe.micro_batch as u64, recipe.max_length as u64);
    let h = config.hidden_size as u64;
    let i = config.intermediate_size as u64;
    let heads = config.num_heads as u64;
    let q = heads * config.head_dim as u64;
    let kv = config.num_kv_heads as u64 * config.head_dim as u64;
    let layers = config.num_layers as u64;
    // What autodiff keeps for one layer: the norms' inputs and outputs, Q, K, V and their
    // rotated forms, the attention output, the MLP's gate, up and product, and the f32 score
    // matrix, its softmax and the bool mask.
    let per_layer =
        b * s * (4 * h + 2 * (q + 2 * kv) + q + 4 * i) * compute + b * heads * s * s * (4 + 4 + 1);
    // The backward pass of a layer holds about as much again while it runs.
    let activations = if recipe.recompute {
        layers * b * s * h * compute + 2 * per_layer + 2 * b * s * h * compute
    } else {
        layers * per_layer + per_layer + 2 * b * s * h * compute
    };
    let rows = (recipe.loss_chunk as u64).min(b * s);
    let loss_chunk = 3 * rows * config.vocab_size as u64 * 4;
    let compute_weights = match recipe.precision {
        Precision::F32 => 0,
        Precision::Bf16 => 2 * params,
    };
    let mut estimate = MemoryEstimate {
        weights: 4 * params,
        gradients: 4 * params,
        optimizer: 8 * params,
        compute_weights,
        activations,
        loss_chunk,
        overhead: 0,
    };
    estimate.overhead = estimate.total() / 10;
    estimate
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Qwen2.5-1.5B's shape.
    fn qwen_1_5b() -> ModelConfig {
        let mut config = ModelConfig::tiny(151_936, 1536, 28, 12);
        config.intermediate_size = 8960;
        config.num_kv_heads = 2;
        config.head_dim = 128;
        config.qkv_bias = true;
        config
    }

    #[test]
    fn model_state_is_sixteen_bytes_per_parameter_in_f32() {
        let config = qwen_1_5b();
        let estimate = estimate(&config, &Recipe::study());
        let params = config.parameter_count() as u64;
        assert!((1_500_000_000..1_600_000_000).contains(&params), "{params}");
        assert_eq!(
            estimate.weights + estimate.gradients + estimate.optimizer,
            16 * params
        );
        assert_eq!(estimate.compute_weights, 2 * params);
    }

    #[test]
    fn recomputation_makes_long_sequences_fit_a_80_gb_gpu() {
        let config = qwen_1_5b();
        let recipe = Recipe::study();
        let with = estimate(&config, &recipe);
        let without = estimate(
            &config,
            &Recipe {
                recompute: false,
                ..recipe.clone()
            },
        );
        assert!(with.check(80 << 30, "an 80 GB GPU").is_ok(), "{with}");
        assert!(without.total() > 2 * with.total());
        let error = without
            .check(80 << 30, "an 80 GB GPU")
            .expect_err("too much without recomputation");
        assert!(
            error.contains("activations") && error.contains("GiB"),
            "{error}"
        );
    }

    #[test]
    fn a_3b_model_fits_at_2_x_4096_tokens_and_a_7b_model_does_not() {
        let mut qwen_3b = ModelConfig::tiny(151_936, 2048, 36, 16);
        qwen_3b.intermediate_size = 11_008;
        qwen_3b.num_kv_heads = 2;
        qwen_3b.head_dim = 128;
        qwen_3b.qkv_bias = true;
        let fits = estimate(&qwen_3b, &Recipe::study());
        assert!(fits.check(80 << 30, "an 80 GB GPU").is_ok(), "{fits}");
        let mut qwen_7b = ModelConfig::tiny(152_064, 3584, 28, 28);
        qwen_7b.intermediate_size = 18_944;
        qwen_7b.num_kv_heads = 4;
        qwen_7b.head_dim = 128;
        let error = estimate(&qwen_7b, &Recipe::study())
            .check(80 << 30, "an 80 GB GPU")
            .expect_err("7B does not fit");
        assert!(error.contains("trl_sft"), "{error}");
    }

    #[test]
    fn the_estimate_grows_with_the_batch_and_the_length() {
        let config = qwen_1_5b();
        let base = estimate(&config, &Recipe::study());
        let longer = estimate(
            &config,
            &Recipe {
                max_length: 8192,
                ..Recipe::study()
            },
        );
        let wider = estimate(
            &config,
            &Recipe {
                micro_batch: 4,
                ..Recipe::study()
            },
        );
        assert!(
            longer.activations > 2 * base.activations,
            "attention grows with the square"
        );
        assert!(wider.activations > base.activations);
    }
}
