"""The dataset report: report.md from the dataset's stats (chatlike.data.stats), linking the plots
chatlike.data.plots draws (PLOTS), and the summary in the terminal.

report.md starts with the dataset section, closed by SECTION_END; later stages (eval) put their own
sections after it, and a rerun of prepare rewrites only the dataset section.
"""

from __future__ import annotations

import contextlib
import re
import shlex
from pathlib import Path
from typing import Callable, Iterator

from chatlike.data.stats import DatasetStats, SourceStats
from chatlike.files import write_text
from chatlike.plotstyle import SPLIT_COLORS  # noqa: F401  (sweep.py's import of it; chatlike.plotstyle's now)

SECTION_END = "<!-- end of dataset section -->"
PLOTS = {
    "gaps": "plots/gaps.png",
    "lengths": "plots/lengths.png",
    "contacts": "plots/contacts.png",
    "my_share": "plots/my_share.png",
    "filters": "plots/filters.png",
}


# ---- numbers the text and the plots share ------------------------------------------------------


def minutes_label(minutes: float) -> str:
    """15 s, 5 min, 2 h, 1 d, 1 w: a gap as a person says it."""
    for unit, size in (("w", 10080), ("d", 1440), ("h", 60), ("min", 1)):
        if minutes >= size and (minutes / size).is_integer():
            return f"{minutes / size:g} {unit}"
    if minutes < 1:
        return f"{minutes * 60:g} s"
    return f"{minutes:g} min"


def pct(x: float) -> str:
    """A share as a whole percent; "<1%" rather than a misleading 0%."""
    return f"{x:.0%}" if x == 0 or x >= 0.01 else "<1%"


# ---- report.md ---------------------------------------------------------------------------------


def _summary_rows(stats: DatasetStats) -> list[str]:
    keys = ("count", "mean", "min", "p50", "p90", "p99", "max")
    rows = ["| per sample | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    for label, summary in (
        ("turns", stats.turns_per_sample),
        ("characters", stats.chars_per_sample),
        ("approx. tokens", stats.approx_tokens_per_sample),
    ):
        values = [getattr(summary, k) for k in keys]
        rows.append(f"| {label} | " + " | ".join("–" if v is None else f"{v:,}" for v in values) + " |")
    return rows


def _source_arg(paths: list[str]) -> str:
    """The override that reads these exports again: source.path=..., or source.paths=[...]."""
    if len(paths) == 1:
        return shlex.quote(f"source.path={paths[0]}")
    quoted = [
        p if re.fullmatch(r"[\w./~+-]+", p) else "'" + p.replace("\\", "\\\\").replace("'", "\\'") + "'"
        for p in paths
    ]
    return shlex.quote(f"source.paths=[{','.join(quoted)}]")


