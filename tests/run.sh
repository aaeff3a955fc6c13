#!/bin/bash
# The whole test suite, as CI runs it: installs what is needed, then lint,
# types, unit and integration tests. Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/setup.sh
echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"; .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
