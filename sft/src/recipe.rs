//! The training recipe: every knob of a fine-tuning run, with the study's values as a preset.

use std::fmt;

use crate::optim::AdamWConfig;
use crate::schedule::Decay;

/// The compute precision of the forward and backward passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// 32-bit floats throughout.
    F32,
    /// bf16 compute with f32 master weights, gradients and optimizer state.
    Bf16,
}

impl Precision {
    /// The name used in provenance and messages.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16 compute, f32 master weights and optimizer state",
        }
    }
}

/// Everything that decides a fine-tuning run besides the model and the data.
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe {
    /// Passes over the training examples.
    pub epochs: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Decay after warmup.
    pub decay: Decay,
    /// Share of the optimizer steps spent warming up linearly from 0.
    pub warmup_ratio: f64,
    /// The rate at the end of the decay, as a share of the peak.
    pub min_lr_ratio: f64,
    /// AdamW's betas, epsilon and weight decay.
    pub adamw: AdamWConfig,
    /// Clip gradients to this global L2 norm (0 = no clipping).
    pub max_grad_norm: f64,
    /// Sequences per forward pass.
    pub micro_batch: usize,
    /// Micro-batches per optimizer step.
    pub grad_accum: usize,
    /// Longest sequence in tokens; longer examples lose their end.
    pub max_length: usize,
    /// Seed of the data order.
    pub seed: u64,
    /// Shuffle the examples every epoch.
    pub shuffle: bool,
    /// Put examples of similar length in the same micro-batch (less padding), within groups
    /// of 50 optimizer steps of the shuffled order, as transformers' `group_by_length` does.
    pub group_by_length: bool,
    /// Compute precision.
    pub precision: Precision,
    /// Recompute each layer's forward pass during the backward pass instead of keeping its
    /// activations: memory for one layer's activations instead of all of them, for about a
    /// third more compute.
    pub recompute: bool,
    /// Positions whose logits are computed at once (the vocabulary projection and the loss are
    /// computed in chunks of this many rows).
    pub loss_chunk: usize,
}

impl Recipe {
    /// The study's recipe: 5 epochs at 5e-6, cosine with 10% warmup, AdamW (0.9, 0.99) with
    /// weight decay 0.1, global-norm clipping at 0.1, 2 sequences per step, 4096 tokens,
    /// seed 42, bf16 compute.
    pub fn study() -> Recipe {
        Recipe {
            epochs: 5,
            lr: 5e-6,
            decay: Decay::Cosine,
            warmup_ratio: 0.1,
            min_lr_ratio: 0.0,
            adamw: AdamWConfig {
                beta1: 0.9,
                beta2: 0.99,
                eps: 1e-8,
                weight_decay: 0.1,
            },
            max_grad_norm: 0.1,
            micro_batch: 2,
            grad_accum: 1,
            max_length: 4096,
            seed: 42,
            shuffle: true,
            group_by_length: false,
            precision: Precision::Bf16,
            recompute: true,
            loss_chunk: 1024,
        }
    }

    /// Checks that the values make sense together.
    pub fn validate(&self) -> Result<(), RecipeError> {
        let positive = [
            ("epochs", self.epochs),
            ("micro_batch", self.micro_batch),
            ("grad_accum", self.grad_accum),
            ("max_length", self.max_length),
            ("loss_chunk", self.loss_chunk),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(RecipeError(format!("`{name}` must be at least 1")));
            }
        }
        let ratios = [
            ("warmup_ratio", self.warmup_ratio),
            ("min_lr_ratio", self.min_lr_ratio),
        ];
        for (name, value) in ratios {
            if !(0.0..=1.0).contains(&value) {
                return Err(RecipeError(format!(
                    "`{name}` must lie between 0 and 1, not {value}"
                )));
            }
        }
        let betas = [("beta1", self.adamw.beta1), ("beta2", self.adamw.beta2)];
        for (name, value) in betas {
            if !(0.0..1.0).contains(&value) {
                return Err(RecipeError(format!(
                    "`{name}` must lie in [0, 1), not {value}"
                )));
            }
        }
        let non_negative = [
            ("lr", self.lr),
            ("eps", self.adamw.eps),
            ("weight_decay", self.adamw.weight_decay),
            ("max_grad_norm", self.max_grad_norm),
        ];
        for (name, value) in non_negative {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(RecipeError(format!(
                    "`{name}` must be a finite number of at least 0, not {value}"
                )));
            }
        }
        Ok(())
    }
}

/// A recipe whose values do not make sense.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecipeError(pub String);

impl fmt::Display for RecipeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RecipeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_study_recipe_is_valid() {
        assert_eq!(Recipe::study().validate(), Ok(()));
    }

    #[test]
    fn bad_values_are_named() {
        let mut recipe = Recipe::study();
        recipe.warmup_ratio = 1.5;
        let error = recipe.validate().expect_err("a ratio above 1");
        assert!(error.0.contains("warmup_ratio"), "{error}");
        let mut recipe = Recipe::study();
        recipe.micro_batch = 0;
        assert!(
            recipe
                .validate()
                .expect_err("no rows")
                .0
                .contains("micro_batch")
        );
        let mut recipe = Recipe::study();
        recipe.lr = f64::NAN;
        assert!(
            recipe
                .validate()
                .expect_err("not a number")
                .0
                .contains("`lr`")
        );
    }
}
