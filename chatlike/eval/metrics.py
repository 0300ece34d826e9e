"""Style metrics of a set of replies, and one distance between two sets (pure Python, no torch).

Definitions (each reply is one assistant turn; its messages are joined with "\\n"):
- characters are Unicode code points (an emoji with a skin tone counts 2); words are
  whitespace-separated; lines are non-empty lines (= messages in the turn).
- vocabulary words are lowercased runs of letters/digits, apostrophes inside kept ("l'ho").
- units (for repetition) are vocabulary words plus every other non-space character on its own,
  so a trail of emoji or punctuation repeats like a trail of words.
- "share" metrics are fractions of replies in [0, 1]; starts_lowercase is over the replies that
  start with a cased letter, and None (n/a) when none does (all empty, emoji only, Chinese).

`distance(model, real)` is the mean of these terms, each 0 when the two sets agree:
  |log((mean_chars_m + 1) / (mean_chars_r + 1))|, the same for mean_words and mean_lines,
  and |m - r| for emoji_share, ends_with_punct, exclaim_share, question_share,
  starts_lowercase, caps_ratio, frequent_word_share, char_ngram_similarity, distinct_1,
  distinct_2, empty_share, short_share, long_share, repeated_3gram_share.
A term that is None on either side (starts_lowercase n/a) is left out of the mean.
Lower is closer to the person; the real replies are at distance 0 from themselves.

`score`, the one headline number of an eval (0 to 100, higher is better), multiplies three factors:
  score = chrF x max(0, 1 - distance) x (1 - max(0, long_copy_share - real_long_copy_share))
- chrF (chatlike/eval/closeness.py): the mean closeness, 0 to 100, of each reply to what the person
  really answered in that conversation. Only a reply that answers its context gets close; a parrot
  (a random reply of the person's) gets what chance gives.
- 1 - distance: how much the set sounds like the person (the style distance above, capped at 1).
- the copying factor (chatlike/eval/memorisation.py): long_copy_share is the share of the set's
  replies of 20+ characters that are verbatim copies of a training reply (0 when there are none);
  real_long_copy_share the same for the person's real held-out replies. People repeat themselves
  (a greeting, a sign-off), so copying is penalised beyond the person's own rate: a clone that
  copies a long reply as often as the person repeats one loses nothing, one that copies every long
  reply loses 1 - real_long_copy_share of its score. The real replies score 100.
A parrot copies every reply and ignores the conversation: chance chrF, and the largest copying penalty,
however well it matches the style.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import msgspec

from chatlike.eval.closeness import chrf
from chatlike.eval.memorisation import TrainingReplies, memorisation
from chatlike.eval.results import Lengths, Memorisation, Style
from chatlike.quantiles import quantile

# Emoji code points: pictographs, symbols and dingbats, plus their modifiers. A sequence joined
# by ZWJ, with skin tones or VS16, or a pair of regional indicators (a flag) is one emoji.
_PICTO = (
    "\U0001f000-\U0001f1e5\U0001f200-\U0001f3fa\U0001f400-\U0001faff"
    "\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\u3030\u303d\u3297\u3299"
)
_MOD = "\U0001f3fb-\U0001f3ff\ufe0f\u20e3"
_EMOJI = re.compile(rf"[\U0001f1e6-\U0001f1ff]{{2}}|[{_PICTO}][{_MOD}]*(?:\u200d[{_PICTO}][{_MOD}]*)*")
_WORD = re.compile(r"\w+(?:['’]\w+)*")
_UNIT = re.compile(rf"\w+(?:['’]\w+)*|{_EMOJI.pattern}|[^\w\s]")
SENTENCE_END = ".!?…"

SHORT_CHARS = 5  # a reply under this many characters is "short"
LONG_CHARS = 500  # a reply over this many characters is "long"
NGRAM = 3  # character n-gram size of the profile
FREQUENT_WORDS = 100  # how many of the person's most frequent words make the reference list
CHAR_BINS = (0, 1, 5, 10, 20, 50, 100, 200, 500)  # lower edges of the length histogram's bins


def emojis(text: str) -> list[str]:
    """The emoji in `text`, each sequence (flag, ZWJ family, skin tone) counted once."""
    return _EMOJI.findall(text)


def words(text: str) -> list[str]:
    """Lowercased vocabulary words: runs of letters or digits, inner apostrophes kept."""
    return [w.lower() for w in _WORD.findall(text)]


def units(text: str) -> list[str]:
    """Words, emoji and every other non-space character alone: what repetition is counted in."""
    return [u.lower() for u in _UNIT.findall(text)]


def lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def has_repeated_ngram(tokens: Sequence[str], n: int = 3) -> bool:
    """True when some n-gram occurs twice without overlapping (a loop, not a single "😂😂😂")."""
    first: dict[tuple[str, ...], int] = {}
    for i in range(len(tokens) - n + 1):
        gram = tuple(tokens[i : i + n])
        if gram in first:
            if i - first[gram] >= n:
                return True
        else:
            first[gram] = i
    return False


def starts_lowercase(text: str) -> bool | None:
    """Whether the first letter is lowercase; None when there is no cased letter."""
    for ch in text:
        if ch.isalpha():
            if ch.islower():
                return True
            if ch.isupper():
                return False
            return None  # uncased script (e.g. Chinese)
    return None


def char_ngrams(texts: Iterable[str], n: int = NGRAM) -> Counter[str]:
    """Counts of lowercased character n-grams within each reply (spaces included)."""
    counts: Counter[str] = Counter()
    for text in texts:
        t = text.lower()
        counts.update(t[i : i + n] for i in range(len(t) - n + 1))
    return counts


def cosine(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    dot = sum(v * b.get(k, 0) for k, v in a.items())
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def distinct(token_lists: Iterable[Sequence[str]], n: int) -> float:
    """Distinct-n: unique n-grams / all n-grams over the whole set (n-grams within a reply)."""
    grams = [tuple(t[i : i + n]) for t in token_lists for i in range(len(t) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def frequent_words(replies: Iterable[str], k: int = FREQUENT_WORDS) -> list[str]:
    """The person's k most frequent words (ties by first appearance)."""
    return [w for w, _ in Counter(w for r in replies for w in words(r)).most_common(k)]


