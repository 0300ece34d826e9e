"""Near-duplicates, of two kinds:

- A held-out conversation (val or test) that nearly repeats a training sample makes eval's closeness
  metrics measure recall, not imitation. Each sample is the set of its words (lower-cased `\\w+`
  runs of its turns, system prompt left out); candidate pairs come from MinHash LSH (datasketch:
  NUM_PERM permutations, bands weighted against missing a pair), and a pair counts when the exact
  Jaccard index of the two word sets reaches split.near_duplicate_threshold. Linear in the samples,
  where comparing every held-out sample with every training one grows with their product.
- A message of mine that nearly repeats one I sent moments before (a retry, a correction of one
  letter) is collapsed as wa-finetune collapses them: difflib's ratio of the two texts at least
  filter.near_duplicate_ratio, the earlier one at most filter.near_duplicate_minutes before.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Iterable
from zlib import crc32

import msgspec

from chatlike.data.records import Message, Sample

NUM_PERM = 32  # 32 permutations: candidates only, every pair is confirmed exactly
# LSH's weights of false positives and false negatives: a pair missed stays a leak, a false candidate
# costs one exact comparison
LSH_WEIGHTS = (0.1, 0.9)
LONG_CHARS = 20  # a reply this long recurs because it was learnt, not by chance (eval's memorisation)
_WORD = re.compile(r"\w+")


class _Turn(msgspec.Struct):
    role: str
    content: str = ""


class _Line(msgspec.Struct):
    messages: list[_Turn]


_DECODER = msgspec.json.Decoder(_Line)


class SampleText(msgspec.Struct, gc=False):
    """What the near-duplicate and leak checks read of a sample: its turns' texts, my replies."""

    said: list[str]  # every turn's text but the system prompt's
    replies: list[str]

    @classmethod
    def of(cls, sample: Sample) -> SampleText:
        turns = _DECODER.decode(sample.line).messages
        return cls(
            [t.content for t in turns if t.role != "system"],
            [t.content for t in turns if t.role == "assistant"],
        )

    def words(self) -> frozenset[str]:
        return frozenset(_WORD.findall("\n".join(self.said).lower()))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    both = len(a & b)
    return both / (len(a) + len(b) - both) if a or b else 1.0


def repeating(held_out: list[SampleText], training: list[SampleText], threshold: float) -> list[bool]:
    """For each held-out sample, whether its words nearly repeat (Jaccard >= threshold) those of
    some training sample. A sample without words repeats nothing (exact copies are de-duplicated
    before the split). Each distinct set of words is sketched once, and a held-out set that is a
    training set needs no sketch."""
    trained = {w for w in map(SampleText.words, training) if w}
    asked = [t.words() for t in held_out]
    found = [bool(w) and w in trained for w in asked]
    todo = [w for w, hit in zip(asked, found) if w and not hit]
    if not todo or not trained:
        return found
    from datasketch import MinHash, MinHashLSH

    sets = list(trained)  # in any order: a set's sketch and its candidates do not depend on it

    def sketches(word_sets: list[frozenset[str]]):
        # each word hashed once, by the CRC-32 of its UTF-8 (the same in every run, unlike hash());
        # hashfunc=int takes those numbers as they are (datasketch mixes them before permuting); one
        # sketch at a time (the LSH keeps only its bands)
        hashed = (list(map(crc32, map(str.encode, words))) for words in word_sets)
        return MinHash.generator(hashed, num_perm=NUM_PERM, hashfunc=int)

    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, weights=LSH_WEIGHTS)
    with lsh.insertion_session() as session:
        for i, sketch in enumerate(sketches(sets)):
            session.insert(i, sketch, check_duplication=False)
    near = iter(
        any(jaccard(words, sets[i]) >= threshold for i in lsh.query(sketch))
        for words, sketch in zip(todo, sketches(todo))
    )
    return [hit or (bool(w) and next(near)) for w, hit in zip(asked, found)]


def in_training(replies: Iterable[str], training: set[str]) -> tuple[int, int, int, int]:
    """Replies, those that occur verbatim (stripped) among the training replies, and the same for
    the replies of LONG_CHARS characters or more."""
    n = found = long = long_found = 0
    for reply in replies:
        text = reply.strip()
        hit = text in training
        n += 1
        found += hit
        if len(text) >= LONG_CHARS:
            long += 1
            long_found += hit
    return n, found, long, long_found


def collapse_mine(messages: list[Message], ratio: float, minutes: float) -> tuple[list[Message], int]:
    """The messages without those of mine that nearly repeat (difflib ratio >= `ratio`) one of my
    kept messages sent at most `minutes` before it; and how many were dropped."""
    window = minutes * 60
    kept: list[Message] = []
    recent: list[tuple[int, str]] = []  # my kept messages within the window, oldest first
    dropped = 0
    for m in messages:
        t, _, _, text, mine = m
        if not mine:
            kept.append(m)
            continue
        recent = [(s, x) for s, x in recent if t - s <= window]
        matcher = SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(text)
        repeat = False
        for _, earlier in reversed(recent):
            matcher.set_seq1(earlier)
            # the cheap upper bounds first: most pairs differ in length or letters
            if (
                matcher.real_quick_ratio() >= ratio
                and matcher.quick_ratio() >= ratio
                and matcher.ratio() >= ratio
            ):
                repeat = True
                break
        if repeat:
            dropped += 1
            continue
        kept.append(m)
        recent.append((t, text))
    return kept, dropped
