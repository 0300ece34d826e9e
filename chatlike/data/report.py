"""The dataset report: report.md (and its plots) from stats.json, and the summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatlike.files import write_text

SECTION_END = "<!-- end of dataset section -->"


def render(stats: dict[str, Any]) -> str:
    s = stats["samples"]
    f = stats["filter"]
    lines = [
        "# chatlike dataset report",
        "",
        f"Source: `{stats['source']['path']}` ({stats['source']['shape']} export); me: "
        f"**{stats['source']['me']}** (`{stats['source']['me_id']}`).",
        "",
        "| split | samples |", "|---|---|",
        *(f"| {k} | {s[k]} |" for k in ("train", "val", "test", "total")),
        "",
        f"Chats kept {f['chats_kept']} of {f['chats_seen']}; messages kept {f['messages_kept']:,} "
        f"of {f['messages_seen']:,}. My share of turns: {stats['my_share_of_turns']:.0%}.",
        "",
    ]
    if f["only_my_messages"]:
        lines += ["**Groups exported with \"only my messages\"** (nobody to answer, so nothing to learn "
                  "from; export them again with all messages to use them): "
                  + ", ".join(f"`{n}`" for n in f["only_my_messages"]), ""]
    lines += ["## What each filter removed", "", "| rule | messages |", "|---|---|",
              *(f"| {k} | {v:,} |" for k, v in f["messages_removed"].items()), "",
              "| chat rule | chats |", "|---|---|",
              *(f"| {k} | {v} |" for k, v in f["chats_removed"].items()), ""]
    lines += ["## Conversations per contact", "", "| contact | conversations | samples | train | val | test |",
              "|---|---|---|---|---|---|",
              *(f"| {k} | {v['conversations']} | {v['samples']} | {v['train']} | {v['val']} | {v['test']} |"
                for k, v in stats["contacts"].items()), ""]
    lines += [SECTION_END, ""]
    return "\n".join(lines)


def write_report(run_dir: Path, stats: dict[str, Any]) -> None:
    write_text(run_dir / "report.md", render(stats))


def print_summary(stats: dict[str, Any], run_dir: Path, seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"chatlike prepare: {run_dir}")
    table.add_column("")
    table.add_column("value", justify="right")
    f = stats["filter"]
    table.add_row("messages read / kept", f"{f['messages_seen']:,} / {f['messages_kept']:,}")
    table.add_row("chats read / kept", f"{f['chats_seen']} / {f['chats_kept']}")
    table.add_row("conversations kept", f"{stats['segment']['conversations_kept']:,}")
    for k in ("train", "val", "test"):
        table.add_row(f"{k} samples", f"{stats['samples'][k]:,}")
    table.add_row("my share of turns", f"{stats['my_share_of_turns']:.0%}")
    table.add_row("seconds", f"{seconds:.2f}")
    Console(stderr=True).print(table)
