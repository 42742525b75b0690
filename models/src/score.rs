//! Log-likelihoods of continuations given contexts, batched: what multiple-choice scoring needs.

use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::log_softmax;

use crate::model::CausalLm;

/// One continuation to score after its context (token ids).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// What the model is given.
    pub context: Vec<u32>,
    /// What is scored.
    pub continuation: Vec<u32>,
}

/// The model's log-probability of a continuation.
#[derive(Clone, Debug, PartialEq)]
pub struct Loglikelihood {
    /// The sum over the continuation's tokens (natural log).
    pub sum: f64,
    /// Each continuation token's log-probability.
    pub per_token: Vec<f32>,
    /// Whether greedy decoding would have produced the continuation.
    pub greedy: bool,
}

/// Scores each request, `batch_size` at a time, keeping at most `max_length` tokens of
/// context and continuation (the context is cut from the left, as lm-evaluation-harness does).
pub fn loglikelihood<B: Backend>(
    model: &CausalLm<B>,
    requests: &[Request],
    batch_size: usize,
    max_length: usize,
) -> Result<Vec<Loglikelihood>, String> {
    for (index, request) in requests.iter().enumerate() {
        if request.context.is_empty() || request.continuation.is_empty() {
            return Err(format!(
                "request {index} has an empty {}: scoring needs a context and a continuation",
                if request.context.is_empty() {
                    "context"
                } else {
                    "continuation"
                }
            ));
        }
        if request.continuation.len() > max_length {
            return Err(format!(
                "request {index}'s continuation has {} tokens, more than the maximum length {max_length}",
                request.continuation.len()
            ));
        }
    }
    let inputs: Vec<Vec<u32>> = requests
        .iter()
        .map(|r| {
            let whole: Vec<u32> = r.context.iter().chain(&r.continuation).copied().collect();
            let keep = whole.len().min(max_length + 1);
            whole[whole.len() - keep..whole.len() - 1].to_vec()
        })
        .collect();
    let mut order: Vec<usize> = (0..requests.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(inputs[i].len()));
    let mut results: Vec<Option<Loglikelihood>> = vec![None; requests.len()];
    for chunk in order.chunks(batch_size.max(1)) {
        let batch: Vec<(&[u32], &[u32])> = chunk
            .iter()
            .map(|&i| (inputs[i].as_slice(), requests[i].continuation.as_slice()))
            .collect();
        for (&index, result) in chunk.iter().zip(score_batch(model, &batch)) {
            results[index] = Some(result);
        }
    }
    Ok(results.into_iter().flatten().collect())
}

/// Rows are right-padded: under the causal mask no real token sees the padding after it.
fn score_batch<B: Backend>(model: &CausalLm<B>, batch: &[(&[u32], &[u32])]) -> Vec<Loglikelihood> {
    let device = model.device();
    let rows = batch.len();
    let width = batch
        .iter()
        .map(|(input, _)| input.len())
        .max()
        .unwrap_or(0);
    let mut tokens = Vec::with_capacity(rows * width);
    let mut positions = Vec::new();
    let mut targets = Vec::new();
    for (row, (input, continuation)) in batch.iter().enumerate() {
        tokens.extend(input.iter().map(|&t| i64::from(t)));
        tokens.extend(std::iter::repeat_n(0, width - input.len()));
        let first = input.len() - continuation.len();
        positions.extend((first..input.len()).map(|p| (row * width + p) as i64));
        targets.extend(continuation.iter().map(|&t| i64::from(t)));
    }
    let tokens = Tensor::<B, 2, Int>::from_data(TensorData::new(tokens, [rows, width]), &device);
    let hidden = model.hidden(tokens);
    let dim = hidden.dims()[2];
    let count = positions.len();
    let picked = hidden.reshape([rows * width, dim]).select(
        0,
        Tensor::from_data(TensorData::new(positions, [count]), &device),
    );
    let logprobs = log_softmax(model.logits(picked.unsqueeze()).squeeze_dim::<2>(0), 1);
    let best: Vec<i64> = logprobs
        .clone()
        .argmax(1)
        .into_data()
        .iter::<i64>()
        .collect();
    let target_tensor =
        Tensor::<B, 2, Int>::from_data(TensorData::new(targets.clone(), [count, 1]), &device);
    let chosen: Vec<f32> = logprobs
        .gather(1, target_tensor)
        .into_data()
        .iter::<f32>()
        .collect();

    let mut offset = 0;
    batch
        .iter()
        .map(|(_, continuation)| {
            let span = offset..offset + continuation.len();
            offset = span.end;
            let per_token = chosen[span.clone()].to_vec();
            Loglikelihood {
                sum: per_token.iter().map(|&p| f64::from(p)).sum(),
                greedy: best[span.clone()] == targets[span],
                per_token,
            }
        })
        .collect()
}
