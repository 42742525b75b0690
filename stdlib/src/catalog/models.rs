//! Models: Llama-family decoders loaded from Hugging Face directories or GGUF files, or built tiny.

use rung_engine::signature::DuplicateName;
use rung_engine::{Catalog, ParamSig, Type};

use super::{boolean, def, enumeration, float, int, op, opt, req, word};

/// The shape of a tiny Llama-family decoder; shared with the toy world's trained base model.
pub(super) fn architecture(hidden: i64, layers: i64) -> Vec<ParamSig> {
    vec![
        def(
            "hidden",
            Type::Int,
            int(hidden),
            "Width of the residual stream.",
        ),
        def(
            "layers",
            Type::Int,
            int(layers),
            "Number of decoder layers.",
        ),
        def("heads", Type::Int, int(4), "Attention heads."),
        def(
            "kv_heads",
            Type::Int,
            int(2),
            "Key/value heads (grouped-query attention); must divide `heads`.",
        ),
        opt(
            "intermediate",
            Type::Int,
            "Width of the SwiGLU feed-forward layer (none = about 8/3 of `hidden`, rounded up to a multiple of 8).",
        ),
        def(
            "max_length",
            Type::Int,
            int(256),
            "Longest sequence, in tokens (characters for the toy tokenizer).",
        ),
        def(
            "rope_theta",
            Type::Float,
            float(10000.0),
            "Base of the rotary position embedding.",
        ),
        def(
            "qkv_bias",
            Type::Bool,
            boolean(false),
            "Give the query, key and value projections a bias, as Qwen2.5 does.",
        ),
        def(
            "tied_embeddings",
            Type::Bool,
            boolean(true),
            "Share the input embedding with the output projection.",
        ),
    ]
}

pub(super) fn declare(catalog: &mut Catalog) -> Result<(), DuplicateName> {
    catalog.add_enum(enumeration(
        "Dtype",
        "The element type weights are held in once loaded.",
        &[
            (
                "auto",
                "The checkpoint's own type, except that bf16 becomes f32 on the CPU.",
            ),
            ("f32", "32-bit floats."),
            ("f16", "16-bit IEEE floats."),
            ("bf16", "16-bit brain floats."),
        ],
    ))?;
    catalog.add_op(op(
        "hf",
        "model",
        "Loads a Llama-family model (Llama 3.x, Qwen2.5) from a local Hugging Face directory: config.json, safetensors shards, tokenizer.json and the chat template of tokenizer_config.json.",
        vec![
            req("path", Type::Str, "The model directory, or a hub-style name (\"Qwen/Qwen2.5-1.5B-Instruct\") looked up under the models root."),
            def("dtype", Type::Enum("Dtype"), word("auto"), "Element type of the loaded weights."),
            opt("chat_template", Type::Str, "A Jinja chat template replacing the one in tokenizer_config.json."),
            opt("revision", Type::Str, "Expected content hash of the directory's files; loading fails if they differ."),
        ],
    ))?;
    catalog.add_op(op(
        "gguf",
        "model",
        "Loads a Llama-family model from a GGUF file, dequantizing F16, Q8_0, Q4_0 and Q4_1 tensors on load and using its embedded tokenizer and chat template.",
        vec![
            req("path", Type::File, "The GGUF file, relative to the data root."),
            def("dtype", Type::Enum("Dtype"), word("f32"), "Element type of the dequantized weights."),
            opt("chat_template", Type::Str, "A Jinja chat template replacing the embedded one."),
            opt("sha256", Type::Str, "Expected SHA-256 of the file; loading fails if the content differs."),
        ],
    ))?;
    let mut tiny = architecture(64, 2);
    tiny.push(def(
        "seed",
        Type::Int,
        int(0),
        "Seed of the random initialisation.",
    ));
    catalog.add_op(op(
        "tiny_model",
        "model",
        "A tiny Llama-family decoder with seeded random weights and the character tokenizer, for tests.",
        tiny,
    ))?;
    Ok(())
}
