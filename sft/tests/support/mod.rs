//! Shared by the integration tests: tiny character-level chat models and their weights.

use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleVisitor, Param};
use burn::prelude::*;
use rung_models::chat::{ChatTemplate, SpecialTokens};
use rung_models::tokenizer::Tokenizer;
use rung_models::tokenizer::characters::{CHATML, IM_END};
use rung_models::{CausalLm, LanguageModel, ModelConfig, init_random};

/// The backend the tests train on.
pub(crate) type Train = Autodiff<Flex>;
/// Its inner backend.
pub(crate) type Inner = Flex;

/// A tiny Llama-shaped chat model over the characters of `alphabet`, seeded.
#[allow(dead_code, reason = "not every test file builds chat models")]
pub(crate) fn tiny_chat_model(
    alphabet: &str,
    hidden: usize,
    layers: usize,
    seed: u64,
) -> LanguageModel<Inner> {
    let tokenizer = Tokenizer::characters(alphabet).expect("a character tokenizer");
    let mut config = ModelConfig::tiny(tokenizer.vocab_size(), hidden, layers, 4);
    config.num_kv_heads = 2;
    config.eos_token_ids = vec![2];
    let model = init_random::<Inner>(&config, seed, &Default::default());
    let mut lm = LanguageModel::new(config, model, tokenizer);
    let special = SpecialTokens::new().with("eos_token", IM_END);
    lm.chat_template = Some(ChatTemplate::new(CHATML, special).expect("ChatML parses"));
    lm
}

/// Every weight of a model, flattened, in the module's order.
#[allow(dead_code, reason = "not every test file compares weights")]
pub(crate) fn weights(model: &CausalLm<Inner>) -> Vec<Vec<f32>> {
    struct Values(Vec<Vec<f32>>);
    impl ModuleVisitor<Inner> for Values {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Inner, D>>) {
            self.0.push(param.val().into_data().iter::<f32>().collect());
        }
    }
    let mut values = Values(Vec::new());
    model.visit(&mut values);
    values.0
}

/// The largest absolute difference between two models' weights.
#[allow(dead_code, reason = "not every test file compares weights")]
pub(crate) fn max_difference(a: &CausalLm<Inner>, b: &CausalLm<Inner>) -> f32 {
    weights(a)
        .iter()
        .zip(weights(b))
        .flat_map(|(x, y)| {
            x.iter()
                .zip(y)
                .map(|(p, q)| (p - q).abs())
                .collect::<Vec<_>>()
        })
        .fold(0.0, f32::max)
}
