"""The records the data stages pass along: Message -> Turn -> Conversation -> Sample."""

from __future__ import annotations

import msgspec


class Message(msgspec.Struct, frozen=True, gc=False):
    """One kept text message, normalised: epoch time, sender id, visible text."""

    chat_id: int
    id: int
    time: int  # epoch seconds
    sender_id: str  # "user123"; deleted accounts keep their id, their name is a placeholder
    sender: str
    text: str
    mine: bool


class Chat(msgspec.Struct, frozen=True):
    """One chat after filtering: who it is with and its kept messages, oldest first."""

    id: int
    name: str
    type: str
    messages: list[Message]
    members: tuple[str, ...] = ()  # other senders' names, in order of first appearance


class Turn(msgspec.Struct, frozen=True, gc=False):
    """Consecutive messages of one sender within the turn window."""

    sender_id: str
    sender: str
    mine: bool
    text: str  # its messages' texts joined by newlines, in order
    messages: int  # how many messages it joins
    start: int
    end: int
    tokens: int  # approximate (segment.approx_tokens), counted once


class Conversation(msgspec.Struct, frozen=True, gc=False):
    """A run of turns with no silence longer than the gap threshold."""

    chat_id: int
    chat_name: str
    chat_type: str
    turns: tuple[Turn, ...]

    @property
    def start(self) -> int:
        return self.turns[0].start


class ChatMessage(msgspec.Struct, frozen=True, omit_defaults=True, gc=False):
    """One entry of an OpenAI-format `messages` list."""

    role: str
    name: str | None = None
    content: str = ""


class Sample(msgspec.Struct, frozen=True, gc=False):
    """One training sample: `line` is its JSONL line, `{"messages": [...]}` (ChatMessage entries);
    the rest steers the split and the stats."""

    line: bytes
    chat_id: int
    contact: str
    start: int  # the conversation's start: windows of one conversation share it
    turns: int = 0  # user and assistant turns
    mine: int = 0  # my turns
    chars: int = 0  # in the turns, system prompt excluded
    tokens: int = 0  # approximate, whole sample


def pack_samples(samples: list[Sample]) -> tuple:
    """Samples as columns (their lines joined into one bytes object): what a worker sends back. A
    list of structs pickles and unpickles field by field, about ten times slower."""
    return (
        b"\n".join(s.line for s in samples),
        [s.chat_id for s in samples],
        [s.contact for s in samples],
        [s.start for s in samples],
        [s.turns for s in samples],
        [s.mine for s in samples],
        [s.chars for s in samples],
        [s.tokens for s in samples],
    )


def unpack_samples(packed: tuple) -> list[Sample]:
    lines, *columns = packed
    if not columns[0]:
        return []
    return [Sample(*fields) for fields in zip(lines.split(b"\n"), *columns)]
