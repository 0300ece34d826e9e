"""Reading Meta's "Download your information" messages in JSON: Instagram's and Facebook Messenger's
(the spec: docs/export-formats.md, Instagram and Messenger).

A conversation ("thread") is a folder of `message_1.json`, `message_2.json`, ... (message_1 the
newest), each with `participants`, `title`, `thread_path` and `messages` newest first. Meta writes
every text as its UTF-8 bytes escaped one by one as Latin-1 characters ("Ã¨" for "è"): `fix_text`
repairs them. Only names identify senders: a sender's id is "instagram:NAME" or "messenger:NAME".
Reactions, shares, photos and other media, calls, joins and unsent messages are dropped, counted.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Optional, Union

import msgspec
from msgspec import UNSET, UnsetType

from chatlike.data.records import ReadChat, SourceChat, SourceMessage
from chatlike.data.sources import jsonfile
from chatlike.data.sources.snapshot import read_file
from chatlike.errors import ChatlikeError

AGAIN = "download your information again from Meta's Accounts Center (Format: JSON)"
SERVICE_TYPES = frozenset({"Call", "Subscribe", "Unsubscribe"})
# Instagram wrote reactions as messages of their own before it wrote them on the message
_REACTION = re.compile(r"^(?:Reacted .{1,12} to your message|Liked a message)$", re.S)
_ATTACHMENT = re.compile(r"^.{0,80} sent an attachment\.$")
_MEDIA = ("photos", "videos", "gifs", "audio_files", "files", "sticker")
_KIND = {"photos": "photo", "videos": "video_file", "gifs": "animation", "audio_files": "voice_message",
         "files": "file", "sticker": "sticker"}  # fmt: skip


class _Participant(msgspec.Struct, gc=False):
    name: str = ""


class _Message(msgspec.Struct, gc=False):
    sender_name: str  # required, with timestamp_ms: what tells Meta's messages from another app's
    timestamp_ms: int
    content: Optional[str] = None
    type: str = "Generic"
    is_unsent: bool = False
    photos: Union[msgspec.Raw, UnsetType] = UNSET
    videos: Union[msgspec.Raw, UnsetType] = UNSET
    gifs: Union[msgspec.Raw, UnsetType] = UNSET
    audio_files: Union[msgspec.Raw, UnsetType] = UNSET
    files: Union[msgspec.Raw, UnsetType] = UNSET
    sticker: Union[msgspec.Raw, UnsetType] = UNSET
    share: Union[msgspec.Raw, UnsetType] = UNSET
    call_duration: Union[int, UnsetType] = UNSET


class _Thread(msgspec.Struct, gc=False):
    messages: list[_Message]
    participants: list[_Participant] = []
    title: str = ""
    thread_type: Optional[str] = None  # Messenger: "Regular" or "RegularGroup"
    thread_path: str = ""


_THREAD = msgspec.json.Decoder(_Thread)


def fix_text(text: str) -> str:
    """Meta's text, its UTF-8 bytes written as Latin-1 characters, repaired; text that is not so
    broken (any character above U+00FF, or bytes that are not UTF-8) is left as it is."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def looks_like(key: bytes, head: bytes) -> bool:
    """Whether a JSON file is one of Meta's message_N.json, from its head: participants, and a
    message's sender, the thread's path or its title."""
    return b'"participants"' in head and any(
        k in head for k in (b'"sender_name"', b'"thread_path"', b'"title"')
    )


def read_thread(paths: list[Path], label: str) -> ReadChat:
    """One conversation from all its message_N.json files; `label` is "instagram" or "messenger"."""
    files, threads = [], []
    for path in paths:
        data, version = read_file(path)
        files.append((path, version))
        threads.append(jsonfile.decode(path, data, _THREAD, "Meta's messages JSON (message_1.json)", AGAIN))
    first = threads[0]
    if not any(t.messages for t in threads) and not first.participants:
        raise ChatlikeError(f"{paths[0]}: JSON, but not Meta's messages JSON (no participants, no messages)")
    # each file is newest first, and message_1 the newest file: oldest first, overall
    ordered = sorted(
        zip(paths, threads), key=lambda pt: min((m.timestamp_ms for m in pt[1].messages), default=0)
    )
    raw = [m for _, thread in ordered for m in reversed(thread.messages)]
    raw.sort(key=lambda m: m.timestamp_ms)
    senders: dict[str, str] = {}
    messages = [_message(m, label, senders) for m in raw]
    title = fix_text(first.title)
    names = {fix_text(p.name) for p in first.participants}
    group = first.thread_type == "RegularGroup" or len(names | set(senders.values())) > 2
    others = frozenset() if group else frozenset({f"{label}:{title}"} & senders.keys())
    key = f"{label}\0{first.thread_path or paths[0].parent.name}"
    chat_id = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") >> 11
    kind = "private_group" if group else "personal_chat"
    name = title or paths[0].parent.name
    size = sum(v.size for _, v in files)
    chat = SourceChat(chat_id, name, kind, messages, label, str(paths[0]), "", size)
    return ReadChat(chat, senders, others, "json", files)


def _message(m: _Message, label: str, senders: dict[str, str]) -> SourceMessage:
    """One message as the filter takes it; what is not text gets a type or media kind it counts."""
    t = m.timestamp_ms // 1000
    if m.is_unsent:
        return SourceMessage(t, "unsent")
    if m.type in SERVICE_TYPES or m.call_duration is not UNSET:
        return SourceMessage(t, "service")
    name = fix_text(m.sender_name)
    sender_id = f"{label}:{name}"
    senders.setdefault(sender_id, name)
    text = fix_text(m.content) if m.content else ""
    media = None
    if m.share is not UNSET or m.type == "Share":
        text, media = "", "share"
    elif text and (_REACTION.match(text) or _ATTACHMENT.match(text)):
        if _REACTION.match(text):
            return SourceMessage(t, "reaction")
        text, media = "", "file"
    elif not text:
        media = next((_KIND[k] for k in _MEDIA if getattr(m, k) is not UNSET), "empty")
    return SourceMessage(t, sender_id=sender_id, sender=name, text=text, media=media)
