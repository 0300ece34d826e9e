"""RUN/sky.yaml: a SkyPilot task that trains this run dir on rented GPUs, on any cloud SkyPilot knows.

What the task says, and why:
- resources: the GPU types whose memory holds the plan's estimate with 10% to spare (SkyPilot rents
  the cheapest one it finds), `hardware.num_gpus` of them per node, `hardware.num_nodes` nodes,
  spot or not, a disk for the image, the base model, checkpoints and data; the official Axolotl
  Docker image of the Axolotl that checked axolotl.yaml, so nothing is installed or compiled there.
- workdir: RUN/upload, an allow-list: links to exactly the files training on the box reads (the
  configs, launch.sh, and what axolotl.yaml names: data/train.jsonl, data/val.jsonl, a local base
  model). SkyPilot syncs it to ~/sky_workdir and runs there; nothing else of the run dir (the test
  split, the report, eval, the bot's live conversations, whatever a later stage or the user puts
  there) ever leaves the machine.
- run: the run dir's launch.sh, with accelerate's rank, main node and process counts taken from
  SkyPilot's variables on several nodes; with `hardware.bucket`, train/ lives in the bucket, so
  checkpoints survive a preemption (`sky jobs launch` resumes from them) and the cluster's end.
- secrets: HF_TOKEN (and WANDB_API_KEY with train.wandb_project) by name only: `--secret HF_TOKEN`
  passes the local value at launch; no file holds it.
"""

from __future__ import annotations

import math
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatlike.config import Config
from chatlike.files import atomic_folder, write_text
from chatlike.model.plan import Plan
from chatlike.rundir import IN_RUN, RunDir


@dataclass(frozen=True)
class Gpu:
    memory_gb: float
    tflops: float  # dense bf16 peak


# The default candidates, cheapest per hour first (on-demand list prices of the big clouds, 2026).
GPUS = {
    "L4": Gpu(24, 121),
    "A10G": Gpu(24, 70),
    "L40S": Gpu(48, 362),
    "A100-80GB": Gpu(80, 312),
    "H100": Gpu(80, 989),
}
HEADROOM = 0.9  # a GPU fits when the estimate is at most this share of its memory: it is an estimate
# the Axolotl whose image trains when axolotl is not installed here (configure then cannot ask it)
AXOLOTL_VERSION = "0.19.0"
IMAGE = "axolotlai/axolotl:{version}"  # Axolotl's CI pushes this tag for every release
SYSTEM_GB = 60  # the OS, CUDA and the Axolotl image unpacked
SAVE_TOTAL_LIMIT = 2  # axolotl.yaml's: checkpoints kept at once
MIN_DISK_GB = 100
MOUNT = "/chatlike"  # where hardware.bucket is mounted on the box
SAVE_MINUTES = 10  # on spot VMs, a checkpoint at least this often: what a preemption can cost
IDLE_MINUTES = 30  # `sky launch -i`: the cluster goes this long after the job ends


def name(cfg: Config, run_dir: Path) -> str:
    """The cluster and job name: the experiment and the run dir's folder, as SkyPilot takes names
    (lower case, a letter first, letters, digits and dashes; short, since clouds cap them)."""
    raw = f"{cfg.name}-{Path(run_dir).name}".lower()
    cleaned = re.sub(r"[^a-z0-9-]+", "-", raw).strip("-")
    if not cleaned[:1].isalpha():
        cleaned = "run-" + cleaned
    return cleaned[:40].rstrip("-")


def accelerators(cfg: Config, plan: Plan) -> tuple[dict[str, int], bool]:
    """{GPU type: GPUs per node} to rent, and whether the estimate fits them. `hardware.accelerators`
    wins; else every candidate whose memory holds the estimate, or, when none does, the largest."""
    hw = cfg.hardware
    if hw.accelerators:
        names = list(dict.fromkeys(hw.accelerators))
        fits = all(n not in GPUS or plan.memory_total_gb <= GPUS[n].memory_gb * HEADROOM for n in names)
        return {n: hw.num_gpus for n in names}, fits
    names = [n for n, g in GPUS.items() if plan.memory_total_gb <= g.memory_gb * HEADROOM]
    if names:
        return {n: hw.num_gpus for n in names}, True
    largest = max(g.memory_gb for g in GPUS.values())
    return {n: hw.num_gpus for n, g in GPUS.items() if g.memory_gb == largest}, False


