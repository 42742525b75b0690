//! A character-level tokenizer with ChatML markup: one token per character of an alphabet, plus
//! `<pad>`, `<|im_start|>` and `<|im_end|>`. Small vocabularies for tiny models (tests, the toy
//! world) that still go through the same tokenizer, chat template and checkpoint paths as real
//! models.

use tokenizers::decoders::fuse::Fuse;
use tokenizers::models::wordlevel::WordLevel;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior};

use super::{Special, Tokenizer, TokenizerError};

/// The padding token (id 0).
pub const PAD: &str = "<pad>";
/// Opens a chat turn (id 1).
pub const IM_START: &str = "<|im_start|>";
/// Closes a chat turn and ends generation (id 2).
pub const IM_END: &str = "<|im_end|>";
/// A character outside the alphabet (id 3).
pub const UNKNOWN: &str = "<unk>";

/// ChatML, the chat template of character tokenizers: `<|im_start|>role\ncontent<|im_end|>\n`
/// per message, and `<|im_start|>assistant\n` as the generation prompt.
pub const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

pub(super) fn build(alphabet: &str) -> Result<Tokenizer, TokenizerError> {
    let invalid = |message: String| TokenizerError::Invalid {
        path: "<character tokenizer>".into(),
        message,
    };
    let mut vocab = std::collections::HashMap::new();
    let specials = [PAD, IM_START, IM_END, UNKNOWN];
    for (id, token) in specials.iter().enumerate() {
        vocab.insert((*token).to_string(), id as u32);
    }
    for c in alphabet.chars() {
        let next = vocab.len() as u32;
        vocab.entry(c.to_string()).or_insert(next);
    }
    let model = WordLevel::builder()
        .vocab(vocab.into_iter().collect())
        .unk_token(UNKNOWN.into())
        .build()
        .map_err(|e| invalid(e.to_string()))?;
    let mut inner = tokenizers::Tokenizer::new(model);
    let split = Split::new(
        SplitPattern::Regex(".|\\n".into()),
        SplitDelimiterBehavior::Isolated,
        false,
    )
    .map_err(|e| invalid(e.to_string()))?;
    inner.with_pre_tokenizer(Some(split));
    inner.with_decoder(Some(Fuse::new()));
    inner
        .add_special_tokens(specials.map(|t| AddedToken::from(t, true)))
        .map_err(|e| invalid(e.to_string()))?;
    let special = |id: u32, text: &str| Special {
        id,
        text: text.to_string(),
    };
    Ok(Tokenizer::new(
        inner,
        None,
        Some(special(2, IM_END)),
        vec![2],
        Some(special(0, PAD)),
        false,
    ))
}
