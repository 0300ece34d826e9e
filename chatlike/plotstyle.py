"""How every chatlike plot looks and is saved: the dataset report's (chatlike.data.plots), eval's and
the sweep summary's. One house style over matplotlib's own defaults (whatever the user's
matplotlibrc says), one palette, figures sized in px, and PNG bytes that are the same for the same
data:

    with plotstyle.style():
        fig = plotstyle.figure(800, 480)              # px; constrained layout
        ax = fig.subplots()
        ...
        write_bytes(path, plotstyle.png_bytes(fig))

No pyplot: Figures drawn by the Agg canvas, no global state. Light to import: matplotlib (about half
a second) is imported when a figure is made.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import TYPE_CHECKING, Any, Iterator, Optional

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 100
FONT = "DejaVu Sans"  # bundled with matplotlib: the same glyphs on every machine
TEXT, MUTED, SPINE, GRID = "#222222", "#555555", "#333333", "#e3e3e3"
TITLE, LABEL, SMALL = 10.8, 9, 8  # font sizes in pt (at 100 dpi a pt is 1.39 px)
STYLE = {
    "font.family": FONT,
    "font.size": LABEL,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "path.simplify": False,
    "text.parse_math": False,  # a "$" in a name is a dollar sign, not the start of a formula
    "text.color": TEXT,
    "axes.labelcolor": TEXT,
    "axes.edgecolor": SPINE,
    "axes.titlesize": LABEL,
    "axes.titleweight": "bold",
    "axes.axisbelow": True,
    "xtick.color": SPINE,
    "ytick.color": SPINE,
    "xtick.labelcolor": TEXT,
    "ytick.labelcolor": TEXT,
    "grid.color": GRID,
    "grid.linewidth": 1,
    "legend.fontsize": SMALL,
    "legend.frameon": False,
}

# the palette: the splits, my turns and theirs, plain bars, the two segment thresholds, removals
SPLIT_COLORS = {"train": "#4c72b0", "val": "#dd8452", "test": "#55a868"}
ME_COLOR, THEM_COLOR, BAR_COLOR = "#4c72b0", "#c8c8c8", "#8da0cb"
WINDOW_COLOR, GAP_COLOR, FILTER_COLOR = "#dd8452", "#c44e52", "#c44e52"


@contextlib.contextmanager
def style(overrides: dict[str, Any] | None = None) -> Iterator[None]:
    """Matplotlib's own defaults with STYLE and `overrides`: make and save figures inside it."""
    import matplotlib

    with matplotlib.rc_context(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a glyph missing from the font (CJK, emoji names) is no error
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(STYLE | (overrides or {}))
        yield


def figure(width: float, height: float, layout: Optional[str] = "constrained") -> Figure:
    """A figure of width x height px. Constrained layout places its subplots, titles and legends;
    layout=None leaves placing them to the caller (the dataset report places its axes in px: a layout
    engine doubles the time a figure takes to draw)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout=layout)


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG, drawn by Agg at DPI, without the "Software: Matplotlib x.y" stamp: the same
    figure gives the same bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # Agg whatever backend matplotlib would pick: no display needed
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()
