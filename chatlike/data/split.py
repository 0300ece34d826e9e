"""Splits: whole conversations go to train, val or test; test holds each contact's latest ones."""

from __future__ import annotations

import math
import random
from collections import defaultdict

from chatlike.config import SplitConfig
from chatlike.data.records import Sample


def split_samples(samples: list[Sample], cfg: SplitConfig) -> dict[str, list[Sample]]:
    """A time-based holdout: evaluation asks about later conversations than training saw.
    Windows of one conversation share its start time, so they never straddle two splits."""
    keys = [(s.chat_id, s.start) for s in samples]
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
    out: dict[str, list[Sample]] = {"train": [], "val": [], "test": []}
    for key, sample in zip(keys, samples):
        out["test" if key in test else "val" if key in val else "train"].append(sample)
    return out
