"""Long-running stages and the processes they start: followed, signalled, their environments read."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.support.cli import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Serving:
    """`python -m chatlike ... stages=[serve]` (or another long-running stage) running, its output
    collected line by line."""

    def __init__(self, *args: str, env: dict | None = None, stages: str = "stages=[serve]", preexec_fn=None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chatlike", *args, stages],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=preexec_fn,
        )  # fmt: skip
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 600) -> None:
        end = time.time() + timeout
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None or self.reader.is_alive(), (
                f"exited {self.proc.returncode}:\n{self.output}"
            )
            assert time.time() < end, f"no {text!r} after {timeout} s:\n{self.output}"
            time.sleep(0.2)

    def engine_pids(self) -> list[int]:
        """The processes chatlike started: the engine's process group (the engine and its helpers)."""
        out = subprocess.run(["ps", "-eo", "pid=,ppid=,pgid="], capture_output=True, text=True).stdout
        rows = [tuple(int(x) for x in line.split()) for line in out.splitlines()]
        groups = {pgid for pid, ppid, pgid in rows if ppid == self.proc.pid}
        return [pid for pid, ppid, pgid in rows if pgid in groups]

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> int:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        self.reader.join(10)
        return code


def environ_of(pid: int) -> dict[str, str]:
    """The environment a running process was started with."""
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode("utf-8", "replace")
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}/stat").exists() else "X"
    return state != "Z"
