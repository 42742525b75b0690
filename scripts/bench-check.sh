#!/usr/bin/env bash
# Benchmarks `rung check` at scale: a 10,000-line spec and a 100,000-node grid, dev and release builds, vs `snakemake -n`.
#
# Usage: scripts/bench-check.sh
# Environment:
#   RUNS=5             runs of each `rung check` (the median is printed)
#   PROFILES="release dev"
#                      which builds of rung to time
#   SNAKEMAKE_RUNS=1   runs of `snakemake -n` on the equivalent Snakefile (0 = skip; needs
#                      `pip install snakemake`, skipped with a note when it is missing)
#   LINES=10000 MODELS=10 BINS=100
#                      sizes: the grid has MODELS x BINS x BINS evaluations
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
RUNS="${RUNS:-5}"
PROFILES="${PROFILES:-release dev}"
SNAKEMAKE_RUNS="${SNAKEMAKE_RUNS:-1}"
work="$root/target/bench-check"
mkdir -p "$work"

bins=()
for profile in $PROFILES; do
    case "$profile" in
        release) cargo build --release --bin rung; bins+=("release=$root/target/release/rung") ;;
        dev) cargo build --bin rung; bins+=("dev=$root/target/debug/rung") ;;
        *) echo "unknown profile $profile" >&2; exit 2 ;;
    esac
done

python3 scripts/gen-big-spec.py lines "$work/lines.rung" --lines "${LINES:-10000}"
python3 scripts/gen-big-spec.py grid "$work/grid.rung" --models "${MODELS:-10}" --bins "${BINS:-100}"
python3 scripts/gen-big-spec.py snakefile "$work/snake" --models "${MODELS:-10}" --bins "${BINS:-100}"

args=()
for b in "${bins[@]}"; do args+=(--bin "$b"); done
echo "machine: $(nproc) cores; $(uname -sm)"
python3 scripts/bench-check.py --work "$work" --runs "$RUNS" --snakemake-runs "$SNAKEMAKE_RUNS" "${args[@]}"
