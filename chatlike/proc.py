"""Launching the heavy tools (Axolotl, accelerate, lm-eval, the serving engines) as subprocesses with
telemetry off: in the foreground with their output streamed, or in the background (a server)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

from chatlike import quiet

TELEMETRY_OFF = {
    "AXOLOTL_DO_NOT_TRACK": "1",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "VLLM_NO_USAGE_STATS": "1",
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
    # chatlike.quiet's sitecustomize.py: torchao's, torch's and bitsandbytes' harmless lines dropped there too
    env["PYTHONPATH"] = os.pathsep.join(p for p in (quiet.SITE, env.get("PYTHONPATH")) if p)
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


class Background:
    """A tool running in the background in a process group of its own, its output in a log file.

    The group is its own so that a Ctrl-C in the terminal reaches only chatlike, which then stops
    the tool in order (`stop`); the whole group goes, helpers the tool spawned (vLLM's engine) too.
    """

    def __init__(self, cmd: Sequence[str], env: dict[str, str], log_path: str | os.PathLike):
        self.cmd, self.log_path = list(cmd), Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                self.cmd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 20) -> list[str]:
        """The last lines of its output."""
        try:
            text = self.log_path.read_bytes()[-64_000:].decode("utf-8", "replace")
        except OSError:
            return []
        return [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]

    def stop(self, grace_s: float = 20.0) -> int | None:
        """SIGTERM to the group, SIGKILL to what is left after `grace_s`; the exit code."""
        if self.running():
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(grace_s)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait()
        self._signal(signal.SIGKILL)  # helpers that outlived the leader
        return self.process.returncode

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
