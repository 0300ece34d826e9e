"""The dataset report's five plots (RUN/plots/*.png) from the dataset's stats, in chatlike's one plot
style (chatlike.plotstyle).

Imported only when plots are drawn: importing matplotlib takes about half a second. The plots are
laid out in px from the top left (long names, legends and turned labels measured first), not by a
layout engine: constrained layout doubles the time each figure takes to draw, and prepare draws five.
"""

from __future__ import annotations

import functools
from itertools import accumulate
from pathlib import Path
from typing import NamedTuple

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator, PercentFormatter

from chatlike import plotstyle
from chatlike.data.report import PLOTS, minutes_label, pct
from chatlike.data.stats import DatasetStats, SplitCounts
from chatlike.errors import ChatlikeError
from chatlike.files import write_bytes
from chatlike.plotstyle import (
    BAR_COLOR,
    DPI,
    FILTER_COLOR,
    FONT,
    GAP_COLOR,
    LABEL,
    ME_COLOR,
    MUTED,
    SMALL,
    SPLIT_COLORS,
    TEXT,
    THEM_COLOR,
    TITLE,
    WINDOW_COLOR,
    png_bytes,
    style,
)

WIDTH = 800  # px
NAME_WIDTH = 190  # px of a contact or rule name before it is cut with "…"
ROW = 32  # px per bar row
MAX_CONTACTS_PLOTTED = 25


# ---- text and layout -------------------------------------------------------------------------


@functools.cache
def _font(size: float, bold: bool) -> FontProperties:
    return FontProperties(family=FONT, size=size, weight="bold" if bold else "normal")


@functools.cache
def _measurer() -> RendererAgg:
    return RendererAgg(1, 1, DPI)


@functools.cache  # names are measured to cut them, then to make room for them
def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width in px of `text` drawn at `size` pt."""
    return _measurer().get_text_width_height_descent(text, _font(size, bold), ismath=False)[0]


def one_line(text: str, size: float, width: float, bold: bool = False) -> str:
    """`text` on one line, cut with "…" to at most `width` px."""
    text = " ".join(str(text).split())  # no newline or tab may break the row layout
    if text_width(text, size, bold) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if text_width(text[:mid].rstrip() + "…", size, bold) <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


def short_number(value: float) -> str:
    """135k, 1.2M: a number for a narrow bar."""
    for size, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.3g}"


def number(value: float) -> str:
    """A tick's label: 1,234 for whole numbers, 5.41 otherwise, 25M from a million on."""
    if abs(value) >= 1e6:
        return short_number(value)
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"


NUMBER = FuncFormatter(lambda value, _: number(value))


def ticks(top: float, integer: bool = True, most: int = 8) -> list[float]:
    """Round steps from 0 up to `top`, as matplotlib chooses them."""
    locator = MaxNLocator(most, steps=[1, 2, 2.5, 5, 10], integer=integer)
    return [t for t in locator.tick_values(0, top) if 0 <= t <= top]


def figure(width: float, height: float, title: str) -> Figure:
    """A figure of width x height px with its title on top, its axes placed by `axes`."""
    fig = plotstyle.figure(width, height, layout=None)
    fig.text(0.5, 1 - 8 / height, title, ha="center", va="top", fontsize=TITLE, fontweight="bold")
    return fig


def axes(fig: Figure, left: float, top: float, right: float, bottom: float) -> Axes:
    """Axes over a box given in px from the figure's top left."""
    width, height = fig.bbox.width, fig.bbox.height
    return fig.add_axes((left / width, 1 - bottom / height, (right - left) / width, (bottom - top) / height))


def nothing(ax: Axes, text: str) -> None:
    """A note in the middle of a plot area, on white over whatever is drawn there."""
    white = {"facecolor": "white", "edgecolor": "none", "pad": 3}
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#777777", bbox=white)


def beyond_bars(ax: Axes, most: float, labels: list[str]) -> float:
    """The end of a horizontal axis that leaves room right of the longest bar (`most`) for its label."""
    room = max(text_width(label, SMALL) for label in labels) + 12  # px
    return most / max(1 - room / ax.bbox.width, 0.5) or 1


def names_left(ax: Axes, names: list[str]) -> None:
    """One row per name, the first on top."""
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -0.5)


def legend_below(fig: Figure, entries: list[tuple[str, str]], bottom: float) -> None:
    """A row of coloured squares with their labels, centred, `bottom` px above the figure's bottom."""
    fig.legend(
        handles=[Patch(color=color, label=label) for color, label in entries],
        loc="lower center",
        bbox_to_anchor=(0.5, bottom / fig.bbox.height),
        ncol=len(entries),
        handlelength=1,
        handleheight=1,
        borderaxespad=0,
    )


