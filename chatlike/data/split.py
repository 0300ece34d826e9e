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
    for chat_id, starts in by_chat.items():
        ordered = sorted(set(starts))
        n_test = (
            min(len(ordered) - 1, math.ceil(cfg.test_fraction * len(ordered))) if cfg.test_fraction else 0
        )
        test.update((chat_id, s) for s in ordered[len(ordered) - n_test :] if n_test > 0)
    rest = sorted(set(keys) - test)
    n_val = round(cfg.val_fraction * len(rest))
    if cfg.val_fraction and n_val == 0 and len(rest) >= 10:
        n_val = 1
    val = set(random.Random(cfg.seed).sample(rest, n_val)) if n_val else set()
    rows: dict[str, list[int]] = {"train": [], "val": [], "test": []}
    train, val_rows, test_rows = rows["train"], rows["val"], rows["test"]
    for i, key in enumerate(keys):
        (test_rows if key in test else val_rows if key in val else train).append(i)
    return {name: samples.take(r) for name, r in rows.items()}
