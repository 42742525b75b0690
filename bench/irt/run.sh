#!/usr/bin/env bash
# rung irt fit vs the Python IRT packages (mirt, girth, py-irt): time, memory and recovery.
#
# Usage: bench/irt/run.sh [compare.py options]      e.g. --models 1pl --tools rung,mirt
#
# Environment:
#   QUICK=1               only the 500 x 1,000 simulated sizes and the real matrix (--quick)
#   BENCH_IRT_TIMEOUT=900 seconds per run; a run that exceeds it is killed and shown as >900
#   BENCH_IRT_MEM_MB=12288  resident memory per run; a run above it is killed ("memory")
#   DATA_ROOT=DIR         data root holding responses/mmlu_pro_tiger.csv (default: ../shared/data
#                         next to the repository, or RUNG_DATA_ROOT when that is set)
#   RUNG_BIN=PATH         use this rung binary and skip `cargo build --release`
#
# Installs the peers pinned in bench/irt/requirements.txt into their own venv
# (target/bench-irt-venv, created when missing or when the pins change; PyPI only), builds rung
# with `cargo build --release`, checks that target/release/rung has `irt simulate` and `irt fit`,
# then runs bench/irt/compare.py, which prints the tables and writes target/bench-irt/results.md
# and results.json. See bench/irt/README.md.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
venv="$root/target/bench-irt-venv"
req="$root/bench/irt/requirements.txt"

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/.bench-irt-requirements.txt"; then
    echo "== installing the peers into $venv (torch from PyPI: a few GB the first time)" >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r "$req"
    cp "$req" "$venv/.bench-irt-requirements.txt"
fi

if [ -n "${RUNG_BIN:-}" ]; then
    rung="$RUNG_BIN"
else
    echo "== cargo build --release" >&2
    if ! cargo build --release; then
        echo "error: cargo build --release failed, so there is no rung to benchmark" >&2
        exit 1
    fi
    rung="$root/target/release/rung"
fi

# Fail early and clearly when this rung predates the IRT commands.
for sub in simulate fit; do
    if ! "$rung" irt "$sub" --help >/dev/null 2>&1; then
        echo "error: $rung lacks the \`irt $sub\` command (\`$rung irt $sub --help\` failed:" \
             "$("$rung" irt "$sub" --help 2>&1 | head -n 1))." >&2
        echo "The IRT benchmark needs \`rung irt simulate\` and \`rung irt fit\`." >&2
        echo "Peers alone on the real matrix: $venv/bin/python bench/irt/compare.py" \
             "--tools mirt,girth,py-irt --sizes none" >&2
        exit 2
    fi
done

args=(--rung "$rung" --python "$venv/bin/python" --out "$root/target/bench-irt"
      --timeout "${BENCH_IRT_TIMEOUT:-900}" --mem-limit-mb "${BENCH_IRT_MEM_MB:-12288}")
[ -n "${DATA_ROOT:-}" ] && args+=(--data-root "$DATA_ROOT")
[ "${QUICK:-0}" = "1" ] && args+=(--quick)

echo "== machine: $(nproc) cores; $(uname -sm); $("$rung" --version 2>/dev/null || echo rung)" >&2
exec "$venv/bin/python" "$root/bench/irt/compare.py" "${args[@]}" "$@"
