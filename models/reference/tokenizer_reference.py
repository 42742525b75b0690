"""Writes the tokenizer fixtures of rung-models' tests (models/tests/tokenizer.rs): reference
token ids from transformers for a mixed text sample, for the tokenizer of the real SmolLM2 GGUF,
for small synthetic GGUF tokenizers of each pre-tokenizer rung supports, and for a small
Hugging Face tokenizer directory.

Run from the repository root (re-runnable; the output is byte-for-byte deterministic):

    $(models/reference/setup.sh) models/reference/tokenizer_reference.py

It writes, under models/tests/fixtures/tokenizer/:

- hf-bpe/: a byte-level BPE of 600 tokens trained here with the `tokenizers` package on a fixed
  corpus (Llama-3 split pattern, a template that adds BOS), with tokenizer_config.json (BOS as an
  `{"content": ...}` object, EOS as a string), config.json and generation_config.json (EOS ids as
  an int and as a list).
- gguf-llama-bpe.gguf, gguf-qwen2.gguf, gguf-gpt2.gguf, gguf-default.gguf: the same vocabulary
  and merges as GGUF metadata (tokenizer.ggml.*), with that `tokenizer.ggml.pre`, CONTROL and
  USER_DEFINED tokens and different BOS/EOS settings; no tensors.
- expected.json: the sample texts (and 60 seeded random strings of tricky pieces, encoded
  without special tokens by the SmolLM2, llama-bpe and qwen2 tokenizers) and, per tokenizer,
  the ids with and without special tokens (`without_special` left out when equal to
  `with_special`), the texts decoded from the ids with
  special tokens kept (`decoded`, left out when equal to the sample) and skipped
  (`decoded_skip_special`, left out when equal to `decoded`), and the special tokens as
  transformers sees them.

What rung must produce (`with_special`, `without_special`) is transformers' output, except for
two documented differences, where the script also records what transformers gives
(`transformers_with_special`, `transformers_without_special`):

1. SmolLM2's pre-tokenizer (`tokenizer.ggml.pre` = "smollm"). The model's own tokenizer.json
   (and llama.cpp, whose "smollm" pattern starts with `\\p{N}`) splits every digit apart before
   the GPT-2 byte-level split: `Sequence[Digits(individual_digits), ByteLevel(use_regex)]`.
   transformers' GGUF converter has no entry for "smollm" and keeps GPT2Tokenizer's plain
   byte-level split, so "\\n\\n1" becomes [198, 198, 33] there, and [1116, 33] with the model's
   tokenizer. rung follows the model's tokenizer; its expected ids come from transformers'
   converted tokenizer with that pre-tokenizer put back.
2. GPT2Tokenizer adds `<|endoftext|>` to a vocabulary that lacks it, as a new token past the end
   of the model's vocabulary (id = len(tokens)). rung does not; its expected ids come from
   transformers' converted tokenizer without that token.
"""

import copy
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import gguf
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer
from transformers.utils import logging as hf_logging

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "models" / "tests" / "fixtures" / "tokenizer"

LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

SAMPLES = [
    "",
    "Hello world",
    "Hello, world! How are you today?",
    " leading space",
    "trailing space ",
    "  two leading spaces",
    "Café naïve résumé über Straße Ünïcödé ÀÉÎÕÜ",
    "e\u0301 combining acute, ﬁ ligature, ＡＢＣ fullwidth １２３",
    "日本語のテキストと中文文本，还有标点。",
    "한국어 텍스트",
    "emoji: 🦀🔥👍🏽 👨\u200d👩\u200d👧\u200d👦 💩💩💩",
    "RTL: שלום עולם, مرحبا بالعالم",
    "Numbers: 1 12 123 1234 12345 3.14159 -42 1,000,000 2024-06-01",
    "31415926535897932384626433832795028841971",
    "mixed123abc456 x2 3D H2O",
    "whitespace   runs\t\ttabs\n\nnewlines\r\nwindows\n \n",
    "\n\n\n",
    "   ",
    "\t",
    "a\n\n1. item\n2. item\n\n3",
    "   \n  indented\n    more",
    "special spaces: \u00a0nbsp \u3000ideographic \u2028line-sep \u0085nel \x0bvt \x0cff \u200bzw \ufeffbom",
    "\x00 null byte and \x1b[0m escape",
    "code:\ndef f(x):\n    return x ** 2  # square\n\nfor i in range(10):\n\tprint(f\"{i}: {f(i)}\")\n",
    "fn main() { let v: Vec<u32> = vec![1, 2, 3]; println!(\"{:?}\", v); }",
    "URL: https://example.com/path?q=1&r=2#frag <tag attr='x'>",
    "don't can't I'm we'll they've she'd it's DON'T I'M You'Re ſ",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>",
    "text<|im_end|>glued<|im_start|>",
    "<|im_start|> spaced <|im_end|>",
    "<|im_start",
    "<|endoftext|>",
    "<|begin_of_text|>Hi<|eot_id|><|end_of_text|>",
    "<think>reasoning</think> answer",
]

