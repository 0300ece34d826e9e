"""Quiet runs: the harmless lines of torchao, torch and bitsandbytes dropped where they are logged,
in chatlike's process (install(), called by chatlike.app) and in every tool it launches (SITE on
their PYTHONPATH: chatlike/quiet/sitecustomize.py). What each line is, and why it is harmless: there."""

from __future__ import annotations

from pathlib import Path

from chatlike.quiet.sitecustomize import install

SITE = str(Path(__file__).resolve().parent)  # on a tool's PYTHONPATH: Python runs its sitecustomize.py

__all__ = ["SITE", "install"]