# ---- gaps ------------------------------------------------------------------------------------


class Threshold(NamedTuple):
    minutes: float
    legend: str
    color: str
    dashed: bool


def thresholds(stats: DatasetStats) -> list[Threshold]:
    """The two segment thresholds, each with the share of gaps it cuts."""
    gaps, window, gap = stats.gaps, stats.settings.turn_window_minutes, stats.settings.gap_minutes
    return [
        Threshold(
            window,
            f"turn_window_minutes = {window:g}: one sender's messages closer than this form one turn "
            f"({pct(1 - gaps.share_longer(window))} of gaps shorter)",
            WINDOW_COLOR,
            dashed=True,
        ),
        Threshold(
            gap,
            f"gap_minutes = {gap:g}: a longer silence starts a new conversation "
            f"({pct(gaps.share_longer(gap))} of gaps longer)",
            GAP_COLOR,
            dashed=False,
        ),
    ]


GAP_HEIGHT, LEGEND_LINE = 480, 19  # px: the image, a line of its legend


def plot_gaps(stats: DatasetStats) -> Figure:
    edges, counts = list(stats.gaps.edges_minutes) or [0], list(stats.gaps.counts)
    total = sum(counts)
    # a log axis has no 0: the first bin (shorter than edges[1]) is drawn from half of edges[1],
    # the last one (longer than edges[-1]) up to twice edges[-1]
    positive = [e for e in edges if e > 0] or [1.0]
    lefts = [e if e > 0 else positive[0] / 2 for e in edges]
    rights = [*lefts[1:], lefts[-1] * 2]
    marks = thresholds(stats)
    # a threshold beyond the bins widens the axis; one below it (0: no merging) sits on its left edge
    hi = max([rights[-1]] + [m.minutes * 1.5 for m in marks])
    top = max(counts + [1]) * 1.05
    y_ticks = ticks(top)
    # the x tick labels are turned 45 degrees so that close ones do not overlap; under them the axis
    # label, then a legend line per threshold and one for the cumulative share
    labels = [minutes_label(e) for e in lefts[1:]]
    turned = max([text_width(label, LABEL) for label in labels] + [0]) * 0.71 + 12
    bottom = GAP_HEIGHT - 8 - LEGEND_LINE * (len(marks) + 1) - 26 - turned
    left = max(text_width(number(t), LABEL) for t in y_ticks) + 34  # the tick labels and "gaps"
    fig = figure(WIDTH, GAP_HEIGHT, f"Gaps between consecutive messages ({total:,})")
    ax = axes(fig, left, 36, WIDTH - 66, bottom)
    ax.bar(
        lefts,
        counts,
        width=[r - x for x, r in zip(lefts, rights)],
        align="edge",
        color=BAR_COLOR,
        edgecolor="white",
        linewidth=0.7,
    )
    ax.set_xscale("log")
    ax.set_xlim(lefts[0], hi)
    ax.set_xticks(lefts[1:], labels, rotation=45, ha="right", rotation_mode="anchor")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("gap between consecutive messages (log scale)")
    ax.set_yticks(y_ticks)
    ax.yaxis.set_major_formatter(NUMBER)
    ax.set_ylim(0, top)
    ax.set_ylabel("gaps")
    ax.yaxis.grid(True)
    handles = [
        ax.axvline(
            max(mark.minutes, lefts[0]),
            color=mark.color,
            linestyle="--" if mark.dashed else "-",
            linewidth=1.5,
        )
        for mark in marks
    ]
    if not total:
        nothing(ax, "no gaps: no chat has two kept messages")
    # the cumulative share helps read "how many gaps would this threshold cut"
    share = ax.twinx()
    share.spines["right"].set_visible(True)
    share.set_ylim(0, 1.02)
    share.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    share.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    share.set_ylabel("share of gaps up to x", rotation=270, va="bottom")
    shares = [n / total for n in accumulate(counts)] if total else []
    (line,) = share.plot(rights[: len(shares)], shares, color=MUTED, linewidth=1, marker="o", markersize=3.5)
    handles.append(line)
    texts = [m.legend for m in marks] + ["share of gaps up to x"]
    fig.legend(
        handles,
        [one_line(text, SMALL, WIDTH - 80) for text in texts],
        loc="lower center",
        bbox_to_anchor=(0.5, 6 / GAP_HEIGHT),
        borderaxespad=0,
        handlelength=2.5,
    )
    return fig


