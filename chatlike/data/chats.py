"""data/chats.json: the chats of the prepared data as training saw them.

prepare writes it; chat, eval and merge read it, so none of them recovers a chat's name or system
prompt from the samples (templates change, names contain anything).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import msgspec

from chatlike.data.records import ChatHead
from chatlike.data.stats import SplitCounts
from chatlike.errors import ChatlikeError
from chatlike.files import write_bytes

PERSONAL = "personal_chat"


class ChatInfo(msgspec.Struct, frozen=True):
    """One chat with at least one sample."""

    name: str  # the contact (personal chat) or the group: what chat.contact names
    kind: str  # the chat type (Telegram's names, for every source): personal_chat, private_group, ...
    members: tuple[str, ...]  # the other senders, most turns first (in a group: the speakers)
    system: str  # the exact system prompt of its samples
    id: int  # the export's chat id
    conversations: int  # kept conversations (windows of one conversation count once)
    samples: int  # in train, val and test together
    source: str = "telegram"  # the messenger: telegram, whatsapp, discord, instagram, messenger

    @property
    def group(self) -> bool:
        return self.kind != PERSONAL


class ChatIndex(msgspec.Struct, frozen=True):
    me: str  # my name, as the assistant's `name` in the samples
    chats: tuple[ChatInfo, ...]  # most conversations first, then most samples, then by name


def chat_index(me: str, heads: Iterable[ChatHead], counts: dict[int, SplitCounts]) -> ChatIndex:
    """The chats that kept samples, with their counts; most conversations first."""
    listed = [
        ChatInfo(h.name, h.kind, h.members, h.system, h.id, n.conversations, n.samples, h.source)
        for h in heads
        if (n := counts.get(h.id)) is not None
    ]
    listed.sort(key=lambda c: (-c.conversations, -c.samples, c.name))
    return ChatIndex(me, tuple(listed))


def write_chats(path: Path, index: ChatIndex) -> None:
    write_bytes(path, msgspec.json.format(msgspec.json.encode(index), indent=2) + b"\n")


def read_chats(path: Path) -> ChatIndex:
    """The index prepare wrote; one line naming the file when it is missing or not one."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ChatlikeError(f"{path} is missing; run the prepare stage first ('stages=[prepare]')") from None
    try:
        index = msgspec.json.decode(data, type=ChatIndex)
    except msgspec.DecodeError as exc:
        raise ChatlikeError(f"{path}: {exc}; run prepare again") from None
    if not index.chats:
        raise ChatlikeError(f"{path} lists no chat; run prepare again")
    return index
