"""chatlike's cache: what is made once and shared by every run (a base model built from a packaged
GGUF), outside run dirs. `CHATLIKE_CACHE`, else `$XDG_CACHE_HOME/chatlike`, else ~/.cache/chatlike.
Configs name it as `${chatlike_cache:}` (registered in chatlike.config)."""

from __future__ import annotations

import os
from pathlib import Path

ENV = "CHATLIKE_CACHE"


def cache_dir() -> Path:
    """The cache folder (not created here)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser().absolute()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache").absolute() / "chatlike"