def save_steps(cfg: Config, plan: Plan, gpus: dict[str, int]) -> int:
    """On spot VMs: a checkpoint every SAVE_MINUTES of training on the slowest GPU rented, so a
    preempted run loses at most that much (auto_resume_from_checkpoints takes it from there); also
    with each evaluation. The plan's hours assume hardware.gpu_tflops."""
    hw = cfg.hardware
    slowest = min((GPUS[n].tflops if n in GPUS else hw.gpu_tflops) for n in gpus)
    hours_there = plan.hours * hw.gpu_tflops / slowest
    per_save = math.floor(plan.steps * SAVE_MINUTES / (hours_there * 60)) if hours_there else plan.steps
    return max(1, min(plan.eval_steps, per_save))


def disk_gb(plan: Plan, data_bytes: int) -> int:
    """The disk per node: system and image, the base model as the hub has it (bf16), the checkpoints
    Axolotl keeps plus the final weights (16 bytes a trained parameter: weights and Adam's two
    moments, fp32), and the data with its tokenized copy; 20% spare, in steps of 50 GB."""
    model = plan.params * 2
    checkpoints = (SAVE_TOTAL_LIMIT + 1) * plan.trainable * 16
    need = SYSTEM_GB + (model + checkpoints + data_bytes * 10) / 1e9
    return max(MIN_DISK_GB, 50 * math.ceil(need * 1.2 / 50))


def image(cfg: Config, axolotl_version: str | None) -> str:
    """`hardware.image`, else the official image of the Axolotl that checked axolotl.yaml here (a
    release; a development install gets the pinned release's)."""
    if cfg.hardware.image:
        return cfg.hardware.image
    release = axolotl_version if axolotl_version and re.fullmatch(r"\d+\.\d+\.\d+", axolotl_version) else None
    return IMAGE.format(version=release or AXOLOTL_VERSION)


def secrets(cfg: Config) -> list[str]:
    """The secrets the box needs, by name: `--secret NAME` passes each one's local value."""
    return ["HF_TOKEN"] + (["WANDB_API_KEY"] if cfg.train.wandb_project else [])


def run_script(cfg: Config, task_name: str) -> str:
    """The task's `run`: launch.sh in the synced run dir, after mapping SkyPilot's cluster onto
    accelerate's flags (several nodes) and pointing train/ into the bucket (hardware.bucket)."""
    hw = cfg.hardware
    lines = [
        "set -euo pipefail",
        "# the image's entrypoint, which SkyPilot replaces: CUDA 13 libraries on the library path",
        "if [ -f /workspace/axolotl/scripts/cuda13_env.sh ]; then . /workspace/axolotl/scripts/cuda13_env.sh; fi",
    ]
    if hw.bucket:
        where = f"{MOUNT}/{task_name}/{IN_RUN.train.as_posix()}"
        lines += [
            "# checkpoints and the adapter go to the bucket: they outlive a preemption and the cluster",
            f"mkdir -p {where}",
            f"ln -sfn {where} {IN_RUN.train.as_posix()}",
        ]
    if hw.num_nodes > 1:
        lines += [
            "export MACHINE_RANK=$SKYPILOT_NODE_RANK",
            'export MAIN_PROCESS_IP=$(echo "$SKYPILOT_NODE_IPS" | head -n1)',
            "export NUM_MACHINES=$SKYPILOT_NUM_NODES",
            "export NUM_PROCESSES=$((SKYPILOT_NUM_NODES * SKYPILOT_NUM_GPUS_PER_NODE))",
        ]
    lines.append(f"bash {IN_RUN.launch_sh.as_posix()}")
    return "\n".join(lines) + "\n"


def task(
    cfg: Config, run_dir: Path, plan: Plan, data_bytes: int, axolotl_version: str | None
) -> dict[str, Any]:
    """The SkyPilot task (sky.yaml's content) that trains `run_dir`, an absolute path."""
    hw = cfg.hardware
    task_name = name(cfg, run_dir)
    gpus, _ = accelerators(cfg, plan)
    resources: dict[str, Any] = {
        "accelerators": gpus,
        "use_spot": hw.spot,
        "disk_size": disk_gb(plan, data_bytes),
        "image_id": f"docker:{image(cfg, axolotl_version)}",
    }
    doc: dict[str, Any] = {
        "name": task_name,
        "num_nodes": hw.num_nodes,
        "resources": resources,
        "workdir": str(RunDir(run_dir).upload),
        "secrets": {s: None for s in secrets(cfg)},  # null: the value comes with --secret at launch
    }
    if hw.bucket:
        store = {"source": hw.bucket} if "://" in hw.bucket else {"name": hw.bucket}
        # cached: writes land on local disk first and are uploaded behind, so saving stays fast
        doc["file_mounts"] = {MOUNT: {**store, "mode": "MOUNT_CACHED"}}
    doc["run"] = run_script(cfg, task_name)
    return doc


