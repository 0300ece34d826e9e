"""The dataset report's plots (RUN/plots/*.png) from stats.json, drawn with Pillow.

Matplotlib took a third of prepare's CPU time to import and draw these five; Pillow draws them in a
few tens of milliseconds. Text is rendered by FreeType (anti-aliased) at the final size; bars, grid
lines and ticks sit on whole pixels, so only the sloped line needs supersampling. The PNGs hold no
metadata: the same stats give byte-identical files.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import struct
import zlib
from pathlib import Path
from typing import Any, NamedTuple

from PIL import Image, ImageDraw, ImageFont

from chatlike.data.report import (
    GAP_COLOR,
    MAX_CONTACTS_PLOTTED,
    ME_COLOR,
    PLOTS,
    SPLIT_COLORS,
    THEM_COLOR,
    WINDOW_COLOR,
    minutes_label,
    pct,
    share_of_gaps_longer,
)
from chatlike.files import write_bytes

WIDTH = 800  # px: matplotlib's 8 in at 100 dpi, as before
BAR_COLOR, FILTER_COLOR = "#8da0cb", "#c44e52"
TEXT, MUTED, SPINE, GRID = "#222222", "#555555", "#333333", "#e3e3e3"
TITLE, LABEL, SMALL = 15, 12, 11  # font sizes in px: matplotlib's 10.8, 9 and 8 pt at 100 dpi
NAME_WIDTH = 190  # px of a contact or rule name before it is cut with "…"
ROW = 32  # px per bar row


# ---- drawing primitives ------------------------------------------------------------------------


@functools.cache
def _font_dir() -> str | None:
    # matplotlib's bundled DejaVu Sans, found without importing matplotlib (a third of a second)
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    return f"{list(spec.submodule_search_locations)[0]}/mpl-data/fonts/ttf"


@functools.cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans of `size` px; Pillow's own font when matplotlib's data folder is missing."""
    folder = _font_dir()
    if folder:
        try:
            return ImageFont.truetype(f"{folder}/DejaVuSans{'-Bold' if bold else ''}.ttf", size)
        except OSError:
            pass
    return ImageFont.load_default(size=size)


def warm_up() -> None:
    """Load the fonts the plots use (prepare calls this on a thread while it reads the chats)."""
    for size in (TITLE, LABEL, SMALL):
        font(size)
        font(size, True)


def one_line(text: str, size: int, width: float, bold: bool = False) -> str:
    """`text` on one line, cut with "…" to at most `width` px."""
    text = " ".join(str(text).split())  # no newline or tab may break the row layout
    f = font(size, bold)
    if f.getlength(text) <= width:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix that fits with the ellipsis
        mid = (lo + hi + 1) // 2
        if f.getlength(text[:mid].rstrip() + "…") <= width:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + "…"


def text_width(text: str, size: int, bold: bool = False) -> float:
    return font(size, bold).getlength(text)


