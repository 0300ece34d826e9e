"""The records the data stages pass along: Message -> Turn -> Conversation -> Sample."""

from __future__ import annotations

from itertools import compress
from typing import Iterable, NamedTuple

import msgspec


class Message(NamedTuple):
    """One kept text message, normalised: epoch time, sender id, visible text. The filter yields
    these as plain tuples of the same fields (a class instance per message would cost more than
    segmenting it), so read them by unpacking: `for time, sender_id, sender, text, mine in ...`."""

    time: int  # epoch seconds
    sender_id: str  # "user123"; deleted accounts keep their id, their name is a placeholder
    sender: str
    text: str
    mine: bool


class Chat(msgspec.Struct, frozen=True):
    """One chat the filters selected: who it is with and its kept messages, oldest first (a list,
    or the filter's generator of them, consumed once by segmentation)."""

    id: int
    name: str
    type: str
    messages: Iterable[Message]


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


class Samples(msgspec.Struct, gc=False):
    """Training samples as columns. `line` is each sample's JSONL line, `{"messages": [...]}`
    (ChatMessage entries); the rest steers the split and the stats. Columns, not a list of small
    records: a worker sends these back to the parent, and a list of structs pickles and unpickles
    field by field, ten times slower than a few lists."""

    line: list[bytes] = []
    chat_id: list[int] = []
    contact: list[str] = []
    start: list[int] = []  # the conversation's start: windows of one conversation share it
    turns: list[int] = []  # user and assistant turns
    mine: list[int] = []  # my turns
    chars: list[int] = []  # in the turns, system prompt excluded
    tokens: list[int] = []  # approximate, whole sample

    def __len__(self) -> int:
        return len(self.line)

    def columns(self) -> tuple[list, ...]:
        return tuple(getattr(self, f) for f in self.__struct_fields__)

    def extend(self, other: Samples) -> None:
        for mine, theirs in zip(self.columns(), other.columns()):
            mine.extend(theirs)

    def where(self, keep: list[bool]) -> Samples:
        """The samples whose `keep` is true, in order."""
        return Samples(*(list(compress(column, keep)) for column in self.columns()))
