"""merge: fold the run's adapter into the base model and save a standalone model to RUN/merged/
(chatlike.model.merge says what the folder holds)."""

from __future__ import annotations

from pathlib import Path

from chatlike.config import Config


def run(cfg: Config, run_dir: Path) -> None:
    from chatlike.model.merge import merge

    merged = merge(cfg, run_dir)
    print(f"merge: serve {merged} with stages=[serve] (transformers serve or vLLM; README)")
