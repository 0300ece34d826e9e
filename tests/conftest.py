"""Fixtures every test may use; the helpers themselves live in tests/support/."""

import os
from pathlib import Path

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


@pytest.fixture(scope="session")
def smollm2_cache(tmp_path_factory):
    """A fresh chatlike cache for the session holding the GGUF and the llama.cpp converter setup.sh
    installed; CHATLIKE_CACHE points at it for this process and the runs it starts."""
    from chatlike.cache import ENV
    from chatlike.model import gguf, smollm2

    packaged = smollm2.installed_gguf()
    if not packaged.is_file():
        pytest.fail(f"{packaged} is missing: run `bash setup.sh` (it installs model=smollm2's GGUF)")
    cache = tmp_path_factory.mktemp("chatlike_cache")
    (cache / packaged.parent.name).symlink_to(packaged.parent)
    if gguf.converter_dir().is_dir():  # tests/model/test_gguf.py fails without it
        (cache / gguf.converter_dir().name).symlink_to(gguf.converter_dir())
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


@pytest.fixture(scope="session")
def exportable_run(tmp_path_factory, smollm2_folder):
    """A smoke clone llama.cpp can read: the tiny model with SmolLM2's tokenizer
    (model.tiny_tokenizer=smollm2), trained a little (200 steps, about a minute), for export and
    serve=llamacpp."""
    run = tmp_path_factory.mktemp("exportable") / "run"
    run_cli("experiment=smoke", "model.tiny_tokenizer=smollm2", "train.max_steps=200", f"hydra.run.dir={run}",
            "stages=[prepare,configure,train]", check=True)  # fmt: skip
    return run
