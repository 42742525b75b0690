#!/usr/bin/env bash
# CPU training throughput of full fine-tuning of SmolLM2-135M-Instruct: rung (rung-sft's
# `train_throughput` example) vs PyTorch + transformers (bench/sft/peer.py), side by side.
#
# Usage: bench/sft/run.sh [--threads 2] [--seq-len 512] [--batch 2] [--steps 3] [--out DIR]
#
# Environment: QUICK=1 runs a short smoke (sequence 64, 1 timed step); RUNG_TRAIN_BIN=PATH uses
# that `train_throughput` binary and skips the cargo build.
#
# Fetches the GGUF (scripts/fetch-smollm2.sh), sets up the reference venv
# (models/reference/setup.sh), builds `cargo build --release -p rung-sft --example
# train_throughput`, then runs, one process at a time: rung without recomputation (the same work
# as PyTorch, which keeps every activation), rung with layer-by-layer recomputation (what the
# `sft` node does by default), and PyTorch. bench/sft/compare.py prints the table and writes
# target/bench-sft/results.md and results.json. Exit status 1 when a run failed.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
die() { echo "error: $*" >&2; exit 1; }

threads=2 seq_len=512 batch=2 steps=3 warmup=1
if [ "${QUICK:-0}" = "1" ]; then seq_len=64 steps=1; fi
out="$root/target/bench-sft"
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || die "$1 expects a value"
    case "$1" in
        --threads) threads="$2" ;;
        --seq-len) seq_len="$2" ;;
        --batch) batch="$2" ;;
        --steps) steps="$2" ;;
        --out) out="$2" ;;
        *) die "unknown option $1 (see the head of $0)" ;;
    esac
    shift 2
done
for v in threads seq_len batch steps; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v expects a positive integer, found '${!v}'"
done

echo "== the model: scripts/fetch-smollm2.sh" >&2
gguf="$(bash scripts/fetch-smollm2.sh)" || die "scripts/fetch-smollm2.sh failed"
echo "== the reference venv: models/reference/setup.sh" >&2
python="$(bash models/reference/setup.sh)" || die "models/reference/setup.sh failed"
"$python" -c "import torch, transformers, gguf" || die "$python lacks torch, transformers or gguf"

if [ -n "${RUNG_TRAIN_BIN:-}" ]; then
    bin="$RUNG_TRAIN_BIN"
    [ -x "$bin" ] || die "RUNG_TRAIN_BIN=$bin is not an executable file"
else
    echo "== cargo build --release -p rung-sft --example train_throughput" >&2
    cargo build --release -p rung-sft --example train_throughput || die "the build failed"
    bin="$root/target/release/examples/train_throughput"
fi

mkdir -p "$out"
rm -rf "$out/runs"
mkdir -p "$out/runs"
failed=0
common=(--threads "$threads" --seq-len "$seq_len" --batch "$batch" --steps "$steps" --warmup-steps "$warmup")
measure() {
    local name="$1"
    shift
    echo "== $name: $*" >&2
    if ! "$@" >"$out/runs/$name.jsonl" 2>"$out/runs/$name.err"; then
        echo "   failed; the end of $out/runs/$name.err:" >&2
        tail -n 5 "$out/runs/$name.err" | sed 's/^/   /' >&2
        failed=1
    else
        sed 's/^/   /' "$out/runs/$name.jsonl" >&2
    fi
}
measure rung "$bin" "$gguf" "${common[@]}" --recompute off
measure rung-recompute "$bin" "$gguf" "${common[@]}" --recompute on
measure pytorch env PYTHONDONTWRITEBYTECODE=1 CUDA_VISIBLE_DEVICES= \
    "$python" bench/sft/peer.py "$gguf" "${common[@]}"

"$python" bench/sft/compare.py --runs "$out/runs" --out "$out"
exit "$failed"
