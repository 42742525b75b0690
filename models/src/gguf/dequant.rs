//! Dequantization of GGUF tensor data to `f32`, bit-exact with ggml's reference
//! (`dequantize_row_*` in ggml-quants.c) and gguf-py's `gguf.quants.dequantize`.
//!
//! Block layouts (little-endian, `d` and `m` are f16):
//! - Q8_0: 32 elements in 34 bytes: `d`, then 32 `i8`; `x = q * d`.
//! - Q4_0: 32 elements in 18 bytes: `d`, then 16 bytes whose low nibbles are elements 0..16 and
//!   high nibbles elements 16..32; `x = (q - 8) * d`.
//! - Q4_1: 32 elements in 20 bytes: `d`, `m`, then 16 bytes of nibbles as in Q4_0;
//!   `x = q * d + m`.

use half::f16;
use rayon::prelude::*;

use super::GgmlType;

/// A dequantized tensor: `f32` values in row-major order with their shape in PyTorch order (the
/// GGUF dimensions reversed).
#[derive(Clone, Debug, PartialEq)]
pub struct DequantizedTensor {
    /// The values, row-major: the last dimension of `shape` is contiguous.
    pub data: Vec<f32>,
    /// The shape, outermost dimension first.
    pub shape: Vec<usize>,
}

/// How many blocks one parallel task dequantizes.
const BLOCKS_PER_TASK: usize = 8192;

/// Dequantizes `src` (the whole data of a tensor of `n_elements` elements of type `ggml_type`)
/// into a new vector. The caller has checked that the type is dequantizable and that `src` holds
/// exactly the tensor's blocks.
pub(crate) fn dequantize(ggml_type: GgmlType, src: &[u8], n_elements: usize) -> Vec<f32> {
    let Some((block, block_bytes)) = ggml_type.block_layout() else {
        return Vec::new();
    };
    let (block, block_bytes) = (block as usize, block_bytes as usize);
    let kernel: fn(&[u8], &mut [f32]) = match ggml_type {
        GgmlType::F32 => f32_block,
        GgmlType::F16 => f16_block,
        GgmlType::Bf16 => bf16_block,
        GgmlType::Q8_0 => q8_0_block,
        GgmlType::Q4_0 => q4_0_block,
        GgmlType::Q4_1 => q4_1_block,
        _ => return Vec::new(),
    };
    let mut out = vec![0.0f32; n_elements];
    out.par_chunks_mut(block * BLOCKS_PER_TASK)
        .zip(src.par_chunks(block_bytes * BLOCKS_PER_TASK))
        .for_each(|(dst, src)| {
            for (dst, src) in dst
                .chunks_exact_mut(block)
                .zip(src.chunks_exact(block_bytes))
            {
                kernel(src, dst);
            }
        });
    out
}

fn half_at(bytes: &[u8], at: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([bytes[at], bytes[at + 1]])).to_f32()
}

fn f32_block(src: &[u8], dst: &mut [f32]) {
    dst[0] = f32::from_le_bytes([src[0], src[1], src[2], src[3]]);
}

fn f16_block(src: &[u8], dst: &mut [f32]) {
    dst[0] = half_at(src, 0);
}

fn bf16_block(src: &[u8], dst: &mut [f32]) {
    // A bf16 is the upper half of an f32.
    dst[0] = f32::from_bits(u32::from(u16::from_le_bytes([src[0], src[1]])) << 16);
}

fn q8_0_block(src: &[u8], dst: &mut [f32]) {
    let d = half_at(src, 0);
    for (x, &q) in dst.iter_mut().zip(&src[2..34]) {
        *x = f32::from(q as i8) * d;
    }
}

fn q4_0_block(src: &[u8], dst: &mut [f32]) {
    let d = half_at(src, 0);
    let (low, high) = dst.split_at_mut(16);
    for ((lo, hi), &q) in low.iter_mut().zip(high.iter_mut()).zip(&src[2..18]) {
        *lo = f32::from(i16::from(q & 0x0F) - 8) * d;
        *hi = f32::from(i16::from(q >> 4) - 8) * d;
    }
}

fn q4_1_block(src: &[u8], dst: &mut [f32]) {
    let d = half_at(src, 0);
    let m = half_at(src, 2);
    let (low, high) = dst.split_at_mut(16);
    for ((lo, hi), &q) in low.iter_mut().zip(high.iter_mut()).zip(&src[4..20]) {
        // Two roundings (product, then sum), as ggml and numpy do: no fused multiply-add.
        *lo = f32::from(q & 0x0F) * d + m;
        *hi = f32::from(q >> 4) * d + m;
    }
}
