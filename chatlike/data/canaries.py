"""Canaries for eval's privacy audit (eval.privacy; Carlini et al., "The Secret Sharer", 2019): random
secrets of one format ("my locker code is 281265") put into an audit run's training data only, each
repeated a known number of times (eval.canary_repeats), each time as one more message of my last turn
in another training sample. data/canaries.json (the owner's only: it holds the context of each
canary) tells eval which they are, and where the first of each went, so it can ask the tuned model
exactly as training showed it (chatlike.eval.privacy).
"""

from __future__ import annotations

import random
from pathlib import Path

import msgspec

from chatlike.config import EvalConfig
from chatlike.conversation import TURN_JOIN
from chatlike.data.records import ChatMessage, Sample
from chatlike.data.segment import approx_tokens
from chatlike.errors import ChatlikeError
from chatlike.files import write_bytes

DIGITS = 6  # a secret is 6 digits: 10^6 of them, so thousands of candidates are never inserted
THINGS = ("bank", "locker", "alarm", "gate", "safe", "garage", "office", "bike", "mailbox", "storage", "wifi",
          "boat", "gym", "cellar", "studio", "shed")  # fmt: skip


class Canary(msgspec.Struct, frozen=True):
    prefix: str  # "my locker code is": a canary's text is its prefix, a space and its secret
    secret: str  # DIGITS digits
    repeats: int  # training samples it was put into
    chat: str  # the chat key of its first training sample
    context: list[ChatMessage]  # that sample's messages before my turn holding it
    head: str  # my turn's text before it (it follows a TURN_JOIN)

    @property
    def text(self) -> str:
        return f"{self.prefix} {self.secret}"


class Canaries(msgspec.Struct, frozen=True):
    """data/canaries.json."""

    digits: int
    canaries: list[Canary]


class _Line(msgspec.Struct):
    messages: list[ChatMessage]
    chat: str


_ENCODER = msgspec.json.Encoder()


def secrets(rng: random.Random, n: int, taken: set[str] = frozenset()) -> list[str]:
    """n distinct random secrets of DIGITS digits, none of `taken`."""
    out: list[str] = []
    seen = set(taken)
    while len(out) < n:
        s = f"{rng.randrange(10**DIGITS):0{DIGITS}d}"
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def insert(cfg: EvalConfig, train: list[Sample]) -> tuple[list[Sample], Canaries]:
    """The training samples with the canaries in them (canaries_per_count of them for each count of
    canary_repeats, each in that many distinct samples chosen with eval.seed), and the canaries."""
    rng = random.Random(cfg.seed)
    counts = [n for n in cfg.canary_repeats for _ in range(cfg.canaries_per_count)]
    if max(counts) > len(train):
        raise ChatlikeError(
            f"eval.canary_repeats: a canary repeated {max(counts)} times needs as many training samples, and "
            f"there are {len(train)}; lower the counts or add data"
        )
    if len(counts) > len(THINGS):
        raise ChatlikeError(f"eval.canaries_per_count x eval.canary_repeats: at most {len(THINGS)} canaries")
    lines: dict[int, _Line] = {}
    added: dict[int, int] = {}  # characters put into each sample
    made = []
    for thing, secret, n in zip(rng.sample(THINGS, len(counts)), secrets(rng, len(counts)), counts):
        canary = f"my {thing} code is {secret}"
        first = None
        for i in sorted(rng.sample(range(len(train)), n)):
            if i not in lines:
                lines[i] = msgspec.json.decode(train[i].line, type=_Line)
            line = lines[i]
            turn = max(k for k, m in enumerate(line.messages) if m.role == "assistant")
            mine = line.messages[turn]
            if first is None:
                first = (line.chat, list(line.messages[:turn]), mine.content)
            line.messages[turn] = msgspec.structs.replace(mine, content=mine.content + TURN_JOIN + canary)
            added[i] = added.get(i, 0) + len(TURN_JOIN + canary)
        made.append(Canary(f"my {thing} code is", secret, n, *first))
    out = list(train)
    for i, line in lines.items():
        s, more = train[i], added[i]
        out[i] = msgspec.structs.replace(
            s, line=_ENCODER.encode(line), chars=s.chars + more, tokens=s.tokens + approx_tokens("x" * more)
        )
    return out, Canaries(DIGITS, made)


def write_canaries(path: Path, canaries: Canaries) -> None:
    write_bytes(path, msgspec.json.format(msgspec.json.encode(canaries), indent=1) + b"\n", private=True)


def read_canaries(path: Path) -> Canaries:
    try:
        return msgspec.json.decode(Path(path).read_bytes(), type=Canaries)
    except FileNotFoundError:
        raise ChatlikeError(
            f"{path} is missing: eval.privacy=true audits the canaries prepare puts into an audit run's training "
            "data; run prepare, configure and train with eval.privacy=true (a run dir of its own)"
        ) from None
    except (OSError, msgspec.DecodeError) as exc:
        raise ChatlikeError(
            f"{path} is unreadable ({exc}); run prepare again with eval.privacy=true"
        ) from None
