"""The one quantile definition the report, the training plan and the eval metrics share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import msgspec


def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values: the value at index floor(q * n), the last for q = 1; 0 for
    none. Always one of the values (a length, a token count), never an average of two."""
    if not ordered:
        return 0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Summary(msgspec.Struct, frozen=True, omit_defaults=True):
    """count, mean, min, p50, p90, p99 and max of whole numbers, as stats.json and the report show
    them; only `count` (0) when there are none."""

    count: int
    mean: Optional[float] = None
    min: Optional[int] = None
    p50: Optional[int] = None
    p90: Optional[int] = None
    p99: Optional[int] = None
    max: Optional[int] = None


def summarize(values: Sequence[int]) -> Summary:
    if not values:
        return Summary(0)
    v = sorted(values)
    return Summary(
        len(v), round(sum(v) / len(v), 2), v[0], quantile(v, 0.5), quantile(v, 0.9), quantile(v, 0.99), v[-1]
    )