def number(value: float) -> str:
    """1,234 for whole numbers, 5.41 otherwise."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"


def short_number(value: float) -> str:
    """135k, 1.2M: a number for a narrow bar."""
    for size, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.3g}"


class Scale(NamedTuple):
    """Values lo..hi onto pixels start..end (end < start for a y axis), linear or logarithmic."""

    lo: float
    hi: float
    start: float
    end: float
    log: bool = False

    def __call__(self, value: float) -> float:
        if self.log:
            t = (math.log(value) - math.log(self.lo)) / (math.log(self.hi) - math.log(self.lo))
        else:
            t = (value - self.lo) / (self.hi - self.lo)
        return self.start + t * (self.end - self.start)


def nice_ticks(top: float, integer: bool = False, most: int = 6) -> list[float]:
    """0 and round steps (1, 2, 2.5 or 5 times a power of ten) up to `top`."""
    if not top > 0:
        return [0]
    raw = top / most
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw and not (integer and m * mag % 1))
    return [round(i * step, 12) for i in range(int(top / step + 1e-9) + 1)]


class Canvas:
    """An RGB image with the few drawing operations the plots need, in px."""

    def __init__(self, width: int, height: int) -> None:
        self.image = Image.new("RGB", (width, height), "white")
        self.draw = ImageDraw.Draw(self.image)

    def text(
        self,
        xy: tuple[float, float],
        text: str,
        size: int = LABEL,
        color: str = TEXT,
        anchor: str = "la",
        bold: bool = False,
    ) -> None:
        """`anchor` as Pillow's: l/m/r then a/m/s/d (ascender, middle, baseline, descender)."""
        self.draw.text((round(xy[0]), round(xy[1])), text, fill=color, font=font(size, bold), anchor=anchor)

    def rotated_text(
        self, xy: tuple[float, float], text: str, angle: int, size: int = LABEL, anchor: str = "mm"
    ) -> None:
        """Text turned `angle` degrees counterclockwise; `anchor` places its turned box: l/m/r, t/m/b."""
        f = font(size)
        left, top, right, bottom = f.getbbox(text)
        mask = Image.new("L", (right - left + 4, bottom - top + 4))
        ImageDraw.Draw(mask).text((2 - left, 2 - top), text, fill=255, font=f)
        if angle == 90:
            mask = mask.transpose(Image.Transpose.ROTATE_90)
        elif angle == 270:
            mask = mask.transpose(Image.Transpose.ROTATE_270)
        else:
            mask = mask.rotate(angle, Image.Resampling.BICUBIC, expand=True)
        box = mask.getbbox()
        if box is None:
            return
        mask = mask.crop(box)
        w, h = mask.size
        x = xy[0] - {"l": 0, "m": w / 2, "r": w}[anchor[0]]
        y = xy[1] - {"t": 0, "m": h / 2, "b": h}[anchor[1]]
        self.image.paste(TEXT, (round(x), round(y)), mask)

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: str) -> None:
        """A filled rectangle on whole pixels, x1 and y1 excluded."""
        x0, y0, x1, y1 = round(x0), round(y0), round(x1), round(y1)
        if x1 > x0 and y1 > y0:
            self.draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=color)

    def vline(
        self, x: float, y0: float, y1: float, color: str, width: int = 1, dash: tuple[int, int] | None = None
    ) -> None:
        left = round(x - width / 2)
        top, bottom = sorted((round(y0), round(y1)))
        on, off = dash or (bottom - top, 0)
        for y in range(top, bottom, on + off):
            self.draw.rectangle((left, y, left + width - 1, min(y + on, bottom) - 1), fill=color)

    def hline(
        self, y: float, x0: float, x1: float, color: str, width: int = 1, dash: tuple[int, int] | None = None
    ) -> None:
        top = round(y - width / 2)
        left, right = sorted((round(x0), round(x1)))
        on, off = dash or (right - left, 0)
        for x in range(left, right, on + off):
            self.draw.rectangle((x, top, min(x + on, right) - 1, top + width - 1), fill=color)

    def polyline(self, points: list[tuple[float, float]], color: str, width: float, dot: float = 0) -> None:
        """An anti-aliased line through `points`, with a dot of radius `dot` on each: drawn 4x larger
        on a mask of its bounding box, then shrunk."""
        if not points:
            return
        k, pad = 4, math.ceil(max(width, dot)) + 2
        x0, y0 = math.floor(min(x for x, _ in points)) - pad, math.floor(min(y for _, y in points)) - pad
        x1, y1 = math.ceil(max(x for x, _ in points)) + pad, math.ceil(max(y for _, y in points)) + pad
        mask = Image.new("L", ((x1 - x0) * k, (y1 - y0) * k))
        draw = ImageDraw.Draw(mask)
        big = [((x - x0) * k, (y - y0) * k) for x, y in points]
        if len(big) > 1:
            draw.line(big, fill=255, width=round(width * k), joint="curve")
        r = dot * k
        for x, y in big if dot else ():
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
        self.image.paste(color, (x0, y0), mask.reduce(k))

    def png(self) -> bytes:
        """The image as PNG bytes, with no chunk but the pixels (the same stats give the same bytes).

        Written here, not by Pillow: Pillow's encoder tries every row filter and takes twice as long
        on these mostly white images (and imports five image plugins first)."""
        width, height = self.image.size
        raw, stride = self.image.tobytes(), width * 3
        rows = b"".join(b"\0" + raw[i : i + stride] for i in range(0, len(raw), stride))  # 0: no filter
        header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows, 3))
            + _chunk(b"IEND", b"")
        )


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


class Box(NamedTuple):
    """A plot area in px."""

    left: float
    top: float
    right: float
    bottom: float


def y_axis(c: Canvas, box: Box, y: Scale, ticks: list[float], labels: list[str] | None = None) -> None:
    """Light grid lines across `box` and labelled ticks on its left edge."""
    for value, label in zip(ticks, labels or [number(t) for t in ticks]):
        py = y(value)
        if value:
            c.hline(py, box.left, box.right, GRID)
        c.hline(py, box.left - 4, box.left, SPINE)
        c.text((box.left - 7, py), label, anchor="rm")
    c.vline(box.left, box.top, box.bottom + 1, SPINE)