def upload_files(doc: dict[str, Any], run_dir: Path) -> list[str]:
    """What training on the box reads, relative to the run dir: the configs, launch.sh, and every
    file of the run dir axolotl.yaml (`doc`) names (its datasets, DeepSpeed's config, a base model
    built here); a hub id, or a folder outside the run dir, is not one."""
    named = [d["path"] for key in ("datasets", "test_datasets") for d in doc.get(key) or []]
    named += [doc[k] for k in ("deepspeed", "base_model") if isinstance(doc.get(k), str)]
    ours = [IN_RUN.axolotl_yaml, IN_RUN.launch_sh, IN_RUN.sky_yaml]
    local = [Path(p) for p in named if not Path(p).is_absolute() and (Path(run_dir) / p).exists()]
    return sorted({p.as_posix() for p in [*ours, *local]})


def write_upload(run_dir: Path, files: list[str]) -> None:
    """RUN/upload: hard links to `files` (copies where a link cannot be made), made afresh at every
    configure, and a .skyignore so SkyPilot reads no .gitignore there (run dirs under outputs/ are
    git-ignored in a chatlike checkout: it would upload nothing)."""
    import os
    import shutil

    run = RunDir(run_dir)
    with atomic_folder(run.upload) as tmp:
        for name in files:
            source, dest = run.root / name, tmp / name
            if not source.exists():
                continue  # a val split that is empty, say: axolotl.yaml does not name it then
            dest.parent.mkdir(parents=True, exist_ok=True)
            for path in sorted(source.rglob("*")) if source.is_dir() else [source]:
                target = dest / path.relative_to(source) if source.is_dir() else dest
                if path.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(path, target)
                except OSError:
                    shutil.copy2(path, target)
        write_text(tmp / ".skyignore", "# Written by `chatlike` (configure): everything here is uploaded.\n")


def commands(cfg: Config, run_dir: Path) -> list[str]:
    """What to type next: launch on a cluster, or as a managed job, and fetch RUN/train back."""
    hw = cfg.hardware
    task_name = name(cfg, run_dir)
    yaml_path = shlex.quote(str(RunDir(run_dir).sky_yaml))
    flags = " ".join(f"--secret {s}" for s in secrets(cfg))
    train = shlex.quote(str(RunDir(run_dir).train))
    lines = [
        f"sky launch -c {task_name} {yaml_path} {flags} -i {IDLE_MINUTES} --down",
        f"sky jobs launch -n {task_name} {yaml_path} {flags}"
        + ("   # spot: recovers from preemption" if hw.spot else "   # a managed job"),
    ]
    if hw.bucket:
        lines.append(
            f"RUN/train is in the bucket: {hw.bucket} at {task_name}/train (copy it with your cloud's CLI)"
        )
    else:
        lines.append(
            f"rsync -Pavz {task_name}:sky_workdir/train/ {train}/   # within {IDLE_MINUTES} min of the "
            "end (a managed job's cluster goes at once: set hardware.bucket)"
        )
    return lines


def to_yaml(doc: dict[str, Any]) -> str:
    """sky.yaml's text, the run script as a block, as one writes it by hand."""
    import yaml  # PyYAML comes with Hydra/OmegaConf

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: yaml.SafeDumper, s: str) -> yaml.Node:
        return dumper.represent_scalar("tag:yaml.org,2002:str", s, style="|" if "\n" in s else None)

    Dumper.add_representer(str, text)
    head = (
        "# Written by `chatlike` (configure stage): a SkyPilot task that trains this run dir.\n"
        "# sky launch -c NAME sky.yaml --secret HF_TOKEN -i 30 --down   (see README: Train on rented GPUs)\n"
    )
    return head + yaml.dump(doc, Dumper=Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False)