def _sources_section(sources: dict[str, SourceStats]) -> list[str]:
    """Each messenger's files, who I am there, and what it gave."""
    rows = [
        "## Sources",
        "",
        "| source | files | me | chats kept | messages kept | conversations | samples | train | val | test |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, v in sources.items():
        rows.append(
            f"| {label} ({v.shape}) | {len(v.paths):,} | {v.me_name} (`{v.me_id}`) | "
            f"{v.chats_kept:,} of {v.chats_seen:,} | {v.messages_kept:,} of {v.messages_seen:,} | "
            f"{v.conversations:,} | {v.samples:,} | {v.train:,} | {v.val:,} | {v.test:,} |"
        )
    files = [f"`{p}`" for v in sources.values() for p in v.paths]
    more = f" (and {len(files) - 10} more)" if len(files) > 10 else ""
    return [*rows, "", "Files: " + ", ".join(files[:10]) + more + ".", ""]


def render(stats: DatasetStats) -> str:
    """The dataset section of report.md, ending with SECTION_END."""
    sections = (_head, _samples, _held_out, _gaps, _lengths, _contacts, _my_share, _filters)
    return "\n".join(line for section in sections for line in section(stats)) + f"\n{SECTION_END}\n"


def _head(stats: DatasetStats) -> list[str]:
    f = stats.filter
    lines = ["# chatlike dataset report", ""]
    if stats.one_telegram_export:
        (src,) = stats.sources.values()
        lines += [f"Source: `{src.paths[0]}` ({src.shape} export); me: **{stats.me}** (`{src.me_id}`).", ""]
    else:
        names = ", ".join(f"**{label}**" for label in stats.sources)
        lines += [f"Sources: {names}; me: **{stats.me}**.", ""]
    if stats.canaries:
        lines += [
            '> **An audit run**: `eval.privacy=true` put canaries (random secrets such as "my bank code is '
            f"281265\", {stats.canaries} insertions in all) into this run's training data, listed in "
            "`data/canaries.json`, for eval's privacy audit. Do not serve or share a model trained on it; prepare "
            "without `eval.privacy` for one.",
            "",
        ]
    if f.only_my_messages:
        lines += [
            '> **Groups exported with "only my messages"**: '
            + ", ".join(f"`{n}`" for n in f.only_my_messages)
            + ". Nobody answers in them, so they give no training data. Telegram Desktop exports "
            "private groups with only your messages by default (and always so for public groups "
            "and chats you left): export them again with all messages to use them.",
            "",
        ]
    return lines


def _samples(stats: DatasetStats) -> list[str]:
    f, seg, s = stats.filter, stats.segment, stats.samples
    return [
        "## Samples",
        "",
        "| split | samples |",
        "|---|---|",
        *(f"| {k} | {getattr(s, k):,} |" for k in ("train", "val", "test", "total")),
        "",
        f"Chats kept {f.chats_kept:,} of {f.chats_seen:,}; messages kept {f.messages_kept:,} of "
        f"{f.messages_seen:,}; conversations kept {seg.conversations_kept:,} of "
        f"{seg.conversations:,} ({seg.conversations_split_into_windows:,} split into windows under "
        f"{stats.settings.max_tokens:,} tokens); duplicate samples dropped: {seg.duplicates_dropped:,}.",
        "",
        *([] if stats.one_telegram_export else _sources_section(stats.sources)),
    ]


def _held_out(stats: DatasetStats) -> list[str]:
    """Is the test split unseen: near-duplicates moved to train, test replies still in training."""
    h = stats.held_out
    if h.near_duplicate_threshold is None:
        moved = (
            "Held-out conversations that nearly repeat a training sample were not looked for "
            "(`split.near_duplicate_threshold=null`)."
        )
    else:
        moved = (
            f"{h.near_duplicates_moved:,} held-out conversations ({h.near_duplicate_samples_moved:,} samples) nearly "
            "repeated a training sample (the Jaccard index of their words at least "
            f"`split.near_duplicate_threshold={h.near_duplicate_threshold:g}`) and moved to train, so eval asks only "
            "about conversations the model has not seen."
        )
    lines = ["## Is the test set unseen?", "", moved, ""]
    if h.test_replies:
        lines += [
            f"{h.test_replies_in_training:,} of your {h.test_replies:,} test replies ({pct(h.test_replies_in_training / h.test_replies)}) "
            f"also occur verbatim among your training replies; of the {h.test_long_replies:,} of 20+ characters, "
            f'{h.test_long_replies_in_training:,}. Short ones ("ok", "ahah") recur by themselves; long ones '
            "recur because you repeat yourself, and a model that copies them looks closer to you than it is "
            "(eval's memorisation section weighs that).",
            "",
        ]
    return lines


def _plotted(title: str, plot: str, alt: str, body: list[str], intro: tuple[str, ...] = ()) -> list[str]:
    """A section with a plot: its heading, `intro`, the plot, `body`."""
    return [f"## {title}", "", *intro, f"![{alt}]({PLOTS[plot]})", "", *body]


def _gaps(stats: DatasetStats) -> list[str]:
    gaps, window, gap = stats.gaps, stats.settings.turn_window_minutes, stats.settings.gap_minutes
    again = _source_arg(stats.paths)
    return _plotted(
        "Gaps between messages: choosing the thresholds",
        "gaps",
        "gaps between consecutive messages",
        [
            f"{sum(gaps.counts):,} gaps between consecutive kept messages of a chat (either sender). With the "
            "current settings:",
            "",
            f"- `segment.turn_window_minutes={window:g}`: consecutive messages of one sender less than "
            f"{minutes_label(window)} apart form one turn ({pct(1 - gaps.share_longer(window))} "
            "of all gaps are shorter).",
            f"- `segment.gap_minutes={gap:g}`: a silence longer than {minutes_label(gap)} starts a new "
            f"conversation ({pct(gaps.share_longer(gap))} of all gaps are longer).",
            "",
            "Put the conversation gap in the valley between the quick back-and-forth (left hump) and the "
            "pauses of hours or days (right hump). To change them, prepare again (a new run dir; add "
            "`hydra.run.dir=` this run's folder to rewrite this one, keeping its eval section):",
            "",
            "```",
            f"python -m chatlike {again} 'stages=[prepare]' segment.gap_minutes=30 segment.turn_window_minutes=2",
            f"python -m chatlike -m {again} 'stages=[prepare]' segment.gap_minutes=5,30,60,120   # a sweep: compare them",
            "```",
            "",
            "or set them for every run in `conf/segment/default.yaml`.",
            "",
        ],
    )


def _lengths(stats: DatasetStats) -> list[str]:
    intro = (
        "A sample is a conversation, or a window of one too long for "
        f"`segment.max_tokens={stats.settings.max_tokens}`; a turn is one side's consecutive messages.",
        "",
    )
    alt = "turns, characters and tokens per sample"
    return _plotted("Turns and characters per sample", "lengths", alt, [*_summary_rows(stats), ""], intro)


def _contacts(stats: DatasetStats) -> list[str]:
    table = [
        "| contact | conversations | samples | train | val | test |",
        "|---|---|---|---|---|---|",
        *(
            f"| {k} | {v.conversations:,} | {v.samples:,} | {v.train:,} | {v.val:,} | {v.test:,} |"
            for k, v in stats.contacts.items()
        ),
        "",
    ]
    return _plotted("Conversations per contact", "contacts", "samples per contact and split", table)


def _my_share(stats: DatasetStats) -> list[str]:
    text = (
        f"{stats.my_share_of_turns:.0%} of the turns in the samples are mine (the assistant's: the turns "
        "the model learns to write)."
    )
    return _plotted("My share of turns", "my_share", "my share of turns", [text, ""])


def _filters(stats: DatasetStats) -> list[str]:
    f = stats.filter
    tables = [
        *_rule_table("message rule", "messages", f.messages_removed),
        *_rule_table("chat rule", "chats", f.chats_removed),
        *_rule_table("conversation rule", "conversations", stats.segment.conversations_dropped),
    ]
    if f.messages_redacted:
        tables += [
            "Kept, with a part replaced:",
            "",
            *_rule_table("message rule", "messages", f.messages_redacted),
        ]
    j = stats.judge
    if j is not None:
        scores = ", ".join(f"{n} rated {k}" for k, n in j.scores.items())
        tables += [
            f"**The LLM judge** (`filter.judge`, model `{j.model}`) rated {j.judged:,} training samples for the relevance "
            f"and coherence of your replies ({scores}; a sample's rating is the lower of the two) and dropped the "
            f"{j.dropped:,} rated below {j.threshold:g}.",
            "",
        ]
    return _plotted("What each filter removed", "filters", "what each filter removed", tables)


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


def write_report(run_dir: Path, stats: DatasetStats) -> None:
    """RUN/report.md; sections after the dataset section (eval) are kept."""
    report = run_dir / "report.md"
    write_text(report, render(stats) + _after_dataset_section(report))


# ---- the terminal ------------------------------------------------------------------------------


def _rule_table(rule: str, unit: str, counts: dict[str, int]) -> list[str]:
    if not counts:
        return [f"No {unit} removed by a {rule}.", ""]
    return [f"| {rule} | {unit} |", "|---|---|", *(f"| {k} | {v:,} |" for k, v in counts.items()), ""]


@contextlib.contextmanager
def progress(console, what: str, total: int, counted: bool = False) -> Iterator[Callable[[int], None]]:
    """A progress bar of `total` bytes (or things, `counted`) while the block runs; it is given
    `advance(n)`."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    done = MofNCompleteColumn() if counted else DownloadColumn()
    columns = (TextColumn(what), BarColumn(), done, TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(what, total=total)
        yield lambda n: bar.advance(task, n)


def print_summary(stats: DatasetStats, run_dir: Path, seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"chatlike prepare: {run_dir}")
    table.add_column("")
    table.add_column("value", justify="right")
    f = stats.filter
    table.add_row("messages read / kept", f"{f.messages_seen:,} / {f.messages_kept:,}")
    table.add_row("chats read / kept", f"{f.chats_seen} / {f.chats_kept}")
    table.add_row("conversations kept", f"{stats.segment.conversations_kept:,}")
    if stats.held_out.near_duplicates_moved:
        table.add_row("held-out near-duplicates moved to train", f"{stats.held_out.near_duplicates_moved:,}")
    for k in ("train", "val", "test"):
        table.add_row(f"{k} samples", f"{getattr(stats.samples, k):,}")
    for label, v in ({} if stats.one_telegram_export else stats.sources).items():
        table.add_row(f"{label}: chats kept / samples", f"{v.chats_kept} / {v.samples:,}")
    table.add_row("my share of turns", f"{stats.my_share_of_turns:.0%}")
    table.add_row("seconds", f"{seconds:.2f}")
    console = Console(stderr=True)
    console.print(table)
    # outside the table, so a narrow terminal never cuts the one thing the user needs
    console.print(f"chatlike: wrote {run_dir / 'data'} and {run_dir / 'report.md'}", soft_wrap=True)
