#!/usr/bin/env bash
# Installs the lm-evaluation-harness side of rung-items' cross-check (lm-eval, transformers, torch,
# gguf; see requirements.txt) into target/eval-venv, once per change of the pins, and prints the
# venv's python.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/target/eval-venv"
req="$root/items/reference/requirements.txt"
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/.requirements.txt"; then
    echo "installing the reference packages into $venv (torch from PyPI: a few GB the first time)" >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
    "$venv/bin/python" -m pip install --quiet -r "$req" >&2
    cp "$req" "$venv/.requirements.txt"
fi
echo "$venv/bin/python"
