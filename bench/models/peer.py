#!/usr/bin/env python3
"""Prefill and greedy-decode throughput of a GGUF model with PyTorch + transformers on the CPU.

    peer.py GGUF [--threads N] [--prompt-tokens P] [--new-tokens N] [--batch B,...]
                 [--dtype f32|bf16] [--repeats R]

The PyTorch side of bench/models: the same measurement as rung's example
`models/examples/throughput.rs`, with the same options and defaults, and the same JSON line per
batch size on stdout (`"tool": "pytorch"`, plus the versions, the thread counts torch reports and
the CPU time per wall-clock second of the timed sections).

- Model: `AutoModelForCausalLM.from_pretrained(dir, gguf_file=name, dtype=...)`; transformers
  dequantizes the GGUF (here Q4_1) to the requested dtype, as rung does.
- Prompt: token i = 100 + (i * 7919) % (vocab - 200), the same ids as rung's, `batch` copies.
- Prefill: one forward pass over the prompt with `use_cache=True` and `logits_to_keep=1` (the
  logits of the last position only, as rung computes them), then the argmax.
- Decode: `--new-tokens` greedy steps, each feeding the previous argmax and the KV cache of the
  step before (`cache`, called `past_key_values` before transformers 5.24; the default
  DynamicCache); EOS is ignored. Timed apart from the prefill.
- Best of `--repeats` for each, after a warm-up run (16 tokens, 2 steps; the same as rung's).

Threads: `torch.set_num_threads(N)` (intra-op). OMP_NUM_THREADS and MKL_NUM_THREADS are set to N
before torch is imported, unless the caller set them. Run it with the reference venv's Python
(models/reference/setup.sh prints it); see bench/models/README.md.
"""

import argparse
import inspect
import json
import os
import sys
import time


def positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expects a positive integer, found {text!r}")
    return value


def batches(text):
    return [positive(b) for b in text.split(",")]


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("gguf", help="the .gguf file")
    ap.add_argument("--threads", type=positive, default=2)
    ap.add_argument("--prompt-tokens", type=positive, default=512)
    ap.add_argument("--new-tokens", type=positive, default=32)
    ap.add_argument("--batch", type=batches, default=[1, 8])
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--repeats", type=positive, default=2)
    return ap.parse_args()


def prompt(length, vocab):
    """The same prompt ids as rung's throughput example: a fixed walk through the vocabulary."""
    return [100 + (i * 7919) % (vocab - 200) for i in range(length)]


def cache_name(model):
    """The keyword (and output field) of the KV cache: `cache` since transformers 5.24
    (`past_key_values` still works there, with a deprecation warning), `past_key_values` before."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def run(torch, model, ids, batch, new):
    """(prefill s, decode s, prefill CPU s, decode CPU s) for one prefill and `new` steps."""
    key = cache_name(model)
    input_ids = torch.tensor([ids] * batch, dtype=torch.long)  # [batch, prompt]
    wall, cpu = time.perf_counter(), time.process_time()
    out = model(input_ids=input_ids, use_cache=True, logits_to_keep=1)
    cache = getattr(out, key)
    next_ids = out.logits[:, -1, :].argmax(-1, keepdim=True)  # [batch, 1]
    next_ids.tolist()
    prefill, prefill_cpu = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(new):
        out = model(input_ids=next_ids, use_cache=True, **{key: cache})
        cache = getattr(out, key)
        next_ids = out.logits[:, -1, :].argmax(-1, keepdim=True)
        next_ids.tolist()
    return prefill, time.perf_counter() - wall, prefill_cpu, time.process_time() - cpu


def main():
    args = parse()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    if not os.path.isfile(args.gguf):
        sys.exit(f"error: {args.gguf} does not exist (scripts/fetch-smollm2.sh prints the path)")

    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(args.threads)
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    directory, name = os.path.split(os.path.abspath(args.gguf))
    start = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=dtype).eval()
    load_s = time.perf_counter() - start
    # Tied weights are one storage: count each once, as the bytes a decode step reads.
    storages = {p.untyped_storage().data_ptr(): p for p in model.parameters()}
    weight_bytes = sum(p.numel() * p.element_size() for p in storages.values())

    vocab = model.config.vocab_size
    ids = prompt(args.prompt_tokens, vocab)
    with torch.inference_mode():
        run(torch, model, ids[:16], 1, 2)
        for batch in args.batch:
            times = [run(torch, model, ids, batch, args.new_tokens) for _ in range(args.repeats)]
            prefill = min(times, key=lambda t: t[0])
            decode = min(times, key=lambda t: t[1])
            print(json.dumps({
                "tool": "pytorch",
                "batch": batch,
                "threads": args.threads,
                "dtype": {"f32": "F32", "bf16": "BF16"}[args.dtype],
                "prefill_tokens_per_s": round(batch * args.prompt_tokens / prefill[0], 2),
                "decode_tokens_per_s": round(batch * args.new_tokens / decode[1], 2),
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "torch_threads": torch.get_num_threads(),
                "torch_interop_threads": torch.get_num_interop_threads(),
                "attention": model.config._attn_implementation,
                "cache_keyword": cache_name(model),
                "prefill_cpu_per_wall": round(prefill[2] / prefill[0], 2),
                "decode_cpu_per_wall": round(decode[3] / decode[1], 2),
                "prompt_tokens": args.prompt_tokens,
                "new_tokens": args.new_tokens,
                "repeats": args.repeats,
                "load_s": round(load_s, 2),
                "weight_bytes": weight_bytes,
            }), flush=True)


if __name__ == "__main__":
    main()