# Random strings from pieces where regex engines might disagree (case folding, Unicode
# whitespace and number classes, lookahead at whitespace runs, special tokens), checked with the
# three split families: SmolLM2's, Llama 3's and Qwen2's. Seeded, so the fixture is stable.
PIECES = [
    "'s", "'T", "'ll", "'ſ", "'Re", " ", "  ", "\t", "\n", "\r\n", "\n\n", "\u00a0", "\u3000",
    "\u2028", "\x0b", "\x85", "a", "Z", "é", "ß", "ſ", "\u212a", "İ", "1", "23", "4567", "\u0663",
    "²", "Ⅻ", "½", ".", ",", "!", "?", "-", "_", "(", ")", "{", "}", "<", ">", "😀", "👍🏽", "中",
    "文", "の", "한", "ا", "ש", "\u0301", "\u200d", "<|im_start|>", "<|im_end|>", "$", "€", "\\",
    "\"", "`", "word", " Word", "x1", "   \n",
]


def random_samples(count: int = 60) -> list[str]:
    rng = random.Random(20240607)
    return ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12))) for _ in range(count)]


RANDOM_SAMPLES = random_samples()

# The corpus the synthetic vocabulary is trained on: the samples, and some more of each script.
CORPUS = SAMPLES + [
    "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away quickly.",
    "Python code: import numpy as np\nx = np.zeros((3, 4))\nprint(x.shape)\n",
    "Le café est très bon, n'est-ce pas ? Ça va très bien, merci.",
    "中文文本的训练语料。日本語の文章です。",
    "Numbers and dates: 2023, 2024, 100, 250, 3.5, 42.",
    "    indentation matters in Python\n        and in YAML\n",
] * 4

SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>"]
USER_DEFINED = ["<think>", "</think>"]
# A CONTROL token spelled with a plain space, outside the byte alphabet: transformers respells it
# in the vocabulary and does not make it special; rung must do the same.
ODD_CONTROL = "<|odd control|>"


def train_vocabulary() -> Tokenizer:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=SPECIAL + USER_DEFINED,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    bos = tokenizer.token_to_id("<|begin_of_text|>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
        special_tokens=[("<|begin_of_text|>", bos)],
    )
    return tokenizer


def write_hf_dir(tokenizer: Tokenizer, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    data = json.loads(tokenizer.to_str())
    (directory / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": {"__type": "AddedToken", "content": "<|begin_of_text|>", "lstrip": False,
                      "normalized": False, "rstrip": False, "single_word": False, "special": True},
        "eos_token": "<|eot_id|>",
        "pad_token": None,
        "model_max_length": 1024,
    }
    write_json(directory / "tokenizer_config.json", tokenizer_config)
    eot, end = tokenizer.token_to_id("<|eot_id|>"), tokenizer.token_to_id("<|end_of_text|>")
    write_json(directory / "config.json", {"model_type": "llama", "bos_token_id": 0, "eos_token_id": end})
    write_json(directory / "generation_config.json", {"bos_token_id": 0, "eos_token_id": [end, eot]})


def write_json(path: Path, value) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# The variants of hf-bpe that the test also builds: keys merged into tokenizer_config.json and
# tokenizer.json, and files removed. transformers 5 drops `add_bos_token` and `add_eos_token`
# from tokenizer_config.json when there is a tokenizer.json (tokenization_utils_base.py, "if
# resolved_vocab_files.get("tokenizer_file")"): its post-processor alone decides. The variants
# pin that down.
HF_VARIANTS = {
    "as_is": {},
    "flags_ignored": {"tokenizer_config": {"add_bos_token": False, "add_eos_token": True}},
    "no_post_processor": {"tokenizer_config": {"add_bos_token": True}, "tokenizer_json": {"post_processor": None}},
    "pad_and_no_model_configs": {
        "tokenizer_config": {"pad_token": {"__type": "AddedToken", "content": "<|end_of_text|>", "special": True}},
        "remove": ["config.json", "generation_config.json"],
    },
}


