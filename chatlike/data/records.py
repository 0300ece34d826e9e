"""The records the data stages pass along: SourceChat (SourceMessage) -> Chat (Message) -> Turn ->
Conversation -> Sample, and ChatHead (a chat that gave samples)."""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

import msgspec


class SourceMessage(msgspec.Struct, gc=False):
    """One message as every reader gives it, whatever the messenger: what the filters need to keep it
    or to say why not. Sender ids are namespaced per source: user123 (Telegram), whatsapp:NAME,
    discord:ID, instagram:NAME, messenger:NAME."""

    time: int  # epoch seconds (0: none given, as Telegram gives none for what it cannot export)
    # message: someone wrote it (text, or media without text); else what the filters count it as:
    # service, deleted, unsupported, bot, unsent, reaction, ...
    kind: str = "message"
    sender_id: str = ""
    sender: Optional[str] = None  # None: a deleted account
    text: str = ""  # the visible text
    media: Optional[str] = None  # what a message without text carried: photo, sticker, ... (no_text:KIND)
    emoji: Optional[str] = None  # a sticker's emoji (filter.stickers_as_emoji)
    forwarded: bool = False
    via_bot: bool = False


class SourceChat(msgspec.Struct, gc=False):
    """One chat as a reader gives it (chatlike.data.sources), before the filters: its head, and its
    messages (`SourceMessage`s). A Telegram chat's are still an undecoded `msgspec.Raw` slice of the
    file, decoded only if the filters select the chat (chatlike.data.sources.messages_of); the other
    readers give the list."""

    id: int  # unique in a run: the export's own id (Telegram, Discord), else a stable hash
    name: Optional[str]  # None: a deleted account (Telegram)
    type: Optional[str]  # Telegram's chat types: personal_chat, private_group, public_supergroup, ...
    messages: Any  # msgspec.Raw | list[SourceMessage]
    source: str = "telegram"  # telegram | whatsapp | discord | instagram | messenger | meta
    path: str = ""  # the file it was read from, for errors
    peer: str = ""  # a personal chat's other sender id: its pseudonym names the chat
    size: int = 0  # bytes of the file it takes: workers get runs of chats of about equal size


class Source(msgspec.Struct):
    """One messenger of a run (its chats carry its label): its files, and who I am there."""

    format: str  # telegram | whatsapp | discord | meta
    paths: list[str]
    shape: str  # Telegram's "full"/"single"; WhatsApp's "android"/"ios"; Discord's "dm", "server", ...
    me_id: str
    me_name: str


class ReadChat(NamedTuple):
    """What a reader of a messenger without account data gives for one chat: the chat (its name still
    the export's title: a one-to-one chat is named after its contact once "me" is known), who writes
    in it, and what chatlike.data.me needs to tell which of them is me."""

    chat: SourceChat
    senders: dict[str, str]  # sender id -> name, of those who write messages (not system lines)
    others: frozenset[str]  # sender ids the export says are the other side (a DM's recipient)
    shape: str  # the layout read: "android", "ios", "dm", "server", ...
    files: list  # [(Path, Snapshot)]: every file read, as it was read
    aliases: dict[str, str] = {}  # other names a sender goes by (Discord's user names) -> sender id


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
    source: str = "telegram"


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


class ChatHead(msgspec.Struct, frozen=True):
    """A chat that gave samples, as its samples were made: what data/chats.json lists of it besides
    its counts (known once the samples are de-duplicated and split)."""

    id: int
    name: str
    kind: str
    members: tuple[str, ...]
    system: str
    source: str
