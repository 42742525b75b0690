//! The decoder against Hugging Face transformers on two tiny random checkpoints written by
//! `models/reference/model_reference.py`: a Qwen2 (QKV bias, GQA, tied embeddings, f32, one
//! file) and a Llama (GQA, Llama 3 rope scaling, untied, bf16, sharded).

mod support;

use burn::backend::Flex;
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use rung_models::generate::greedy;
use rung_models::score::{Request, loglikelihood};
use rung_models::{Architecture, CausalLm, Finish, GenerateOptions, KvCache, load_hf_dir};
use serde_json::Value;

type B = Flex;

fn reference() -> Value {
    let path = support::fixture("models/tiny_reference.json");
    let text = std::fs::read_to_string(&path).expect("the tiny reference fixture");
    serde_json::from_str(&text).expect("valid JSON")
}

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .expect("a list of ids")
        .iter()
        .map(|v| u32::try_from(v.as_u64().expect("an id")).expect("fits"))
        .collect()
}

fn load(name: &str) -> CausalLm<B> {
    let dir = support::fixture(&format!("models/{name}"));
    load_hf_dir::<B>(&dir, &Default::default(), DType::F32)
        .expect("the checkpoint loads")
        .1
}

fn tokens(rows: &[Vec<u32>]) -> Tensor<B, 2, Int> {
    let width = rows[0].len();
    let flat: Vec<i64> = rows.iter().flatten().map(|&t| i64::from(t)).collect();
    Tensor::from_data(
        TensorData::new(flat, [rows.len(), width]),
        &Default::default(),
    )
}

fn floats(tensor: Tensor<B, 3>) -> Vec<f32> {
    tensor.into_data().iter::<f32>().collect()
}

/// The largest absolute difference between our logits for each sequence, run alone, and the
/// reference's.
fn max_logit_error(model: &CausalLm<B>, case: &Value) -> f32 {
    let mut worst = 0.0f32;
    for (sequence, expected) in case["sequences"]
        .as_array()
        .expect("sequences")
        .iter()
        .zip(case["logits"].as_array().expect("logits"))
    {
        let ours = floats(model.forward(tokens(&[ids(sequence)])));
        let theirs: Vec<f32> = expected
            .as_array()
            .expect("rows")
            .iter()
            .flat_map(|row| {
                row.as_array()
                    .expect("a row")
                    .iter()
                    .map(|v| v.as_f64().expect("float") as f32)
            })
            .collect();
        assert_eq!(ours.len(), theirs.len());
        for (a, b) in ours.iter().zip(&theirs) {
            worst = worst.max((a - b).abs());
        }
    }
    worst
}

#[test]
fn tiny_qwen2_logits_match_transformers() {
    let model = load("tiny-qwen2");
    assert!(model.lm_head.is_none(), "Qwen2 fixture ties its embeddings");
    assert!(
        model.layers[0].self_attn.q_proj.bias.is_some(),
        "Qwen2 has QKV biases"
    );
    let error = max_logit_error(&model, &reference()["tiny-qwen2"]);
    assert!(error < 1e-4, "largest logit difference {error}");
}

#[test]
fn tiny_llama_logits_match_transformers() {
    let dir = support::fixture("models/tiny-llama");
    let (config, model) = load_hf_dir::<B>(&dir, &Default::default(), DType::F32).expect("loads");
    assert_eq!(config.architecture, Architecture::Llama);
    assert!(
        config.rope_scaling.is_some(),
        "the fixture uses Llama 3 rope scaling"
    );
    assert!(model.lm_head.is_some(), "the fixture has untied embeddings");
    let error = max_logit_error(&model, &reference()["tiny-llama"]);
    assert!(error < 1e-4, "largest logit difference {error}");
}

#[test]
fn a_left_padded_batch_with_a_cache_gives_each_row_its_own_logits() {
    let model = load("tiny-llama");
    let sequences: Vec<Vec<u32>> = reference()["tiny-llama"]["sequences"]
        .as_array()
        .expect("list")
        .iter()
        .map(ids)
        .collect();
    let width = sequences.iter().map(Vec::len).max().expect("some");
    // Feed the padded batch in two steps (a prefill and the rest) through one cache.
    let split = 4;
    let padded: Vec<Vec<u32>> = sequences
        .iter()
        .map(|s| {
            std::iter::repeat_n(0, width - s.len())
                .chain(s.iter().copied())
                .collect()
        })
        .collect();
    let real: Vec<Vec<bool>> = sequences
        .iter()
        .map(|s| (0..width).map(|i| i >= width - s.len()).collect())
        .collect();
    let mut cache = KvCache::new(sequences.len(), width, model.layers.len());
    let part = |rows: &[Vec<u32>], range: std::ops::Range<usize>| -> Vec<Vec<u32>> {
        rows.iter().map(|r| r[range.clone()].to_vec()).collect()
    };
    let flags = |range: std::ops::Range<usize>| -> Vec<Vec<bool>> {
        real.iter().map(|r| r[range.clone()].to_vec()).collect()
    };
    let first = model
        .step(
            tokens(&part(&padded, 0..split)),
            &flags(0..split),
            &mut cache,
        )
        .expect("fits");
    let second = model
        .step(
            tokens(&part(&padded, split..width)),
            &flags(split..width),
            &mut cache,
        )
        .expect("fits");
    let batched = model.logits(Tensor::cat(vec![first, second], 1));
    let vocab = model.vocab_size();
    for (row, sequence) in sequences.iter().enumerate() {
        let alone = floats(model.forward(tokens(std::slice::from_ref(sequence))));
        let pad = width - sequence.len();
        let ours = floats(
            batched
                .clone()
                .narrow(0, row, 1)
                .narrow(1, pad, sequence.len()),
        );
        let worst = ours
            .iter()
            .zip(&alone)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert_eq!(ours.len(), sequence.len() * vocab);
        assert!(
            worst < 1e-4,
            "row {row}: batched and alone differ by {worst}"
        );
    }
}

