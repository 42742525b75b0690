//! AdamW as PyTorch computes it (decoupled weight decay, bias-corrected moments), gradients
//! accumulated over micro-batches, and clipping by the global L2 norm of all of them.
//!
//! burn's own AdamW and clipping differ from PyTorch's (its clipping is per tensor), so the
//! optimizer works directly on the decoder's parameters by id.

use std::collections::{HashMap, HashSet};

use burn::module::{Module, ModuleMapper, Param, ParamId};
use burn::prelude::*;
use rung_models::{CausalLm, hf_params};

/// Gradients of a model's parameters, summed over micro-batches, flattened to rank 1 and
/// always f32.
#[derive(Debug)]
pub struct Gradients<B: Backend> {
    grads: HashMap<ParamId, Tensor<B, 1>>,
}

impl<B: Backend> Default for Gradients<B> {
    fn default() -> Self {
        Gradients {
            grads: HashMap::new(),
        }
    }
}

impl<B: Backend> Gradients<B> {
    /// Adds a gradient of parameter `id`.
    pub fn add<const D: usize>(&mut self, id: ParamId, grad: Tensor<B, D>) {
        let n = grad.shape().num_elements();
        let grad = grad.cast(burn::tensor::DType::F32).reshape([n]);
        let sum = match self.grads.remove(&id) {
            Some(previous) => previous + grad,
            None => grad,
        };
        self.grads.insert(id, sum);
    }

    /// The gradient of `id`, when it has one.
    pub fn get(&self, id: &ParamId) -> Option<&Tensor<B, 1>> {
        self.grads.get(id)
    }

    /// How many parameters have a gradient.
    pub fn len(&self) -> usize {
        self.grads.len()
    }

    /// True when no gradient was added.
    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
    }

    /// The L2 norm of all gradients together (`torch.nn.utils.clip_grad_norm_`'s total norm):
    /// the norm of the per-tensor norms.
    pub fn global_norm(&self) -> f64 {
        self.grads
            .values()
            .map(|g| {
                let norm: f32 = g.clone().square().sum().sqrt().into_scalar().elem();
                f64::from(norm).powi(2)
            })
            .sum::<f64>()
            .sqrt()
    }

    /// Clips to a global L2 norm as PyTorch does: when the norm exceeds `max_norm`, every
    /// gradient is scaled by `max_norm / (norm + 1e-6)`. Returns the norm before clipping.
    pub fn clip_global_norm(&mut self, max_norm: f64) -> f64 {
        let norm = self.global_norm();
        let coefficient = max_norm / (norm + 1e-6);
        if max_norm > 0.0 && coefficient < 1.0 {
            for grad in self.grads.values_mut() {
                *grad = grad.clone().mul_scalar(coefficient as f32);
            }
        }
        norm
    }
}

/// AdamW's hyperparameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWConfig {
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// Decoupled weight decay, applied to matrices only (not to norms or biases).
    pub weight_decay: f64,
}

/// AdamW's moments of one parameter, flattened.
#[derive(Clone, Debug)]
pub struct Moments<B: Backend> {
    /// The first moment (`exp_avg`).
    pub exp_avg: Tensor<B, 1>,
    /// The second moment (`exp_avg_sq`).
    pub exp_avg_sq: Tensor<B, 1>,
}

/// AdamW over a decoder's parameters, with state kept by parameter id.
#[derive(Debug)]
pub struct AdamW<B: Backend> {
    config: AdamWConfig,
    steps: usize,
    moments: HashMap<ParamId, Moments<B>>,
    no_decay: HashSet<ParamId>,
}

impl<B: Backend> AdamW<B> {
    /// A fresh optimizer for `model`'s parameters: norms and biases are exempt from decay, as
    /// Hugging Face's Trainer exempts them.
    pub fn new(config: AdamWConfig, model: &CausalLm<B>) -> Self {
        let no_decay = hf_params(model, "")
            .into_iter()
            .filter(|p| p.is_norm_or_bias())
            .map(|p| p.id)
            .collect();
        AdamW {
            config,
            steps: 0,
            moments: HashMap::new(),
            no_decay,
        }
    }

    /// Updates taken so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// The moments, by parameter id (absent before a parameter's first update).
    pub fn moments(&self) -> &HashMap<ParamId, Moments<B>> {
        &self.moments
    }

    /// Restores the state a checkpoint saved: the number of updates and the moments.
    pub fn restore(&mut self, steps: usize, moments: HashMap<ParamId, Moments<B>>) {
        self.steps = steps;
        self.moments = moments;
    }

    /// One update of every parameter that has a gradient, at learning rate `lr`.
    pub fn step(&mut self, model: CausalLm<B>, grads: &Gradients<B>, lr: f64) -> CausalLm<B> {
        self.steps += 1;
        let mut update = Update {
            optimizer: self,
            grads,
            lr,
        };
        model.map(&mut update)
    }
}

struct Update<'a, B: Backend> {
    optimizer: &'a mut AdamW<B>,
    grads: &'a Gradients<B>,
    lr: f64,
}

impl<B: Backend> ModuleMapper<B> for Update<'_, B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let Some(grad) = self.grads.get(&param.id) else {
            return param;
        };
        let id = param.id;
        let AdamWConfig {
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self.optimizer.config;
        let t = self.optimizer.steps as i32;
        let lr = self.lr;
        let decay = if self.optimizer.no_decay.contains(&id) {
            0.0
        } else {
            weight_decay
        };
        let previous = self.optimizer.moments.remove(&id);
        let (value, moments) = {
            let (id, tensor, mapper) = param.consume();
            let dims = tensor.dims();
            let n = tensor.shape().num_elements();
            let mut p = tensor.reshape([n]);
            if decay != 0.0 {
                p = p.mul_scalar((1.0 - lr * decay) as f32);
            }
            let (m, v) = match previous {
                Some(Moments {
                    exp_avg,
                    exp_avg_sq,
                }) => (exp_avg, exp_avg_sq),
                None => (grad.zeros_like(), grad.zeros_like()),
            };
            // exp_avg.lerp_(grad, 1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
            let m = m.clone() + (grad.clone() - m).mul_scalar((1.0 - beta1) as f32);
            let v =
                v.mul_scalar(beta2 as f32) + grad.clone().square().mul_scalar((1.0 - beta2) as f32);
            let step_size = lr / (1.0 - beta1.powi(t));
            let correction2_sqrt = (1.0 - beta2.powi(t)).sqrt();
            let denom = v
                .clone()
                .sqrt()
                .div_scalar(correction2_sqrt as f32)
                .add_scalar(eps as f32);
            let p = p - (m.clone() / denom).mul_scalar(step_size as f32);
            (
                Param::from_mapped_value(id, p.reshape(dims), mapper),
                Moments {
                    exp_avg: m,
                    exp_avg_sq: v,
                },
            )
        };
        self.optimizer.moments.insert(id, moments);
        value
    }
}
