//! Saving models as Hugging Face directories: the files transformers wrote come back
//! byte for byte, and a saved SmolLM2 loads back and answers the same.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use burn::backend::Flex;
use burn::tensor::DType;
use rung_models::{GenerateOptions, LanguageModel, hf_params, load_hf_dir, save_safetensors};
use safetensors::SafeTensors;

type B = Flex;

/// Every tensor of the safetensors files in `dir`: name -> (dtype, shape, bytes).
fn tensors(dir: &Path) -> BTreeMap<String, (String, Vec<usize>, Vec<u8>)> {
    let mut all = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("the directory exists") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "safetensors") {
            let bytes = std::fs::read(&path).expect("readable");
            let file = SafeTensors::deserialize(&bytes).expect("valid safetensors");
            for (name, view) in file.tensors() {
                let value = (
                    format!("{:?}", view.dtype()),
                    view.shape().to_vec(),
                    view.data().to_vec(),
                );
                all.insert(name, value);
            }
        }
    }
    all
}

fn round_trip(fixture: &str, dtype: DType) {
    let source = support::fixture(fixture);
    let (_, model) = load_hf_dir::<B>(&source, &Default::default(), dtype).expect("loads");
    let out = tempfile::tempdir().expect("a temporary directory");
    save_safetensors(&model, &out.path().join("model.safetensors")).expect("saves");
    let (original, saved) = (tensors(&source), tensors(out.path()));
    assert_eq!(
        original.keys().collect::<Vec<_>>(),
        saved.keys().collect::<Vec<_>>(),
        "the same tensor names"
    );
    for (name, value) in &original {
        assert!(
            saved[name] == *value,
            "`{name}` differs after the round trip"
        );
    }
}

#[test]
fn an_f32_checkpoint_is_written_back_byte_for_byte() {
    round_trip("models/tiny-qwen2", DType::F32);
}

#[test]
fn a_sharded_bf16_checkpoint_is_written_back_byte_for_byte_in_one_file() {
    round_trip("models/tiny-llama", DType::BF16);
}

#[test]
fn parameters_are_named_as_hugging_face_names_them() {
    let (_, model) = load_hf_dir::<B>(
        &support::fixture("models/tiny-qwen2"),
        &Default::default(),
        DType::F32,
    )
    .expect("loads");
    let params = hf_params(&model, "");
    let q = params
        .iter()
        .find(|p| p.name == "model.layers.1.self_attn.q_proj.bias")
        .expect("Qwen2 has query biases");
    assert!(q.is_norm_or_bias() && !q.transposed);
    let embedding = params
        .iter()
        .find(|p| p.name == "model.embed_tokens.weight")
        .expect("an embedding");
    assert!(!embedding.transposed && !embedding.is_norm_or_bias());
    let (_, untied) = load_hf_dir::<B>(
        &support::fixture("models/tiny-llama"),
        &Default::default(),
        DType::F32,
    )
    .expect("loads");
    let head = hf_params(&untied, "")
        .into_iter()
        .find(|p| p.name == "lm_head.weight")
        .expect("an untied head");
    assert!(head.transposed && !head.is_norm_or_bias());
    let layer = hf_params(&model.layers[1], "layers.1");
    assert!(layer.iter().all(|p| p.name.starts_with("model.layers.1.")));
    assert_eq!(
        layer,
        params
            .iter()
            .filter(|p| p.name.starts_with("model.layers.1."))
            .cloned()
            .collect::<Vec<_>>()
    );
}

#[test]
fn smollm2_saved_as_a_directory_loads_back_and_answers_the_same() {
    let device = Default::default();
    let gguf = LanguageModel::<B>::load(&support::smollm2_gguf(), &device, DType::F32)
        .expect("the GGUF loads");
    let out = tempfile::tempdir().expect("a temporary directory");
    gguf.save(out.path()).expect("saves");
    let dir = LanguageModel::<B>::load(out.path(), &device, DType::F32).expect("loads back");
    assert_eq!(dir.config, gguf.config);
    assert_eq!(dir.eos_token_ids(), gguf.eos_token_ids());
    let text = "Hello, world! 1234 numbers\nand <|im_end|> tokens";
    assert_eq!(
        dir.tokenizer.encode(text, true).expect("encodes"),
        gguf.tokenizer.encode(text, true).expect("encodes")
    );
    let messages = [rung_models::chat::Message::user(
        "What is the capital of France?",
    )];
    let prompt = gguf.chat_prompt(&messages).expect("a template");
    assert_eq!(dir.chat_prompt(&messages).expect("a template"), prompt);
    let options = GenerateOptions {
        max_new_tokens: 8,
        eos_token_ids: Vec::new(),
        stop: Vec::new(),
        batch_size: 1,
    };
    let a = gguf.generate(std::slice::from_ref(&prompt), false, &options);
    let b = dir.generate(&[prompt], false, &options);
    assert_eq!(
        a.expect("generates")[0].tokens,
        b.expect("generates")[0].tokens
    );
}

#[test]
fn a_llama_with_biases_that_config_json_cannot_express_is_refused() {
    let mut config = rung_models::ModelConfig::tiny(40, 32, 1, 4);
    config.qkv_bias = true;
    let model = rung_models::init_random::<B>(&config, 1, &Default::default());
    let tokenizer = rung_models::tokenizer::Tokenizer::characters("abc").expect("builds");
    let lm = LanguageModel::new(config, model, tokenizer);
    let out = tempfile::tempdir().expect("a temporary directory");
    let error = lm
        .save(out.path())
        .expect_err("not expressible")
        .to_string();
    assert!(
        error.contains("attention_bias") && error.contains("Qwen2"),
        "{error}"
    );
}
