//! A tiny model fine-tuned on a small task learns it: the loss falls and accuracy on held-out
//! prompts rises from nothing.

mod support;

use std::ops::ControlFlow;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rung_models::chat::Message;
use rung_models::{GenerateOptions, LanguageModel};
use rung_sft::{Checkpointing, Decay, Example, Format, Precision, Recipe, fine_tune};
use support::{Inner, Train, tiny_chat_model};

/// Reverse a string of three digits: "482" -> "284".
fn reversal(rng: &mut ChaCha8Rng) -> Example {
    let digits: String = (0..3)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect();
    Example {
        completion: digits.chars().rev().collect(),
        prompt: digits,
    }
}

fn accuracy(model: &LanguageModel<Inner>, examples: &[Example]) -> f64 {
    let prompts: Vec<String> = examples
        .iter()
        .map(|e| {
            model
                .chat_prompt(&[Message::user(e.prompt.clone())])
                .expect("ChatML")
        })
        .collect();
    let options = GenerateOptions {
        max_new_tokens: 6,
        eos_token_ids: Vec::new(),
        stop: Vec::new(),
        batch_size: 64,
    };
    let outputs = model
        .generate(&prompts, false, &options)
        .expect("generates");
    let right = outputs
        .iter()
        .zip(examples)
        .filter(|(out, e)| out.text == e.completion)
        .count();
    right as f64 / examples.len() as f64
}

#[test]
fn a_tiny_model_learns_to_reverse_digits() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut all: Vec<Example> = (0..560).map(|_| reversal(&mut rng)).collect();
    all.shuffle(&mut rng);
    let (held_out, train) = all.split_at(60);
    let model = tiny_chat_model("0123456789", 64, 2, 11);
    let before = accuracy(&model, held_out);
    let recipe = Recipe {
        epochs: 12,
        lr: 5e-3,
        decay: Decay::Cosine,
        warmup_ratio: 0.05,
        max_grad_norm: 1.0,
        micro_batch: 16,
        grad_accum: 1,
        max_length: 64,
        precision: Precision::F32,
        recompute: false,
        ..Recipe::study()
    };
    let format = Format {
        chat_template: true,
        system_prompt: None,
        completion_only: true,
        max_length: 64,
    };
    let outcome = fine_tune::<Train>(
        model,
        train,
        &format,
        &recipe,
        &Checkpointing::default(),
        &mut |_| ControlFlow::Continue(()),
    )
    .expect("trains");
    let losses: Vec<f64> = outcome
        .metrics
        .iter()
        .map(|m| m["loss"].as_f64().expect("a loss"))
        .collect();
    let after = accuracy(&outcome.model, held_out);
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    eprintln!(
        "{} steps, loss {first:.3} -> {last:.3}, held-out accuracy {before:.2} -> {after:.2}",
        losses.len()
    );
    assert!(last < first / 4.0, "the loss fell from {first} to {last}");
    assert!(before < 0.05, "untrained accuracy {before}");
    assert!(after >= 0.8, "held-out accuracy after training: {after}");
}
