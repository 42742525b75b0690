//! Tokenizers against transformers: the real SmolLM2 GGUF's, small GGUF tokenizers of each
//! pre-tokenizer, a small Hugging Face directory, and the errors.
//!
//! The fixtures under `tests/fixtures/tokenizer/` come from
//! `models/reference/tokenizer_reference.py`, which documents the two places where rung
//! deliberately differs from transformers' GGUF converter.

mod support;

use std::path::{Path, PathBuf};

use rung_models::gguf::GgufFile;
use rung_models::tokenizer::{Tokenizer, TokenizerError};
use serde_json::Value;

// ----- helpers -----

fn tokenizer_fixture(name: &str) -> PathBuf {
    support::fixture(&format!("tokenizer/{name}"))
}

fn expected() -> Value {
    let path = tokenizer_fixture("expected.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_str(&text).expect("expected.json is JSON")
}

fn samples(expected: &Value) -> Vec<String> {
    expected["samples"]
        .as_array()
        .expect("a list of samples")
        .iter()
        .map(|sample| sample.as_str().expect("a string").to_owned())
        .collect()
}

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected a list of ids, got {value}"))
        .iter()
        .map(|id| id.as_u64().expect("an id") as u32)
        .collect()
}

/// Checks every sample's encodings (with and without special tokens, one by one and as a
/// batch) and decodings against `reference`, and that transformers differs only on the samples
/// in `differs_from_transformers`.
fn check_samples(
    label: &str,
    tokenizer: &Tokenizer,
    reference: &Value,
    samples: &[String],
    differs_from_transformers: &[&str],
) {
    let entries = reference["samples"].as_array().expect("a list of entries");
    assert_eq!(
        entries.len(),
        samples.len(),
        "{label}: one entry per sample"
    );
    let mut expected_batch = Vec::new();
    for (text, entry) in samples.iter().zip(entries) {
        let with = ids(&entry["with_special"]);
        let without = entry
            .get("without_special")
            .map_or_else(|| with.clone(), ids);
        let encoded = tokenizer.encode(text, true).expect("encodes");
        assert_eq!(encoded, with, "{label}: {text:?} with special tokens");
        let encoded = tokenizer.encode(text, false).expect("encodes");
        assert_eq!(encoded, without, "{label}: {text:?} without special tokens");

        let decoded = entry
            .get("decoded")
            .map_or(text.as_str(), |d| d.as_str().expect("text"));
        let skipped = entry
            .get("decoded_skip_special")
            .map_or(decoded, |d| d.as_str().expect("text"));
        assert_eq!(
            tokenizer.decode(&with, false).expect("decodes"),
            decoded,
            "{label}: {text:?}"
        );
        assert_eq!(
            tokenizer.decode(&with, true).expect("decodes"),
            skipped,
            "{label}: {text:?}"
        );
        // Without special tokens added, the text comes back whole.
        let round_trip = tokenizer.decode(&without, false).expect("decodes");
        assert_eq!(&round_trip, text, "{label}: {text:?} round trip");

        let differs = entry
            .as_object()
            .expect("an object")
            .keys()
            .any(|k| k.starts_with("transformers_"));
        assert_eq!(
            differs,
            differs_from_transformers.contains(&text.as_str()),
            "{label}: {text:?}: whether transformers' ids differ"
        );
        expected_batch.push(with);
    }
    let batch = tokenizer.encode_batch(samples, true).expect("encodes");
    assert_eq!(batch, expected_batch, "{label}: the batch");
}

