#!/usr/bin/env bash
# Usage: scripts/python-venv.sh REQUIREMENTS VENV
# Installs the pinned REQUIREMENTS into the virtual environment VENV (created if needed), once
# per change of the pins, and prints the venv's python. The reference scripts' setup.sh files
# (models/reference, items/reference) call it with their own pins and venv.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 REQUIREMENTS VENV" >&2; exit 2; }
req="$1" venv="$2"
[ -f "$req" ] || { echo "error: $req is not a file" >&2; exit 2; }
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/.requirements.txt"; then
    echo "installing the reference packages into $venv (torch from PyPI: a few GB the first time)" >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
    "$venv/bin/python" -m pip install --quiet -r "$req" >&2
    cp "$req" "$venv/.requirements.txt"
fi
echo "$venv/bin/python"
