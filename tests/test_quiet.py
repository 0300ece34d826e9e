"""Quiet runs: torchao's "Failed to load ..._C_mxfp8...so", torch's _pytree "Enum subclass ...
register_constant() is deprecated" and bitsandbytes' "Failed to load CPU gemm_4bit_forward from
kernels-community" are gone from chatlike's output and from the tools it launches, while every other
warning (ours and theirs) and every error still shows."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from chatlike import quiet
from chatlike.proc import tool_env

NOISE = (
    "Failed to load",  # torchao's CUDA kernels on a CPU torch; bitsandbytes' Hub kernel
    "_C_mxfp8",
    "register_constant() on Enum subclasses is deprecated",
    "gemm_4bit_forward",
    "Skipping publisher trust check",
)

# Imports what prints the lines (peft imports torchao; bitsandbytes loads its CPU backend), then logs a
# real warning and a real error on the same loggers: those must show.
TOOL = """
import logging, warnings
import bitsandbytes, peft
logging.getLogger("torchao").warning("a real torchao warning")
logging.getLogger("torchao").error("Failed to load /x/torchao/_C_mxfp8.so: a real error")
logging.getLogger("bitsandbytes.backends.cpu.ops").warning("a real bitsandbytes warning")
warnings.warn("a real UserWarning")
print("imported")
"""


def _captured(name: str, message: str, level: int = logging.WARNING) -> bool:
    """Whether a record `message` logged on `name` reaches that logger's handlers."""
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        logger.log(level, message)
    finally:
        logger.removeHandler(handler)
    return bool(seen)


def test_only_the_known_harmless_records_are_dropped():
    import torch

    assert torch.version.cuda is None  # CPU torch, as here and in CI
    quiet.install()
    quiet.install()  # twice: still one filter each
    assert all(
        len([f for f in logging.getLogger(n).filters if f is d]) == 1
        for n, d in quiet.sitecustomize.DROPS.items()
    )
    torchao_so = (
        "Failed to load /venv/site-packages/torchao/_C_mxfp8.cpython-310-x86_64-linux-gnu.so: Could not load"
    )
    assert not _captured("torchao", torchao_so)
    assert _captured("torchao", torchao_so, logging.ERROR)  # an error always shows
    assert _captured("torchao", "Skipping import of cpp extensions due to incompatible torch version")
    assert _captured("torchao", "Failed to load /venv/site-packages/torchao/_C.so: a CPU kernel")
    pytree = "<enum 'KernelPreference'> is an Enum subclass and is now natively supported by torch.compile as an opaque value type."
    assert not _captured("torch.utils._pytree", pytree)
    assert _captured("torch.utils._pytree", "some other pytree warning")
    bnb = "Failed to load CPU gemm_4bit_forward from kernels-community: Version 1 is not available"
    assert not _captured("bitsandbytes.backends.cpu.ops", bnb)
    assert _captured("bitsandbytes.backends.cpu.ops", "Failed to load the CPU library")


def test_a_launched_tool_is_quiet_but_keeps_real_warnings_and_errors(tmp_path):
    bare = subprocess.run(
        [sys.executable, "-c", TOOL], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    ours = subprocess.run(
        [sys.executable, "-c", TOOL],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        env=tool_env(),
    )
    assert bare.returncode == ours.returncode == 0, ours.stderr
    for loud in ("torchao/_C_mxfp8", "register_constant() on Enum subclasses", "gemm_4bit_forward"):
        assert loud in bare.stderr  # without chatlike's environment each line is there
    noise = [
        line for line in ours.stderr.splitlines() if any(n in line for n in NOISE) and "real" not in line
    ]
    assert noise == []
    for real in (
        "a real torchao warning",
        "a real error",
        "a real bitsandbytes warning",
        "a real UserWarning",
    ):
        assert real in ours.stderr


def test_a_stage_is_quiet_and_its_own_warnings_still_show(cli, tmp_path):
    """configure imports Axolotl, hence transformers, torchao and torch in chatlike's own process."""
    proc = cli(
        "experiment=smoke",
        "stages=[prepare,configure]",
        f"hydra.run.dir={tmp_path / 'run'}",
        "train.max_sequence_len=64",
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert [line for line in out.splitlines() if any(n in line for n in NOISE)] == []
    assert "training samples are longer than sequence_len 64" in out  # the plan's own warning


@pytest.mark.slow
def test_training_is_quiet_and_axolotls_warnings_still_show(trained_run):
    """Axolotl's preprocess and train processes (the session's smoke run): their log is RUN/train/train.log."""
    log = (trained_run / "train" / "train.log").read_text(encoding="utf-8", errors="replace")
    assert [line for line in log.splitlines() if any(n in line for n in NOISE)] == []
    assert "[WARNING]" in log  # Axolotl's and its libraries' own warnings are kept
