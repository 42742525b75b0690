//! Tokenizers: Hugging Face `tokenizer.json` through the `tokenizers` crate, or byte-level BPE
//! built from a GGUF file's embedded vocabulary and merges.
