#!/usr/bin/env bash
# Fuzzes `rung check` and `rung fmt` (the cargo-fuzz target `check` in fuzz/) on the stable toolchain.
#
# Usage: scripts/fuzz.sh [extra libFuzzer flags...]
# Environment:
#   FUZZ_TIME=600          seconds to fuzz (-max_total_time)
#   FUZZ_SANITIZER=address sanitizer for cargo fuzz (address | none | ...)
# Crashes land in fuzz/artifacts/check/; reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run check fuzz/artifacts/check/crash-...
# Only a stable toolchain exists here: RUSTC_BOOTSTRAP=1 lets it take cargo-fuzz's -Z flags.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
FUZZ_TIME="${FUZZ_TIME:-600}"
FUZZ_SANITIZER="${FUZZ_SANITIZER:-address}"
export RUSTC_BOOTSTRAP=1

command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked

# Seed corpus: every spec of experiments/ on its own (its imports resolve onto itself: a cycle),
# and multi-file inputs (NUL-separated; an import of "1.rung" is the second file) for real imports.
corpus=fuzz/corpus/check
mkdir -p "$corpus" fuzz/artifacts/check
find experiments -name '*.rung' | while read -r spec; do
    cp "$spec" "$corpus/seed-$(echo "${spec#experiments/}" | tr '/' '-')"
done
{ sed 's#import "recipes/toy.rung"#import "1.rung" as toy#' experiments/quickstart.rung
  printf '\0'; cat experiments/recipes/toy.rung; } > "$corpus/seed-multi-quickstart.rung"
for spec in experiments/paper/*.rung; do
    { sed 's#import "../recipes/paper.rung"#import "1.rung" as paper#' "$spec"
      printf '\0'; cat experiments/recipes/paper.rung; } > "$corpus/seed-multi-$(basename "$spec")"
done

exec cargo fuzz run --sanitizer "$FUZZ_SANITIZER" check "$corpus" -- \
    -max_total_time="$FUZZ_TIME" -dict=fuzz/rung.dict -max_len=65536 -timeout=20 -rss_limit_mb=4096 \
    -print_final_stats=1 "$@"
