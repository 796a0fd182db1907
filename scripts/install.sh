#!/usr/bin/env bash
# Install the project and everything it needs on a fresh machine (no model hub, no GPU needed).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# torch first, pinned: the CPU build 2.13.0 lies on this kind of machine's disk, while an open range
# would pull a multi-GB CUDA build. Keep a torch that is already installed (e.g. a CUDA one on a GPU box).
"$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install --quiet "torch==2.13.0"
"$PY" -m pip install --quiet -e ".[dev]"
