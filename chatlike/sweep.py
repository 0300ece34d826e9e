"""A Hydra callback: at the end of a multirun, compare the datasets the jobs prepared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback

from chatlike.files import write_text

COLUMNS = ("train", "val", "test", "total")


def collect(sweep_dir: Path) -> list[dict[str, Any]]:
    """One row per job folder that holds data/stats.json, with the overrides that made it."""
    rows = []
    for job in sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name)):
        stats_file = job / "data" / "stats.json"
        if not stats_file.is_file():
            continue
        stats = json.loads(stats_file.read_text(encoding="utf-8"))
        overrides_file = job / ".hydra" / "overrides.yaml"
        overrides = []
        if overrides_file.is_file():
            overrides = [ln[2:].strip() for ln in overrides_file.read_text().splitlines() if ln.startswith("- ")]
        rows.append({"job": job.name, "overrides": " ".join(overrides), **stats["samples"],
                     "conversations": stats["segment"]["conversations_kept"],
                     "turns_p50": stats["turns_per_sample"].get("p50", 0),
                     "my_share": stats["my_share_of_turns"]})
    return rows


def write_summary(sweep_dir: Path) -> Path | None:
    rows = collect(sweep_dir)
    if not rows:
        return None
    head = ["job", "overrides", "conversations", *COLUMNS, "turns_p50", "my_share"]
    lines = ["# chatlike sweep summary", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(str(r[h]) for h in head) + " |" for r in rows]
    out = sweep_dir / "sweep_summary.md"
    write_text(out, "\n".join(lines) + "\n")
    write_text(sweep_dir / "sweep_summary.json", json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
    return out


class SweepSummary(Callback):
    def on_multirun_end(self, config, **kwargs: Any) -> None:
        out = write_summary(Path(config.hydra.sweep.dir))
        if out:
            print(f"chatlike: sweep summary in {out}")
