"""Fixtures every test may use; the helpers themselves live in tests/support/."""

import os

import pytest

from tests.support.cli import run_cli

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """The smoke experiment (tiny model, CPU, LoRA) trained once for the session (serve and bot use it)."""
    run = tmp_path_factory.mktemp("trained") / "run"
    run_cli("experiment=smoke", f"hydra.run.dir={run}", "stages=[prepare,configure,train]", check=True)
    assert (run / "train" / "adapter_model.safetensors").is_file()
    return run
