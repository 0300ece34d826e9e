import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")


def run_cli(
    *args: str, cwd: Path | None = None, input: str | None = None, timeout: int = 900, check: bool = False
) -> subprocess.CompletedProcess:
    """Run `python -m chatlike ARGS` for real, as a user would."""
    proc = subprocess.run(
        [sys.executable, "-m", "chatlike", *args],
        cwd=cwd or ROOT,
        input=input,
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
