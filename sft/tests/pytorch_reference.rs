//! Twenty optimizer steps on a tiny Qwen2 match PyTorch's `AdamW` with
//! `get_cosine_schedule_with_warmup` and `clip_grad_norm_` on the same weights, data and order
//! (fixtures written by `sft/reference/sft_reference.py`).

mod support;

use std::path::{Path, PathBuf};

use burn::tensor::DType;
use rung_models::load_hf_dir;
use rung_sft::optim::AdamWConfig;
use rung_sft::{Decay, Precision, Recipe, Schedule, Sequence, Trainer};
use serde_json::Value;
use support::{Inner, Train, max_difference};

fn fixture(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/adamw")
        .join(relative)
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

fn replay(recompute: bool, loss_chunk: usize) {
    let trace: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("trace.json")).expect("trace.json"))
            .expect("JSON");
    let constants = &trace["constants"];
    let number = |name: &str| constants[name].as_f64().expect(name);
    let count = |name: &str| constants[name].as_u64().expect(name) as usize;
    let betas = numbers(&constants["betas"]);
    let recipe = Recipe {
        lr: number("lr"),
        adamw: AdamWConfig {
            beta1: betas[0],
            beta2: betas[1],
            eps: number("eps"),
            weight_decay: number("weight_decay"),
        },
        max_grad_norm: number("max_grad_norm"),
        micro_batch: count("micro_batch"),
        grad_accum: count("grad_accum"),
        precision: Precision::F32,
        recompute,
        loss_chunk,
        ..Recipe::study()
    };
    let schedule = Schedule {
        peak: recipe.lr,
        warmup_steps: count("warmup_steps"),
        total_steps: count("total_steps"),
        decay: Decay::Cosine,
        min_ratio: 0.0,
    };
    let sequences: Vec<Sequence> = trace["examples"]
        .as_array()
        .expect("examples")
        .iter()
        .map(|e| Sequence {
            ids: numbers(&e["input_ids"])
                .into_iter()
                .map(|x| x as u32)
                .collect(),
            loss_mask: numbers(&e["loss_mask"])
                .into_iter()
                .map(|x| x != 0.0)
                .collect(),
        })
        .collect();
    let (_, initial) = load_hf_dir::<Inner>(&fixture("initial"), &Default::default(), DType::F32)
        .expect("the initial model loads");
    let mut trainer = Trainer::<Train>::new(initial, recipe, schedule, count("pad_id") as u32);
    let steps = trace["steps"].as_array().expect("steps");
    let expected = trace["trace"].as_array().expect("trace");
    let mut clipped = 0;
    for (step, reference) in steps.iter().zip(expected) {
        let micro_batches: Vec<Vec<usize>> = step
            .as_array()
            .expect("micro-batches")
            .iter()
            .map(|m| numbers(m).into_iter().map(|x| x as usize).collect())
            .collect();
        let stats = trainer.step(&sequences, &micro_batches);
        let want = |name: &str| reference[name].as_f64().expect(name);
        assert!(
            (stats.lr - want("lr")).abs() < 1e-12,
            "step {}: lr {} vs {}",
            stats.step,
            stats.lr,
            want("lr")
        );
        assert!(
            (stats.loss - want("loss")).abs() < 2e-5,
            "step {}: loss {} vs {}",
            stats.step,
            stats.loss,
            want("loss")
        );
        let norm_gap = (stats.grad_norm - want("grad_norm")).abs() / want("grad_norm");
        assert!(
            norm_gap < 1e-4,
            "step {}: grad norm {} vs {}",
            stats.step,
            stats.grad_norm,
            want("grad_norm")
        );
        clipped += usize::from(want("grad_norm") > number("max_grad_norm"));
    }
    assert!(clipped > 0, "the fixture exercises clipping");

    // PyTorch's final weights, read through the same loader.
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::copy(
        fixture("initial/config.json"),
        dir.path().join("config.json"),
    )
    .expect("copied");
    std::fs::copy(
        fixture("final.safetensors"),
        dir.path().join("model.safetensors"),
    )
    .expect("copied");
    let (_, reference) =
        load_hf_dir::<Inner>(dir.path(), &Default::default(), DType::F32).expect("loads");
    let gap = max_difference(trainer.model(), &reference);
    let moved = trace["max_abs_change"].as_f64().expect("max_abs_change");
    let smallest_mistake = trace["sensitivity"]
        .as_object()
        .expect("sensitivity")
        .values()
        .map(|s| s["max_abs_param_diff"].as_f64().expect("a difference"))
        .fold(f64::INFINITY, f64::min);
    eprintln!(
        "largest weight difference from PyTorch: {gap:.2e} (training moved weights by up to {moved:.2e}; the smallest deliberate mistake moves them by {smallest_mistake:.2e})"
    );
    assert!(f64::from(gap) < 2e-5, "{gap}");
    assert!(f64::from(gap) < smallest_mistake / 50.0);
}

#[test]
fn twenty_steps_match_pytorch() {
    replay(true, 1024);
}

#[test]
fn twenty_steps_match_pytorch_without_recomputation_and_with_small_loss_chunks() {
    replay(false, 5);
}
