import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")


def run_cli(
    *args: str,
    cwd: Path | None = None,
    input: str | None = None,
    timeout: int = 900,
    check: bool = False,
    env: dict | None = None,
) -> subprocess.CompletedProcess:
    """Run `python -m chatlike ARGS` for real, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "chatlike", *args],
        cwd=cwd or ROOT,
        input=input,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"chatlike {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


@pytest.fixture
def cli():
    return run_cli


def smoke_cfg(*overrides: str):
    """The config `python -m chatlike experiment=smoke OVERRIDES` composes, as the dataclasses."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from chatlike.app import conf_dir
    from chatlike.config import register

    register()
    with initialize_config_dir(config_dir=str(conf_dir())):
        return OmegaConf.to_object(compose(config_name="config", overrides=["experiment=smoke", *overrides]))


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


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """The smoke experiment (tiny model, CPU, LoRA) trained once for the session (serve and bot use it)."""
    run = tmp_path_factory.mktemp("trained") / "run"
    run_cli("experiment=smoke", f"hydra.run.dir={run}", "stages=[prepare,configure,train]", check=True)
    assert (run / "train" / "adapter_model.safetensors").is_file()
    return run


@pytest.fixture(scope="session")
def smollm2_cache(tmp_path_factory):
    """A fresh chatlike cache for the session holding the GGUF setup.sh installed; CHATLIKE_CACHE
    points at it for this process and the runs it starts."""
    from chatlike.cache import ENV
    from chatlike.model import smollm2

    gguf = smollm2.installed_gguf()
    if not gguf.is_file():
        pytest.fail(f"{gguf} is missing: run `bash setup.sh` (it installs model=smollm2's GGUF)")
    cache = tmp_path_factory.mktemp("chatlike_cache")
    (cache / gguf.parent.name).symlink_to(gguf.parent)
    before = os.environ.get(ENV)
    os.environ[ENV] = str(cache)
    yield cache
    if before is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = before


@pytest.fixture(scope="session")
def smollm2_folder(smollm2_cache) -> Path:
    """The materialised folder (about 20-50 s once per session)."""
    from chatlike.model import smollm2

    return smollm2.ensure(smollm2.default_folder())


def source_error(path: Path, fmt: str) -> str:
    """The error reading the export `path` as `fmt` gives (it must give one)."""
    from chatlike.config import SourceConfig
    from chatlike.data.sources import read_sources
    from chatlike.errors import ChatlikeError

    with pytest.raises(ChatlikeError) as err:
        read_sources(SourceConfig(path=str(path), format=fmt))
    return str(err.value)
