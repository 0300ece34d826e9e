"""chatlike's cache: what is made once and shared by every run (a base model built from a packaged
GGUF), outside run dirs: `CHATLIKE_CACHE`, else ~/.cache/chatlike. Configs name it `${chatlike_cache:}`
(a resolver registered by chatlike.config.register)."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "CHATLIKE_CACHE"


def cache_dir() -> Path:
    """The cache folder (not created here)."""
    return Path(os.environ.get(ENV) or Path.home() / ".cache" / "chatlike").expanduser().absolute()
