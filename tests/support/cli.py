"""Running chatlike as a user does (`python -m chatlike ...`), and the config it composes."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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


def smoke_cfg(*overrides: str):
    """The config `python -m chatlike experiment=smoke OVERRIDES` composes, as the dataclasses."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from chatlike.app import conf_dir
    from chatlike.config import register

    register()
    with initialize_config_dir(config_dir=str(conf_dir())):
        return OmegaConf.to_object(compose(config_name="config", overrides=["experiment=smoke", *overrides]))


def source_error(path: Path, fmt: str) -> str:
    """The error reading the export `path` as `fmt` gives (it must give one)."""
    from chatlike.config import SourceConfig
    from chatlike.data.sources import read_sources
    from chatlike.errors import ChatlikeError

    with pytest.raises(ChatlikeError) as err:
        read_sources(SourceConfig(path=str(path), format=fmt))
    return str(err.value)


def with_a_bug(tmp_path: Path, when: str) -> dict:
    """The environment of a run whose prepare stage raises a RuntimeError (a bug, not bad input)
    when `when` (a Python expression of `cfg`) holds: a sitecustomize injects it at start-up."""
    import os

    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import os, sys\n"
        "sys.path.insert(0, os.getcwd())  # the checkout under test, as `python -m` puts it first\n"
        "import chatlike.stages.prepare as stage\n"
        "_run = stage.run\n"
        "def run(cfg, run_dir):\n"
        f"    if {when}:\n"
        "        raise RuntimeError('an injected bug')\n"
        "    return _run(cfg, run_dir)\n"
        "stage.run = run\n"
    )
    return {**os.environ, "PYTHONPATH": str(hook)}
