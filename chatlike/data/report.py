"""The dataset report: report.md and its plots (RUN/plots/*.png) from stats.json, and the summary table.

report.md starts with the dataset section, closed by SECTION_END; later stages (eval) put their own
sections after it, and a rerun of prepare rewrites only the dataset section.
"""

from __future__ import annotations

import io
import math
import re
import shlex
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from chatlike.errors import ChatlikeError
from chatlike.files import write_bytes, write_text

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


def _pct(x: float) -> str:
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


def render(stats: dict[str, Any]) -> str:
    """The dataset section of report.md, ending with SECTION_END."""
    src, s, f, seg = stats["source"], stats["samples"], stats["filter"], stats["segment"]
    settings = stats["settings"]
    window, gap = settings["turn_window_minutes"], settings["gap_minutes"]
    lines = [
        "# chatlike dataset report",
        "",
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
        f"{minutes_label(window)} apart form one turn ({_pct(1 - share_of_gaps_longer(gaps, window))} "
        "of all gaps are shorter).",
        f"- `segment.gap_minutes={gap:g}`: a silence longer than {minutes_label(gap)} starts a new "
        f"conversation ({_pct(share_of_gaps_longer(gaps, gap))} of all gaps are longer).",
        "",
        "Put the conversation gap in the valley between the quick back-and-forth (left hump) and the "
        "pauses of hours or days (right hump). To change them, prepare again (a new run dir; add "
        "`hydra.run.dir=` this run's folder to rewrite this one, keeping its eval section):",
        "",
        "```",
        "python -m chatlike "
        + shlex.quote(f"source.path={src['path']}")
        + " 'stages=[prepare]' segment.gap_minutes=30 segment.turn_window_minutes=2",
        "python -m chatlike -m "
        + shlex.quote(f"source.path={src['path']}")
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


def write_report(run_dir: Path, stats: dict[str, Any], plots: bool = True) -> None:
    """RUN/plots/*.png (unless drawn elsewhere: Plotter) and RUN/report.md; sections after the
    dataset section (eval) are kept."""
    if plots:
        write_plots(run_dir, stats)
    report = run_dir / "report.md"
    write_text(report, render(stats) + _after_dataset_section(report))


# ---- plots -------------------------------------------------------------------------------------


@contextmanager
def plot_style() -> Iterator[None]:
    """Matplotlib's own defaults and a bundled font, whatever the user's matplotlibrc says, so the
    same stats give byte-identical PNGs."""
    import matplotlib

    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a glyph missing from the font (CJK, emoji names) is no error
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(
            {
                "font.family": "DejaVu Sans",
                "font.size": 9,
                "figure.dpi": 100,
                "savefig.dpi": 100,
                "axes.spines.top": False,
                "axes.spines.right": False,
                "path.simplify": False,
            }
        )
        yield


def save_png(fig, path: Path) -> None:
    buf = io.BytesIO()
    # no "Software: Matplotlib x.y" stamp: the bytes depend on the stats only
    fig.savefig(buf, format="png", metadata={"Software": None})
    write_bytes(path, buf.getvalue())


def _figure(width: float, height: float):
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    return Figure(figsize=(width, height), layout="constrained")


def _nothing(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#777777")
    ax.set_xticks([])
    ax.set_yticks([])


def plot_gaps(stats: dict[str, Any]):
    gaps, settings = stats["gaps"], stats["settings"]
    edges, counts = list(gaps["edges_minutes"]), list(gaps["counts"])
    # a log axis has no 0: the first bin (shorter than edges[1]) is drawn from half of edges[1],
    # the last one (longer than edges[-1]) up to twice edges[-1]
    lefts = [edges[1] / 2 if edges[0] <= 0 else edges[0], *edges[1:]]
    rights = [*edges[1:], edges[-1] * 2]
    fig = _figure(8, 4.8)
    ax = fig.add_subplot()
    ax.bar(
        lefts,
        counts,
        width=[r - left for left, r in zip(lefts, rights)],
        align="edge",
        color="#8da0cb",
        edgecolor="white",
        linewidth=0.8,
    )
    ax.set_xscale("log")
    ax.set_xlim(lefts[0], rights[-1])
    ticks = edges[1:]
    ax.set_xticks(ticks, [minutes_label(t) for t in ticks], rotation=45, ha="right")
    ax.minorticks_off()
    ax.set_xlabel("gap between consecutive messages (log scale)")
    ax.set_ylabel("gaps")
    total = sum(counts)
    ax.set_title(f"Gaps between consecutive messages ({total:,})")
    window, gap = settings["turn_window_minutes"], settings["gap_minutes"]
    ax.axvline(
        window,
        color=WINDOW_COLOR,
        linestyle="--",
        linewidth=1.8,
        label=f"turn_window_minutes = {window:g}: one sender's messages closer than this "
        f"form one turn ({_pct(1 - share_of_gaps_longer(gaps, window))} of gaps shorter)",
    )
    ax.axvline(
        gap,
        color=GAP_COLOR,
        linestyle="-",
        linewidth=1.8,
        label=f"gap_minutes = {gap:g}: a longer silence starts a new conversation "
        f"({_pct(share_of_gaps_longer(gaps, gap))} of gaps longer)",
    )
    if total:
        # the cumulative share helps read "how many gaps would this threshold cut"
        share = ax.twinx()
        running, ys = 0, []
        for n in counts:
            running += n
            ys.append(running / total)
        share.plot(rights, ys, color="#555555", linewidth=1, marker=".", label="share of gaps up to x")
        share.set_ylim(0, 1.02)
        share.set_ylabel("share of gaps up to x")
        share.spines["right"].set_visible(True)
        share.spines["top"].set_visible(False)
    ax.set_ylim(0, max(counts + [1]) * 1.05)
    fig.legend(loc="outside lower center", fontsize=8, frameon=False)
    return fig


_PERCENTILES = ("min", "p50", "mean", "p90", "p99", "max")


def plot_lengths(stats: dict[str, Any]):
    panels = (
        ("turns", "turns_per_sample"),
        ("characters", "chars_per_sample"),
        ("approx. tokens", "approx_tokens_per_sample"),
    )
    fig = _figure(9, 3.2)
    axes = fig.subplots(1, len(panels))
    for ax, (title, key) in zip(axes, panels):
        summary = stats.get(key, {})
        ax.set_title(title, fontsize=9)
        names = [k for k in _PERCENTILES if k in summary]
        if not names:
            _nothing(ax, "no samples")
            continue
        values = [summary[k] for k in names]
        bars = ax.bar(names, values, color=["#8da0cb" if k != "p50" else "#4c72b0" for k in names])
        ax.bar_label(bars, labels=[f"{v:,.0f}" if v >= 10 else f"{v:g}" for v in values], fontsize=7.5)
        ax.set_ylim(0, max(values) * 1.15 or 1)
        if key == "approx_tokens_per_sample":
            limit = stats["settings"]["max_tokens"]
            ax.axhline(limit, color=GAP_COLOR, linestyle="--", linewidth=1)
            ax.text(
                len(names) - 0.5,
                limit,
                f"max_tokens {limit:,}",
                ha="right",
                va="bottom",
                color=GAP_COLOR,
                fontsize=7.5,
            )
            ax.set_ylim(0, max(max(values), limit) * 1.12)
    count = stats.get("turns_per_sample", {}).get("count", 0)
    fig.suptitle(f"Per sample: percentiles across the {count:,} samples", fontsize=10)
    return fig


def plot_contacts(stats: dict[str, Any]):
    from matplotlib.ticker import MaxNLocator

    contacts = list(stats["contacts"].items())
    shown, rest = contacts[:MAX_CONTACTS_PLOTTED], contacts[MAX_CONTACTS_PLOTTED:]
    if rest:
        shown.append(
            (
                f"{len(rest)} more contacts",
                {k: sum(v[k] for _, v in rest) for k in ("conversations", "train", "val", "test")},
            )
        )
    fig = _figure(8, 1.2 + 0.32 * max(len(shown), 2))
    ax = fig.add_subplot()
    if not shown:
        _nothing(ax, "no samples")
        return fig
    names = [name for name, _ in shown][::-1]  # the biggest on top
    left = [0] * len(shown)
    for split, color in SPLIT_COLORS.items():
        values = [v[split] for _, v in shown][::-1]
        ax.barh(names, values, left=left, color=color, label=f"{split} samples")
        left = [a + b for a, b in zip(left, values)]
    for y, (total, (_, v)) in enumerate(zip(left, shown[::-1])):
        ax.text(total, y, f"  {v['conversations']:,} conv.", va="center", fontsize=7.5)
    ax.set_xlim(0, max(left) * 1.18 or 1)
    ax.set_xlabel("samples")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title("Conversations and samples per contact")
    ax.legend(loc="lower right", fontsize=7.5)
    return fig


def plot_my_share(stats: dict[str, Any]):
    mine = stats["my_share_of_turns"]
    # per contact when stats.json holds it, else the whole dataset only
    rows = [("all samples", mine)] + [
        (name, v["my_share_of_turns"])
        for name, v in list(stats["contacts"].items())[:MAX_CONTACTS_PLOTTED]
        if "my_share_of_turns" in v
    ]
    fig = _figure(8, 1.3 + 0.32 * len(rows))
    ax = fig.add_subplot()
    names = [name for name, _ in rows][::-1]
    shares = [share for _, share in rows][::-1]
    ax.barh(names, shares, color=ME_COLOR, label=f"mine ({stats['source']['me']}, assistant)")
    ax.barh(names, [1 - x for x in shares], left=shares, color=THEM_COLOR, label="theirs (user)")
    for y, share in enumerate(shares):
        ax.text(share / 2, y, f"{share:.0%}", ha="center", va="center", color="white", fontsize=8)
        ax.text((1 + share) / 2, y, f"{1 - share:.0%}", ha="center", va="center", fontsize=8)
    ax.axvline(0.5, color="#555555", linewidth=0.8, linestyle=":")
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1], ["0%", "25%", "50%", "75%", "100%"])
    ax.set_title("My share of turns")
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.35 if len(rows) == 1 else -0.12),
        ncol=2,
        fontsize=7.5,
        frameon=False,
    )
    return fig


