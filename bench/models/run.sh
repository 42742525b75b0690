#!/usr/bin/env bash
# CPU inference throughput of SmolLM2-135M-Instruct: rung (rung-models' `throughput` example) vs
# PyTorch + transformers (bench/models/peer.py), prefill and greedy decode, side by side.
#
# Usage: bench/models/run.sh [--threads 2[,1..]] [--prompt-tokens 512] [--new-tokens 32]
#                            [--batch 1,8] [--dtype f32[,bf16]] [--repeats 2] [--out DIR]
#
# Environment (a flag wins over its variable):
#   QUICK=1                        a short smoke run: 32-token prompt, 4 new tokens, batches 1,2,
#                                  one repeat
#   BENCH_MODELS_THREADS=2         threads of both tools; a list (1,2) runs each
#   BENCH_MODELS_PROMPT=512        prompt tokens
#   BENCH_MODELS_NEW=32            new tokens (greedy decode steps)
#   BENCH_MODELS_BATCH=1,8         batch sizes
#   BENCH_MODELS_DTYPE=f32         f32 or bf16; a list (f32,bf16) runs each
#   BENCH_MODELS_REPEATS=2         timed runs per batch size; the best is reported
#   BENCH_MODELS_WAIT_IDLE=0       seconds to wait, before each run, for other processes to leave
#                                  the cores idle (a shared machine); then it runs anyway
#   RUNG_THROUGHPUT_BIN=PATH       use this `throughput` binary and skip the cargo build
#
# Fetches the GGUF (scripts/fetch-smollm2.sh), sets up the reference venv
# (models/reference/setup.sh), builds `cargo build --release -p rung-models --example throughput`,
# then for each (dtype, threads) runs rung and then PyTorch, one process each, one at a time, and
# calls bench/models/compare.py, which prints the table and writes target/bench-models/results.md
# and results.json. Exit status 1 when a run failed (the table shows which). See README.md.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

die() { echo "error: $*" >&2; exit 1; }

if [ "${QUICK:-0}" = "1" ]; then
    threads="${BENCH_MODELS_THREADS:-2}" prompt="${BENCH_MODELS_PROMPT:-32}"
    new="${BENCH_MODELS_NEW:-4}" batch="${BENCH_MODELS_BATCH:-1,2}"
    dtypes="${BENCH_MODELS_DTYPE:-f32}" repeats="${BENCH_MODELS_REPEATS:-1}"
else
    threads="${BENCH_MODELS_THREADS:-2}" prompt="${BENCH_MODELS_PROMPT:-512}"
    new="${BENCH_MODELS_NEW:-32}" batch="${BENCH_MODELS_BATCH:-1,8}"
    dtypes="${BENCH_MODELS_DTYPE:-f32}" repeats="${BENCH_MODELS_REPEATS:-2}"
fi
out="$root/target/bench-models"

while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || die "$1 expects a value"
    case "$1" in
        --threads) threads="$2" ;;
        --prompt-tokens) prompt="$2" ;;
        --new-tokens) new="$2" ;;
        --batch) batch="$2" ;;
        --dtype) dtypes="$2" ;;
        --repeats) repeats="$2" ;;
        --out) out="$2" ;;
        *) die "unknown option $1 (see the head of $0)" ;;
    esac
    shift 2
done

# Check the values here, once, rather than letting each tool fail on them in turn.
positive_list() { [[ "$2" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "$1 expects positive integers separated by commas, found '$2'"; }
positive_list threads "$threads"
positive_list batch "$batch"
for v in prompt new repeats; do
    [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v expects a positive integer, found '${!v}'"
done
[[ "${BENCH_MODELS_WAIT_IDLE:-0}" =~ ^[0-9]+$ ]] \
    || die "BENCH_MODELS_WAIT_IDLE expects seconds, found '${BENCH_MODELS_WAIT_IDLE}'"
[[ "$dtypes" =~ ^(f32|bf16)(,(f32|bf16))*$ ]] || die "dtype expects f32 or bf16 (or f32,bf16), found '$dtypes'"

echo "== the model: scripts/fetch-smollm2.sh" >&2
gguf="$(bash scripts/fetch-smollm2.sh)" || die "scripts/fetch-smollm2.sh failed, so there is no model"
[ -f "$gguf" ] || die "scripts/fetch-smollm2.sh printed '$gguf', which is not a file"

echo "== the reference venv: models/reference/setup.sh" >&2
python="$(bash models/reference/setup.sh)" || die "models/reference/setup.sh failed"
[ -x "$python" ] || die "models/reference/setup.sh printed '$python', which is not executable"
"$python" -c "import torch, transformers, accelerate, gguf" \
    || die "$python lacks torch, transformers, accelerate or gguf (rerun models/reference/setup.sh)"

if [ -n "${RUNG_THROUGHPUT_BIN:-}" ]; then
    bin="$RUNG_THROUGHPUT_BIN"
    [ -x "$bin" ] || die "RUNG_THROUGHPUT_BIN=$bin is not an executable file"
else
    echo "== cargo build --release -p rung-models --example throughput" >&2
    cargo build --release -p rung-models --example throughput \
        || die "the build failed, so there is no rung to benchmark"
    bin="$root/target/release/examples/throughput"
fi

# Run one binary throughout, even if the example is rebuilt meanwhile; start from empty runs.
mkdir -p "$out"
rm -rf "$out/runs"
mkdir -p "$out/runs"
cp "$bin" "$out/throughput"
rung_source="$bin"
bin="$out/throughput"

# Cores kept busy by other processes over one second (from /proc/stat), as "1.23"; between our
# runs nothing of ours runs, so this is what the next run competes with.
busy_cores() {
    local a b
    read -r -a a < <(grep '^cpu ' /proc/stat)
    sleep 1
    read -r -a b < <(grep '^cpu ' /proc/stat)
    awk -v n="$(nproc)" -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
        split(a, x, " "); split(b, y, " "); total = 0
        for (i = 2; i <= 9; i++) total += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6])
        printf "%.2f", (total > 0 ? n * (total - idle) / total : 0) }'
}

