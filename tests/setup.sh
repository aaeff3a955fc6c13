#!/bin/bash
# Installs what guestinit's demo and test suite need on a fresh Debian 12 machine
# (root). Idempotent: packages already present and an up-to-date venv are reused.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the anchors we compare with (tini, dumb-init), unshare and
# ps from util-linux/procps, and the venv module for Debian's Python.
PACKAGES=(tini dumb-init util-linux procps psmisc python3 python3-venv gcc hyperfine)
missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The venv: the project (editable) with its test tools. Rebuilt when
# pyproject.toml changes. GUESTINIT_PYTHON picks the interpreter.
PYTHON="${GUESTINIT_PYTHON:-$(command -v python3)}"
PYTHON="$("$PYTHON" -c 'import sys; print(sys.executable)')"
stamp=".venv/.pyproject-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -e "$stamp" ]; then
    echo "setup: creating .venv with $PYTHON"
    rm -rf .venv
    "$PYTHON" -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/pip install -q --disable-pip-version-check -e ".[test]"
    touch "$stamp"
fi
