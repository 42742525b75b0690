//! The byte-level BPE tokenizer of a GGUF file, built from its `tokenizer.ggml.*` metadata the
//! way transformers' GGUF converter (`integrations/gguf/gguf_tokenizer_mapping.py`) builds it,
//! with one deliberate difference for `smollm` (below).
//!
//! - The vocabulary is `tokenizer.ggml.tokens` by index. A token with a character outside the
//!   byte-level alphabet (a mislabelled control token spelled with a real space, say) is
//!   respelled byte by byte, as transformers does.
//! - The merges are `tokenizer.ggml.merges`, each two tokens separated by a space.
//! - CONTROL tokens (type 3) spelled in the byte alphabet become special added tokens, and
//!   USER_DEFINED ones (type 4) plain added tokens: both are matched whole in text. So do the
//!   BOS, EOS, unknown and padding tokens, and `<|endoftext|>` when the vocabulary has it
//!   (transformers' `GPT2Tokenizer` makes those special too).
//! - The pre-tokenizer is the one the model's own `tokenizer.json` uses, as llama.cpp names it in
//!   `tokenizer.ggml.pre`: a regex split then the byte-level mapping without prefix space, or for
//!   GPT-2 the byte-level mapping with its own split. For `smollm` (and `starcoder`), that is
//!   digits split one by one, then GPT-2's split: SmolLM2's `tokenizer.json` and llama.cpp's
//!   `smollm` pattern both do this. transformers' converter has no entry for `smollm` and keeps
//!   plain GPT-2 splitting, which tokenizes "\n\n1" as [198, 198, 33] instead of the model's
//!   [1116, 33]; we follow the model.
//! - transformers' `GPT2Tokenizer` also adds `<|endoftext|>` as a new token past the end of a
//!   vocabulary that lacks it (an id the model has no embedding for); we do not.

use tokenizers::models::bpe::{BPE, Merges, Vocab};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::template::{SpecialToken, TemplateProcessing};
use tokenizers::{AddedToken, DecoderWrapper, PostProcessorWrapper, SplitDelimiterBehavior};

use super::{Special, Tokenizer, TokenizerError};
use crate::gguf::GgufFile;

/// The `tokenizer.ggml.pre` values [`pre_tokenizer`] knows.
pub(super) const SUPPORTED_PRE_TOKENIZERS: [&str; 13] = [
    "default",
    "gpt2",
    "smollm",
    "starcoder",
    "llama-bpe",
    "llama3",
    "llama-v3",
    "falcon3",
    "dbrx",
    "smaug-bpe",
    "qwen2",
    "deepseek-r1-qwen",
    "megrez",
];

/// Llama 3's split pattern (its `tokenizer.json`, and transformers' `_LLAMA3_SPLIT`).
const LLAMA3_SPLIT: &str = concat!(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}",
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
);

/// Qwen2's split pattern (transformers' `qwen2.tokenization_qwen2.PRETOKENIZE_REGEX`): Llama 3's
/// with single digits.
const QWEN2_SPLIT: &str = concat!(
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}",
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
);

/// llama.cpp's token types (`tokenizer.ggml.token_type`).
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;

