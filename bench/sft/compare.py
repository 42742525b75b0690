#!/usr/bin/env python3
"""The table of bench/sft: training tokens per second of rung and PyTorch, and their ratio.

    compare.py --runs DIR --out DIR

Reads DIR/rung.jsonl, DIR/rung-recompute.jsonl and DIR/pytorch.jsonl (one JSON line each, as
sft/examples/train_throughput.rs and bench/sft/peer.py print them), prints a markdown table and
writes it to OUT/results.md, with the raw lines in OUT/results.json.
"""

import argparse
import json
import os
import sys


def read(path):
    try:
        with open(path) as f:
            lines = [line for line in f if line.strip()]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    runs = {name: read(os.path.join(args.runs, name + ".jsonl"))
            for name in ("rung", "rung-recompute", "pytorch")}
    peer = runs["pytorch"]
    rows = []
    for name, label in (("rung", "rung, activations kept"),
                        ("rung-recompute", "rung, layer-by-layer recomputation"),
                        ("pytorch", "PyTorch + transformers")):
        run = runs[name]
        if run is None:
            rows.append(f"| {label} | failed | | |")
            continue
        ratio = ""
        if peer is not None and peer["tokens_per_s"] > 0:
            ratio = f"{run['tokens_per_s'] / peer['tokens_per_s']:.2f}x"
        rows.append(f"| {label} | {run['tokens_per_s']:.1f} | {run['peak_rss_mb']:.0f} | {ratio} |")
    first = next((r for r in runs.values() if r is not None), None)
    shape = ""
    if first is not None:
        shape = (f"SmolLM2-135M-Instruct, full fine-tuning in f32, sequence {first['seq_len']}, "
                 f"batch {first['batch']}, {first['threads']} threads, AdamW + global-norm clipping\n\n")
    table = (shape + "| run | tokens/s | peak RSS (MB) | vs PyTorch |\n|---|---|---|---|\n"
             + "\n".join(rows) + "\n")
    print(table)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(table)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(runs, f, indent=2)
    return 0 if all(r is not None for r in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