def x_axis(c: Canvas, box: Box, x: Scale, ticks: list[float], labels: list[str] | None = None) -> None:
    """Light grid lines down `box` and labelled ticks under it."""
    for value, label in zip(ticks, labels or [number(t) for t in ticks]):
        px = x(value)
        if value:
            c.vline(px, box.top, box.bottom, GRID)
        c.vline(px, box.bottom, box.bottom + 4, SPINE)
        room = c.image.width - 3 - px - text_width(label, LABEL) / 2  # the last label may not be cut off
        c.text((px + min(room, 0), box.bottom + 7), label, anchor="ma")
    c.hline(box.bottom, box.left, box.right + 1, SPINE)


def legend(c: Canvas, x: float, y: float, entries: list[tuple[str, str]]) -> None:
    """A row of colored squares with their labels, centred on x."""
    gap, square = 18, 11
    widths = [square + 5 + text_width(label, SMALL) for _, label in entries]
    left = x - (sum(widths) + gap * (len(entries) - 1)) / 2
    for (color, label), w in zip(entries, widths):
        c.rect(left, y - square / 2, left + square, y + square / 2, color)
        c.text((left + square + 5, y), label, size=SMALL, anchor="lm")
        left += w + gap


def nothing(c: Canvas, box: Box, text: str) -> None:
    """A note in the middle of an empty plot area, on white over whatever is drawn there."""
    xy = ((box.left + box.right) / 2, (box.top + box.bottom) / 2)
    left, top, right, bottom = c.draw.textbbox(xy, text, font=font(LABEL), anchor="mm")
    c.rect(left - 6, top - 4, right + 6, bottom + 4, "white")
    c.text(xy, text, color="#777777", anchor="mm")


# ---- gaps --------------------------------------------------------------------------------------


class Threshold(NamedTuple):
    minutes: float
    legend: str
    color: str
    dashed: bool


def thresholds(stats: dict[str, Any]) -> list[Threshold]:
    """The two segment thresholds, each with the share of gaps it cuts."""
    gaps, settings = stats["gaps"], stats["settings"]
    window, gap = settings["turn_window_minutes"], settings["gap_minutes"]
    return [
        Threshold(
            window,
            f"turn_window_minutes = {window:g}: one sender's messages closer than this form one turn "
            f"({pct(1 - share_of_gaps_longer(gaps, window))} of gaps shorter)",
            WINDOW_COLOR,
            dashed=True,
        ),
        Threshold(
            gap,
            f"gap_minutes = {gap:g}: a longer silence starts a new conversation "
            f"({pct(share_of_gaps_longer(gaps, gap))} of gaps longer)",
            GAP_COLOR,
            dashed=False,
        ),
    ]


GAP_HEIGHT, GAP_LEGEND = 480, 17  # px: the image, a legend line


class GapLayout(NamedTuple):
    """Where the gap histogram puts things: its plot area, log-scale x axis, bins and thresholds."""

    box: Box
    x: Scale
    lefts: list[float]
    rights: list[float]
    counts: list[int]
    marks: list[Threshold]


def gap_layout(stats: dict[str, Any]) -> GapLayout:
    edges, counts = list(stats["gaps"]["edges_minutes"]) or [0], list(stats["gaps"]["counts"])
    # a log axis has no 0: the first bin (shorter than edges[1]) is drawn from half of edges[1],
    # the last one (longer than edges[-1]) up to twice edges[-1]
    positive = [e for e in edges if e > 0] or [1.0]
    lefts = [e if e > 0 else positive[0] / 2 for e in edges]
    rights = [*lefts[1:], lefts[-1] * 2]
    marks = thresholds(stats)
    # a threshold beyond the bins widens the axis; one below it (0: no merging) sits on its left edge
    hi = max([rights[-1]] + [m.minutes * 1.5 for m in marks])
    tick_labels = max([text_width(minutes_label(e), LABEL) for e in lefts[1:]] + [0]) * 0.71 + 16
    bottom = GAP_HEIGHT - 10 - GAP_LEGEND * (len(marks) + 1) - 22 - tick_labels
    box = Box(text_width(f"{max(counts + [1]):,}", LABEL) + 34, 36, WIDTH - 66, bottom)
    x = Scale(lefts[0], hi, box.left, box.right, log=True)
    return GapLayout(box, x, lefts, rights, counts, marks)


