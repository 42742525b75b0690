#!/usr/bin/env bash
# CI entry point: builds the cargo-fuzz target `check` (fuzz/) without running it, on the stable toolchain.
#
# Usage: scripts/fuzz-build.sh   (FUZZ_SANITIZER=address|none, default address)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# Only a stable toolchain is assumed: RUSTC_BOOTSTRAP=1 lets it take cargo-fuzz's -Z flags.
export RUSTC_BOOTSTRAP=1

command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
cargo fuzz build --sanitizer "${FUZZ_SANITIZER:-address}" check
