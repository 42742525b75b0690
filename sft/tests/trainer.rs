//! One optimizer step: recomputing layer by layer gives the gradients of the plain backward
//! pass, the loss is the mean cross-entropy of the target tokens, and runs are deterministic.

mod support;

use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::log_softmax;
use rung_sft::{Decay, Recipe, Schedule, Sequence, Trainer};
use support::{Inner, Train, max_difference, tiny_chat_model};

fn sequences() -> Vec<Sequence> {
    let rows: [(&[u32], usize); 4] = [
        (&[1, 5, 6, 7, 8, 2, 9, 10, 11, 2], 6),
        (&[1, 12, 13, 2, 14, 15], 4),
        (&[1, 7, 7, 7, 8, 9, 2, 5, 2], 7),
        (&[1, 4, 5, 6, 2, 14, 15, 4, 5, 6, 7, 2], 5),
    ];
    rows.iter()
        .map(|(ids, boundary)| Sequence {
            ids: ids.to_vec(),
            loss_mask: (0..ids.len()).map(|i| i >= *boundary).collect(),
        })
        .collect()
}

fn recipe(recompute: bool, loss_chunk: usize) -> Recipe {
    Recipe {
        lr: 1e-2,
        micro_batch: 2,
        grad_accum: 2,
        precision: rung_sft::Precision::F32,
        recompute,
        loss_chunk,
        max_grad_norm: 1.0,
        ..Recipe::study()
    }
}

fn schedule() -> Schedule {
    Schedule {
        peak: 1e-2,
        warmup_steps: 0,
        total_steps: 3,
        decay: Decay::Cosine,
        min_ratio: 0.0,
    }
}

fn train(recipe: Recipe, steps: usize) -> (Trainer<Train>, Vec<f64>) {
    let (trainer, stats) = train_stats(recipe, steps);
    (trainer, stats.iter().map(|s| s.loss).collect())
}

fn train_stats(recipe: Recipe, steps: usize) -> (Trainer<Train>, Vec<rung_sft::StepStats>) {
    let lm = tiny_chat_model("0123456789+=", 32, 2, 3);
    let mut trainer = Trainer::<Train>::new(lm.model, recipe, schedule(), 0);
    let data = sequences();
    let stats = (0..steps)
        .map(|_| trainer.step(&data, &[vec![0, 1], vec![2, 3]]))
        .collect();
    (trainer, stats)
}

#[test]
fn recomputing_layer_by_layer_gives_the_plain_gradients() {
    let (plain, plain_losses) = train(recipe(false, 1024), 3);
    let (recomputed, losses) = train(recipe(true, 1024), 3);
    let (chunked, chunked_losses) = train(recipe(true, 3), 3);
    for (a, b) in plain_losses.iter().zip(&losses) {
        assert!((a - b).abs() < 1e-6, "{plain_losses:?} vs {losses:?}");
    }
    for (a, b) in losses.iter().zip(&chunked_losses) {
        assert!((a - b).abs() < 1e-6, "{losses:?} vs {chunked_losses:?}");
    }
    let moved = max_difference(
        plain.model(),
        &tiny_chat_model("0123456789+=", 32, 2, 3).model,
    );
    assert!(moved > 1e-3, "training moved the weights by {moved}");
    let gap = max_difference(plain.model(), recomputed.model());
    assert!(
        gap < 1e-5,
        "recomputation changed the weights by {gap} (training moved them by {moved})"
    );
    let gap = max_difference(recomputed.model(), chunked.model());
    assert!(gap < 1e-5, "chunking the loss changed the weights by {gap}");
}

#[test]
fn the_loss_is_the_mean_cross_entropy_of_the_target_tokens() {
    let lm = tiny_chat_model("0123456789+=", 32, 2, 3);
    let data = sequences();
    let mut expected = 0.0f64;
    let mut count = 0usize;
    for sequence in &data {
        let n = sequence.ids.len();
        let ids: Vec<i64> = sequence.ids.iter().map(|&i| i64::from(i)).collect();
        let tokens =
            Tensor::<Inner, 2, Int>::from_data(TensorData::new(ids, [1, n]), &Default::default());
        let logp = log_softmax(lm.model.forward(tokens), 2);
        let values: Vec<f32> = logp.into_data().iter::<f32>().collect();
        let vocab = lm.model.vocab_size();
        for t in 1..n {
            if sequence.loss_mask[t] {
                expected -= f64::from(values[(t - 1) * vocab + sequence.ids[t] as usize]);
                count += 1;
            }
        }
    }
    expected /= count as f64;
    let mut trainer = Trainer::<Train>::new(lm.model, recipe(true, 2), schedule(), 0);
    let stats = trainer.step(&data, &[vec![0, 1], vec![2, 3]]);
    assert_eq!(stats.targets, count);
    assert_eq!(
        stats.tokens,
        data.iter().map(|s| s.ids.len()).sum::<usize>()
    );
    assert!(
        (stats.loss - expected).abs() < 1e-5,
        "{} vs {expected}",
        stats.loss
    );
    assert!(stats.grad_norm > 0.0);
}

#[test]
fn training_on_the_cpu_is_deterministic() {
    let (a, la) = train(recipe(true, 4), 2);
    let (b, lb) = train(recipe(true, 4), 2);
    assert_eq!(la, lb);
    assert_eq!(support::weights(a.model()), support::weights(b.model()));
}

#[test]
fn bf16_compute_trains_f32_master_weights_close_to_f32_training() {
    let bf16 = Recipe {
        precision: rung_sft::Precision::Bf16,
        ..recipe(true, 4)
    };
    let (mixed, mixed_stats) = train_stats(bf16, 3);
    let (_, full_stats) = train_stats(recipe(true, 4), 3);
    assert_eq!(
        mixed.model().dtype(),
        burn::tensor::DType::F32,
        "master weights stay f32"
    );
    for (a, b) in mixed_stats.iter().zip(&full_stats) {
        assert!(
            (a.loss - b.loss).abs() < 0.02 * b.loss,
            "loss {a:?} vs {b:?}"
        );
        let gap = (a.grad_norm - b.grad_norm).abs();
        assert!(gap < 0.05 * b.grad_norm, "gradient norm {a:?} vs {b:?}");
    }
    let initial = tiny_chat_model("0123456789+=", 32, 2, 3).model;
    let moved = max_difference(mixed.model(), &initial);
    assert!(
        moved > 1e-2,
        "bf16 compute moved the f32 weights by {moved}"
    );
}