# ---- lengths ---------------------------------------------------------------------------------

_PERCENTILES = ("min", "p50", "mean", "p90", "p99", "max")


def plot_lengths(stats: DatasetStats) -> Figure:
    panels = (
        ("turns", stats.turns_per_sample, None),
        ("characters", stats.chars_per_sample, None),
        ("approx. tokens", stats.approx_tokens_per_sample, stats.settings.max_tokens),
    )
    width, height = 900, 320
    fig = figure(
        width, height, f"Per sample: percentiles across the {stats.turns_per_sample.count:,} samples"
    )
    panel_width = width / len(panels)
    for i, (title, summary, limit) in enumerate(panels):
        names = [k for k in _PERCENTILES if getattr(summary, k) is not None]
        values = [getattr(summary, k) for k in names]
        top = max(values + [0]) * 1.15 or 1
        if limit:
            top = max(top, limit * 1.12)
        y_ticks = ticks(top, integer=all(float(v).is_integer() for v in values), most=6)
        left = i * panel_width + max(text_width(number(t), LABEL) for t in y_ticks) + 20
        ax = axes(fig, left, 58, (i + 1) * panel_width - 12, height - 30)
        ax.set_title(title)
        if not names:
            ax.set_xticks([])
            ax.set_yticks([])
            nothing(ax, "no samples")
            continue
        bars = ax.bar(
            range(len(names)), values, width=0.8, color=[ME_COLOR if n == "p50" else BAR_COLOR for n in names]
        )
        ax.set_xticks(range(len(names)), names)
        ax.set_xlim(-0.5, len(names) - 0.5)
        ax.set_yticks(y_ticks)
        ax.yaxis.set_major_formatter(NUMBER)
        ax.set_ylim(0, top)
        ax.yaxis.grid(True)
        slot = ax.bbox.width / len(names)  # px per bar
        labels = [f"{v:,.0f}" if v >= 10 else f"{v:g}" for v in values]
        labels = [s if text_width(s, SMALL) <= slot else short_number(v) for s, v in zip(labels, values)]
        ax.bar_label(bars, labels, fontsize=SMALL, padding=2)
        if limit:
            ax.axhline(limit, color=GAP_COLOR, linestyle=(0, (4, 2.5)), linewidth=0.8)
            ax.text(
                len(names) - 0.5,
                limit,
                f"max_tokens {limit:,}",
                ha="right",
                va="bottom",
                color=GAP_COLOR,
                fontsize=SMALL,
            )
    return fig


# ---- bars per contact ------------------------------------------------------------------------


def contact_rows(stats: DatasetStats) -> list[tuple[str, SplitCounts]]:
    """A row per contact, in stats.json's order (the most samples first), the ones after the first
    MAX_CONTACTS_PLOTTED summed up in one."""
    contacts = list(stats.contacts.items())
    shown, rest = contacts[:MAX_CONTACTS_PLOTTED], contacts[MAX_CONTACTS_PLOTTED:]
    if rest:
        shown.append((f"{len(rest):,} more contacts", sum((v for _, v in rest), SplitCounts())))
    return shown


def _names(rows: list[tuple[str, object]]) -> tuple[list[str], float]:
    """The row names cut to NAME_WIDTH, and the px left of the plot area that they take."""
    names = [one_line(name, LABEL, NAME_WIDTH) for name, _ in rows]
    return names, max([text_width(n, LABEL) for n in names] + [0]) + 18


def plot_contacts(stats: DatasetStats) -> Figure:
    shown = contact_rows(stats)
    height = 120 + ROW * max(len(shown), 1)
    fig = figure(WIDTH, height, "Conversations and samples per contact")
    if not shown:
        ax = axes(fig, 20, 40, WIDTH - 20, height - 40)
        ax.set_axis_off()
        nothing(ax, "no samples")
        return fig
    names, left = _names(shown)
    ax = axes(fig, left, 40, WIDTH - 20, height - 80)
    totals = [0] * len(shown)
    for split, color in SPLIT_COLORS.items():
        values = [getattr(v, split) for _, v in shown]
        bars = ax.barh(range(len(shown)), values, left=totals, height=0.8, color=color)
        totals = [a + b for a, b in zip(totals, values)]
    labels = [f"{v.conversations:,} conv." for _, v in shown]
    ax.bar_label(bars, labels, fontsize=SMALL, padding=3)  # at the end of the last split's bars
    names_left(ax, names)
    top = beyond_bars(ax, max(totals), labels)
    ax.set_xticks(ticks(top))
    ax.xaxis.set_major_formatter(NUMBER)
    ax.set_xlim(0, top)
    ax.xaxis.grid(True)
    ax.set_xlabel("samples")
    legend_below(fig, [(color, f"{split} samples") for split, color in SPLIT_COLORS.items()], 8)
    return fig


