//! Batched greedy generation with a key/value cache: left-padded prompts, end-of-sequence
//! tokens, stop strings and a token budget.

use burn::prelude::*;
use burn::tensor::TensorData;

use crate::model::{CausalLm, KvCache};
use crate::tokenizer::Tokenizer;

/// Why a row stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// It produced an end-of-sequence token (not part of the output).
    Eos,
    /// Its text reached a stop string (the text is cut before it).
    Stop,
    /// It used up `max_new_tokens`.
    Length,
}

/// The limits of one generation call.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Most tokens generated per prompt.
    pub max_new_tokens: usize,
    /// Generation ends at any of these tokens.
    pub eos_token_ids: Vec<u32>,
    /// Generation ends when the text contains any of these; the text is cut before it.
    pub stop: Vec<String>,
    /// Prompts run together; longer batches pad less when prompts are sorted by length, which
    /// this module does.
    pub batch_size: usize,
}

/// The greedy continuation of one prompt.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    /// The generated tokens, without the end-of-sequence token.
    pub tokens: Vec<u32>,
    /// Their text, cut before the first stop string (empty without a tokenizer).
    pub text: String,
    /// Why generation ended.
    pub finish: Finish,
}

/// Greedy continuations of `prompts` (token ids), in the order given. With a tokenizer, stop
/// strings are looked for in the decoded text of each row as it grows.
pub fn greedy<B: Backend>(
    model: &CausalLm<B>,
    tokenizer: Option<&Tokenizer>,
    prompts: &[Vec<u32>],
    options: &GenerateOptions,
) -> Result<Vec<Completion>, String> {
    if let Some(empty) = prompts.iter().position(Vec::is_empty) {
        return Err(format!(
            "prompt {empty} is empty: generation needs at least one token"
        ));
    }
    if !options.stop.is_empty() && tokenizer.is_none() {
        return Err("stop strings need a tokenizer to decode the generated text".to_string());
    }
    let mut order: Vec<usize> = (0..prompts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(prompts[i].len()));
    let mut results: Vec<Option<Completion>> = vec![None; prompts.len()];
    for chunk in order.chunks(options.batch_size.max(1)) {
        let batch: Vec<&[u32]> = chunk.iter().map(|&i| prompts[i].as_slice()).collect();
        for (&index, completion) in chunk
            .iter()
            .zip(greedy_batch(model, tokenizer, &batch, options)?)
        {
            results[index] = Some(completion);
        }
    }
    Ok(results.into_iter().flatten().collect())
}

fn greedy_batch<B: Backend>(
    model: &CausalLm<B>,
    tokenizer: Option<&Tokenizer>,
    prompts: &[&[u32]],
    options: &GenerateOptions,
) -> Result<Vec<Completion>, String> {
    let device = model.device();
    let rows = prompts.len();
    let width = prompts.iter().map(|p| p.len()).max().unwrap_or(0);
    let mut cache = KvCache::new(rows, width + options.max_new_tokens, model.layers.len());
    let mut tokens = Vec::with_capacity(rows * width);
    let mut real = Vec::with_capacity(rows);
    for prompt in prompts {
        let pad = width - prompt.len();
        tokens.extend(std::iter::repeat_n(0, pad).chain(prompt.iter().map(|&t| t as i64)));
        real.push((0..width).map(|i| i >= pad).collect::<Vec<_>>());
    }
    let mut outputs: Vec<Completion> = (0..rows)
        .map(|_| Completion {
            tokens: Vec::new(),
            text: String::new(),
            finish: Finish::Length,
        })
        .collect();
    let mut done = vec![false; rows];
    let mut input = Tensor::<B, 2, Int>::from_data(TensorData::new(tokens, [rows, width]), &device);
    for _ in 0..options.max_new_tokens {
        let hidden = model.step(input, &real, &mut cache)?;
        let last = hidden.clone().narrow(1, hidden.dims()[1] - 1, 1);
        let next: Vec<i64> = model
            .logits(last)
            .argmax(2)
            .into_data()
            .iter::<i64>()
            .collect();
        for (row, &token) in next.iter().enumerate() {
            if done[row] {
                continue;
            }
            let token = u32::try_from(token).map_err(|_| format!("argmax gave token {token}"))?;
            let output = &mut outputs[row];
            if options.eos_token_ids.contains(&token) {
                output.finish = Finish::Eos;
                done[row] = true;
                continue;
            }
            output.tokens.push(token);
            if let Some(tokenizer) = tokenizer {
                output.text = tokenizer
                    .decode(&output.tokens, true)
                    .map_err(|e| e.to_string())?;
                if let Some(cut) = first_stop(&output.text, &options.stop) {
                    output.text.truncate(cut);
                    output.finish = Finish::Stop;
                    done[row] = true;
                }
            }
        }
        if done.iter().all(|d| *d) {
            break;
        }
        real = done.iter().map(|d| vec![!d]).collect();
        let fed: Vec<i64> = next
            .iter()
            .zip(&done)
            .map(|(&t, &d)| if d { 0 } else { t })
            .collect();
        input = Tensor::from_data(TensorData::new(fed, [rows, 1]), &device);
    }
    Ok(outputs)
}

/// The byte offset of the earliest stop string in `text`.
fn first_stop(text: &str, stop: &[String]) -> Option<usize> {
    stop.iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()))
        .min()
}

#[cfg(test)]
mod tests {
    use super::first_stop;

    #[test]
    fn the_earliest_stop_string_wins() {
        let stop = vec!["\n\n".to_string(), "Question:".to_string(), String::new()];
        assert_eq!(first_stop("42\nQuestion: next\n\n", &stop), Some(3));
        assert_eq!(first_stop("no stop here", &stop), None);
    }
}