pub(super) fn build(file: &GgufFile) -> Result<Tokenizer, TokenizerError> {
    let path = file.path();
    let model = file.get_str("tokenizer.ggml.model")?;
    if model != "gpt2" {
        return Err(TokenizerError::UnsupportedModel {
            path: path.to_path_buf(),
            model: model.to_owned(),
        });
    }
    let pre = file.opt_str("tokenizer.ggml.pre")?.unwrap_or("default");
    let pre_tokenizer =
        pre_tokenizer(pre).ok_or_else(|| TokenizerError::UnsupportedPreTokenizer {
            path: path.to_path_buf(),
            pre: pre.to_owned(),
        })?;
    let invalid = |message: String| TokenizerError::Invalid {
        path: path.to_path_buf(),
        message,
    };

    let tokens = file.get_str_array("tokenizer.ggml.tokens")?;
    let token_types = match file.metadata("tokenizer.ggml.token_type") {
        Some(_) => file.get_i32_array("tokenizer.ggml.token_type")?,
        None => vec![1; tokens.len()],
    };
    if token_types.len() != tokens.len() {
        return Err(invalid(format!(
            "tokenizer.ggml.token_type has {} entries for {} tokens",
            token_types.len(),
            tokens.len()
        )));
    }
    let n_tokens = u32::try_from(tokens.len())
        .map_err(|_| invalid(format!("{} tokens are too many", tokens.len())))?;

    let alphabet = ByteLevel::alphabet();
    let byte_chars = byte_chars();
    let spelled = |token: &str| token.chars().all(|c| alphabet.contains(&c));
    // Later duplicates win, as in transformers' dict comprehension.
    let vocab: Vocab = (0..n_tokens)
        .zip(tokens)
        .map(|(id, token)| {
            let spelling = if spelled(token) {
                token.clone()
            } else {
                token
                    .bytes()
                    .map(|byte| byte_chars[usize::from(byte)])
                    .collect()
            };
            (spelling, id)
        })
        .collect();

    let merges = file
        .get_str_array("tokenizer.ggml.merges")?
        .iter()
        .enumerate()
        .map(|(i, merge)| match merge.split(' ').collect::<Vec<_>>()[..] {
            [left, right] => Ok((left.to_owned(), right.to_owned())),
            _ => Err(invalid(format!(
                "tokenizer.ggml.merges[{i}] is `{merge}`, expected two tokens separated by one space"
            ))),
        })
        .collect::<Result<Merges, _>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|error| {
            invalid(format!(
                "the vocabulary and merges do not make a BPE: {error}"
            ))
        })?;

    let mut inner = tokenizers::Tokenizer::new(bpe);
    inner.with_pre_tokenizer(Some(pre_tokenizer));
    inner.with_decoder(Some(DecoderWrapper::ByteLevel(ByteLevel::default())));

    let special_id = |key: &str| -> Result<Option<Special>, TokenizerError> {
        let Some(id) = file.opt_u32(key)? else {
            return Ok(None);
        };
        let text = tokens.get(id as usize).ok_or_else(|| {
            invalid(format!(
                "{key} is {id}, but the vocabulary has {n_tokens} tokens"
            ))
        })?;
        Ok(Some(Special {
            id,
            text: text.clone(),
        }))
    };
    let bos = special_id("tokenizer.ggml.bos_token_id")?;
    let eos = special_id("tokenizer.ggml.eos_token_id")?;
    let unknown = special_id("tokenizer.ggml.unknown_token_id")?;
    let pad = special_id("tokenizer.ggml.padding_token_id")?;
    let mut eos_ids: Vec<u32> = eos.iter().map(|eos| eos.id).collect();
    for key in ["tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
        if let Some(extra) = special_id(key)?
            && !eos_ids.contains(&extra.id)
        {
            eos_ids.push(extra.id);
        }
    }

    // Special tokens, then user-defined ones, each in vocabulary order; only tokens the
    // vocabulary holds as spelled, so every added token keeps its id.
    let in_vocab = |token: &str| spelled(token);
    let mut special: Vec<&str> = tokens
        .iter()
        .zip(&token_types)
        .filter(|&(token, &kind)| kind == CONTROL && in_vocab(token))
        .map(|(token, _)| token.as_str())
        .collect();
    let named = [&bos, &eos, &unknown, &pad];
    for token in named
        .into_iter()
        .flatten()
        .map(|special| special.text.as_str())
        .chain(
            tokens
                .iter()
                .map(String::as_str)
                .filter(|&token| token == "<|endoftext|>"),
        )
    {
        if in_vocab(token) && !special.contains(&token) {
            special.push(token);
        }
    }
    inner
        .add_special_tokens(
            special
                .iter()
                .map(|&token| AddedToken::from(token, true).normalized(false)),
        )
        .map_err(|error| invalid(format!("cannot add the special tokens: {error}")))?;
    let user_defined = tokens
        .iter()
        .zip(&token_types)
        .filter(|&(token, &kind)| {
            kind == USER_DEFINED && in_vocab(token) && !special.contains(&token.as_str())
        })
        .map(|(token, _)| AddedToken::from(token.as_str(), false).normalized(false));
    inner
        .add_tokens(user_defined)
        .map_err(|error| invalid(format!("cannot add the user-defined tokens: {error}")))?;

    // BOS and EOS as the file asks; without a BOS (EOS) token there is none to add.
    let adds_bos = file
        .opt_bool("tokenizer.ggml.add_bos_token")?
        .unwrap_or(false)
        && bos.is_some();
    let adds_eos = file
        .opt_bool("tokenizer.ggml.add_eos_token")?
        .unwrap_or(false)
        && eos.is_some();
    if adds_bos || adds_eos {
        inner.with_post_processor(Some(template(
            bos.as_ref().filter(|_| adds_bos),
            eos.as_ref().filter(|_| adds_eos),
        )?));
    }
    Ok(Tokenizer::new(inner, bos, eos, eos_ids, pad, adds_bos))
}

