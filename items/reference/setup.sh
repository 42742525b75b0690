#!/usr/bin/env bash
# Installs the lm-evaluation-harness side of rung-items' cross-check (lm-eval, transformers, torch,
# gguf; see requirements.txt) into target/eval-venv, once per change of the pins, and prints the
# venv's python.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
exec bash "$root/scripts/python-venv.sh" "$root/items/reference/requirements.txt" "$root/target/eval-venv"