/// The seeded random strings of tricky pieces, where the reference has them.
fn check_random_samples(label: &str, tokenizer: &Tokenizer, reference: &Value, expected: &Value) {
    let Some(all_ids) = reference.get("random_samples") else {
        return;
    };
    let texts = expected["random_samples"]
        .as_array()
        .expect("a list of samples");
    let all_ids = all_ids.as_array().expect("a list of id lists");
    assert_eq!(
        texts.len(),
        all_ids.len(),
        "{label}: one entry per random sample"
    );
    for (text, ids_value) in texts.iter().zip(all_ids) {
        let text = text.as_str().expect("a string");
        let encoded = tokenizer.encode(text, false).expect("encodes");
        assert_eq!(encoded, ids(ids_value), "{label}: random sample {text:?}");
        assert_eq!(
            tokenizer.decode(&encoded, false).expect("decodes"),
            text,
            "{label}: {text:?}"
        );
    }
}

/// The special tokens against what transformers reports (its BOS, first EOS and pad).
fn check_specials(label: &str, tokenizer: &Tokenizer, reference: &Value) {
    let theirs = &reference["transformers"];
    let id = |key: &str| theirs[key].as_u64().map(|id| id as u32);
    let text = |key: &str| theirs[key].as_str();
    assert_eq!(tokenizer.bos_id(), id("bos_token_id"), "{label}: BOS id");
    assert_eq!(
        tokenizer.bos_token(),
        text("bos_token"),
        "{label}: BOS text"
    );
    assert_eq!(
        tokenizer.eos_ids().first().copied(),
        id("eos_token_id"),
        "{label}: EOS id"
    );
    assert_eq!(
        tokenizer.eos_token(),
        text("eos_token"),
        "{label}: EOS text"
    );
    assert_eq!(tokenizer.pad_id(), id("pad_token_id"), "{label}: pad id");
    assert_eq!(
        tokenizer.pad_token(),
        text("pad_token"),
        "{label}: pad text"
    );
}

// ----- GGUF -----

#[test]
fn smollm2_gguf_tokenizer_matches_transformers() {
    let expected = expected();
    let samples = samples(&expected);
    let reference = &expected["smollm2"];
    let file = GgufFile::open(&support::smollm2_gguf()).expect("the SmolLM2 GGUF opens");
    let tokens = file.get_str_array("tokenizer.ggml.tokens").expect("tokens");
    let merges = file.get_str_array("tokenizer.ggml.merges").expect("merges");
    assert_eq!((tokens.len(), merges.len()), (49152, 48900));
    assert_eq!(
        tokens.len() as u64,
        reference["tokens"].as_u64().expect("a count")
    );
    assert_eq!(
        merges.len() as u64,
        reference["merges"].as_u64().expect("a count")
    );

    let tokenizer = Tokenizer::from_gguf(&file).expect("a gpt2 tokenizer");
    assert_eq!(tokenizer.vocab_size(), 49152);
    assert_eq!(
        tokenizer.vocab_size() as u64,
        reference["transformers"]["len"].as_u64().expect("a count")
    );
    check_specials("smollm2", &tokenizer, reference);
    assert_eq!(
        (tokenizer.bos_id(), tokenizer.bos_token()),
        (Some(1), Some("<|im_start|>"))
    );
    assert_eq!(
        (tokenizer.eos_ids(), tokenizer.eos_token()),
        (&[2][..], Some("<|im_end|>"))
    );
    assert_eq!(tokenizer.pad_id(), Some(2));
    assert!(!tokenizer.adds_bos());
    let debug = format!("{tokenizer:?}");
    assert!(debug.contains("<|im_end|>") && debug.len() < 400, "{debug}");
    assert_eq!(tokenizer.token_to_id("<|im_start|>"), Some(1));
    assert_eq!(tokenizer.id_to_token(216).as_deref(), Some("Ġ"));
    assert_eq!(
        tokenizer
            .encode("<|im_start|>user", false)
            .expect("encodes"),
        [1, 4093]
    );
    // transformers' converter does not split digits apart before the GPT-2 split; the model's
    // own tokenizer (and llama.cpp) does: "\n\n" stays one token before a digit.
    assert_eq!(
        tokenizer.encode("\n\n1", false).expect("encodes"),
        [1116, 33]
    );
    check_samples(
        "smollm2",
        &tokenizer,
        reference,
        &samples,
        &["a\n\n1. item\n2. item\n\n3"],
    );
    check_random_samples("smollm2", &tokenizer, reference, &expected);
}