/// The pre-tokenizer `tokenizer.ggml.pre` names.
fn pre_tokenizer(pre: &str) -> Option<PreTokenizerWrapper> {
    // GPT-2's own split, then bytes to characters: `ByteLevel` with `use_regex`.
    let gpt2 = || PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, true));
    let split_then_bytes = |pattern: &str| {
        let split = Split::new(
            SplitPattern::Regex(pattern.to_owned()),
            SplitDelimiterBehavior::Isolated,
            false,
        )
        // The patterns are constants that compile; a failure would be a bug caught by tests.
        .ok()?;
        Some(PreTokenizerWrapper::Sequence(Sequence::new(vec![
            PreTokenizerWrapper::Split(split),
            PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, false)),
        ])))
    };
    match pre {
        "default" | "gpt2" => Some(gpt2()),
        "smollm" | "starcoder" => Some(PreTokenizerWrapper::Sequence(Sequence::new(vec![
            PreTokenizerWrapper::Digits(Digits::new(true)),
            gpt2(),
        ]))),
        "llama-bpe" | "llama3" | "llama-v3" | "falcon3" | "dbrx" | "smaug-bpe" => {
            split_then_bytes(LLAMA3_SPLIT)
        }
        "qwen2" | "deepseek-r1-qwen" | "megrez" => split_then_bytes(QWEN2_SPLIT),
        _ => None,
    }
}

/// A post-processor that puts `bos` before and `eos` after each sequence.
fn template(
    bos: Option<&Special>,
    eos: Option<&Special>,
) -> Result<PostProcessorWrapper, TokenizerError> {
    let mut single = Vec::new();
    let mut tokens = Vec::new();
    for (name, special) in [("BOS", bos), ("EOS", eos)] {
        if let Some(special) = special {
            let token = SpecialToken::new(
                name.to_owned(),
                vec![special.id],
                vec![special.text.clone()],
            )
            .map_err(|error| TokenizerError::Encode {
                message: format!("{error}"),
            })?;
            tokens.push(token);
        }
    }
    if bos.is_some() {
        single.push("BOS");
    }
    single.push("$A");
    if eos.is_some() {
        single.push("EOS");
    }
    let mut pair = single.clone();
    pair.extend(
        single
            .iter()
            .map(|&piece| if piece == "$A" { "$B:1" } else { piece }),
    );
    let processing = TemplateProcessing::builder()
        .try_single(single)
        .and_then(|builder| builder.try_pair(pair))
        .map_err(|message| TokenizerError::Encode { message })?
        .special_tokens(tokens)
        .build()
        .map_err(|error| TokenizerError::Encode {
            message: error.to_string(),
        })?;
    Ok(PostProcessorWrapper::Template(processing))
}

/// GPT-2's `bytes_to_unicode`: the printable character that stands for each byte in a
/// byte-level vocabulary.
fn byte_chars() -> [char; 256] {
    let mut chars = ['\0'; 256];
    let mut next = 256u32;
    for byte in 0..=255u8 {
        let printable = matches!(byte, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        let code = if printable {
            u32::from(byte)
        } else {
            next += 1;
            next - 1
        };
        chars[usize::from(byte)] = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
    }
    chars
}
