"""Launching the heavy tools (Axolotl, accelerate, lm-eval) as subprocesses with telemetry off."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

TELEMETRY_OFF = {
    "AXOLOTL_DO_NOT_TRACK": "1",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
}


def tool_env(wandb_project: Optional[str] = None, offline: bool = True) -> dict[str, str]:
    """The environment for a launched tool: telemetry off, W&B off unless a project is named,
    and this interpreter's bin/ first on PATH (axolotl re-launches itself through accelerate)."""
    env = dict(os.environ)
    env.update(TELEMETRY_OFF)
    if not offline:
        for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
            env.pop(key)
    if wandb_project:
        env.setdefault("WANDB_PROJECT", wandb_project)
    else:
        env["WANDB_MODE"] = "disabled"
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run_streamed(
    cmd: Sequence[str],
    env: dict[str, str],
    cwd: Optional[str | os.PathLike] = None,
    on_line: Optional[Callable[[str], None]] = None,
    log_path: Optional[str | os.PathLike] = None,
) -> tuple[int, list[str]]:
    """Run `cmd`, echo its output as it comes, keep a log; return (exit code, last 200 lines)."""
    tail: list[str] = []
    log = open(log_path, "a", encoding="utf-8") if log_path else None
    try:
        proc = subprocess.Popen(
            list(cmd),
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            if log:
                log.write(line)
            if on_line:
                on_line(line)
            tail.append(line.rstrip("\n"))
            del tail[:-200]
        return proc.wait(), tail
    finally:
        if log:
            log.close()
