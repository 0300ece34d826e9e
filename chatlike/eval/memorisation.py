"""Memorisation: how much of a set of replies is copied from the person's training replies.

- a copy is a reply that, stripped of surrounding whitespace, equals a training reply (an empty
  reply is never a copy); copy_share is over all replies, long_copy_share over the replies of at
  least LONG_CHARS characters ("ok" recurs by itself; a whole sentence recurs because it was learnt);
- the longest copied n-gram is the longest run of whitespace-separated words, within one reply,
  that also occurs within one training reply;
- flagged: copies holding something `filter.redact` would replace (an e-mail, URL, card or phone
  number), shown redacted.
Applied to the real held-out replies it says how repetitive the person's own data is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from chatlike.data.redact import redact
from chatlike.eval.results import Flagged, Memorisation

LONG_CHARS = 20  # a copy of a reply this long is learnt, not a coincidence


class TrainingReplies:
    """The person's training replies, indexed for the copy checks."""

    def __init__(self, replies: Sequence[str]):
        self.whole = {r.strip() for r in replies if r.strip()}
        self.words = [r.split() for r in replies]

    def ngrams(self, n: int) -> Iterator[tuple[str, ...]]:
        for ws in self.words:
            for i in range(len(ws) - n + 1):
                yield tuple(ws[i : i + n])


def longest_copied_ngram(replies: Sequence[str], training: TrainingReplies) -> tuple[str, ...]:
    """The longest word n-gram of any reply that also occurs in a training reply (the first found
    of that length). A copy of n words holds copies of every shorter length, so the length is
    found by bisection, each step one pass over the training words."""
    word_lists = [r.split() for r in replies]
    copies = [ws for r, ws in zip(replies, word_lists) if r.strip() in training.whole]
    best = max(copies, key=len, default=[])  # a whole copied reply is copied all along
    low, high = len(best), max((len(ws) for ws in word_lists), default=0)
    found = tuple(best)
    while low < high:
        n = (low + high + 1) // 2
        grams = {tuple(ws[i : i + n]) for ws in word_lists for i in range(len(ws) - n + 1)}
        hit = next((g for g in training.ngrams(n) if g in grams), None)
        if hit is None:
            high = n - 1
        else:
            low, found = n, hit
    return found


def memorisation(replies: Sequence[str], training: TrainingReplies) -> Memorisation:
    """Copies of training replies among `replies` (see the module docstring)."""
    copied = [bool(r.strip()) and r.strip() in training.whole for r in replies]
    long = [len(r.strip()) >= LONG_CHARS for r in replies]
    long_copies = sum(c and g for c, g in zip(copied, long))
    ngram = longest_copied_ngram(replies, training)
    return Memorisation(
        replies=len(replies),
        copies=sum(copied),
        copy_share=sum(copied) / len(replies) if replies else 0.0,
        long_replies=sum(long),
        long_copies=long_copies,
        long_copy_share=long_copies / sum(long) if any(long) else None,
        longest_copied_ngram=len(ngram),
        longest_copied_text=redact(" ".join(ngram)),
        flagged=[
            Flagged(i, redact(r)) for i, (r, c) in enumerate(zip(replies, copied)) if c and redact(r) != r
        ],
    )