#[test]
fn gguf_tokenizers_of_each_pre_tokenizer_match_transformers() {
    let expected = expected();
    let samples = samples(&expected);
    // (pre, adds BOS, EOS ids): llama-bpe has an `eot_token_id` too.
    let cases = [
        ("llama-bpe", true, vec![2, 1]),
        ("qwen2", false, vec![4]),
        ("gpt2", false, vec![1]),
        ("default", true, vec![1]),
    ];
    for (pre, adds_bos, eos_ids) in cases {
        let path = tokenizer_fixture(&format!("gguf-{pre}.gguf"));
        let file = GgufFile::open(&path).expect("the fixture opens");
        assert_eq!(file.get_str("tokenizer.ggml.pre").expect("set"), pre);
        let reference = &expected["gguf"][pre];
        let tokenizer = Tokenizer::from_gguf(&file).expect("a gpt2 tokenizer");
        assert_eq!(
            tokenizer.vocab_size() as u64,
            reference["tokens"].as_u64().expect("a count"),
            "{pre}"
        );
        // transformers counts the `<|endoftext|>` it adds past the vocabulary.
        assert_eq!(
            tokenizer.vocab_size() as u64 + 1,
            reference["transformers"]["len"].as_u64().expect("a count"),
            "{pre}"
        );
        check_specials(pre, &tokenizer, reference);
        assert_eq!(tokenizer.adds_bos(), adds_bos, "{pre}");
        assert_eq!(tokenizer.eos_ids(), eos_ids, "{pre}");
        check_samples(pre, &tokenizer, reference, &samples, &["<|endoftext|>"]);
        check_random_samples(pre, &tokenizer, reference, &expected);

        // A USER_DEFINED token is matched whole but is not special.
        let think = tokenizer.token_to_id("<think>").expect("in the vocabulary");
        assert_eq!(
            tokenizer.encode("<think>", false).expect("encodes"),
            [think]
        );
        assert_eq!(
            tokenizer.decode(&[think], true).expect("decodes"),
            "<think>"
        );
        // A CONTROL token outside the byte alphabet is respelled and not matched in text.
        let odd = tokenizer.token_to_id("<|oddĠcontrol|>").expect("respelled");
        assert_eq!(odd, 600);
        assert!(
            !tokenizer
                .encode("<|odd control|>", false)
                .expect("encodes")
                .contains(&odd)
        );
    }
}

// ----- Hugging Face directories -----

/// The hf-bpe fixture copied into a temporary directory, changed as a variant of
/// expected.json says.
fn hf_variant(variant: &Value) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let source = tokenizer_fixture("hf-bpe");
    for entry in std::fs::read_dir(&source).expect("the fixture exists") {
        let entry = entry.expect("an entry");
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copies");
    }
    for (file, key) in [
        ("tokenizer_config.json", "tokenizer_config"),
        ("tokenizer.json", "tokenizer_json"),
    ] {
        let Some(changes) = variant.get(key).and_then(Value::as_object) else {
            continue;
        };
        let path = dir.path().join(file);
        let mut json: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("reads")).expect("JSON");
        for (k, v) in changes {
            json[k] = v.clone();
        }
        std::fs::write(&path, serde_json::to_string(&json).expect("serializes")).expect("writes");
    }
    for file in variant
        .get("remove")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        std::fs::remove_file(dir.path().join(file.as_str().expect("a name"))).expect("removes");
    }
    dir
}

