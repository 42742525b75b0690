#!/usr/bin/env bash
# Makes sure a headless-capable Chromium is installed and prints the path of its binary.
# Used by the report crate's browser test (report/tests/browser.rs), which skips when this fails.
# On Debian, installs the `chromium` package when run as root; otherwise it only looks.
set -euo pipefail

find_chromium() {
    for name in chromium chromium-browser; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if path=$(find_chromium); then
    echo "$path"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "chromium.sh: chromium is not installed and installing it needs root" \
        "(run: sudo apt-get install chromium)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium.sh: chromium is not installed and there is no apt-get to install it" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >&2 || ! apt-get install -y -qq chromium >&2; then
    echo "chromium.sh: apt-get could not install chromium" >&2
    exit 1
fi

if path=$(find_chromium); then
    echo "$path"
else
    echo "chromium.sh: chromium was installed but its binary is not on PATH" >&2
    exit 1
fi