def plot_filters(stats: dict[str, Any]):
    from matplotlib.ticker import MaxNLocator

    f, seg = stats["filter"], stats["segment"]
    conversations = dict(seg["conversations_dropped"])
    if seg.get("duplicates_dropped"):
        conversations["duplicate samples"] = seg["duplicates_dropped"]
    panels = (
        (f"messages removed (kept {f['messages_kept']:,} of {f['messages_seen']:,})", f["messages_removed"]),
        (f"chats removed (kept {f['chats_kept']:,} of {f['chats_seen']:,})", f["chats_removed"]),
        (
            f"conversations and samples dropped (conversations kept {seg['conversations_kept']:,} of "
            f"{seg['conversations']:,})",
            conversations,
        ),
    )
    heights = [max(len(d), 1) + 1.2 for _, d in panels]
    fig = _figure(8, 0.9 + 0.26 * sum(heights))
    axes = fig.subplots(len(panels), 1, gridspec_kw={"height_ratios": heights})
    for ax, (title, removed) in zip(axes, panels):
        ax.set_title(title, fontsize=9, loc="left")
        if not removed:
            _nothing(ax, "nothing removed")
            continue
        items = sorted(removed.items(), key=lambda kv: (-kv[1], kv[0]))[::-1]
        bars = ax.barh([k for k, _ in items], [v for _, v in items], color="#c44e52")
        ax.bar_label(bars, labels=[f" {v:,}" for _, v in items], fontsize=7.5)
        ax.set_xlim(0, max(v for _, v in items) * 1.15)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle("What each filter removed", fontsize=10)
    return fig