#[test]
fn hf_directories_match_transformers() {
    let expected = expected();
    let samples = samples(&expected);
    // (variant, adds BOS, EOS ids, pad): the EOS ids are tokenizer_config.json's `eos_token`,
    // then config.json's and generation_config.json's `eos_token_id`s.
    let cases = [
        ("as_is", true, vec![2, 1], None),
        ("flags_ignored", true, vec![2, 1], None),
        ("no_post_processor", false, vec![2, 1], None),
        ("pad_and_no_model_configs", true, vec![2], Some(1)),
    ];
    let variants = expected["hf"].as_object().expect("an object");
    assert_eq!(variants.len(), cases.len());
    for (name, adds_bos, eos_ids, pad) in cases {
        let reference = &variants[name];
        let dir = hf_variant(&reference["variant"]);
        let tokenizer = Tokenizer::from_hf_dir(dir.path()).expect("loads");
        check_specials(name, &tokenizer, reference);
        assert_eq!(
            tokenizer.vocab_size() as u64,
            reference["transformers"]["len"].as_u64().expect("a count"),
            "{name}"
        );
        assert_eq!(tokenizer.adds_bos(), adds_bos, "{name}");
        assert_eq!(tokenizer.eos_ids(), eos_ids, "{name}");
        assert_eq!(tokenizer.pad_id(), pad, "{name}");
        assert_eq!(tokenizer.bos_token(), Some("<|begin_of_text|>"), "{name}");
        check_samples(name, &tokenizer, reference, &samples, &[]);
    }
}

// ----- errors -----

#[track_caller]
fn hf_error(setup: impl FnOnce(&Path)) -> TokenizerError {
    let dir = hf_variant(&Value::Null);
    setup(dir.path());
    Tokenizer::from_hf_dir(dir.path()).expect_err("a broken directory")
}

#[track_caller]
fn assert_mentions(error: &TokenizerError, words: &[&str]) {
    let message = error.to_string();
    for word in words {
        assert!(
            message.contains(word),
            "{message:?} should mention {word:?}"
        );
    }
}

#[test]
fn hf_directory_errors_name_the_file() {
    let error = Tokenizer::from_hf_dir(Path::new("/no/such/dir")).expect_err("absent");
    assert!(matches!(error, TokenizerError::Io { .. }), "{error}");
    assert_mentions(&error, &["/no/such/dir/tokenizer.json"]);

    let write = |name: &'static str, text: &'static str| {
        move |dir: &Path| std::fs::write(dir.join(name), text).expect("writes")
    };
    let error = hf_error(write("tokenizer.json", "{\"not\": \"a tokenizer\"}"));
    assert!(matches!(error, TokenizerError::Parse { .. }), "{error}");
    assert_mentions(&error, &["tokenizer.json"]);
    let error = hf_error(write("tokenizer_config.json", "{"));
    assert!(matches!(error, TokenizerError::Parse { .. }), "{error}");
    assert_mentions(&error, &["tokenizer_config.json"]);
    let error = hf_error(write("tokenizer_config.json", "{\"bos_token\": 5}"));
    assert_mentions(&error, &["tokenizer_config.json", "`bos_token` is 5"]);
    let error = hf_error(write(
        "tokenizer_config.json",
        "{\"eos_token\": {\"id\": 3}}",
    ));
    assert_mentions(
        &error,
        &["tokenizer_config.json", "`eos_token`", "`content`"],
    );
    let error = hf_error(write("tokenizer_config.json", "{\"pad_token\": \"<pad>\"}"));
    assert_mentions(
        &error,
        &["tokenizer_config.json", "`pad_token` is `<pad>`", "not in"],
    );
    let error = hf_error(write("config.json", "{\"eos_token_id\": \"x\"}"));
    assert_mentions(&error, &["config.json", "`eos_token_id`"]);
    let error = hf_error(write(
        "generation_config.json",
        "{\"eos_token_id\": [1, 99999]}",
    ));
    assert_mentions(&error, &["generation_config.json", "99999"]);

    // Only tokenizer.json is required.
    let dir = hf_variant(&Value::Null);
    for name in [
        "tokenizer_config.json",
        "config.json",
        "generation_config.json",
    ] {
        std::fs::remove_file(dir.path().join(name)).expect("removes");
    }
    let bare = Tokenizer::from_hf_dir(dir.path()).expect("loads");
    assert_eq!(
        (bare.bos_id(), bare.eos_ids(), bare.pad_id()),
        (None, &[][..], None)
    );
    assert!(!bare.adds_bos());
}

