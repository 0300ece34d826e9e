"""The dataset report: report.md and its plots (RUN/plots/*.png, drawn by chatlike.data.plots with
matplotlib, imported only then) from stats.json, and the summary table.

report.md starts with the dataset section, closed by SECTION_END; later stages (eval) put their own
sections after it, and a rerun of prepare rewrites only the dataset section.
"""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path
from typing import Any

from chatlike.errors import ChatlikeError
from chatlike.files import write_text

SECTION_END = "<!-- end of dataset section -->"
PLOTS = {
    "gaps": "plots/gaps.png",
    "lengths": "plots/lengths.png",
    "contacts": "plots/contacts.png",
    "my_share": "plots/my_share.png",
    "filters": "plots/filters.png",
}
MAX_CONTACTS_PLOTTED = 25
SPLIT_COLORS = {"train": "#4c72b0", "val": "#dd8452", "test": "#55a868"}
ME_COLOR, THEM_COLOR = "#4c72b0", "#c8c8c8"
WINDOW_COLOR, GAP_COLOR = "#dd8452", "#c44e52"


# ---- numbers the text and the plots share ------------------------------------------------------


def minutes_label(minutes: float) -> str:
    """15 s, 5 min, 2 h, 1 d, 1 w: a gap as a person says it."""
    for unit, size in (("w", 10080), ("d", 1440), ("h", 60), ("min", 1)):
        if minutes >= size and (minutes / size).is_integer():
            return f"{minutes / size:g} {unit}"
    if minutes < 1:
        return f"{minutes * 60:g} s"
    return f"{minutes:g} min"


def share_of_gaps_longer(gaps: dict[str, list], threshold_minutes: float) -> float:
    """The share of gaps longer than the threshold; inside a bin, interpolated on a log scale."""
    edges, counts = gaps["edges_minutes"], gaps["counts"]
    total = sum(counts)
    if not total:
        return 0.0
    longer = 0.0
    for i, n in enumerate(counts):
        lo = edges[i]
        hi = edges[i + 1] if i + 1 < len(edges) else math.inf
        if lo >= threshold_minutes:
            longer += n
        elif hi > threshold_minutes and n:
            if lo > 0 and hi < math.inf:
                longer += n * (math.log(hi) - math.log(threshold_minutes)) / (math.log(hi) - math.log(lo))
            else:
                longer += n / 2
    return longer / total


def pct(x: float) -> str:
    """A share as a whole percent; "<1%" rather than a misleading 0%."""
    return f"{x:.0%}" if x == 0 or x >= 0.01 else "<1%"


# ---- report.md ---------------------------------------------------------------------------------


def _summary_rows(stats: dict[str, Any]) -> list[str]:
    keys = ("count", "mean", "min", "p50", "p90", "p99", "max")
    rows = ["| per sample | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for label, key in (
        ("turns", "turns_per_sample"),
        ("characters", "chars_per_sample"),
        ("approx. tokens", "approx_tokens_per_sample"),
    ):
        summary = stats.get(key, {})
        rows.append(
            f"| {label} | " + " | ".join(f"{summary[k]:,}" if k in summary else "–" for k in keys) + " |"
        )
    return rows


def _source_arg(src: dict[str, Any]) -> str:
    """The override that reads these exports again: source.path=..., or source.paths=[...]."""
    paths = src.get("paths", [src.get("path")])
    if len(paths) == 1:
        return shlex.quote(f"source.path={paths[0]}")
    quoted = [
        p if re.fullmatch(r"[\w./~+-]+", p) else "'" + p.replace("\\", "\\\\").replace("'", "\\'") + "'"
        for p in paths
    ]
    return shlex.quote(f"source.paths=[{','.join(quoted)}]")


