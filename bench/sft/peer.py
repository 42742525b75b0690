#!/usr/bin/env python3
"""Full-parameter SFT training throughput of a GGUF model with PyTorch + transformers on the CPU.

    peer.py GGUF [--threads N] [--seq-len L] [--batch B] [--steps S] [--warmup-steps W]
                 [--grad-accum A] [--dtype f32|bf16] [--adamw fused|foreach|for-loop]

The PyTorch side of bench/sft: the same measurement as rung-sft's training-throughput benchmark,
with the same options and defaults, printing one JSON line on stdout (`"tool": "pytorch"`, plus
the versions, the thread counts torch reports, the CPU time per wall-clock second of the timed
steps and the peak resident memory).

- Model: `AutoModelForCausalLM.from_pretrained(dir, gguf_file=name, dtype=...)`; transformers
  dequantizes the GGUF (here Q4_1) to the requested dtype, as rung does. Every parameter is
  trained; the tied embedding and output head are one parameter. `model.train()`; gradient
  checkpointing off.
- Data: each micro-batch is B rows of L tokens, token i of row r =
  100 + ((i + 31 * r) * 7919) % (vocab - 200) (a fixed walk through the vocabulary, shifted
  per row; no tokenizer, no padding); every micro-batch of every step is the same.
- Loss: on every token, `labels=input_ids` (transformers shifts them: position t predicts token
  t + 1, so L - 1 targets per row), the mean cross-entropy of the micro-batch, divided by A.
- Optimizer step: A micro-batches (forward, backward, gradients accumulated), then
  `clip_grad_norm_(0.1)` over all parameters, `AdamW(lr 5e-6, betas (0.9, 0.99), eps 1e-8)` with
  weight decay 0.1 on the parameters with ndim >= 2 and none on the rest (norm weights),
  `optimizer.step()`, `zero_grad(set_to_none=True)`. The learning rate is constant: a schedule
  costs nothing here. `--adamw` picks torch's implementation: fused (the default of
  transformers' Trainer, `adamw_torch_fused`), foreach or the per-tensor for-loop.
- Timing: W warm-up steps (not timed: the first step allocates the optimizer state), then S
  steps, each timed with `time.perf_counter()` from its first forward to the end of
  `zero_grad`. Tokens per second = S * A * B * L / the S steps' seconds.
- `--dtype bf16` trains in pure bf16 (weights, gradients and AdamW state, no f32 master copy;
  the loss in f32, as transformers computes it): most 5e-6 updates round away, so it measures
  speed only.
- Memory: the peak resident set size (`resource.getrusage`), once after loading and once at the
  end; the second is the training's peak when it is larger than the first.

Threads: `torch.set_num_threads(N)` (intra-op). OMP_NUM_THREADS and MKL_NUM_THREADS are set to N
before torch is imported, unless the caller set them. Run it with the reference venv's Python
(models/reference/setup.sh prints it) on the GGUF printed by scripts/fetch-smollm2.sh.
"""

import argparse
import json
import os
import resource
import sys
import time

LR = 5e-6
BETAS = (0.9, 0.99)
EPS = 1e-8
WEIGHT_DECAY = 0.1
MAX_GRAD_NORM = 0.1


def positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expects a positive integer, found {text!r}")
    return value


def count(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expects a non-negative integer, found {text!r}")
    return value


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("gguf", help="the .gguf file")
    ap.add_argument("--threads", type=positive, default=2)
    ap.add_argument("--seq-len", type=positive, default=512)
    ap.add_argument("--batch", type=positive, default=2)
    ap.add_argument("--steps", type=positive, default=3, help="timed optimizer steps")
    ap.add_argument("--warmup-steps", type=count, default=1)
    ap.add_argument("--grad-accum", type=positive, default=1)
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--adamw", choices=["fused", "foreach", "for-loop"], default="fused")
    return ap.parse_args()


def tokens(rows, length, vocab):
    """The same ids as rung's benchmark: a fixed walk through the vocabulary, shifted per row."""
    return [[100 + ((i + 31 * r) * 7919) % (vocab - 200) for i in range(length)] for r in range(rows)]


def peak_rss_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


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
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=dtype)
    load_s = time.perf_counter() - start
    rss_after_load = peak_rss_mb()
    model.activation_checkpointing_disable()
    model.train()

    params = list(model.parameters())  # a tied parameter once
    optimizer = torch.optim.AdamW(
        [
            {"params": [p for p in params if p.ndim >= 2], "weight_decay": WEIGHT_DECAY},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ],
        lr=LR,
        betas=BETAS,
        eps=EPS,
        fused=args.adamw == "fused",
        foreach=args.adamw == "foreach",
    )
    input_ids = torch.tensor(tokens(args.batch, args.seq_len, model.config.vocab_size))  # [B, L]

    def step():
        """One optimizer step; returns (the step's loss, wall s, CPU s)."""
        wall, cpu = time.perf_counter(), time.process_time()
        loss = 0.0
        for _ in range(args.grad_accum):
            out = model(input_ids=input_ids, labels=input_ids)
            (out.loss / args.grad_accum).backward()
            loss += out.loss.item() / args.grad_accum
        torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss, time.perf_counter() - wall, time.process_time() - cpu

    warmup = [step() for _ in range(args.warmup_steps)]
    timed = [step() for _ in range(args.steps)]
    elapsed = sum(t[1] for t in timed)
    print(json.dumps({
        "tool": "pytorch",
        "threads": args.threads,
        "dtype": {"f32": "F32", "bf16": "BF16"}[args.dtype],
        "seq_len": args.seq_len,
        "batch": args.batch,
        "grad_accum": args.grad_accum,
        "steps": args.steps,
        "warmup_steps": args.warmup_steps,
        "tokens_per_s": round(args.steps * args.grad_accum * args.batch * args.seq_len / elapsed, 2),
        "step_s": [round(t[1], 3) for t in timed],
        "warmup_step_s": [round(t[1], 3) for t in warmup],
        "cpu_per_wall": round(sum(t[2] for t in timed) / elapsed, 2),
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_mb_after_load": rss_after_load,
        "losses": [round(t[0], 4) for t in warmup + timed],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "attention": model.config._attn_implementation,
        "adamw": args.adamw,
        "gradient_checkpointing": model.is_activation_checkpointing,
        "parameters": sum(p.numel() for p in params),
        "load_s": round(load_s, 2),
    }), flush=True)


if __name__ == "__main__":
    main()
