"""PyTorch reference of rung-sft's training step: 20 AdamW steps on a tiny Qwen2, as a fixture.

Writes, under sft/tests/fixtures/adamw/ (or --out DIR):
  initial/            a random Qwen2 checkpoint (QKV biases, GQA, untied lm_head), f32:
                      config.json, generation_config.json, model.safetensors
  final.safetensors   every parameter after the 20 optimizer steps, f32, under the Hugging Face
                      names and layouts (e.g. model.layers.0.self_attn.q_proj.weight, [out, in])
  trace.json          the constants, the 16 training examples, the data order (which examples
                      form each micro-batch of each step), per step the loss, the learning rate and
                      the gradient norm before clipping, the largest weight change, and how far a
                      few deliberate mistakes move the final weights ("sensitivity"), for choosing
                      the Rust test's tolerance

The recipe (what rung-sft must reproduce):
  - Micro-batch: the examples right-padded with PAD_ID to the longest, attention_mask 1 on real
    tokens; logits = model(input_ids, attention_mask).logits in f32.
  - Loss: position t predicts token t+1, which counts iff it is a real token and
    loss_mask[t+1] == 1 (completion tokens only). The loss of an optimizer step is the sum of the
    token cross-entropies over the counted tokens of all its micro-batches, divided by the number
    of counted tokens in the whole step; each micro-batch backpropagates its own share
    (sum of its CEs / the step's count), accumulating the gradients.
  - Clipping: torch.nn.utils.clip_grad_norm_ over all parameters with MAX_GRAD_NORM: the global
    L2 norm of all gradients, then every gradient times min(1, MAX_GRAD_NORM / (norm + 1e-6)).
  - Optimizer: torch.optim.AdamW (the plain per-tensor implementation), weight decay
    WEIGHT_DECAY on the parameters with ndim >= 2 and none on the rest (norm weights, biases).
  - Schedule: transformers.get_cosine_schedule_with_warmup(WARMUP_STEPS, TOTAL_STEPS), stepped
    after each optimizer step; so step k (1-based) uses LR * (k-1)/WARMUP_STEPS during the
    warm-up (the first step's lr is 0) and LR * (1 + cos(pi * (k-1-W)/(TOTAL-W)))/2 after it.

Run (from the repository root):
  "$(bash models/reference/setup.sh)" sft/reference/sft_reference.py [--out DIR]

Deterministic: seeded initialisation and data, f32 on the CPU, one thread,
torch.use_deterministic_algorithms(True); a second run writes byte-identical files.
"""

import argparse
import copy
import json
import math
import platform
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import Qwen2Config, Qwen2ForCausalLM, get_cosine_schedule_with_warmup

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "sft/tests/fixtures/adamw"

# The recipe. The study's peak learning rate is 5e-6 and its max gradient norm 0.1; this fixture
# uses a learning rate 2000 times larger, so that 20 steps move the weights measurably, and a max
# norm that clips most steps but not all of them (the pre-clip norms are in the trace).
LR = 1e-2
BETAS = (0.9, 0.99)
EPS = 1e-8
WEIGHT_DECAY = 0.1
MAX_GRAD_NORM = 1.5
TOTAL_STEPS = 20
WARMUP_STEPS = math.ceil(0.1 * TOTAL_STEPS)
MICRO_BATCH = 2
GRAD_ACCUM = 2
PAD_ID = 0

# The data: EXAMPLES examples, EPOCHS seeded permutations of them, cut into the steps.
EXAMPLES = 16
EPOCHS = TOTAL_STEPS * GRAD_ACCUM * MICRO_BATCH // EXAMPLES
MIN_LEN, MAX_LEN = 6, 24
MODEL_SEED = 0
DATA_SEED = 1

# Deliberate mistakes, each trained like the reference: how far each moves the result bounds the
# error a correct Rust implementation may have.
MISTAKES = {
    "decay_all": "weight decay on every parameter, norm weights and biases included",
    "per_tensor_clip": "each parameter's gradient clipped to MAX_GRAD_NORM on its own "
    "instead of by the global norm",
    "micro_batch_mean": "each micro-batch's loss divided by its own counted tokens, then "
    "averaged over the micro-batches, instead of one division by the step's count",
    "mask_off_by_one": "target t+1 counted when loss_mask[t] == 1 instead of loss_mask[t+1] "
    "(the first completion token is lost)",
    "schedule_shift": "step k uses the schedule's lr of step k+1 (no zero-lr first step)",
}

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
transformers.utils.logging.disable_progress_bar()


