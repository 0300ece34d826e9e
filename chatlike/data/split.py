"""Splits: whole conversations go to train, val or test; test holds each contact's latest ones."""

from __future__ import annotations

import math
import random
from collections import defaultdict

from chatlike.config import SplitConfig
from chatlike.data.records import Samples


def split_samples(samples: Samples, cfg: SplitConfig) -> dict[str, Samples]:
    """A time-based holdout: evaluation asks about later conversations than training saw.
    Windows of one conversation share its start time, so they never straddle two splits."""
    keys = list(zip(samples.chat_id, samples.start))
    by_chat: dict[int, list[int]] = defaultdict(list)
    for chat_id, start in keys:
        starts = by_chat[chat_id]
        if not starts or starts[-1] != start:
            starts.append(start)
    test: set[tuple[int, int]] = set()
    rest: list[tuple[int, int]] = []  # the other conversations, by chat then start
    for chat_id in sorted(by_chat):
        ordered = sorted(set(by_chat[chat_id]))
        n_test = (
            min(len(ordered) - 1, math.ceil(cfg.test_fraction * len(ordered))) if cfg.test_fraction else 0
        )
        cut = len(ordered) - max(n_test, 0)
        test.update((chat_id, s) for s in ordered[cut:])
        rest.extend((chat_id, s) for s in ordered[:cut])
    n_val = round(cfg.val_fraction * len(rest))
    if cfg.val_fraction and n_val == 0 and len(rest) >= 10:
        n_val = 1
    val = set(random.Random(cfg.seed).sample(rest, n_val)) if n_val else set()
    in_test = [key in test for key in keys]
    in_val = [key in val for key in keys] if val else [False] * len(keys)
    in_train = [not (t or v) for t, v in zip(in_test, in_val)]
    return {"train": samples.where(in_train), "val": samples.where(in_val), "test": samples.where(in_test)}
