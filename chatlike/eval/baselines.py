"""The parrot: a baseline that needs no model. For each held-out item it answers with a random reply
of the person's from data/train.jsonl, whatever was said. It sounds exactly like the person and
ignores the conversation, so a clone must beat it to show that it answers, not only imitates.

It is drawn several times (eval.parrot_draws, seeded by eval.seed); each metric is reported as the
median over the draws with their range (lowest to highest), and the tuned model is compared with it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from chatlike.quantiles import quantile


def parrot(n_items: int, train_replies: Sequence[str], draws: int, seed: int) -> list[list[str]]:
    """`draws` reply sets of n_items replies, each a training reply drawn at random (with replacement)."""
    rng = random.Random(seed)
    return [[rng.choice(train_replies) for _ in range(n_items)] for _ in range(draws)]


def spread(values: Sequence[float]) -> dict[str, float]:
    """{"median", "low", "high"} of a metric over the parrot's draws."""
    ordered = sorted(values)
    return {"median": quantile(ordered, 0.5), "low": ordered[0], "high": ordered[-1]}


def versus_draws(tuned: float, draws: dict[str, float], higher_is_better: bool) -> str:
    """ "better" when the tuned model beats every draw of the parrot, "worse" when every draw beats
    it, "tie" when it lies within the draws' range."""
    above, below = tuned > draws["high"], tuned < draws["low"]
    if above or below:
        return "better" if above == higher_is_better else "worse"
    return "tie"


def versus_zero(difference: dict[str, float | None]) -> str:
    """ "better" when a tuned - parrot difference's interval lies above 0, "worse" below, else "tie"."""
    if difference["low"] is None:
        return "tie"
    if difference["low"] > 0:
        return "better"
    return "worse" if difference["high"] < 0 else "tie"