def gguf_tokens(tokenizer: Tokenizer) -> tuple[list[str], list[str], list[int]]:
    """The vocabulary in id order, the merges as `a b`, and llama.cpp token types, with the odd
    CONTROL token appended."""
    data = json.loads(tokenizer.to_str())
    vocab = data["model"]["vocab"]
    tokens = [None] * len(vocab)
    for token, index in vocab.items():
        tokens[index] = token
    assert all(token is not None for token in tokens)
    merges = [" ".join(merge) if isinstance(merge, list) else merge for merge in data["model"]["merges"]]
    types = [3 if token in SPECIAL else 4 if token in USER_DEFINED else 1 for token in tokens]
    tokens.append(ODD_CONTROL)
    types.append(3)
    return tokens, merges, types


GGUF_VARIANTS = {
    # pre, then metadata: bos, eos, pad, eot, add_bos, add_eos
    "llama-bpe": {"bos": "<|begin_of_text|>", "eos": "<|eot_id|>", "eot": "<|end_of_text|>", "add_bos": True},
    "qwen2": {"bos": "<|end_of_text|>", "eos": "<|im_end|>", "pad": "<|end_of_text|>", "add_bos": False},
    "gpt2": {"bos": "<|end_of_text|>", "eos": "<|end_of_text|>"},
    "default": {"bos": "<|begin_of_text|>", "eos": "<|end_of_text|>", "add_bos": True, "add_eos": True},
}


