"""The parrot: a baseline that needs no model. For each held-out item it answers with a random reply
of the person's from data/train.jsonl, whatever was said. It sounds exactly like the person and
ignores the conversation, so a clone must beat it to show that it answers, not only imitates.

It is drawn several times (eval.parrot_draws, seeded by eval.seed); each metric is reported as the
median over the draws with their range (lowest to highest), and the tuned model is compared with it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from chatlike.eval import bootstrap
from chatlike.eval.results import Interval, ParrotSpread, Spread, TextResults, VersusParrot
from chatlike.quantiles import quantile


def parrot(n_items: int, train_replies: Sequence[str], draws: int, seed: int) -> list[list[str]]:
    """`draws` reply sets of n_items replies, each a training reply drawn at random (with replacement)."""
    rng = random.Random(seed)
    return [[rng.choice(train_replies) for _ in range(n_items)] for _ in range(draws)]


def spread(values: Sequence[float]) -> Spread:
    """The median and the range of a metric over the parrot's draws."""
    ordered = sorted(values)
    return Spread(quantile(ordered, 0.5), ordered[0], ordered[-1])


def versus_draws(tuned: float, draws: Spread, higher_is_better: bool) -> str:
    """ "better" when the tuned model beats every draw of the parrot, "worse" when every draw beats
    it, "tie" when it lies within the draws' range."""
    above, below = tuned > draws.high, tuned < draws.low
    if above or below:
        return "better" if above == higher_is_better else "worse"
    return "tie"


def versus_zero(difference: Interval) -> str:
    """ "better" when a tuned - parrot difference's interval lies above 0, "worse" below, else "tie"."""
    if difference.low is None:
        return "tie"
    if difference.low > 0:
        return "better"
    return "worse" if difference.high < 0 else "tie"


def compare(judged: dict, parrot: list, seed: int, context_gain: Interval | None = None) -> TextResults:
    """The text metrics of the judged reply sets (chatlike.eval.metrics.Judged by name: base, tuned
    and, when judged, real) beside the parrot's draws: style, distance, chrF with bootstrap intervals,
    memorisation, scores, the parrot's spread, and whether the tuned model beats it (on the context
    gain too when given: a parrot's is 0)."""
    names = list(judged)
    per_item_parrot = [sum(col) / len(col) for col in zip(*(p.chrf for p in parrot))]
    draws = ParrotSpread(
        draws=len(parrot),
        distance=spread([p.distance for p in parrot]),
        chrf=spread([sum(p.chrf) / len(p.chrf) for p in parrot]),
        score=spread([p.score for p in parrot]),
    )
    chrf = {n: bootstrap.mean(judged[n].chrf, seed) for n in names if n != "real"}
    chrf["parrot"] = bootstrap.mean(per_item_parrot, seed)
    chrf["tuned_minus_parrot"] = bootstrap.mean(
        [t - p for t, p in zip(judged["tuned"].chrf, per_item_parrot)], seed
    )
    tuned = judged["tuned"]
    return TextResults(
        style={**{n: judged[n].style for n in names}, "parrot": parrot[0].style},
        distance={**{n: judged[n].distance for n in names if n != "real"}, "parrot": draws.distance.median},
        chrf=chrf,
        memorisation={**{n: judged[n].memorisation for n in names}, "parrot": parrot[0].memorisation},
        scores={**{n: judged[n].score for n in names if n != "real"}, "parrot": draws.score.median},
        parrot=draws,
        versus_parrot=VersusParrot(
            score=versus_draws(tuned.score, draws.score, higher_is_better=True),
            distance=versus_draws(tuned.distance, draws.distance, higher_is_better=False),
            chrf=versus_zero(chrf["tuned_minus_parrot"]),
            context_gain=None if context_gain is None else versus_zero(context_gain),
        ),
    )
