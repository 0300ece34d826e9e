"""Closeness of each generated reply to the real one: sentence-level chrF (sacrebleu's CHRF with its
defaults: character n-grams up to 6, recall weighted twice precision (beta 2), whitespace ignored,
case kept), 0 to 100. A reply can only come close to what the person said by answering that
conversation; a reply drawn at random scores what chance gives.
"""

from __future__ import annotations

from collections.abc import Sequence


def chrf(replies: Sequence[str], real: Sequence[str]) -> list[float]:
    """chrF of each reply against the real reply at the same position (an empty reply scores 0)."""
    from sacrebleu.metrics import CHRF

    metric = CHRF()
    return [metric.sentence_score(reply, [ref]).score for reply, ref in zip(replies, real, strict=True)]