def write_gguf_tokenizer(path: Path, pre: str, tokens, merges, types, settings) -> None:
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_string("tokenizer.ggml.model", "gpt2")
    writer.add_string("tokenizer.ggml.pre", pre)
    writer.add_array("tokenizer.ggml.tokens", tokens)
    writer.add_array("tokenizer.ggml.merges", merges)
    writer.add_array("tokenizer.ggml.token_type", types)
    for name, key in [("bos", "bos_token_id"), ("eos", "eos_token_id"), ("pad", "padding_token_id"), ("eot", "eot_token_id")]:
        if name in settings:
            writer.add_uint32(f"tokenizer.ggml.{key}", tokens.index(settings[name]))
    if "add_bos" in settings:
        writer.add_bool("tokenizer.ggml.add_bos_token", settings["add_bos"])
    if "add_eos" in settings:
        writer.add_bool("tokenizer.ggml.add_eos_token", settings["add_eos"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


SMOLLM_PRE_TOKENIZER = {
    "type": "Sequence",
    "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
    ],
}


def faithful_backend(tokenizer, n_tokens: int, pre_tokenizer=None) -> tuple[Tokenizer, list[str]]:
    """transformers' backend tokenizer without the tokens it added past the file's vocabulary,
    and with `pre_tokenizer` when given; and the names of the tokens dropped."""
    data = json.loads(tokenizer.backend_tokenizer.to_str())
    dropped = [token["content"] for token in data["added_tokens"] if token["id"] >= n_tokens]
    data["added_tokens"] = [token for token in data["added_tokens"] if token["id"] < n_tokens]
    if pre_tokenizer is not None:
        data["pre_tokenizer"] = pre_tokenizer
    return Tokenizer.from_str(json.dumps(data)), dropped


def encodings(tokenizer, backend: Tokenizer, notes: list[str]) -> list[dict]:
    """Per sample: rung's expected ids (the faithful backend's) with and without special tokens,
    transformers' own when they differ, and the decoded texts."""
    results = []
    for text in SAMPLES:
        entry = {}
        for flag, key in [(True, "with_special"), (False, "without_special")]:
            ids = backend.encode(text, add_special_tokens=flag).ids
            theirs = tokenizer.encode(text, add_special_tokens=flag)
            entry[key] = ids
            if theirs != ids:
                entry[f"transformers_{key}"] = theirs
        ids = entry["with_special"]
        decoded = backend.decode(ids, skip_special_tokens=False)
        skipped = backend.decode(ids, skip_special_tokens=True)
        assert decoded == tokenizer.decode(ids, skip_special_tokens=False)
        assert skipped == tokenizer.decode(ids, skip_special_tokens=True)
        # Left out when equal to what they would repeat, to keep the file small.
        if entry["without_special"] == ids and "transformers_without_special" not in entry:
            del entry["without_special"]
        if decoded != text:
            entry["decoded"] = decoded
        if skipped != decoded:
            entry["decoded_skip_special"] = skipped
        results.append(entry)
    differing = sum(1 for entry in results if any(key.startswith("transformers_") for key in entry))
    if differing:
        notes.append(f"{differing} of {len(SAMPLES)} samples differ from transformers")
    return results


def special_tokens(tokenizer) -> dict:
    return {
        "bos_token": tokenizer.bos_token,
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token": tokenizer.eos_token,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token": tokenizer.pad_token,
        "pad_token_id": tokenizer.pad_token_id,
        "len": len(tokenizer),
    }


def gguf_reference(directory: Path, name: str, pre_tokenizer=None, random_ids=False) -> dict:
    reader = gguf.GGUFReader(str(directory / name))
    tokens = reader.fields["tokenizer.ggml.tokens"]
    merges = reader.fields["tokenizer.ggml.merges"]
    n_tokens = len(tokens.data)
    tokenizer = AutoTokenizer.from_pretrained(str(directory), gguf_file=name)
    backend, dropped = faithful_backend(tokenizer, n_tokens, pre_tokenizer)
    notes = []
    if dropped:
        notes.append(f"transformers adds {dropped} past the vocabulary; rung does not")
    if pre_tokenizer is not None:
        notes.append("rung splits digits apart like the model's own tokenizer.json; transformers' GGUF converter does not")
    result = {
        "tokens": n_tokens,
        "merges": len(merges.data),
        "transformers": special_tokens(tokenizer),
        "notes": notes,
        "samples": encodings(tokenizer, backend, notes),
    }
    if random_ids:
        result["random_samples"] = [backend.encode(text, add_special_tokens=False).ids for text in RANDOM_SAMPLES]
        differing = sum(
            1 for text, ids in zip(RANDOM_SAMPLES, result["random_samples"])
            if tokenizer.encode(text, add_special_tokens=False) != ids
        )
        if differing:
            notes.append(f"{differing} of {len(RANDOM_SAMPLES)} random samples differ from transformers")
    return result


def hf_reference(source: Path, variant: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "hf"
        shutil.copytree(source, directory)
        for name, key in [("tokenizer_config.json", "tokenizer_config"), ("tokenizer.json", "tokenizer_json")]:
            if key in variant:
                data = json.loads((directory / name).read_text(encoding="utf-8"))
                data.update(variant[key])
                write_json(directory / name, data)
        for name in variant.get("remove", []):
            (directory / name).unlink()
        tokenizer = AutoTokenizer.from_pretrained(str(directory))
        backend = copy.deepcopy(tokenizer.backend_tokenizer)
        notes = []
        return {
            "variant": variant,
            "transformers": special_tokens(tokenizer),
            "notes": notes,
            "samples": encodings(tokenizer, backend, notes),
        }


def main() -> None:
    hf_logging.set_verbosity_error()
    OUT.mkdir(parents=True, exist_ok=True)
    vocabulary = train_vocabulary()
    hf_dir = OUT / "hf-bpe"
    if hf_dir.exists():
        shutil.rmtree(hf_dir)
    write_hf_dir(vocabulary, hf_dir)
    tokens, merges, types = gguf_tokens(vocabulary)
    for pre, settings in GGUF_VARIANTS.items():
        write_gguf_tokenizer(OUT / f"gguf-{pre}.gguf", pre, tokens, merges, types, settings)

    smollm2 = Path(subprocess.run(
        ["bash", str(ROOT / "scripts" / "fetch-smollm2.sh")], check=True, capture_output=True, text=True
    ).stdout.strip())
    expected = {
        "samples": SAMPLES,
        "random_samples": RANDOM_SAMPLES,
        "smollm2": gguf_reference(smollm2.parent, smollm2.name, SMOLLM_PRE_TOKENIZER, random_ids=True),
        "gguf": {
            pre: gguf_reference(OUT, f"gguf-{pre}.gguf", random_ids=pre in ("llama-bpe", "qwen2"))
            for pre in GGUF_VARIANTS
        },
        "hf": {name: hf_reference(hf_dir, variant) for name, variant in HF_VARIANTS.items()},
    }
    text = json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
    (OUT / "expected.json").write_text(text + "\n", encoding="utf-8")
    for path in sorted(OUT.rglob("*")):
        if path.is_file():
            print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes", file=sys.stderr)
    for group, value in [("smollm2", expected["smollm2"])] + [(f"gguf-{k}", v) for k, v in expected["gguf"].items()] + [(f"hf/{k}", v) for k, v in expected["hf"].items()]:
        for note in value["notes"]:
            print(f"{group}: {note}", file=sys.stderr)


if __name__ == "__main__":
    main()
