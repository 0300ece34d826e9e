#!/usr/bin/env bash
# On a rented GPU box, from a chatlike checkout: install chatlike with the train,gpu extras (CUDA torch,
# Axolotl, DeepSpeed, flash-attn) into .venv, then train a run dir written by `chatlike` (configure).
#   bash launch/run_on_gpu_box.sh outputs/lorenzo/2025-01-01_12-00-00
# Llama 3.1 is gated: run `huggingface-cli login` (or export HF_TOKEN) first.
set -euo pipefail
RUN_DIR=${1:?usage: launch/run_on_gpu_box.sh RUN_DIR}
[ -f "$RUN_DIR/launch.sh" ] || { echo "no $RUN_DIR/launch.sh: run chatlike's configure stage first" >&2; exit 1; }
RUN_DIR=$(cd "$RUN_DIR" && pwd)
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ ! -x .venv/bin/axolotl ]; then
  python3 -m venv .venv
  .venv/bin/pip install --upgrade pip
  # CUDA torch first (the default wheel on Linux), then everything built against it: flash-attn
  # compiles or fetches a wheel for the torch it sees, so no build isolation.
  .venv/bin/pip install "torch>=2.6,<2.14" hatchling packaging ninja wheel setuptools
  .venv/bin/pip install --no-build-isolation -e ".[train,gpu]"
fi
. .venv/bin/activate

# accelerate's default config, by the number of GPUs here (launch.sh's flags override it)
ACC="$HOME/.cache/huggingface/accelerate/default_config.yaml"
if [ ! -f "$ACC" ]; then
  mkdir -p "$(dirname "$ACC")"
  if [ "$(nvidia-smi -L | wc -l)" -gt 1 ]; then cp launch/accelerate/multi_gpu.yaml "$ACC"
  else cp launch/accelerate/single_gpu.yaml "$ACC"; fi
fi

nvidia-smi --query-gpu=name,memory.total --format=csv
exec bash "$RUN_DIR/launch.sh"
