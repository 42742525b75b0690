//! [`GgmlType`]: the element types of GGUF tensors, with their block layouts.

use std::fmt;

/// The type of a GGUF tensor's elements: a plain number type or a block quantization.
///
/// Every type ggml defines is named, so that sizes can be checked and errors can say what a
/// tensor is; [`GgmlType::DEQUANTIZABLE`] lists the ones
/// [`GgufFile::dequantize`](super::GgufFile::dequantize) reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs, reason = "the variants are ggml's type names")]
#[non_exhaustive]
pub enum GgmlType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q8_1,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    Q8K,
    Iq2Xxs,
    Iq2Xs,
    Iq3Xxs,
    Iq1S,
    Iq4Nl,
    Iq3S,
    Iq2S,
    Iq4Xs,
    I8,
    I16,
    I32,
    I64,
    F64,
    Iq1M,
    Bf16,
    Tq1_0,
    Tq2_0,
    Mxfp4,
    Nvfp4,
    Q1_0,
    /// A type code this reader does not know; its size is unknown.
    Unknown(u32),
}

/// The elements per block of the K-quantizations.
const QK_K: u64 = 256;

impl GgmlType {
    /// The types [`GgufFile::dequantize`](super::GgufFile::dequantize) supports.
    pub const DEQUANTIZABLE: [GgmlType; 6] = [
        GgmlType::F32,
        GgmlType::F16,
        GgmlType::Bf16,
        GgmlType::Q8_0,
        GgmlType::Q4_0,
        GgmlType::Q4_1,
    ];

    /// The type of ggml's type code (`ggml_type` in ggml.h).
    pub fn from_code(code: u32) -> Self {
        match code {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            9 => Self::Q8_1,
            10 => Self::Q2K,
            11 => Self::Q3K,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            15 => Self::Q8K,
            16 => Self::Iq2Xxs,
            17 => Self::Iq2Xs,
            18 => Self::Iq3Xxs,
            19 => Self::Iq1S,
            20 => Self::Iq4Nl,
            21 => Self::Iq3S,
            22 => Self::Iq2S,
            23 => Self::Iq4Xs,
            24 => Self::I8,
            25 => Self::I16,
            26 => Self::I32,
            27 => Self::I64,
            28 => Self::F64,
            29 => Self::Iq1M,
            30 => Self::Bf16,
            34 => Self::Tq1_0,
            35 => Self::Tq2_0,
            39 => Self::Mxfp4,
            40 => Self::Nvfp4,
            41 => Self::Q1_0,
            other => Self::Unknown(other),
        }
    }