def plot_gaps(stats: dict[str, Any]) -> Canvas:
    g = gap_layout(stats)
    box, x, counts, total = g.box, g.x, g.counts, sum(g.counts)
    c = Canvas(WIDTH, GAP_HEIGHT)
    c.text(
        (WIDTH / 2, 10), f"Gaps between consecutive messages ({total:,})", size=TITLE, anchor="ma", bold=True
    )
    top = max(counts + [1]) * 1.05
    y = Scale(0, top, box.bottom, box.top)
    y_axis(c, box, y, nice_ticks(top, integer=True, most=8))
    for left, right, n in zip(g.lefts, g.rights, counts):
        c.rect(x(left) + 0.5, y(n), x(right) - 0.5, box.bottom, BAR_COLOR)  # a white line between bars
    # x ticks on the bin edges, turned 45 degrees like matplotlib's so that close ones do not overlap
    for edge in g.lefts[1:]:
        c.vline(x(edge), box.bottom, box.bottom + 4, SPINE)
        c.rotated_text((x(edge) + 4, box.bottom + 7), minutes_label(edge), 45, anchor="rt")
    c.hline(box.bottom, box.left, box.right + 1, SPINE)
    legend_top = GAP_HEIGHT - 10 - GAP_LEGEND * (len(g.marks) + 1)
    c.text(
        ((box.left + box.right) / 2, legend_top - 8),
        "gap between consecutive messages (log scale)",
        anchor="md",
    )
    c.rotated_text((12, (box.top + box.bottom) / 2), "gaps", 90)
    for mark in g.marks:
        px = min(max(x(max(mark.minutes, g.lefts[0])), box.left), box.right)
        c.vline(px, box.top, box.bottom, mark.color, width=2, dash=(7, 4) if mark.dashed else None)
    if not total:
        nothing(c, box, "no gaps: no chat has two kept messages")
    # the cumulative share helps read "how many gaps would this threshold cut"
    share = Scale(0, 1.02, box.bottom, box.top)
    for t in (0, 0.2, 0.4, 0.6, 0.8, 1.0):
        c.hline(share(t), box.right, box.right + 4, SPINE)
        c.text((box.right + 7, share(t)), f"{t:.0%}", anchor="lm")
    c.vline(box.right, box.top, box.bottom + 1, SPINE)
    c.rotated_text((WIDTH - 12, (box.top + box.bottom) / 2), "share of gaps up to x", 270)
    if total:
        running, points = 0, []
        for right, n in zip(g.rights, counts):
            running += n
            points.append((x(right), share(running / total)))
        c.polyline(points, MUTED, width=1.2, dot=2.6)
    # the legend, one line per threshold and one for the cumulative line
    lines = [(m.color, m.dashed, m.legend) for m in g.marks] + [(MUTED, None, "share of gaps up to x")]
    left = max(10, (WIDTH - max(30 + text_width(text, SMALL) for *_, text in lines)) / 2)
    for i, (color, dashed, text) in enumerate(lines):
        ly = legend_top + 8 + GAP_LEGEND * i
        if dashed is None:
            c.polyline([(left, ly), (left + 22, ly)], color, width=1.2, dot=0)
            c.polyline([(left + 11, ly)], color, width=0, dot=2.6)
        else:
            c.hline(ly, left, left + 22, color, width=2, dash=(6, 3) if dashed else None)
        c.text((left + 30, ly), one_line(text, SMALL, WIDTH - 40 - left), size=SMALL, anchor="lm")
    return c


# ---- lengths -----------------------------------------------------------------------------------

_PERCENTILES = ("min", "p50", "mean", "p90", "p99", "max")


