"""train: `axolotl preprocess` then Axolotl training on RUN/axolotl.yaml, in a subprocess with
telemetry off; output in RUN/train/ (log: RUN/train/train.log). A rerun resumes from the last
checkpoint (axolotl.yaml has auto_resume_from_checkpoints), but only one made on the same
data/train.jsonl (its sha256 is kept in RUN/train/ and RUN/prepared/)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from chatlike.config import Config
from chatlike.errors import ChatlikeError
from chatlike.files import write_text
from chatlike.model import sky
from chatlike.model.axolotl import preprocess_command, train_command
from chatlike.model.samples import DATA_HASH_FILE, data_hash, made_from
from chatlike.proc import run_streamed, tool_env
from chatlike.rundir import RunDir

_DROPPED = re.compile(r"Dropped (\d+) ")
_WATCHDOG = "Loss is too high, stopping training"  # Axolotl's loss watchdog (axolotl.utils.callbacks)
_LOSS = re.compile(r"'loss': '?([0-9.]+)")  # the Trainer's logged step, as Axolotl prints it
_ERROR = re.compile(r"(Error|Exception|error:|CUDA out of memory|Killed)")


def check(cfg: Config, run_dir: Path) -> None:
    """A CUDA profile on a machine without CUDA refuses at once (before prepare runs), instead of
    `axolotl preprocess` failing later on a download: train here on CPU, or on rented GPUs."""
    if cfg.hardware.device != "cuda":
        return
    import torch

    if torch.cuda.is_available():
        return
    launch = sky.commands(cfg, Path(run_dir).resolve())[0]
    raise ChatlikeError(
        f"hardware={cfg.hardware.name} trains on a CUDA GPU and this machine has none: train here on "
        f"CPU with experiment=cpu (or hardware=cpu), or run stages=[prepare,configure] here and train "
        f"on rented GPUs with the command configure prints: {launch}"
    )


def run(cfg: Config, run_dir: Path) -> None:
    run = RunDir(Path(run_dir).resolve())
    if not run.axolotl_yaml.is_file():
        raise ChatlikeError(
            f"{run.axolotl_yaml} is missing: run the configure stage first (stages=[configure,train])"
        )
    if cfg.hardware.num_nodes > 1:
        raise ChatlikeError(
            f"hardware.num_nodes={cfg.hardware.num_nodes}: run {run.launch_sh} on every node, with "
            "MACHINE_RANK and MAIN_PROCESS_IP set (see launch/accelerate/multi_node.yaml)"
        )
    out = run.train
    digest = data_hash(run.root)
    check_resumable(out, digest)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / DATA_HASH_FILE, digest + "\n")
    if run.prepared.exists() and made_from(run.prepared) != digest:
        # Axolotl keys its tokenized cache by config, not by file content: drop the stale one
        shutil.rmtree(run.prepared)
    log = run.train_log
    env = environment(cfg)

    dropped = preprocess(run, env, log)
    write_text(run.prepared / DATA_HASH_FILE, digest + "\n")
    if dropped:
        raise ChatlikeError(
            f"axolotl preprocess dropped {dropped} training sample(s) (see {log}): every prepared sample "
            "should train; check data/train.jsonl for samples with no assistant turn or empty content"
        )
    last = last_checkpoint(out)
    if last:
        print(f"chatlike: resuming from {last}")
    stopped, logged = [], []

    def watch(line: str) -> None:
        if _WATCHDOG in line:
            stopped.append(line)
        if m := _LOSS.search(line):
            logged.append(float(m.group(1)))

    rc, tail = run_streamed(train_command(cfg), env=env, cwd=run.root, on_line=watch, log_path=log)
    if rc != 0:
        raise ChatlikeError(f"axolotl train failed (exit {rc}): {error_line(tail)} (full log: {log})")
    if stopped:  # Axolotl saves what it has and exits 0: the run would go on as if it had trained
        raise ChatlikeError(
            f"Axolotl's loss watchdog stopped training after {len(logged)} logged steps (loss "
            f"{logged[-1] if logged else float('nan'):.3f} stayed above train.loss_watchdog_threshold="
            f"{cfg.train.loss_watchdog_threshold:g} for train.loss_watchdog_patience="
            f"{cfg.train.loss_watchdog_patience} logged steps): raise the threshold if this model starts "
            f"that high, else lower train.learning_rate (full log: {log})"
        )
    weights = "adapter_model.safetensors" if cfg.train.adapter else "model.safetensors"
    if not any(out.glob(weights.replace(".safetensors", "*.safetensors"))):
        raise ChatlikeError(f"axolotl train ended without writing {out / weights} (see {log})")
    losses = training_losses(out)
    if losses:
        print(
            f"chatlike: trained {len(losses)} logged steps, loss {losses[0]:.3f} -> {losses[-1]:.3f}; "
            f"output in {out}"
        )


def environment(cfg: Config) -> dict[str, str]:
    """Axolotl's environment: what any tool needs (chatlike.proc), offline, telemetry off; of the
    secrets only W&B's key, and only with train.wandb_project. No HF_TOKEN: training here downloads
    nothing (the base model is on disk) and uploads nothing."""
    return tool_env(wandb_project=cfg.train.wandb_project)


def check_resumable(out: Path, digest: str) -> None:
    """Refuse to resume from checkpoints trained on other data (prepare was run again since)."""
    if last_checkpoint(out) is None:
        return
    made = made_from(out)
    if made is None:
        print(f"chatlike: warning: {out} does not say which data it was trained on; resuming anyway")
    elif made != digest:
        raise ChatlikeError(
            f"{out} holds checkpoints trained on another data/train.jsonl (prepare ran again since): "
            f"delete {out} to train afresh, or use a new run dir (hydra.run.dir=...)"
        )


def preprocess(run: RunDir, env: dict[str, str], log: Path) -> int:
    """Tokenize once, failing early on dataset errors; return the samples Axolotl dropped."""
    dropped = 0

    def count(line: str) -> None:
        nonlocal dropped
        m = _DROPPED.search(line)
        if m:
            dropped += int(m.group(1))

    rc, tail = run_streamed(preprocess_command(), env=env, cwd=run.root, on_line=count, log_path=log)
    if rc != 0:
        raise ChatlikeError(f"axolotl preprocess failed (exit {rc}): {error_line(tail)} (full log: {log})")
    return dropped


def error_line(tail: list[str]) -> str:
    """The last line of the tool's output that names an error, else its last non-empty line."""
    lines = [t.strip() for t in tail if t.strip()]
    for line in reversed(lines):
        if _ERROR.search(line):
            return line[:500]
    return lines[-1][:500] if lines else "no output"


def last_checkpoint(out: Path) -> Path | None:
    ckpts = [p for p in out.glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(ckpts, key=lambda p: int(p.name.split("-")[-1]), default=None)


def training_losses(out: Path) -> list[float]:
    """The logged training losses, step by step, from the last checkpoint's trainer_state.json."""
    last = last_checkpoint(out)
    state = last / "trainer_state.json" if last else None
    if not state or not state.is_file():
        return []
    history = json.loads(state.read_text(encoding="utf-8")).get("log_history", [])
    return [float(h["loss"]) for h in history if "loss" in h]
