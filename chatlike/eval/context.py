"""Does a model use the conversation? Its context gain, from the likelihood of the real replies.

Each real reply is scored (by the lm-eval task in chatlike/eval/likelihood.py) under its own context
and under another item's context, chosen by a seeded derangement (a shuffle in which no item keeps
its own). context_gain_bpb = bits per byte under the shuffled contexts - bits per byte under the
true ones = sum_i (loglik_true_i - loglik_shuffled_i) / (ln 2 * sum_i bytes_i): how many bits a byte
of the person's reply the model saves by reading what was said. A model that ignores the context
gains about 0; a parrot (replies drawn regardless of the conversation) gains exactly 0.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from chatlike.eval import bootstrap
from chatlike.eval.results import Interval


def derangement(n: int, seed: int) -> list[int] | None:
    """A seeded permutation of range(n) that moves every item (uniform over such permutations:
    shuffles are drawn until one has no fixed point, e ~ 2.7 draws on average); None for n = 1,
    which has none."""
    if n == 1:
        return None
    rng = random.Random(seed)
    order = list(range(n))
    while True:
        rng.shuffle(order)
        if all(i != j for i, j in enumerate(order)):
            return order


def gain(
    true_loglik: Sequence[float], shuffled_loglik: Sequence[float], n_bytes: Sequence[int], seed: int
) -> Interval:
    """context_gain_bpb (see the module docstring) with its bootstrap interval over replies; None
    values when nothing was scored under a shuffled context (a single held-out reply)."""
    columns = [true_loglik, shuffled_loglik, n_bytes] if shuffled_loglik else [[], [], []]
    return bootstrap.interval(
        columns,
        lambda t, s, b: (t - s).sum(axis=-1) / (math.log(2) * b.sum(axis=-1)),
        seed,
    )