def _sources_section(sources: dict[str, Any]) -> list[str]:
    """Each messenger's files, who I am there, and what it gave."""
    rows = [
        "## Sources",
        "",
        "| source | files | me | chats kept | messages kept | conversations | samples | train | val | test |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, v in sources.items():
        rows.append(
            f"| {label} ({v['shape']}) | {len(v['paths']):,} | {v['me_name']} (`{v['me_id']}`) | "
            f"{v['chats_kept']:,} of {v['chats_seen']:,} | {v['messages_kept']:,} of {v['messages_seen']:,} | "
            f"{v['conversations']:,} | {v['samples']:,} | {v['train']:,} | {v['val']:,} | {v['test']:,} |"
        )
    files = [f"`{p}`" for v in sources.values() for p in v["paths"]]
    more = f" (and {len(files) - 10} more)" if len(files) > 10 else ""
    return [*rows, "", "Files: " + ", ".join(files[:10]) + more + ".", ""]


def render(stats: dict[str, Any]) -> str:
    """The dataset section of report.md, ending with SECTION_END."""
    src, s, f, seg = stats["source"], stats["samples"], stats["filter"], stats["segment"]
    settings = stats["settings"]
    window, gap = settings["turn_window_minutes"], settings["gap_minutes"]
    lines = ["# chatlike dataset report", ""]
    if "sources" in stats:
        names = ", ".join(f"**{label}**" for label in stats["sources"])
        lines += [f"Sources: {names}; me: **{src['me']}**.", ""]
    else:
        lines += [
            f"Source: `{src['path']}` ({src['shape']} export); me: **{src['me']}** (`{src['me_id']}`).",
            "",
        ]
    if f["only_my_messages"]:
        lines += [
            '> **Groups exported with "only my messages"**: '
            + ", ".join(f"`{n}`" for n in f["only_my_messages"])
            + ". Nobody answers in them, so they give no training data. Telegram Desktop exports "
            "private groups with only your messages by default (and always so for public groups "
            "and chats you left): export them again with all messages to use them.",
            "",
        ]
    lines += [
        "## Samples",
        "",
        "| split | samples |",
        "|---|---|",
        *(f"| {k} | {s[k]:,} |" for k in ("train", "val", "test", "total")),
        "",
        f"Chats kept {f['chats_kept']:,} of {f['chats_seen']:,}; messages kept {f['messages_kept']:,} of "
        f"{f['messages_seen']:,}; conversations kept {seg['conversations_kept']:,} of "
        f"{seg['conversations']:,} ({seg['conversations_split_into_windows']:,} split into windows under "
        f"{settings['max_tokens']:,} tokens); duplicate samples dropped: {seg['duplicates_dropped']:,}.",
        "",
        *(_sources_section(stats["sources"]) if "sources" in stats else []),
    ]
    gaps = stats["gaps"]
    n_gaps = sum(gaps["counts"])
    lines += [
        "## Gaps between messages: choosing the thresholds",
        "",
        f"![gaps between consecutive messages]({PLOTS['gaps']})",
        "",
        f"{n_gaps:,} gaps between consecutive kept messages of a chat (either sender). With the current "
        "settings:",
        "",
        f"- `segment.turn_window_minutes={window:g}`: consecutive messages of one sender less than "
        f"{minutes_label(window)} apart form one turn ({pct(1 - share_of_gaps_longer(gaps, window))} "
        "of all gaps are shorter).",
        f"- `segment.gap_minutes={gap:g}`: a silence longer than {minutes_label(gap)} starts a new "
        f"conversation ({pct(share_of_gaps_longer(gaps, gap))} of all gaps are longer).",
        "",
        "Put the conversation gap in the valley between the quick back-and-forth (left hump) and the "
        "pauses of hours or days (right hump). To change them, prepare again (a new run dir; add "
        "`hydra.run.dir=` this run's folder to rewrite this one, keeping its eval section):",
        "",
        "```",
        "python -m chatlike "
        + _source_arg(src)
        + " 'stages=[prepare]' segment.gap_minutes=30 segment.turn_window_minutes=2",
        "python -m chatlike -m "
        + _source_arg(src)
        + " 'stages=[prepare]' segment.gap_minutes=5,30,60,120   # a sweep: compare them",
        "```",
        "",
        "or set them for every run in `conf/segment/default.yaml`.",
        "",
        "## Turns and characters per sample",
        "",
        "A sample is a conversation, or a window of one too long for "
        f"`segment.max_tokens={settings['max_tokens']}`; a turn is one side's consecutive messages.",
        "",
        f"![turns, characters and tokens per sample]({PLOTS['lengths']})",
        "",
        *_summary_rows(stats),
        "",
        "## Conversations per contact",
        "",
        f"![samples per contact and split]({PLOTS['contacts']})",
        "",
        "| contact | conversations | samples | train | val | test |",
        "|---|---|---|---|---|---|",
        *(
            f"| {k} | {v['conversations']:,} | {v['samples']:,} | {v['train']:,} | {v['val']:,} | {v['test']:,} |"
            for k, v in stats["contacts"].items()
        ),
        "",
        "## My share of turns",
        "",
        f"![my share of turns]({PLOTS['my_share']})",
        "",
        f"{stats['my_share_of_turns']:.0%} of the turns in the samples are mine (the assistant's: the "
        "turns the model learns to write).",
        "",
        "## What each filter removed",
        "",
        f"![what each filter removed]({PLOTS['filters']})",
        "",
        *_rule_table("message rule", "messages", f["messages_removed"]),
        *_rule_table("chat rule", "chats", f["chats_removed"]),
        *_rule_table("conversation rule", "conversations", seg["conversations_dropped"]),
        SECTION_END,
        "",
    ]
    return "\n".join(lines)


def _after_dataset_section(report: Path) -> str:
    """What later stages wrote after the dataset section of an existing report.md."""
    try:
        old = report.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return ""
    _, found, rest = old.partition(SECTION_END)
    if found:
        return rest.lstrip("\n")
    # no dataset section yet (a later stage wrote first): keep its marked sections
    marked = re.search(r"^<!-- ", old, re.M)
    return old[marked.start() :] if marked else ""


def write_report(run_dir: Path, stats: dict[str, Any]) -> None:
    """RUN/plots/*.png and RUN/report.md; sections after the dataset section (eval) are kept."""
    from chatlike.data.plots import write_plots  # matplotlib: imported only to draw

    try:
        write_plots(run_dir, stats)
    except Exception as exc:  # matplotlib's or the file system's: one line that names the folder
        raise ChatlikeError(
            f"drawing the report plots into {run_dir / 'plots'} failed: {type(exc).__name__}: {exc}"
        ) from None
    report = run_dir / "report.md"
    write_text(report, render(stats) + _after_dataset_section(report))


# ---- the terminal ------------------------------------------------------------------------------


def _rule_table(rule: str, unit: str, counts: dict[str, int]) -> list[str]:
    if not counts:
        return [f"No {unit} removed by a {rule}.", ""]
    return [f"| {rule} | {unit} |", "|---|---|", *(f"| {k} | {v:,} |" for k, v in counts.items()), ""]


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
    for label, v in stats.get("sources", {}).items():
        table.add_row(f"{label}: chats kept / samples", f"{v['chats_kept']} / {v['samples']:,}")
    table.add_row("my share of turns", f"{stats['my_share_of_turns']:.0%}")
    table.add_row("seconds", f"{seconds:.2f}")
    console = Console(stderr=True)
    console.print(table)
    # outside the table, so a narrow terminal never cuts the one thing the user needs
    console.print(f"chatlike: wrote {run_dir / 'data'} and {run_dir / 'report.md'}", soft_wrap=True)
