//! GGUF files: header, metadata and tensors, dequantized to f32 on load.
