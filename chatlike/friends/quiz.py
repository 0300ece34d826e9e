"""The friends' test as data, no I/O: which held-out conversations each friend judges and in what
order, which side the real reply is on, what their answers say, and the pass rate.

An item is one held-out reply of eval's samples (RUN/eval/samples.jsonl): the end of its
conversation, my real reply and the clone's. A friend judges `friends.items` of them, drawn from the
chats the owner named, each once, the real reply on a seeded side; they pick the reply they think is
mine. The clone passes an item when the friend picks its reply: the pass rate is the share of such
items, 50% when friends cannot tell us apart, with a 95% Wilson interval.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import msgspec

from chatlike.data.redact import redact
from chatlike.eval.results import FriendsResults, PassRate


@dataclass(frozen=True)
class Line:
    """One message of the conversation shown: who wrote it and what (redacted)."""

    who: str
    text: str
    mine: bool


@dataclass(frozen=True)
class Item:
    """A held-out reply to judge: its number in samples.jsonl, its chat, the end of its
    conversation, and the two replies (redacted)."""

    number: int
    chat: str  # its chat's key (chatlike.data.chats: "telegram:123")
    context: tuple[Line, ...]
    real: str
    clone: str


class Answer(msgspec.Struct, frozen=True):
    """One line of RUN/eval/friends.jsonl."""

    friend: str
    item: int  # the item's number in eval/samples.jsonl
    picked: str  # "real" (they recognised my reply) or "clone" (they took the clone's for mine)
    real_side: str  # "A" or "B": where my reply was shown
    time: str  # ISO 8601, UTC
    eval: str  # the samples' fingerprint: answers to an older eval's items do not count


def fingerprint(samples_bytes: bytes) -> str:
    """What identifies one eval's items (its samples.jsonl), so a rerun of eval starts afresh."""
    return hashlib.sha256(samples_bytes).hexdigest()[:16]


def items_of(samples: Sequence[dict], me: str, context_messages: int) -> list[Item]:
    """Every sample as an item (its conversation's last `context_messages` messages, system prompt
    left out), everything redacted; replies that are the same text cannot be told apart and are
    left out."""
    items = []
    for number, s in enumerate(samples):
        real, clone = redact(s["real"].strip()), redact(s["tuned"].strip())
        if real == clone:
            continue
        shown = [m for m in s["context"] if m["role"] != "system"][-context_messages:]
        context = tuple(
            Line(
                me if m["role"] == "assistant" else (m.get("name") or "them"),
                redact(m["content"]),
                m["role"] == "assistant",
            )  # fmt: skip
            for m in shown
        )
        items.append(Item(number, s["chat"], context, real, clone))
    return items


def plan(items: Sequence[Item], friend: str, n: int, seed: int) -> list[tuple[Item, str]]:
    """The friend's items in order, each with the side ("A" or "B") my reply is shown on: n of
    them (or all there are), drawn and placed by a generator seeded with the seed and the friend."""
    rng = random.Random(f"{seed}:{friend}")
    chosen = rng.sample(list(items), min(n, len(items)))
    return [(item, rng.choice("AB")) for item in chosen]


def current(answers: Iterable[Answer], fingerprint: str) -> dict[str, dict[int, Answer]]:
    """Each friend's answers to this eval's items, by item; a second answer to an item (a reload, a
    back button) never counts, the first does."""
    out: dict[str, dict[int, Answer]] = {}
    for a in answers:
        if a.eval == fingerprint:
            out.setdefault(a.friend, {}).setdefault(a.item, a)
    return out


def pass_rate(answers: Iterable[Answer]) -> PassRate:
    """The share of answers that took the clone's reply for mine, with its 95% Wilson interval."""
    picked = [a.picked for a in answers]
    fooled, n = picked.count("clone"), len(picked)
    if not n:
        return PassRate(0, 0, None, None, None)
    from scipy.stats import binomtest

    interval = binomtest(fooled, n).proportion_ci(confidence_level=0.95, method="wilson")
    return PassRate(fooled, n, fooled / n, float(interval.low), float(interval.high))


def results(by_friend: dict[str, dict[int, Answer]], friends: Sequence[str], items: int) -> FriendsResults:
    """The friends' test in eval/results.json: each friend's pass rate and everyone's together."""
    return FriendsResults(
        overall=pass_rate(a for f in friends for a in by_friend.get(f, {}).values()),
        friends={f: pass_rate(by_friend.get(f, {}).values()) for f in friends},
        items=items,
    )