def _share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def histogram(lengths: Sequence[int], edges: Sequence[int] = CHAR_BINS) -> dict[str, int]:
    """Counts per length bin, keyed "lo-hi" (hi exclusive) and "lo+" for the last."""
    keys = [f"{lo}-{hi}" for lo, hi in zip(edges, edges[1:])] + [f"{edges[-1]}+"]
    counts = dict.fromkeys(keys, 0)
    for n in lengths:
        i = max(j for j, lo in enumerate(edges) if n >= lo)
        counts[keys[i]] += 1
    return counts


def style(replies: Sequence[str], profile_words: Sequence[str], profile_ngrams: Counter[str]) -> Style:
    """All style metrics of `replies`; the vocabulary ones compare with the person's frequent
    words and character n-gram profile (both from their training replies)."""
    chars = [len(r) for r in replies]
    stripped = [r.strip() for r in replies]
    word_lists = [words(r) for r in replies]
    vocab = set(profile_words)
    all_words = [w for ws in word_lists for w in ws]
    cased = [c for r in replies for c in r if c.isupper() or c.islower()]
    lowercase_starts = [s for s in (starts_lowercase(r) for r in replies) if s is not None]
    punct = sum(1 for r in replies for c in r if unicodedata.category(c).startswith("P"))
    n_emoji = [len(emojis(r)) for r in replies]
    ordered = sorted(chars)
    return Style(
        n=len(replies),
        mean_chars=_mean(chars),
        chars=Lengths(
            p10=quantile(ordered, 0.1),
            p50=quantile(ordered, 0.5),
            p90=quantile(ordered, 0.9),
            max=ordered[-1] if ordered else 0,
            histogram=histogram(chars),
        ),
        mean_words=_mean([len(r.split()) for r in replies]),
        mean_lines=_mean([len(lines(r)) for r in replies]),
        emoji_per_reply=_mean(n_emoji),
        emoji_share=_share([k > 0 for k in n_emoji]),
        punct_per_char=punct / sum(chars) if sum(chars) else 0.0,
        ends_with_punct=_share([bool(s) and s[-1] in SENTENCE_END for s in stripped]),
        exclaim_share=_share(["!" in r for r in replies]),
        question_share=_share([("?" in r or "？" in r) for r in replies]),
        ellipsis_share=_share([("..." in r or "…" in r) for r in replies]),
        starts_lowercase=_share(lowercase_starts) if lowercase_starts else None,
        caps_ratio=_share([c.isupper() for c in cased]),
        frequent_word_share=_share([w in vocab for w in all_words]),
        char_ngram_similarity=cosine(char_ngrams(replies), profile_ngrams),
        distinct_1=distinct(word_lists, 1),
        distinct_2=distinct(word_lists, 2),
        empty_share=_share([not s for s in stripped]),
        short_share=_share([len(s) < SHORT_CHARS for s in stripped]),
        long_share=_share([len(s) > LONG_CHARS for s in stripped]),
        repeated_3gram_share=_share([has_repeated_ngram(units(r), 3) for r in replies]),
    )


