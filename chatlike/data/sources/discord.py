"""Reading a DiscordChatExporter JSON export (the spec: docs/export-formats.md, Discord).

One file is one channel: a server's text channel or thread, a DM, or a group DM, with `guild`,
`channel` and `messages` (oldest first). Authors are identified by their user id: a sender's id is
"discord:ID", their name the server nickname, else the user name. Bots, system messages (joins,
pins, calls) and attachments, embeds or stickers without text are dropped by the filters, counted.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional, Union

import msgspec
from msgspec import UNSET, UnsetType

from chatlike.data.records import ReadChat, SourceChat, SourceMessage
from chatlike.data.sources import jsonfile
from chatlike.data.sources.snapshot import read_file
from chatlike.errors import ChatlikeError

SOURCE = "discord"
AGAIN = "export the channel again with DiscordChatExporter (--format Json)"
# DiscordChatExporter's channel kinds -> the chat types chatlike uses (a server's channel is a group)
KINDS = {"DirectTextChat": "personal_chat", "DirectGroupTextChat": "private_group"}
SHAPES = {"DirectTextChat": "dm", "DirectGroupTextChat": "group dm"}
TEXT_TYPES = frozenset({"Default", "Reply"})  # the others are system notifications
_MEDIA = (
    ((".png", ".jpg", ".jpeg", ".webp", ".heic"), "photo"),
    ((".gif",), "animation"),
    ((".mp4", ".mov", ".webm"), "video_file"),
    ((".ogg", ".mp3", ".m4a", ".wav"), "voice_message"),
)


class _Author(msgspec.Struct, gc=False):
    id: str = ""
    name: str = ""
    nickname: Optional[str] = None
    isBot: bool = False


class _Attachment(msgspec.Struct, gc=False):
    fileName: str = ""


class _Message(msgspec.Struct, gc=False):
    id: str = ""
    type: str = "Default"
    timestamp: str = ""
    content: str = ""
    author: _Author = msgspec.field(default_factory=_Author)
    attachments: list[_Attachment] = []
    embeds: list[msgspec.Raw] = []
    stickers: list[msgspec.Raw] = []
    forwardedMessage: Union[msgspec.Raw, UnsetType] = UNSET


class _Channel(msgspec.Struct):
    id: str
    type: str
    name: str = ""
    category: Optional[str] = None


class _Guild(msgspec.Struct):
    id: str = "0"
    name: str = ""


class _Root(msgspec.Struct):
    guild: _Guild
    channel: _Channel
    messages: list[_Message]


_ROOT = msgspec.json.Decoder(_Root)


def looks_like(key: bytes, head: bytes) -> bool:
    """Whether a JSON file is a DiscordChatExporter export, from its first key and head."""
    return key == b"guild" or (b'"guild"' in head and b'"channel"' in head)


def read_channel(path: Path) -> ReadChat:
    """The channel of one export file."""
    data, version = read_file(path)
    root: _Root = jsonfile.decode(path, data, _ROOT, "a DiscordChatExporter JSON export", AGAIN)
    del data
    channel = root.channel
    senders: dict[str, str] = {}
    usernames: dict[str, str] = {}
    messages = []
    keep = messages.append
    for m in root.messages:
        a = m.author
        try:
            t = int(dt.datetime.fromisoformat(m.timestamp).timestamp())
        except ValueError:
            raise ChatlikeError(
                f"{path}: message {m.id}: {m.timestamp!r} is not a timestamp; {AGAIN}"
            ) from None
        if m.type not in TEXT_TYPES:
            keep(SourceMessage(t, "service"))
            continue
        if a.isBot:
            keep(SourceMessage(t, "bot"))
            continue
        sender_id, name = f"{SOURCE}:{a.id}", a.nickname or a.name
        senders.setdefault(sender_id, name)
        usernames.setdefault(a.name, sender_id)
        keep(
            SourceMessage(
                t,
                sender_id=sender_id,
                sender=name,
                text=m.content,
                media=None if m.content else _media(m),
                forwarded=m.forwardedMessage is not UNSET,
            )
        )
    kind = KINDS.get(channel.type, "public_supergroup")
    if kind == "public_supergroup":
        name = f"{root.guild.name} #{channel.name}" if root.guild.name else channel.name
        others: frozenset[str] = frozenset()
    else:  # a DM is named after its recipients, who are not the one who exported it
        name = channel.name
        others = frozenset(usernames[n] for n in channel.name.split(", ") if n in usernames)
    chat_id = int(channel.id) if channel.id.isdigit() else 0
    chat = SourceChat(chat_id, name, kind, messages, SOURCE, str(path), "", version.size)
    return ReadChat(chat, senders, others, SHAPES.get(channel.type, "server"), [(path, version)], usernames)


def _media(m: _Message) -> str:
    """What a message without text carried, as the report counts it ("no_text:sticker")."""
    if m.stickers:
        return "sticker"
    if m.attachments:
        name = m.attachments[0].fileName.lower()
        return next((kind for ends, kind in _MEDIA if name.endswith(ends)), "file")
    return "embed" if m.embeds else "empty"