# Waits up to BENCH_MODELS_WAIT_IDLE seconds for other processes to leave the cores idle (at
# most 0.2 cores busy); prints the cores they kept busy at the last check.
wait_idle() {
    local busy deadline=$((SECONDS + ${BENCH_MODELS_WAIT_IDLE:-0})) said=0
    while :; do
        busy="$(busy_cores)"
        if awk -v b="$busy" 'BEGIN { exit !(b <= 0.2) }' || [ "$SECONDS" -ge "$deadline" ]; then
            break
        fi
        [ "$said" = 1 ] || echo "   waiting for an idle machine (other processes keep $busy cores busy)" >&2
        said=1
        sleep 4
    done
    echo "$busy"
}

# One run: stdout (the JSON lines) to NAME.jsonl, stderr to NAME.err, the exit status to NAME.rc,
# the whole process's wall, user and system seconds (bash's `time`) to NAME.time, the cores
# other processes kept busy just before it to NAME.busy, and the machine's CPU counters (the
# `cpu` line of /proc/stat) before and after it to NAME.stat, from which compare.py tells how
# much CPU other processes took while it ran.
measure() {
    local name="$1"
    shift
    local rc=0 TIMEFORMAT='%R %U %S' busy
    echo "== $name: $*" >&2
    busy="$(wait_idle)"
    echo "$busy" >"$out/runs/$name.busy"
    if awk -v b="$busy" 'BEGIN { exit !(b > 0.2) }'; then
        echo "   warning: other processes keep $busy of $(nproc) cores busy; the timings (PyTorch's" \
             "most: its OpenMP threads wait for each other) will be off. Run on an idle machine" \
             "(BENCH_MODELS_WAIT_IDLE=600 waits up to 600 s for one)." >&2
    fi
    grep '^cpu ' /proc/stat >"$out/runs/$name.stat"
    { time "$@" >"$out/runs/$name.jsonl" 2>"$out/runs/$name.err" || rc=$?; } 2>"$out/runs/$name.time"
    grep '^cpu ' /proc/stat >>"$out/runs/$name.stat"
    echo "$rc" >"$out/runs/$name.rc"
    if [ "$rc" -ne 0 ]; then
        echo "   failed with exit status $rc; the end of $out/runs/$name.err:" >&2
        tail -n 5 "$out/runs/$name.err" | sed 's/^/   /' >&2
        failed=1
    else
        sed 's/^/   /' "$out/runs/$name.jsonl" >&2
    fi
}

failed=0
started=$SECONDS
echo "== machine: $(nproc) cores; $(uname -sm); load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
IFS=, read -r -a dtype_list <<<"$dtypes"
IFS=, read -r -a thread_list <<<"$threads"
for dtype in "${dtype_list[@]}"; do
    for t in "${thread_list[@]}"; do
        common=(--threads "$t" --prompt-tokens "$prompt" --new-tokens "$new" --batch "$batch"
                --dtype "$dtype" --repeats "$repeats")
        measure "rung-$dtype-t$t" "$bin" "$gguf" "${common[@]}"
        measure "pytorch-$dtype-t$t" env PYTHONDONTWRITEBYTECODE=1 CUDA_VISIBLE_DEVICES= \
            "$python" bench/models/peer.py "$gguf" "${common[@]}"
    done
done

status=0
"$python" bench/models/compare.py --runs "$out/runs" --out "$out" --gguf "$gguf" \
    --rung "$rung_source" --prompt-tokens "$prompt" --new-tokens "$new" --repeats "$repeats" \
    --wall-s "$((SECONDS - started))" || status=$?
if [ "$failed" -ne 0 ]; then
    echo "error: at least one run failed (see the table and $out/runs/*.err)" >&2
    exit 1
fi
exit "$status"
