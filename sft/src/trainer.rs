//! One optimizer step: the loss of its micro-batches, their gradients (layer by layer, the
//! vocabulary projection in chunks), global-norm clipping and the AdamW update.
//!
//! The decoder's master weights stay f32 on the inner (non-autodiff) backend. Each micro-batch:
//!
//! 1. runs the layers forward without autodiff in the compute precision, keeping only each
//!    layer's input (with `recompute`), or with autodiff through the whole stack (without);
//! 2. computes the loss on the target positions only, `loss_chunk` rows at a time: the final
//!    norm, the vocabulary projection and the cross-entropy of a chunk are differentiated on
//!    their own, so no `[rows, vocab]` logits outlive their chunk;
//! 3. sends the gradient of the final hidden states back through the layers: with
//!    `recompute`, each layer is run again with autodiff from its kept input, last layer
//!    first, and differentiated with the gradient of its output; then the embedding.
//!
//! Gradients are summed per parameter in f32 across micro-batches; bf16 compute casts the f32
//! weights inside the differentiated graph, so gradients reach the f32 master weights.

use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{DType, TensorData};
use rung_models::CausalLm;
use rung_models::model::Frame;

use crate::data::Sequence;
use crate::optim::{AdamW, Gradients};
use crate::recipe::{Precision, Recipe};
use crate::schedule::Schedule;

/// What one optimizer step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepStats {
    /// The step's number, from 1.
    pub step: usize,
    /// Mean cross-entropy per target token over the step's micro-batches.
    pub loss: f64,
    /// The learning rate of the update.
    pub lr: f64,
    /// The global L2 norm of the gradients before clipping.
    pub grad_norm: f64,
    /// Tokens the step ran through the model (padding excluded).
    pub tokens: usize,
    /// Tokens the loss was computed on.
    pub targets: usize,
}

/// The master weights and the optimizer of a run, and the means to take a step.
#[derive(Debug)]
pub struct Trainer<B: AutodiffBackend> {
    model: CausalLm<B::InnerBackend>,
    optimizer: AdamW<B::InnerBackend>,
    schedule: Schedule,
    recipe: Recipe,
    pad_id: u32,
}

impl<B: AutodiffBackend> Trainer<B> {
    /// A trainer for `model` (converted to f32 master weights) that will take
    /// `schedule.total_steps` steps.
    pub fn new(
        model: CausalLm<B::InnerBackend>,
        recipe: Recipe,
        schedule: Schedule,
        pad_id: u32,
    ) -> Self {
        let model = if model.dtype() == DType::F32 {
            model
        } else {
            model.map(&mut Cast(DType::F32))
        };
        let optimizer = AdamW::new(recipe.adamw, &model);
        Trainer {
            model,
            optimizer,
            schedule,
            recipe,
            pad_id,
        }
    }

