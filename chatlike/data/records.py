"""The records the data stages pass along: Message -> Turn -> Conversation -> Sample."""

from __future__ import annotations

from typing import NamedTuple

import msgspec


class Message(NamedTuple):
    """One kept text message, normalised: epoch time, sender id, visible text. The filter makes
    these as plain tuples of the same fields (a class instance per message would cost more than
    segmenting it), so read them by unpacking: `for time, sender_id, sender, text, mine in ...`."""

    time: int  # epoch seconds
    sender_id: str  # "user123"; deleted accounts keep their id, their name is a placeholder
    sender: str
    text: str
    mine: bool


class Chat(msgspec.Struct, frozen=True, gc=False):
    """One chat the filters kept: who it is with, and its kept messages, oldest first."""

    id: int
    name: str
    type: str
    messages: list[Message]


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
    """One training sample: its JSONL line, `{"messages": [...]}` (ChatMessage entries), and what
    the split and the stats need to know of it."""

    line: bytes
    chat_id: int
    contact: str
    start: int  # the conversation's start: windows of one conversation share it
    turns: int  # user and assistant turns
    mine: int  # my turns
    chars: int  # in the turns, system prompt excluded
    tokens: int  # approximate, whole sample
