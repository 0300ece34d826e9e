"""The owner's decisions on drafts as preference data (pure: exchanges in, records out).

Each decided draft is one exchange: what the model was answering (`prompt`, the training format),
what it proposed, and what the owner did. Send makes the proposal desirable, discard undesirable,
and an edit both a pair (chosen: the owner's reply, rejected: the proposal) and two unpaired
examples (the reply desirable, the proposal undesirable). Auto-mode exchanges say nothing about
the owner's taste, dropped ones neither: they are left out. The hold-out is drawn by exchange, so
an edit's examples are never split between training and the measure.
"""

from __future__ import annotations

import hashlib
import math
from typing import Optional

import msgspec

from chatlike.bot.record import Exchange
from chatlike.conversation import TURN_JOIN


class Example(msgspec.Struct, frozen=True):
    """KTO's unit: a reply to `prompt` the owner wanted (label true) or did not."""

    prompt: list[dict]
    completion: str
    label: bool
    exchange: int  # which exchange it came from (its index among the decided ones)


class Pair(msgspec.Struct, frozen=True):
    """DPO's unit: two replies to one prompt, the owner's choice first."""

    prompt: list[dict]
    chosen: str
    rejected: str
    exchange: int


class Preferences(msgspec.Struct, frozen=True):
    examples: list[Example]
    pairs: list[Pair]

    @property
    def desirable(self) -> int:
        return sum(e.label for e in self.examples)

    @property
    def undesirable(self) -> int:
        return len(self.examples) - self.desirable


def preferences(exchanges: list[Exchange]) -> Preferences:
    """The examples and pairs the owner's decisions give."""
    examples: list[Example] = []
    pairs: list[Pair] = []
    decided = [e for e in exchanges if e.owner in ("send", "discard", "edit") and e.proposed]
    for i, e in enumerate(decided):
        prompt, proposed = e.prompt, e.proposed or ""
        if e.owner == "send":
            examples.append(Example(prompt, proposed, True, i))
        elif e.owner == "discard":
            examples.append(Example(prompt, proposed, False, i))
        else:
            reply = TURN_JOIN.join(e.sent or [])
            if not reply or reply == proposed:
                continue
            examples += [Example(prompt, reply, True, i), Example(prompt, proposed, False, i)]
            pairs.append(Pair(prompt, reply, proposed, i))
    return Preferences(examples, pairs)


def held_out(prefs: Preferences, method: str, share: float, seed: int) -> set[int]:
    """The exchanges kept out of training: `share` of those the round learns from (DPO: the
    corrections), at least one, drawn by a hash of the exchange's index and `seed`, so a rerun
    holds out the same ones."""
    ids = sorted(
        {p.exchange for p in prefs.pairs} if method == "dpo" else {e.exchange for e in prefs.examples}
    )
    if len(ids) < 2:
        return set()
    count = min(len(ids) - 1, max(1, math.ceil(share * len(ids))))
    ranked = sorted(ids, key=lambda i: hashlib.sha256(f"{seed}:{i}".encode()).hexdigest())
    return set(ranked[:count])


def split(prefs: Preferences, out: set[int]) -> tuple[Preferences, Preferences]:
    """(training, held out) by exchange."""

    def part(keep: bool) -> Preferences:
        return Preferences(
            [e for e in prefs.examples if (e.exchange in out) != keep],
            [p for p in prefs.pairs if (p.exchange in out) != keep],
        )

    return part(True), part(False)


def method_for(prefs: Preferences, chosen: Optional[str], min_examples: int) -> tuple[Optional[str], str]:
    """The round to train (kto or dpo; None when the data is too little) and a line saying why:
    DPO when the corrections give min_examples pairs, else KTO when there are min_examples examples
    of both kinds; feedback.method chooses one outright."""
    have = (f"{len(prefs.pairs)} correction(s), {prefs.desirable} sent and {prefs.undesirable} "
            "discarded or corrected proposal(s)")  # fmt: skip
    if chosen == "dpo" or (chosen is None and len(prefs.pairs) >= min_examples):
        if len(prefs.pairs) < min_examples:
            return None, (f"feedback: too little to train a DPO round: {len(prefs.pairs)} correction(s), "
                          f"{min_examples} needed (feedback.min_examples): correct more drafts in the bot")  # fmt: skip
        return "dpo", f"feedback: DPO on {have}"
    if len(prefs.examples) < min_examples or not prefs.desirable or not prefs.undesirable:
        return None, (f"feedback: too little to train on: {have}; {min_examples} examples needed "
                      "(feedback.min_examples), some sent and some not: decide more drafts in the bot")  # fmt: skip
    return "kto", f"feedback: KTO on {have}"