def plot_lengths(stats: dict[str, Any]) -> Canvas:
    panels = (
        ("turns", "turns_per_sample"),
        ("characters", "chars_per_sample"),
        ("approx. tokens", "approx_tokens_per_sample"),
    )
    width, height = 900, 320
    c = Canvas(width, height)
    count = stats.get("turns_per_sample", {}).get("count", 0)
    c.text(
        (width / 2, 8),
        f"Per sample: percentiles across the {count:,} samples",
        size=TITLE,
        anchor="ma",
        bold=True,
    )
    panel_width = width / len(panels)
    for i, (title, key) in enumerate(panels):
        summary = stats.get(key, {})
        names = [k for k in _PERCENTILES if k in summary]
        values = [summary[k] for k in names]
        top = max(values + [0]) * 1.15 or 1
        limit = stats["settings"]["max_tokens"] if key == "approx_tokens_per_sample" else None
        if limit:
            top = max(top, limit * 1.12)
        ticks = nice_ticks(top, integer=all(float(v).is_integer() for v in values))
        label_width = max(text_width(number(t), LABEL) for t in ticks)
        box = Box(i * panel_width + label_width + 20, 58, (i + 1) * panel_width - 12, height - 30)
        c.text(((box.left + box.right) / 2, 34), title, anchor="ma", bold=True)
        y = Scale(0, top, box.bottom, box.top)
        if not names:
            nothing(c, box, "no samples")
            c.vline(box.left, box.top, box.bottom + 1, SPINE)
            c.hline(box.bottom, box.left, box.right + 1, SPINE)
            continue
        y_axis(c, box, y, ticks)
        slot = (box.right - box.left) / len(names)
        for j, (name, value) in enumerate(zip(names, values)):
            left = box.left + slot * (j + 0.1)
            c.rect(left, y(value), left + slot * 0.8, box.bottom, ME_COLOR if name == "p50" else BAR_COLOR)
            label = f"{value:,.0f}" if value >= 10 else f"{value:g}"
            if text_width(label, SMALL) > slot:
                label = short_number(value)
            c.text((left + slot * 0.4, y(value) - 2), label, size=SMALL, anchor="md")
            c.vline(left + slot * 0.4, box.bottom, box.bottom + 4, SPINE)
            c.text((left + slot * 0.4, box.bottom + 7), name, anchor="ma")
        c.hline(box.bottom, box.left, box.right + 1, SPINE)
        if limit:
            c.hline(y(limit), box.left, box.right, GAP_COLOR, dash=(5, 3))
            c.text(
                (box.right, y(limit) - 3), f"max_tokens {limit:,}", size=SMALL, color=GAP_COLOR, anchor="rd"
            )
    return c


# ---- bars per contact --------------------------------------------------------------------------


def _rows_box(names: list[str], top: float, bottom: float, right: float) -> Box:
    """The plot area right of the row names (cut by one_line to NAME_WIDTH)."""
    return Box(max(text_width(n, LABEL) for n in names) + 18, top, right, bottom)


def _row_names(c: Canvas, box: Box, names: list[str], row: float) -> None:
    for i, name in enumerate(names):
        c.text((box.left - 7, box.top + row * (i + 0.5)), name, anchor="rm")
        c.hline(box.top + row * (i + 0.5), box.left - 4, box.left, SPINE)
    c.vline(box.left, box.top, box.bottom + 1, SPINE)


def contact_rows(stats: dict[str, Any]) -> list[tuple[str, dict[str, int]]]:
    """A row per contact, in stats.json's order (the most samples first), the ones after the first
    MAX_CONTACTS_PLOTTED summed up in one."""
    contacts = list(stats["contacts"].items())
    shown, rest = contacts[:MAX_CONTACTS_PLOTTED], contacts[MAX_CONTACTS_PLOTTED:]
    if rest:
        summed = {k: sum(v[k] for _, v in rest) for k in ("conversations", *SPLIT_COLORS)}
        shown.append((f"{len(rest):,} more contacts", summed))
    return shown


def plot_contacts(stats: dict[str, Any]) -> Canvas:
    shown = contact_rows(stats)
    height = 120 + ROW * max(len(shown), 1)
    c = Canvas(WIDTH, height)
    c.text((WIDTH / 2, 10), "Conversations and samples per contact", size=TITLE, anchor="ma", bold=True)
    if not shown:
        nothing(c, Box(0, 36, WIDTH, height), "no samples")
        return c
    names = [one_line(name, LABEL, NAME_WIDTH) for name, _ in shown]
    box = _rows_box(names, 40, height - 80, WIDTH - 20)
    row = ROW
    totals = [sum(v[s] for s in SPLIT_COLORS) for _, v in shown]
    top = max(totals) * 1.18 or 1
    x = Scale(0, top, box.left, box.right)
    x_axis(c, box, x, nice_ticks(top, integer=True, most=8))
    for i, ((_, v), total) in enumerate(zip(shown, totals)):
        y0, left = box.top + row * (i + 0.1), 0
        for split, color in SPLIT_COLORS.items():
            c.rect(x(left), y0, x(left + v[split]), y0 + row * 0.8, color)
            left += v[split]
        c.text((x(total) + 6, y0 + row * 0.4), f"{v['conversations']:,} conv.", size=SMALL, anchor="lm")
    _row_names(c, box, names, row)
    c.text(((box.left + box.right) / 2, box.bottom + 26), "samples", anchor="ma")
    legend(c, WIDTH / 2, height - 16, [(color, f"{split} samples") for split, color in SPLIT_COLORS.items()])
    return c


