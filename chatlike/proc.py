"""Launching the heavy tools (Axolotl, accelerate, the serving engines) as subprocesses with telemetry
off and only the environment they need: in the foreground with their output streamed, or in the
background (a server).

A tool gets an allow-list of our environment, never all of it: what any tool needs to run (`PASSED`
and the families of `PASSED_PREFIXES`: where it is and who runs it, locale, temporary files, the
caches, the GPUs and how to use them, thread counts, compilers), then telemetry off, then only the
secrets its caller names. So the engine `stages=[serve,bot]` starts never sees TELEGRAM_BOT_TOKEN,
and Axolotl gets WANDB_API_KEY only with train.wandb_project. Secrets are read from the environment
here only (`secret`). Code that runs in our own process (lm-eval, transformers loading a model)
sees our whole environment: nothing can narrow that but running it as a tool.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, Mapping, Optional, Sequence

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

# What any tool needs to run, passed on when set.
PASSED = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "LANG", "LANGUAGE", "TZ",  # who, where, locale
    "TMPDIR", "TMP", "TEMP", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR",
    "PYTHONPATH", "LD_LIBRARY_PATH",  # where its modules and CUDA's libraries are
    "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_ASSETS_CACHE", "HF_DATASETS_CACHE",
    "HF_MODULES_CACHE", "HF_XET_CACHE", "TRANSFORMERS_CACHE", "HF_HUB_DISABLE_PROGRESS_BARS",
    "TOKENIZERS_PARALLELISM", "RAYON_NUM_THREADS", "RAYON_RS_NUM_CPUS", "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS", "CC", "CXX", "MAX_JOBS",  # thread counts; compilers (Triton, DeepSpeed's ops)
})  # fmt: skip
# Families of settings passed on: the C locale, the GPUs (CUDA, ROCm), collective communication,
# torch and its compilers, thread counts, and the tools' own (Axolotl, accelerate, DeepSpeed,
# bitsandbytes, vLLM). A name in them that looks like a secret never passes (VLLM_API_KEY: `secret`).
PASSED_PREFIXES = (
    "LC_", "CUDA_", "NVIDIA_", "ROCR_", "HIP_", "HSA_", "NCCL_", "TORCH_", "TORCHINDUCTOR_", "PYTORCH_",
    "TRITON_", "OMP_", "KMP_", "MKL_", "AXOLOTL_", "ACCELERATE_", "DS_", "BNB_", "VLLM_",
)  # fmt: skip
_SECRET_LIKE = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL")
# W&B's own settings and what reaching it takes, with train.wandb_project only (the one tool online)
WANDB_PASSED = ("WANDB_API_KEY", "WANDB_MODE", "WANDB_ENTITY", "WANDB_BASE_URL", "WANDB_DIR", "WANDB_NAME", "WANDB_TAGS",
                "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy",
                "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE")  # fmt: skip


def secret(name: str) -> str | None:
    """A secret (a token, an API key) from our environment, the only place secrets come from."""
    return os.environ.get(name, "").strip() or None


def passed(name: str) -> bool:
    """Whether a variable of ours passes to every tool."""
    if name in PASSED:
        return True
    return name.startswith(PASSED_PREFIXES) and not any(s in name.upper() for s in _SECRET_LIKE)


def tool_env(wandb_project: Optional[str] = None, secrets: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a launched tool: the allow-list of ours (`passed`), telemetry off and
    offline, W&B off unless a project is named (then its key and settings), the `secrets` given,
    and this interpreter's bin/ first on PATH (axolotl re-launches itself through accelerate)."""
    env = {k: v for k, v in os.environ.items() if passed(k)}
    env.update(TELEMETRY_OFF)
    if wandb_project:
        env.update({k: os.environ[k] for k in WANDB_PASSED if k in os.environ})
        env["WANDB_PROJECT"] = wandb_project
    else:
        env["WANDB_MODE"] = "disabled"
    env.update(secrets or {})
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    # chatlike.quiet's sitecustomize.py: torchao's, torch's and bitsandbytes' harmless lines dropped there too
    env["PYTHONPATH"] = os.pathsep.join(p for p in (quiet.SITE, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
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
        """SIGTERM to the group, SIGKILL to what is left after `grace_s`, or at once on a second Ctrl-C
        or SIGTERM meanwhile (which then stops nothing else: the tool is never left behind); the
        exit code."""
        hurry = threading.Event()
        with _signals_call(lambda signum, frame: hurry.set()):
            if self.running():
                self._signal(signal.SIGTERM)
                deadline = time.monotonic() + grace_s
                while self.running() and time.monotonic() < deadline and not hurry.wait(0.1):
                    pass
            self._signal(signal.SIGKILL)  # what is left, helpers that outlived the leader too
            self.process.wait()
        return self.process.returncode

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.process.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _signals_call(handler: Callable) -> Iterator[None]:
    """`handler` for Ctrl-C, SIGTERM and SIGHUP for the while (signals reach the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, old in before.items():
            signal.signal(sig, signal.SIG_DFL if old is None else old)  # None: set outside Python


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def stopping_on_signals() -> contextlib.AbstractContextManager:
    """Ctrl-C, SIGTERM (a process manager) and SIGHUP (a closed terminal) raise KeyboardInterrupt for
    the while, whatever this process inherited: started in the background by a script, Python
    inherits an ignored SIGINT, and a server would never stop on it."""
    return _signals_call(_interrupt)
