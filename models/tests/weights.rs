//! Building decoders: seeded random initialisation, and the errors of checkpoints that do not
//! fit their config.

mod support;

use std::path::{Path, PathBuf};

use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use rung_models::{CausalLm, LoadError, ModelConfig, init_random, load_hf_dir};

type B = Flex;

fn logits(model: &CausalLm<B>, tokens: &[i64]) -> Vec<f32> {
    let input = Tensor::<B, 2, Int>::from_data(
        TensorData::new(tokens.to_vec(), [1, tokens.len()]),
        &Default::default(),
    );
    model.forward(input).into_data().iter::<f32>().collect()
}

#[test]
fn a_seed_decides_a_tiny_model() {
    let config = ModelConfig::tiny(40, 32, 2, 4);
    let device = Default::default();
    let a = init_random::<B>(&config, 7, &device);
    let b = init_random::<B>(&config, 7, &device);
    let c = init_random::<B>(&config, 8, &device);
    let tokens = [1, 5, 9, 3];
    assert_eq!(logits(&a, &tokens), logits(&b, &tokens));
    assert_ne!(logits(&a, &tokens), logits(&c, &tokens));
    assert_eq!(logits(&a, &tokens).len(), tokens.len() * 40);
    assert_eq!(a.layers.len(), 2);
    assert!(a.lm_head.is_none(), "tiny models tie their embeddings");
}

/// A copy of the tiny Qwen2 fixture with its config edited.
fn edited_checkpoint(name: &str, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let source = support::fixture("models/tiny-qwen2");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("weights")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(
        source.join("model.safetensors"),
        dir.join("model.safetensors"),
    )
    .expect("copy");
    let text = std::fs::read_to_string(source.join("config.json")).expect("config");
    let mut config: serde_json::Value = serde_json::from_str(&text).expect("json");
    edit(&mut config);
    std::fs::write(dir.join("config.json"), config.to_string()).expect("write");
    dir
}

fn load_error(dir: &Path) -> LoadError {
    load_hf_dir::<B>(dir, &Default::default(), DType::F32).expect_err("the checkpoint is broken")
}

#[test]
fn a_shape_that_does_not_fit_the_config_names_the_tensor() {
    let dir = edited_checkpoint("shape", |c| c["intermediate_size"] = 100.into());
    let message = load_error(&dir).to_string();
    assert!(
        message.contains("tensor `model.layers.0.mlp.gate_proj.weight` has shape [96, 64], but the config implies [100, 64]"),
        "{message}"
    );
}

#[test]
fn a_missing_tensor_is_named() {
    let dir = edited_checkpoint("missing", |c| c["tie_word_embeddings"] = false.into());
    let message = load_error(&dir).to_string();
    assert!(message.contains("no tensor `lm_head.weight`"), "{message}");
}

#[test]
fn an_unsupported_architecture_is_named_with_its_file() {
    let dir = edited_checkpoint("architecture", |c| {
        c["architectures"] = serde_json::json!(["GemmaForCausalLM"]);
        c["model_type"] = "gemma".into();
    });
    let message = load_error(&dir).to_string();
    assert!(
        message.contains("config.json: unsupported architecture"),
        "{message}"
    );
    assert!(message.contains("GemmaForCausalLM"), "{message}");
}

#[test]
fn a_directory_without_weights_says_so() {
    let dir = edited_checkpoint("no-weights", |_| {});
    std::fs::remove_file(dir.join("model.safetensors")).expect("remove");
    let message = load_error(&dir).to_string();
    assert!(
        message.contains("neither model.safetensors nor model.safetensors.index.json"),
        "{message}"
    );
}
