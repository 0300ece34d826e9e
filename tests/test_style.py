"""The code passes the project's linter and formatter (ruff, configured in pyproject.toml)."""

import subprocess
import sys

from tests.support.cli import ROOT

PATHS = ["chatlike", "tests", "benchmarks", "scripts"]


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, *PATHS], cwd=ROOT, capture_output=True, text=True
    )


def test_ruff_check_is_clean():
    proc = ruff("check")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_is_clean():
    proc = ruff("format", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