def tiny_model():
    config = Qwen2Config(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        rms_norm_eps=1e-6,
        dtype="float32",
        pad_token_id=PAD_ID,
    )
    # Eager attention: the textbook softmax(q k^T / sqrt(d) + mask) v.
    config._attn_implementation = "eager"
    torch.manual_seed(MODEL_SEED)
    return Qwen2ForCausalLM(config)


def make_examples(rng):
    """EXAMPLES sequences of ids in [1, vocab - 1], each a prompt (loss_mask 0) of at least 2
    tokens followed by a completion (loss_mask 1) of at least 2."""
    examples = []
    for _ in range(EXAMPLES):
        length = int(rng.integers(MIN_LEN, MAX_LEN + 1))
        prompt = int(rng.integers(2, length - 2 + 1))
        ids = rng.integers(1, 64, size=length).tolist()
        examples.append({"input_ids": ids, "loss_mask": [0] * prompt + [1] * (length - prompt)})
    return examples


def make_steps(rng):
    """steps[k][m] = the example indices of micro-batch m of optimizer step k + 1."""
    order = [int(i) for _ in range(EPOCHS) for i in rng.permutation(EXAMPLES)]
    per_step = GRAD_ACCUM * MICRO_BATCH
    steps = []
    for k in range(TOTAL_STEPS):
        chunk = order[k * per_step:(k + 1) * per_step]
        steps.append([chunk[m * MICRO_BATCH:(m + 1) * MICRO_BATCH] for m in range(GRAD_ACCUM)])
    return steps