/// A GGUF file with the given string, string-array and u32 metadata and no tensors.
fn gguf_bytes(
    strings: &[(&str, &str)],
    arrays: &[(&str, &[&str])],
    ints: &[(&str, u32)],
) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u64).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    let mut out = b"GGUF".to_vec();
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&((strings.len() + arrays.len() + ints.len()) as u64).to_le_bytes());
    for (key, value) in strings {
        string(&mut out, key);
        out.extend_from_slice(&8u32.to_le_bytes());
        string(&mut out, value);
    }
    for (key, values) in arrays {
        string(&mut out, key);
        out.extend_from_slice(&9u32.to_le_bytes());
        out.extend_from_slice(&8u32.to_le_bytes());
        out.extend_from_slice(&(values.len() as u64).to_le_bytes());
        for value in *values {
            string(&mut out, value);
        }
    }
    for (key, value) in ints {
        string(&mut out, key);
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&value.to_le_bytes());
    }
    out
}

fn tiny_gguf(
    strings: &[(&str, &str)],
    arrays: &[(&str, &[&str])],
    ints: &[(&str, u32)],
) -> Result<Tokenizer, TokenizerError> {
    let file = GgufFile::parse(gguf_bytes(strings, arrays, ints), Path::new("tiny.gguf"))
        .expect("a valid GGUF");
    Tokenizer::from_gguf(&file)
}

const TOKENS: &[&str] = &["a", "b", "ab", "<s>"];
const MERGES: &[&str] = &["a b"];

#[test]
fn a_minimal_gguf_tokenizer_works_without_optional_keys() {
    // No `pre` (the default GPT-2 split), no token types, no special token ids.
    let tokenizer = tiny_gguf(
        &[("tokenizer.ggml.model", "gpt2")],
        &[
            ("tokenizer.ggml.tokens", TOKENS),
            ("tokenizer.ggml.merges", MERGES),
        ],
        &[],
    )
    .expect("a tokenizer");
    assert_eq!(tokenizer.encode("abba", true).expect("encodes"), [2, 1, 0]);
    assert_eq!(tokenizer.vocab_size(), 4);
    assert_eq!(
        (tokenizer.bos_id(), tokenizer.eos_ids(), tokenizer.pad_id()),
        (None, &[][..], None)
    );
    // A BOS id makes its token special, matched whole.
    let tokenizer = tiny_gguf(
        &[("tokenizer.ggml.model", "gpt2")],
        &[
            ("tokenizer.ggml.tokens", TOKENS),
            ("tokenizer.ggml.merges", MERGES),
        ],
        &[("tokenizer.ggml.bos_token_id", 3)],
    )
    .expect("a tokenizer");
    assert_eq!(tokenizer.encode("<s>ab", true).expect("encodes"), [3, 2]);
    assert_eq!(tokenizer.decode(&[3, 2], true).expect("decodes"), "ab");
}