def write_plots(run_dir: Path, stats: dict[str, Any]) -> None:
    with plot_style():
        for name, plot in (
            ("gaps", plot_gaps),
            ("lengths", plot_lengths),
            ("contacts", plot_contacts),
            ("my_share", plot_my_share),
            ("filters", plot_filters),
        ):
            save_png(plot(stats), run_dir / PLOTS[name])


class Plotter:
    """Draws the plots in a second process, forked at the start of prepare: it imports matplotlib
    while this process reads the export, then draws while this one writes the data files."""

    def __init__(self) -> None:
        import multiprocessing

        self._conn = self._proc = None
        if "fork" in multiprocessing.get_all_start_methods():
            ctx = multiprocessing.get_context("fork")
            self._conn, child = ctx.Pipe()
            self._proc = ctx.Process(target=_plot_worker, args=(child,), daemon=True)
            self._proc.start()
            child.close()

    def draw(self, run_dir: Path, stats: dict[str, Any]) -> None:
        """Start drawing (in this process when fork is not available)."""
        self._plots = run_dir / "plots"
        if self._conn is None:
            write_plots(run_dir, stats)
        else:
            self._conn.send((run_dir, stats))

    def wait(self) -> None:
        """Wait for the drawing; a failure in the plotting process is raised here."""
        if self._conn is None:
            return
        error = self._conn.recv()
        self.close()
        if error:
            raise ChatlikeError(f"drawing the report plots into {self._plots} failed: {error}")

    def close(self) -> None:
        """Stop the plotting process (it exits when told there is nothing to draw)."""
        if self._conn is not None:
            try:
                self._conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            self._conn.close()
            self._proc.join()
            self._conn = None


def _plot_worker(conn) -> None:
    import matplotlib.backends.backend_agg  # noqa: F401  the slow imports, done while the export is read
    import matplotlib.figure  # noqa: F401

    job = conn.recv()
    if job is None:
        return
    try:
        write_plots(*job)
        conn.send(None)
    except Exception as exc:  # reported by Plotter.wait in the parent
        conn.send(f"{type(exc).__name__}: {exc}")
    conn.recv()  # the parent's close()


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
    table.add_row("my share of turns", f"{stats['my_share_of_turns']:.0%}")
    table.add_row("seconds", f"{seconds:.2f}")
    console = Console(stderr=True)
    console.print(table)
    # outside the table, so a narrow terminal never cuts the one thing the user needs
    console.print(f"chatlike: wrote {run_dir / 'data'} and {run_dir / 'report.md'}", soft_wrap=True)
