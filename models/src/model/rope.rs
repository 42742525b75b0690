//! Rotary position embeddings in Hugging Face's rotate-half convention, with Llama 3 scaling.

use burn::prelude::*;
use burn::tensor::TensorData;

use crate::config::ModelConfig;

/// The rotary frequencies of one head, `head_dim / 2` of them, computed in f32 the way
/// transformers does (`1 / theta^(2i/d)`, then Llama 3 scaling or GGUF frequency factors).
pub fn inverse_frequencies(config: &ModelConfig) -> Vec<f32> {
    let dim = config.head_dim;
    let theta = config.rope_theta as f32;
    let mut inv: Vec<f32> = (0..dim)
        .step_by(2)
        .map(|i| 1.0 / theta.powf(i as f32 / dim as f32))
        .collect();
    if let Some(scaling) = config.rope_scaling {
        let factor = scaling.factor as f32;
        let low = scaling.low_freq_factor as f32;
        let high = scaling.high_freq_factor as f32;
        let old = scaling.original_max_position_embeddings as f32;
        let low_freq_wavelen = old / low;
        let high_freq_wavelen = old / high;
        for f in &mut inv {
            let wavelen = 2.0 * std::f32::consts::PI / *f;
            let scaled = if wavelen > low_freq_wavelen {
                *f / factor
            } else {
                *f
            };
            let medium = (high_freq_wavelen..=low_freq_wavelen).contains(&wavelen);
            *f = if medium {
                let smooth = (old / wavelen - low) / (high - low);
                (1.0 - smooth) * scaled / factor + smooth * scaled
            } else {
                scaled
            };
        }
    }
    if let Some(factors) = &config.rope_freq_factors {
        for (f, divisor) in inv.iter_mut().zip(factors) {
            *f /= divisor;
        }
    }
    inv
}

/// The cosines and sines for a batch of position rows, shaped `[batch, 1, seq, head_dim]`
/// (the two halves repeat the same frequencies, as `rotate_half` expects).
pub fn tables<B: Backend>(
    inv_freq: &[f32],
    positions: &[Vec<usize>],
    device: &B::Device,
) -> (Tensor<B, 4>, Tensor<B, 4>) {
    let batch = positions.len();
    let seq = positions.first().map_or(0, Vec::len);
    let half = inv_freq.len();
    let dim = 2 * half;
    let mut cos = Vec::with_capacity(batch * seq * dim);
    let mut sin = Vec::with_capacity(batch * seq * dim);
    for row in positions {
        for &position in row {
            let angles: Vec<f32> = inv_freq.iter().map(|f| position as f32 * f).collect();
            for _ in 0..2 {
                cos.extend(angles.iter().map(|a| a.cos()));
                sin.extend(angles.iter().map(|a| a.sin()));
            }
        }
    }
    let shape = [batch, 1, seq, dim];
    (
        Tensor::from_data(TensorData::new(cos, shape), device),
        Tensor::from_data(TensorData::new(sin, shape), device),
    )
}

/// `x * cos + rotate_half(x) * sin` for `x` shaped `[batch, heads, seq, head_dim]`, where
/// `rotate_half` swaps the two halves of the head and negates the new first half.
pub fn apply<B: Backend>(x: Tensor<B, 4>, cos: &Tensor<B, 4>, sin: &Tensor<B, 4>) -> Tensor<B, 4> {
    let dim = x.dims()[3];
    let half = dim / 2;
    let first = x.clone().narrow(3, 0, half);
    let second = x.clone().narrow(3, half, half);
    let rotated = Tensor::cat(vec![second.neg(), first], 3);
    x * cos.clone() + rotated * sin.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Llama3RopeScaling;

    #[test]
    fn llama3_scaling_keeps_high_frequencies_and_divides_low_ones() {
        let mut config = ModelConfig::tiny(16, 128, 1, 1);
        config.rope_theta = 500_000.0;
        let plain = inverse_frequencies(&config);
        config.rope_scaling = Some(Llama3RopeScaling {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 8192.0,
        });
        let scaled = inverse_frequencies(&config);
        assert_eq!(scaled[0], plain[0], "the fastest rotation is unchanged");
        let last = plain.len() - 1;
        assert_eq!(
            scaled[last],
            plain[last] / 8.0,
            "the slowest is divided by the factor"
        );
        let between = plain
            .iter()
            .zip(&scaled)
            .filter(|(p, s)| **s < **p && **s > **p / 8.0)
            .count();
        assert!(between > 0, "the medium band is interpolated");
    }
}
