"""The one quantile definition the report, the training plan and the eval metrics share."""

from __future__ import annotations

from collections.abc import Sequence


def quantile(ordered: Sequence[float], q: float) -> float:
    """The q-quantile of sorted values: the value at index floor(q * n), the last for q = 1; 0 for
    none. Always one of the values (a length, a token count), never an average of two."""
    if not ordered:
        return 0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarize(values: Sequence[int]) -> dict[str, float]:
    """count, mean, min, p50, p90, p99 and max, as stats.json and the report show them."""
    if not values:
        return {"count": 0}
    v = sorted(values)
    return {
        "count": len(v),
        "mean": round(sum(v) / len(v), 2),
        "min": v[0],
        "p50": quantile(v, 0.5),
        "p90": quantile(v, 0.9),
        "p99": quantile(v, 0.99),
        "max": v[-1],
    }