    /// ggml's type code.
    pub fn code(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
            Self::Q8_1 => 9,
            Self::Q2K => 10,
            Self::Q3K => 11,
            Self::Q4K => 12,
            Self::Q5K => 13,
            Self::Q6K => 14,
            Self::Q8K => 15,
            Self::Iq2Xxs => 16,
            Self::Iq2Xs => 17,
            Self::Iq3Xxs => 18,
            Self::Iq1S => 19,
            Self::Iq4Nl => 20,
            Self::Iq3S => 21,
            Self::Iq2S => 22,
            Self::Iq4Xs => 23,
            Self::I8 => 24,
            Self::I16 => 25,
            Self::I32 => 26,
            Self::I64 => 27,
            Self::F64 => 28,
            Self::Iq1M => 29,
            Self::Bf16 => 30,
            Self::Tq1_0 => 34,
            Self::Tq2_0 => 35,
            Self::Mxfp4 => 39,
            Self::Nvfp4 => 40,
            Self::Q1_0 => 41,
            Self::Unknown(code) => code,
        }
    }

    /// `(elements per block, bytes per block)`, as in gguf-py's `GGML_QUANT_SIZES`; `None` for
    /// an unknown type.
    pub fn block_layout(self) -> Option<(u64, u64)> {
        let layout = match self {
            Self::F32 | Self::I32 => (1, 4),
            Self::F16 | Self::Bf16 | Self::I16 => (1, 2),
            Self::I8 => (1, 1),
            Self::I64 | Self::F64 => (1, 8),
            Self::Q4_0 | Self::Iq4Nl => (32, 2 + 16),
            Self::Q4_1 => (32, 2 + 2 + 16),
            Self::Q5_0 => (32, 2 + 4 + 16),
            Self::Q5_1 => (32, 2 + 2 + 4 + 16),
            Self::Q8_0 => (32, 2 + 32),
            Self::Q8_1 => (32, 4 + 4 + 32),
            Self::Q2K => (QK_K, 2 + 2 + QK_K / 16 + QK_K / 4),
            Self::Q3K => (QK_K, 2 + QK_K / 4 + QK_K / 8 + 12),
            Self::Q4K => (QK_K, 2 + 2 + QK_K / 2 + 12),
            Self::Q5K => (QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12),
            Self::Q6K => (QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16),
            Self::Q8K => (QK_K, 4 + QK_K + QK_K / 8),
            Self::Iq2Xxs => (QK_K, 2 + QK_K / 4),
            Self::Iq2Xs => (QK_K, 2 + QK_K / 4 + QK_K / 32),
            Self::Iq3Xxs => (QK_K, 2 + QK_K / 4 + QK_K / 8),
            Self::Iq1S => (QK_K, 2 + QK_K / 8 + QK_K / 16),
            Self::Iq3S => (QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4),
            Self::Iq2S => (QK_K, 2 + QK_K / 4 + QK_K / 16),
            Self::Iq4Xs => (QK_K, 2 + 2 + QK_K / 2 + QK_K / 64),
            Self::Iq1M => (QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32),
            Self::Tq1_0 => (QK_K, 2 + 4 * 13),
            Self::Tq2_0 => (QK_K, 2 + 64),
            Self::Mxfp4 => (32, 1 + 16),
            Self::Nvfp4 => (64, 4 + 32),
            Self::Q1_0 => (128, 2 + 16),
            Self::Unknown(_) => return None,
        };
        Some(layout)
    }

    /// Whether [`GgufFile::dequantize`](super::GgufFile::dequantize) reads this type.
    pub fn is_dequantizable(self) -> bool {
        Self::DEQUANTIZABLE.contains(&self)
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::Q4_0 => "Q4_0",
            Self::Q4_1 => "Q4_1",
            Self::Q5_0 => "Q5_0",
            Self::Q5_1 => "Q5_1",
            Self::Q8_0 => "Q8_0",
            Self::Q8_1 => "Q8_1",
            Self::Q2K => "Q2_K",
            Self::Q3K => "Q3_K",
            Self::Q4K => "Q4_K",
            Self::Q5K => "Q5_K",
            Self::Q6K => "Q6_K",
            Self::Q8K => "Q8_K",
            Self::Iq2Xxs => "IQ2_XXS",
            Self::Iq2Xs => "IQ2_XS",
            Self::Iq3Xxs => "IQ3_XXS",
            Self::Iq1S => "IQ1_S",
            Self::Iq4Nl => "IQ4_NL",
            Self::Iq3S => "IQ3_S",
            Self::Iq2S => "IQ2_S",
            Self::Iq4Xs => "IQ4_XS",
            Self::I8 => "I8",
            Self::I16 => "I16",
            Self::I32 => "I32",
            Self::I64 => "I64",
            Self::F64 => "F64",
            Self::Iq1M => "IQ1_M",
            Self::Bf16 => "BF16",
            Self::Tq1_0 => "TQ1_0",
            Self::Tq2_0 => "TQ2_0",
            Self::Mxfp4 => "MXFP4",
            Self::Nvfp4 => "NVFP4",
            Self::Q1_0 => "Q1_0",
            Self::Unknown(code) => return write!(f, "unknown type {code}"),
        };
        f.write_str(name)
    }
}
