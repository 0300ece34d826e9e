"""Splits: whole conversations go to train, val or test; test holds each contact's latest ones, less
those that nearly repeat a training sample (they go to train: eval asks about unseen ones only)."""

from __future__ import annotations

import math
import random
from collections import defaultdict

from chatlike.config import SplitConfig
from chatlike.data.near_duplicates import SampleText, in_training, repeating
from chatlike.data.records import Sample
from chatlike.data.stats import HeldOut
from chatlike.rundir import SPLITS


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


def texts_of(samples: list[Sample]) -> dict[int, SampleText]:
    """Each sample's words and my replies (by the sample's id()), read once for the checks below."""
    return {id(s): SampleText.of(s) for s in samples}


def move_near_duplicates(
    samples: list[Sample], splits: dict[str, list[Sample]], threshold: float, texts: dict[int, SampleText]
) -> tuple[dict[str, list[Sample]], int, int]:
    """The splits with every held-out conversation that nearly repeats a training sample
    (chatlike.data.near_duplicates) moved to train, each split in the order of `samples`; and how
    many conversations and samples moved."""
    held = [s for name in ("val", "test") for s in splits[name]]
    hits = repeating([texts[id(s)] for s in held], [texts[id(s)] for s in splits["train"]], threshold)
    moved = {(s.chat_id, s.start) for s, hit in zip(held, hits) if hit}
    where = {id(s): name for name in SPLITS for s in splits[name]}
    out: dict[str, list[Sample]] = {name: [] for name in SPLITS}
    for s in samples:
        name = where.get(id(s))
        if name is not None:
            out["train" if (s.chat_id, s.start) in moved else name].append(s)
    return out, len(moved), len(out["train"]) - len(splits["train"])


def held_out(
    splits: dict[str, list[Sample]],
    texts: dict[int, SampleText],
    threshold: float | None,
    moved: tuple[int, int],
) -> HeldOut:
    """How unseen the test split is: the near-duplicates moved (conversations, samples), and my test
    replies that still occur verbatim among my training replies."""
    trained = {r.strip() for s in splits["train"] for r in texts[id(s)].replies}
    test = (r for s in splits["test"] for r in texts[id(s)].replies)
    return HeldOut(threshold, *moved, *in_training(test, trained))