#[test]
fn loglikelihoods_match_transformers() {
    for name in ["tiny-qwen2", "tiny-llama"] {
        let model = load(name);
        let cases = reference()[name]["loglikelihood"]
            .as_array()
            .expect("cases")
            .clone();
        let requests: Vec<Request> = cases
            .iter()
            .map(|c| Request {
                context: ids(&c["context"]),
                continuation: ids(&c["continuation"]),
            })
            .collect();
        let scores = loglikelihood(&model, &requests, 2, 2048).expect("scores");
        for (case, score) in cases.iter().zip(&scores) {
            let expected = case["sum"].as_f64().expect("sum");
            assert!(
                (score.sum - expected).abs() < 1e-3,
                "{name}: {} vs {expected}",
                score.sum
            );
            assert_eq!(score.greedy, case["greedy"].as_bool().expect("bool"));
            for (ours, theirs) in score
                .per_token
                .iter()
                .zip(case["per_token"].as_array().expect("list"))
            {
                let theirs = theirs.as_f64().expect("float");
                assert!(
                    (f64::from(*ours) - theirs).abs() < 1e-4,
                    "{name}: {ours} vs {theirs}"
                );
            }
        }
    }
}

#[test]
fn loglikelihood_rejects_empty_parts() {
    let model = load("tiny-qwen2");
    let request = Request {
        context: vec![],
        continuation: vec![5],
    };
    let error = loglikelihood(&model, &[request], 1, 16).expect_err("empty context");
    assert!(error.contains("empty context"), "{error}");
}

#[test]
fn bf16_weights_stay_close_to_f32() {
    let dir = support::fixture("models/tiny-qwen2");
    let (_, model) = load_hf_dir::<B>(&dir, &Default::default(), DType::BF16).expect("loads");
    assert_eq!(model.dtype(), DType::BF16);
    let case = &reference()["tiny-qwen2"];
    let sequence = ids(&case["sequences"][0]);
    let ours = floats(model.forward(tokens(&[sequence])));
    let theirs: Vec<f32> = case["logits"][0]
        .as_array()
        .expect("rows")
        .iter()
        .flat_map(|row| {
            row.as_array()
                .expect("row")
                .iter()
                .map(|v| v.as_f64().expect("f") as f32)
        })
        .collect();
    let scale = theirs.iter().map(|v| v.abs()).fold(0.0, f32::max);
    let worst = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        worst < 0.05 * scale,
        "bf16 logits differ by {worst} (scale {scale})"
    );
    assert!(worst > 0.0, "bf16 weights should not reproduce f32 exactly");
}

#[test]
fn batched_greedy_generation_matches_transformers() {
    for name in ["tiny-qwen2", "tiny-llama"] {
        let model = load(name);
        let case = &reference()[name]["generate"];
        let prompts: Vec<Vec<u32>> = case["prompts"]
            .as_array()
            .expect("prompts")
            .iter()
            .map(ids)
            .collect();
        let options = GenerateOptions {
            max_new_tokens: case["max_new_tokens"].as_u64().expect("count") as usize,
            eos_token_ids: Vec::new(),
            stop: Vec::new(),
            batch_size: prompts.len(),
        };
        let completions = greedy(&model, None, &prompts, &options).expect("generates");
        for (completion, expected) in completions
            .iter()
            .zip(case["tokens"].as_array().expect("tokens"))
        {
            assert_eq!(completion.tokens, ids(expected), "{name}");
            assert_eq!(completion.finish, Finish::Length);
        }
        // One prompt at a time gives the same tokens as the padded batch.
        let alone = GenerateOptions {
            batch_size: 1,
            ..options
        };
        let singles = greedy(&model, None, &prompts, &alone).expect("generates");
        assert_eq!(singles, completions, "{name}");
    }
}

#[test]
fn generation_stops_at_end_of_sequence_tokens() {
    let model = load("tiny-llama");
    let case = &reference()["tiny-llama"]["generate"];
    let prompt = ids(&case["prompts"][0]);
    let expected = ids(&case["tokens"][0]);
    let options = GenerateOptions {
        max_new_tokens: 8,
        eos_token_ids: vec![expected[3]],
        stop: Vec::new(),
        batch_size: 1,
    };
    let completion = greedy(&model, None, &[prompt], &options)
        .expect("generates")
        .remove(0);
    let before: Vec<u32> = expected
        .iter()
        .take_while(|&&t| t != expected[3])
        .copied()
        .collect();
    assert_eq!(completion.tokens, before);
    assert_eq!(completion.finish, Finish::Eos);
}