def plot_my_share(stats: dict[str, Any]) -> Canvas:
    # per contact when stats.json holds it, else the whole dataset only
    rows = [("all samples", stats["my_share_of_turns"])] + [
        (name, v["my_share_of_turns"])
        for name, v in list(stats["contacts"].items())[:MAX_CONTACTS_PLOTTED]
        if "my_share_of_turns" in v
    ]
    height = 102 + ROW * len(rows)
    c = Canvas(WIDTH, height)
    c.text((WIDTH / 2, 10), "My share of turns", size=TITLE, anchor="ma", bold=True)
    names = [one_line(name, LABEL, NAME_WIDTH) for name, _ in rows]
    box = _rows_box(names, 40, height - 62, WIDTH - 24)
    row = ROW
    x = Scale(0, 1, box.left, box.right)
    x_axis(c, box, x, [0, 0.25, 0.5, 0.75, 1], ["0%", "25%", "50%", "75%", "100%"])
    for i, (_, share) in enumerate(rows):
        y0, y1, mid = box.top + row * (i + 0.1), box.top + row * (i + 0.9), box.top + row * (i + 0.5)
        c.rect(x(0), y0, x(share), y1, ME_COLOR)
        c.rect(x(share), y0, x(1), y1, THEM_COLOR)
        for lo, hi, text, color in (
            (0, share, f"{share:.0%}", "white"),
            (share, 1, f"{1 - share:.0%}", TEXT),
        ):
            if x(hi) - x(lo) > text_width(text, SMALL) + 4:  # a sliver has no room for its number
                c.text(((x(lo) + x(hi)) / 2, mid), text, size=SMALL, color=color, anchor="mm")
    c.vline(x(0.5), box.top, box.bottom, MUTED, dash=(2, 3))
    _row_names(c, box, names, row)
    me = one_line(stats["source"]["me"], SMALL, 300)
    legend(c, WIDTH / 2, height - 18, [(ME_COLOR, f"mine ({me}, assistant)"), (THEM_COLOR, "theirs (user)")])
    return c


# ---- filters -----------------------------------------------------------------------------------


def plot_filters(stats: dict[str, Any]) -> Canvas:
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
    row, head, foot = 24, 30, 32  # px: a bar, a panel's title, its x axis
    height = 40 + sum(head + row * max(len(d), 1) + foot for _, d in panels)
    c = Canvas(WIDTH, height)
    c.text((WIDTH / 2, 10), "What each filter removed", size=TITLE, anchor="ma", bold=True)
    names = [one_line(name, LABEL, NAME_WIDTH) for _, d in panels for name in d] or [""]
    left = _rows_box(names, 0, 0, 0).left
    top = 40
    for title, removed in panels:
        box = Box(left, top + head, WIDTH - 24, top + head + row * max(len(removed), 1))
        c.text((box.left, top + 18), one_line(title, LABEL, WIDTH - 24 - box.left), anchor="ls", bold=True)
        top = box.bottom + foot
        if not removed:
            nothing(c, box, "nothing removed")
            continue
        items = sorted(removed.items(), key=lambda kv: (-kv[1], kv[0]))
        most = max(v for _, v in items) * 1.15 or 1
        x = Scale(0, most, box.left, box.right)
        x_axis(c, box, x, nice_ticks(most, integer=True, most=8))
        for i, (_, n) in enumerate(items):
            c.rect(x(0), box.top + row * (i + 0.12), x(n), box.top + row * (i + 0.88), FILTER_COLOR)
            c.text((x(n) + 4, box.top + row * (i + 0.5)), f"{n:,}", size=SMALL, anchor="lm")
        _row_names(c, box, [one_line(k, LABEL, NAME_WIDTH) for k, _ in items], row)
    return c


# ---- files -------------------------------------------------------------------------------------


def write_plots(run_dir: Path, stats: dict[str, Any]) -> None:
    """RUN/plots/*.png from the stats."""
    for name, plot in (
        ("gaps", plot_gaps),
        ("lengths", plot_lengths),
        ("contacts", plot_contacts),
        ("my_share", plot_my_share),
        ("filters", plot_filters),
    ):
        write_bytes(run_dir / PLOTS[name], plot(stats).png())