LOG_TERMS = ("mean_chars", "mean_words", "mean_lines")
ABS_TERMS = (
    "emoji_share", "ends_with_punct", "exclaim_share", "question_share", "starts_lowercase",
    "caps_ratio", "frequent_word_share", "char_ngram_similarity", "distinct_1", "distinct_2",
    "empty_share", "short_share", "long_share", "repeated_3gram_share",
)  # fmt: skip


def distance_terms(model: Style, real: Style) -> dict[str, float]:
    """Each term of the distance (see the module docstring); a term n/a on either side is left out."""
    m, r = msgspec.structs.asdict(model), msgspec.structs.asdict(real)
    terms = {k: abs(math.log((m[k] + 1) / (r[k] + 1))) for k in LOG_TERMS}
    terms.update({k: abs(m[k] - r[k]) for k in ABS_TERMS if m[k] is not None and r[k] is not None})
    return terms


def distance(model: Style, real: Style) -> float:
    """One number for how far a model's replies are from the person's: the mean of the terms."""
    terms = distance_terms(model, real)
    return sum(terms.values()) / len(terms)


def score(
    chrf: float, distance: float, long_copy_share: float | None, real_long_copy_share: float | None
) -> float:
    """The headline score (see the module docstring): chrF x (1 - distance) x (1 - excess long copies)."""
    excess = max(0.0, (long_copy_share or 0.0) - (real_long_copy_share or 0.0))
    return chrf * max(0.0, 1.0 - distance) * (1.0 - excess)


@dataclass(frozen=True)
class Reference:
    """What every reply set is judged against: the real held-out replies (and their style) and the
    person's training replies (their frequent words, character n-grams, and the copy index)."""

    real: list[str]
    profile_words: list[str]
    profile_ngrams: Counter[str]
    real_style: Style
    training: TrainingReplies
    real_long_copy_share: float | None  # how often the person's own long replies repeat a training one

    @classmethod
    def of(cls, real: Sequence[str], train_replies: Sequence[str]) -> Reference:
        words, ngrams = frequent_words(train_replies), char_ngrams(train_replies)
        training = TrainingReplies(train_replies)
        repeats = memorisation(real, training).long_copy_share
        return cls(list(real), words, ngrams, style(real, words, ngrams), training, repeats)


@dataclass(frozen=True)
class Judged:
    """Every text metric of one reply set (one reply per held-out item, in order)."""

    style: Style
    distance: float  # the style distance to the real replies
    chrf: list[float]  # of each reply
    memorisation: Memorisation
    score: float


def judge(replies: Sequence[str], ref: Reference) -> Judged:
    """A reply set's style and style distance, chrF of each reply, memorisation, and the headline score."""
    s = style(replies, ref.profile_words, ref.profile_ngrams)
    d = distance(s, ref.real_style)
    closeness = chrf(replies, ref.real)
    copies = memorisation(replies, ref.training)
    return Judged(
        s, d, closeness, copies, score(_mean(closeness), d, copies.long_copy_share, ref.real_long_copy_share)
    )
