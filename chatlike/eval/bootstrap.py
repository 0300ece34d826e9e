"""Percentile bootstrap intervals over held-out items, seeded so a rerun gives the same interval.

Items (replies) are resampled with replacement RESAMPLES times; the interval is the LEVEL central
range of the statistic over the resamples, read with chatlike.quantiles.quantile. Every interval of
one eval uses eval.seed, so intervals over the same items resample the same rows (paired).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chatlike.eval.results import Interval
from chatlike.quantiles import quantile

RESAMPLES = 1000
LEVEL = 0.95


def interval(columns: Sequence[Sequence[float]], statistic: Callable[..., object], seed: int) -> Interval:
    """`statistic` of the columns (one value per item each) and its
    bootstrap interval. `statistic` takes one numpy array per column, items on the last axis, and
    reduces that axis (so it serves the whole data and all resamples at once). None for no items."""
    import numpy as np

    data = [np.asarray(c, dtype=float) for c in columns]
    n = len(data[0]) if data else 0
    if n == 0:
        return Interval(None, None, None)
    rows = np.random.default_rng(seed).integers(0, n, size=(RESAMPLES, n))
    resampled = sorted(float(v) for v in statistic(*(c[rows] for c in data)))
    tail = round((1 - LEVEL) / 2, 6)
    return Interval(float(statistic(*data)), quantile(resampled, tail), quantile(resampled, 1 - tail))


def mean(values: Sequence[float], seed: int) -> Interval:
    """The mean of per-item values with its bootstrap interval."""
    return interval([values], lambda v: v.mean(axis=-1), seed)
