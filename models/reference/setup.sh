#!/usr/bin/env bash
# Installs the reference side of rung-models (transformers, torch, gguf; see requirements.txt)
# into target/models-venv, once per change of the pins, and prints the venv's python.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
exec bash "$root/scripts/python-venv.sh" "$root/models/reference/requirements.txt" "$root/target/models-venv"
