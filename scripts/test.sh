#!/usr/bin/env bash
# Lint, type check, then every test (slow ones included; `-m "not slow"` skips them locally).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -m ruff check .
"$PY" -m mypy
"$PY" -m pytest "$@"
