#!/usr/bin/env bash
# On a GPU box you already have (rented ones: RUN/sky.yaml with SkyPilot, see README), from a
# chatlike checkout: train a run dir written by `chatlike` (configure).
#   bash launch/run_on_gpu_box.sh outputs/lorenzo/2025-01-01_12-00-00
# With Docker (and NVIDIA's container toolkit) it runs the run's launch.sh in the official Axolotl
# image RUN/sky.yaml names, as SkyPilot would: nothing to install or compile. Without Docker (or with
# USE_DOCKER=0) it installs chatlike with the train,gpu extras (CUDA torch, Axolotl, DeepSpeed,
# flash-attn) into .venv first. AXOLOTL_IMAGE=... picks another image.
# Llama 3.1 is gated: export HF_TOKEN (or run `huggingface-cli login`) first.
set -euo pipefail
RUN_DIR=${1:?usage: launch/run_on_gpu_box.sh RUN_DIR}
[ -f "$RUN_DIR/launch.sh" ] || { echo "no $RUN_DIR/launch.sh: run chatlike's configure stage first" >&2; exit 1; }
RUN_DIR=$(cd "$RUN_DIR" && pwd)
cd "$(dirname "${BASH_SOURCE[0]}")/.."

IMAGE=${AXOLOTL_IMAGE:-$(sed -n 's/^ *image_id: *docker:\(.*\)$/\1/p' "$RUN_DIR/sky.yaml" 2>/dev/null || true)}
if [ "${USE_DOCKER:-1}" != 0 ] && [ -n "$IMAGE" ] && command -v docker >/dev/null; then
  nvidia-smi --query-gpu=name,memory.total --format=csv
  HF_CACHE=${HF_HOME:-$HOME/.cache/huggingface}  # the base model is downloaded once, kept here
  mkdir -p "$HF_CACHE"
  # -e NAME passes this shell's value, if set: no secret on a command line. Host network and IPC:
  # NCCL between GPUs and nodes. The run dir's new files are handed back to this user at the end.
  exec docker run --rm --gpus all --ipc host --network host \
    -e HF_TOKEN -e WANDB_API_KEY -e MACHINE_RANK -e MAIN_PROCESS_IP -e MAIN_PROCESS_PORT \
    -v "$HF_CACHE:/root/.cache/huggingface" -v "$RUN_DIR:/run_dir" -w /run_dir "$IMAGE" \
    bash -c "bash launch.sh; rc=\$?; chown -R $(id -u):$(id -g) /run_dir; exit \$rc"
fi

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
