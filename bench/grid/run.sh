#!/usr/bin/env bash
# rung vs Snakemake 9 on the study's grid: fresh plan, full run, no-op rerun, edit rerun.
#
# Usage: bench/grid/run.sh [--sizes small,medium,large] [--timeout SECONDS]
#                          [--skip-snakemake-run-above N] [--out DIR] [other compare.py options]
#
# Installs Snakemake 9 into its own venv (target/bench-venv, created when missing), builds
# `rung-bench` in release mode, then runs bench/grid/compare.py, which prints the table and writes
# DIR/results.md and DIR/results.json (DIR defaults to target/bench-grid). See bench/grid/README.md.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
venv="$root/target/bench-venv"

if [ ! -x "$venv/bin/snakemake" ]; then
    echo "== installing snakemake 9 into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet 'snakemake>=9,<10'
fi

echo "== cargo build --release -p rung-bench" >&2
cargo build --release -p rung-bench

echo "== machine: $(nproc) cores; $(uname -sm); $("$venv/bin/snakemake" --version | sed 's/^/snakemake /')" >&2
exec python3 "$root/bench/grid/compare.py" \
    --rung "$root/target/release/rung-bench" \
    --snakemake "$venv/bin/snakemake" \
    "$@"