#[test]
fn gguf_tokenizer_errors_name_the_problem() {
    let model = |name: &'static str| [("tokenizer.ggml.model", name)];
    let vocab: [(&str, &[&str]); 2] = [
        ("tokenizer.ggml.tokens", TOKENS),
        ("tokenizer.ggml.merges", MERGES),
    ];

    let error = tiny_gguf(&model("llama"), &vocab, &[]).expect_err("sentencepiece");
    assert!(
        matches!(error, TokenizerError::UnsupportedModel { .. }),
        "{error}"
    );
    assert_mentions(&error, &["tiny.gguf", "`llama`", "gpt2"]);

    let error = tiny_gguf(
        &[
            ("tokenizer.ggml.model", "gpt2"),
            ("tokenizer.ggml.pre", "bogus"),
        ],
        &vocab,
        &[],
    )
    .expect_err("an unknown pre-tokenizer");
    assert!(
        matches!(error, TokenizerError::UnsupportedPreTokenizer { .. }),
        "{error}"
    );
    assert_mentions(
        &error,
        &["tiny.gguf", "`bogus`", "smollm", "llama-bpe", "qwen2"],
    );

    let error = tiny_gguf(&model("gpt2"), &vocab[..1], &[]).expect_err("no merges");
    assert!(matches!(error, TokenizerError::Gguf(_)), "{error}");
    assert_mentions(&error, &["tokenizer.ggml.merges", "tiny.gguf"]);

    let error = tiny_gguf(&[], &vocab, &[]).expect_err("no model");
    assert_mentions(&error, &["tokenizer.ggml.model"]);

    let error = tiny_gguf(
        &model("gpt2"),
        &vocab,
        &[("tokenizer.ggml.eos_token_id", 4)],
    )
    .expect_err("out of range");
    assert_mentions(
        &error,
        &["tiny.gguf", "tokenizer.ggml.eos_token_id is 4", "4 tokens"],
    );

    let bad_merges: [(&str, &[&str]); 2] = [
        ("tokenizer.ggml.tokens", TOKENS),
        ("tokenizer.ggml.merges", &["a b c"]),
    ];
    let error = tiny_gguf(&model("gpt2"), &bad_merges, &[]).expect_err("a bad merge");
    assert_mentions(&error, &["tokenizer.ggml.merges[0]", "`a b c`"]);

    let unknown_merge: [(&str, &[&str]); 2] = [
        ("tokenizer.ggml.tokens", TOKENS),
        ("tokenizer.ggml.merges", &["a c"]),
    ];
    let error =
        tiny_gguf(&model("gpt2"), &unknown_merge, &[]).expect_err("a merge of unknown tokens");
    assert_mentions(&error, &["tiny.gguf", "merges"]);

    let error = tiny_gguf(&model("gpt2"), &vocab, &[("tokenizer.ggml.token_type", 1)])
        .expect_err("not an array");
    assert_mentions(&error, &["tokenizer.ggml.token_type", "u32 1"]);

    // A GGUF without a tokenizer at all.
    let file = GgufFile::open(&support::fixture("gguf/tensors.gguf")).expect("opens");
    let error = Tokenizer::from_gguf(&file).expect_err("no tokenizer");
    assert_mentions(
        &error,
        &["no metadata key `tokenizer.ggml.model`", "tensors.gguf"],
    );
}

#[test]
fn a_character_tokenizer_has_one_token_per_character_and_chatml_markup() {
    use rung_models::tokenizer::characters::{CHATML, IM_END};
    let tokenizer =
        rung_models::tokenizer::Tokenizer::characters("0123456789+= \n").expect("builds");
    assert_eq!(tokenizer.vocab_size(), 4 + 14);
    let ids = tokenizer.encode("12+3=15", true).expect("encodes");
    assert_eq!(ids, vec![5, 6, 14, 7, 15, 5, 9]);
    assert_eq!(tokenizer.decode(&ids, true).expect("decodes"), "12+3=15");
    let marked = tokenizer
        .encode("<|im_start|>user\n7<|im_end|>", false)
        .expect("encodes");
    assert_eq!(marked.first(), Some(&1));
    assert_eq!(marked.last(), Some(&2));
    assert_eq!(
        tokenizer.encode("x", false).expect("encodes"),
        vec![3],
        "unknown"
    );
    assert_eq!(tokenizer.eos_ids(), &[2]);
    assert_eq!(
        (tokenizer.pad_id(), tokenizer.eos_token()),
        (Some(0), Some(IM_END))
    );
    assert!(CHATML.contains("add_generation_prompt"));
}