def micro_batch(examples, indices, mistake):
    """(input_ids, attention_mask, counted): counted[b, t] says whether the target at t + 1 of
    row b enters the loss."""
    rows = [examples[i] for i in indices]
    width = max(len(r["input_ids"]) for r in rows)
    ids = torch.full((len(rows), width), PAD_ID, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    loss_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for b, row in enumerate(rows):
        n = len(row["input_ids"])
        ids[b, :n] = torch.tensor(row["input_ids"])
        attention[b, :n] = 1
        loss_mask[b, :n] = torch.tensor(row["loss_mask"])
    if mistake == "mask_off_by_one":
        counted = (attention[:, 1:] == 1) & (loss_mask[:, :-1] == 1)
    else:
        counted = (attention[:, 1:] == 1) & (loss_mask[:, 1:] == 1)  # [batch, width - 1]
    return ids, attention, counted


def train(initial, examples, steps, mistake=None):
    """Trains a copy of `initial` through `steps`; returns (final parameters by name, trace)."""
    model = copy.deepcopy(initial)
    model.train()
    params = list(model.named_parameters())
    decay_all = mistake == "decay_all"
    groups = [
        {"params": [p for _, p in params if p.ndim >= 2 or decay_all], "weight_decay": WEIGHT_DECAY},
        {"params": [p for _, p in params if p.ndim < 2 and not decay_all], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(
        [g for g in groups if g["params"]], lr=LR, betas=BETAS, eps=EPS, foreach=False, fused=False
    )
    scheduler = get_cosine_schedule_with_warmup(optimizer, WARMUP_STEPS, TOTAL_STEPS)
    if mistake == "schedule_shift":
        # Stepping the schedule before the optimizer is the mistake; silence torch's warning.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scheduler.step()

    trace = []
    for k, indices in enumerate(steps, start=1):
        batches = [micro_batch(examples, m, mistake) for m in indices]
        step_count = sum(int(counted.sum()) for _, _, counted in batches)
        lr = optimizer.param_groups[0]["lr"]
        loss = 0.0
        for ids, attention, counted in batches:
            logits = model(input_ids=ids, attention_mask=attention).logits  # [batch, width, vocab]
            ce = F.cross_entropy(logits[:, :-1][counted], ids[:, 1:][counted], reduction="sum")
            if mistake == "micro_batch_mean":
                share = ce / int(counted.sum()) / len(batches)
            else:
                share = ce / step_count
            share.backward()
            loss += share.item()
        if mistake == "per_tensor_clip":
            norm = torch.nn.utils.get_total_norm([p.grad for _, p in params])
            for _, p in params:
                torch.nn.utils.clip_grad_norm_([p], MAX_GRAD_NORM)
        else:
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        trace.append({"step": k, "loss": loss, "lr": lr, "grad_norm": norm.item()})
    final = {name: p.detach().clone().contiguous() for name, p in params}
    return final, trace


def to_json(value):
    """Indented JSON with each list of numbers on one line."""
    text = json.dumps(value, indent=1)
    return re.sub(r"\[[\d\s,.eE+-]*\]", lambda m: json.dumps(json.loads(m.group(0))), text)


def max_abs_diff(a, b):
    return max((a[name] - b[name]).abs().max().item() for name in a)


def write_initial(model, directory):
    if directory.exists():
        shutil.rmtree(directory)
    model.save_pretrained(directory, safe_serialization=True)
    with safe_open(directory / "model.safetensors", "pt") as f:
        names = set(f.keys())
    if "lm_head.weight" not in names:
        raise SystemExit("error: the saved checkpoint lacks lm_head.weight")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT, help=f"output directory (default {OUT})")
    out = ap.parse_args().out
    if EPOCHS * EXAMPLES != TOTAL_STEPS * GRAD_ACCUM * MICRO_BATCH:
        raise SystemExit("error: the epochs do not fill the steps exactly")

    model = tiny_model()
    initial = {name: p.detach().clone() for name, p in model.named_parameters()}
    rng = np.random.default_rng(DATA_SEED)
    examples = make_examples(rng)
    steps = make_steps(rng)

    final, trace = train(model, examples, steps)
    sensitivity = {}
    for mistake, what in MISTAKES.items():
        wrong, wrong_trace = train(model, examples, steps, mistake)
        sensitivity[mistake] = {
            "what": what,
            "max_abs_param_diff": max_abs_diff(final, wrong),
            "max_abs_loss_diff": max(abs(a["loss"] - b["loss"]) for a, b in zip(trace, wrong_trace)),
        }

    out.mkdir(parents=True, exist_ok=True)
    write_initial(model, out / "initial")
    save_file(final, out / "final.safetensors", metadata={"format": "pt"})
    fixture = {
        "constants": {
            "lr": LR,
            "betas": list(BETAS),
            "eps": EPS,
            "weight_decay": WEIGHT_DECAY,
            "max_grad_norm": MAX_GRAD_NORM,
            "warmup_steps": WARMUP_STEPS,
            "total_steps": TOTAL_STEPS,
            "micro_batch": MICRO_BATCH,
            "grad_accum": GRAD_ACCUM,
            "pad_id": PAD_ID,
        },
        "recipe": {
            "loss": "micro-batches right-padded with pad_id, attention_mask 1 on real tokens; "
            "position t predicts token t+1, counted iff it is real and loss_mask[t+1] == 1; "
            "step loss = sum of the counted tokens' cross-entropies over both micro-batches / "
            "the step's number of counted tokens; each micro-batch backpropagates its share",
            "clipping": "global L2 norm of all gradients; every gradient times "
            "min(1, max_grad_norm / (norm + 1e-6)); grad_norm is the norm before clipping",
            "optimizer": "torch.optim.AdamW, foreach=False, fused=False; weight_decay on "
            "parameters with ndim >= 2, 0 on the rest (norm weights, biases)",
            "schedule": "get_cosine_schedule_with_warmup(warmup_steps, total_steps), stepped "
            "after each optimizer step; lr is the value step k used (0 at step 1)",
            "attention": "eager",
        },
        "examples": examples,
        "steps": steps,
        "trace": trace,
        "max_abs_change": max_abs_diff(final, initial),
        "sensitivity": sensitivity,
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }
    (out / "trace.json").write_text(to_json(fixture) + "\n")

    for row in trace:
        clipped = "clipped" if row["grad_norm"] > MAX_GRAD_NORM else ""
        print(f"step {row['step']:2}  loss {row['loss']:.4f}  lr {row['lr']:.5f}  "
              f"grad_norm {row['grad_norm']:.4f}  {clipped}")
    for mistake, s in sensitivity.items():
        print(f"{mistake:17} max |param diff| {s['max_abs_param_diff']:.3e}  "
              f"max |loss diff| {s['max_abs_loss_diff']:.3e}")
    print(f"max |final - initial| {fixture['max_abs_change']:.3e}; wrote {out}")


if __name__ == "__main__":
    main()
