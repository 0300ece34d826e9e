#!/usr/bin/env bash
# Sets up .venv/ with everything chatlike needs. Idempotent: a second run only checks.
# CPU torch first: a bare torch requirement (axolotl's) would otherwise pull a CUDA build of
# several GB. On a GPU box, launch/run_on_gpu_box.sh installs the CUDA build instead.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/python -c "import torch" 2>/dev/null ||
  .venv/bin/pip install -q "torch==${TORCH_VERSION:-2.13.0}" 2>&1 | { grep -v "^WARNING: Location" || true; }
.venv/bin/pip install -q -e ".[all]" 2>&1 | { grep -v "^WARNING: Location" || true; }
.venv/bin/pip check