def plot_my_share(stats: DatasetStats) -> Figure:
    rows = [("all samples", stats.my_share_of_turns)]
    height = 102 + ROW * len(rows)
    fig = figure(WIDTH, height, "My share of turns")
    names, left = _names(rows)
    ax = axes(fig, left, 40, WIDTH - 24, height - 62)
    shares = [share for _, share in rows]
    ax.barh(range(len(rows)), shares, height=0.8, color=ME_COLOR)
    ax.barh(range(len(rows)), [1 - s for s in shares], left=shares, height=0.8, color=THEM_COLOR)
    for y, share in enumerate(shares):
        for lo, hi, text, color in (
            (0, share, f"{share:.0%}", "white"),
            (share, 1, f"{1 - share:.0%}", TEXT),
        ):
            if (hi - lo) * ax.bbox.width > text_width(text, SMALL) + 4:  # a sliver has no room for it
                ax.text((lo + hi) / 2, y, text, ha="center", va="center", color=color, fontsize=SMALL)
    ax.axvline(0.5, color=MUTED, linewidth=0.8, linestyle=(0, (1.5, 2)))
    names_left(ax, names)
    ax.set_xlim(0, 1)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    me = one_line(stats.me, SMALL, 300)
    legend_below(fig, [(ME_COLOR, f"mine ({me}, assistant)"), (THEM_COLOR, "theirs (user)")], 8)
    return fig


# ---- filters ---------------------------------------------------------------------------------


def plot_filters(stats: DatasetStats) -> Figure:
    f, seg = stats.filter, stats.segment
    conversations = dict(seg.conversations_dropped)
    if seg.duplicates_dropped:
        conversations["duplicate samples"] = seg.duplicates_dropped
    panels = (
        (f"messages removed (kept {f.messages_kept:,} of {f.messages_seen:,})", f.messages_removed),
        (f"chats removed (kept {f.chats_kept:,} of {f.chats_seen:,})", f.chats_removed),
        (
            f"conversations and samples dropped (conversations kept {seg.conversations_kept:,} of "
            f"{seg.conversations:,})",
            conversations,
        ),
    )
    row, head, foot = 24, 30, 32  # px: a bar, a panel's title, its x axis
    height = 40 + sum(head + row * max(len(d), 1) + foot for _, d in panels)
    fig = figure(WIDTH, height, "What each filter removed")
    _, left = _names([item for _, d in panels for item in d.items()])
    top = 40
    for title, removed in panels:
        ax = axes(fig, left, top + head, WIDTH - 24, top + head + row * max(len(removed), 1))
        top += head + row * max(len(removed), 1) + foot
        ax.set_title(one_line(title, LABEL, WIDTH - 24 - left, bold=True), loc="left")
        if not removed:
            ax.set_xticks([])
            ax.set_yticks([])
            nothing(ax, "nothing removed")
            continue
        items = sorted(removed.items(), key=lambda kv: (-kv[1], kv[0]))
        values = [v for _, v in items]
        labels = [f"{v:,}" for v in values]
        bars = ax.barh(range(len(items)), values, height=0.76, color=FILTER_COLOR)
        ax.bar_label(bars, labels, fontsize=SMALL, padding=3)
        names_left(ax, _names(items)[0])
        most = beyond_bars(ax, max(values), labels)
        ax.set_xticks(ticks(most))
        ax.xaxis.set_major_formatter(NUMBER)
        ax.set_xlim(0, most)
        ax.xaxis.grid(True)
    return fig


# ---- files -----------------------------------------------------------------------------------


def write_plots(run_dir: Path, stats: DatasetStats) -> None:
    """RUN/plots/*.png from the stats; a failure is one line naming the folder."""
    try:
        with style():
            for name, plot in (
                ("gaps", plot_gaps),
                ("lengths", plot_lengths),
                ("contacts", plot_contacts),
                ("my_share", plot_my_share),
                ("filters", plot_filters),
            ):
                write_bytes(run_dir / PLOTS[name], png_bytes(plot(stats)))
    except Exception as exc:  # matplotlib's or the file system's
        raise ChatlikeError(
            f"drawing the report plots into {run_dir / 'plots'} failed: {type(exc).__name__}: {exc}"
        ) from None