    /// The master weights.
    pub fn model(&self) -> &CausalLm<B::InnerBackend> {
        &self.model
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &AdamW<B::InnerBackend> {
        &self.optimizer
    }

    /// The optimizer, to restore its state.
    pub fn optimizer_mut(&mut self) -> &mut AdamW<B::InnerBackend> {
        &mut self.optimizer
    }

    /// Replaces the master weights (when resuming from a checkpoint).
    pub fn set_model(&mut self, model: CausalLm<B::InnerBackend>) {
        self.model = model;
    }

    /// Steps taken so far.
    pub fn steps(&self) -> usize {
        self.optimizer.steps()
    }

    /// Takes one optimizer step over `micro_batches` of `sequences`.
    pub fn step(&mut self, sequences: &[Sequence], micro_batches: &[Vec<usize>]) -> StepStats {
        let targets: usize = micro_batches
            .iter()
            .flatten()
            .map(|&i| sequences[i].targets())
            .sum();
        let mut grads = Gradients::default();
        let mut loss = 0.0;
        let mut tokens = 0;
        for rows in micro_batches {
            let batch: Vec<&Sequence> = rows.iter().map(|&i| &sequences[i]).collect();
            tokens += batch.iter().map(|s| s.ids.len()).sum::<usize>();
            if targets > 0 {
                loss += self.micro_batch(&batch, targets, &mut grads);
            }
        }
        let grad_norm = grads.clip_global_norm(self.recipe.max_grad_norm);
        let lr = self.schedule.lr(self.optimizer.steps());
        let model = self.model.clone();
        self.model = self.optimizer.step(model, &grads, lr);
        StepStats {
            step: self.optimizer.steps(),
            loss,
            lr,
            grad_norm,
            tokens,
            targets,
        }
    }

    fn compute_dtype(&self) -> DType {
        match self.recipe.precision {
            Precision::F32 => DType::F32,
            Precision::Bf16 => DType::BF16,
        }
    }

    /// Adds one micro-batch's gradients (of its loss divided by `step_targets`) to `grads` and
    /// returns that share of the loss.
    fn micro_batch(
        &self,
        batch: &[&Sequence],
        step_targets: usize,
        grads: &mut Gradients<B::InnerBackend>,
    ) -> f64 {
        let device = self.model.device();
        let dtype = self.compute_dtype();
        let rows = batch.len();
        let seq = batch.iter().map(|s| s.ids.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(rows * seq);
        let mut positions = Vec::new();
        let mut targets = Vec::new();
        for (row, sequence) in batch.iter().enumerate() {
            ids.extend(sequence.ids.iter().map(|&id| i64::from(id)));
            ids.extend(std::iter::repeat_n(
                i64::from(self.pad_id),
                seq - sequence.ids.len(),
            ));
            for t in 1..sequence.ids.len() {
                if sequence.loss_mask[t] {
                    positions.push((row * seq + t - 1) as i64);
                    targets.push(i64::from(sequence.ids[t]));
                }
            }
        }
        let tokens = Tensor::<B::InnerBackend, 2, Int>::from_data(
            TensorData::new(ids, [rows, seq]),
            &device,
        );
        let trainable = trainable::<B>(&self.model);
        let compute = |module: CausalLm<B>| cast_unless_f32(module, dtype);
        let inner = cast_unless_f32(self.model.clone(), dtype);
        let frame = inner.causal_frame(rows, seq);

        // 1. Forward.
        let (hidden, kept, stack) = if self.recipe.recompute {
            let mut x = inner.embed(tokens.clone());
            let mut kept = Vec::with_capacity(inner.layers.len());
            for layer in &inner.layers {
                kept.push(x.clone());
                x = layer.forward(x, &frame);
            }
            (x, kept, None)
        } else {
            let model = compute(trainable.clone());
            let frame = Frame::from_inner(frame.clone());
            let mut x = model.embed(Tensor::from_inner(tokens.clone()));
            for layer in &model.layers {
                x = layer.forward(x, &frame);
            }
            (x.clone().inner(), Vec::new(), Some(x))
        };

        // 2. The loss, chunk by chunk over the target positions.
        let width = hidden.dims()[2];
        let flat = hidden.reshape([rows * seq, width]);
        let mut grad = Tensor::<B::InnerBackend, 2>::zeros([rows * seq, width], (&device, dtype));
        let mut loss = 0.0;
        let chunk = self.recipe.loss_chunk;
        for (positions, targets) in positions.chunks(chunk).zip(targets.chunks(chunk)) {
            let n = positions.len();
            let head = compute(trainable.clone());
            let leaf = Tensor::<B, 2>::from_inner(flat.clone()).require_grad();
            let index =
                Tensor::<B, 1, Int>::from_data(TensorData::new(positions.to_vec(), [n]), &device);
            let target =
                Tensor::<B, 2, Int>::from_data(TensorData::new(targets.to_vec(), [n, 1]), &device);
            let logits = head.vocab_logits(head.norm.forward(leaf.clone().select(0, index)));
            let chunk_loss = log_softmax(logits, 1)
                .gather(1, target)
                .sum()
                .neg()
                .div_scalar(step_targets as f32);
            let backward = chunk_loss.backward();
            let value: f32 = chunk_loss.into_scalar().elem();
            loss += f64::from(value);
            collect(&trainable, &backward, grads);
            if let Some(g) = leaf.grad(&backward) {
                grad = grad + g;
            }
        }
        let grad = grad.reshape([rows, seq, width]);

        // 3. Backward through the layers and the embedding.
        match stack {
            Some(output) => {
                let backward = (output * Tensor::from_inner(grad)).sum().backward();
                collect(&trainable, &backward, grads);
            }
            None => {
                let frame = Frame::from_inner(frame);
                let mut grad = grad;
                for (index, input) in kept.into_iter().enumerate().rev() {
                    let layer = &trainable.layers[index];
                    let leaf = Tensor::<B, 3>::from_inner(input).require_grad();
                    let output =
                        cast_unless_f32(layer.clone(), dtype).forward(leaf.clone(), &frame);
                    let backward = (output * Tensor::from_inner(grad.clone())).sum().backward();
                    collect(layer, &backward, grads);
                    match leaf.grad(&backward) {
                        Some(g) => grad = g,
                        None => grad = grad.zeros_like(),
                    }
                }
                let embedding = cast_unless_f32(trainable.embed_tokens.clone(), dtype);
                let output = embedding.forward(Tensor::from_inner(tokens));
                let backward = (output * Tensor::from_inner(grad)).sum().backward();
                collect(&trainable.embed_tokens, &backward, grads);
            }
        }
        loss
    }
}

/// The master weights as autodiff leaves that collect gradients.
fn trainable<B: AutodiffBackend>(model: &CausalLm<B::InnerBackend>) -> CausalLm<B> {
    struct RequireGrad;
    impl<B: AutodiffBackend> ModuleMapper<B> for RequireGrad {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
            param.map(|tensor| tensor.require_grad())
        }
    }
    CausalLm::<B>::from_inner(model.clone()).map(&mut RequireGrad)
}

/// Converts every float parameter to a dtype (differentiably, under autodiff).
struct Cast(DType);

impl<B: Backend> ModuleMapper<B> for Cast {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let dtype = self.0;
        param.map(|tensor| tensor.cast(dtype))
    }
}

fn cast_unless_f32<B: Backend, M: Module<B>>(module: M, dtype: DType) -> M {
    if dtype == DType::F32 {
        module
    } else {
        module.map(&mut Cast(dtype))
    }
}

/// Adds the gradients `backward` holds for `module`'s parameters to `grads`.
fn collect<B: AutodiffBackend, M: Module<B>>(
    module: &M,
    backward: &B::Gradients,
    grads: &mut Gradients<B::InnerBackend>,
) {
    struct Collect<'a, B: AutodiffBackend> {
        backward: &'a B::Gradients,
        grads: &'a mut Gradients<B::InnerBackend>,
    }
    impl<B: AutodiffBackend> ModuleVisitor<B> for Collect<'_, B> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            if let Some(grad) = param.val().grad(self.backward) {
                self.grads.add(param.id, grad);
            }
        }
    }
    module.visit(&mut Collect::<B> { backward, grads });
}
