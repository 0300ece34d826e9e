"""data/chats.json: the chats of the prepared data as training saw them, and how a setting names one.

prepare writes it; chat, eval, serve, merge and the bot read it, so none of them recovers a chat's
name or system prompt from the samples (templates change, names contain anything). A chat is
identified by its source and the export's chat id (`ChatInfo.key`, "telegram:4001"), which every
JSONL line names; a person names it in a setting (chat.contact, bot.allow) by its name, or, where
two chats share a name, as filter.include_chats takes it: "whatsapp:Lorenzo", "telegram:4001".
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable

import msgspec

from chatlike.data.records import ChatHead
from chatlike.data.stats import SplitCounts
from chatlike.errors import ChatlikeError
from chatlike.files import write_bytes

PERSONAL = "personal_chat"


def chat_key(source: str, chat_id: int) -> str:
    """A chat's identity in a run, as every file writes it: its source and the export's chat id."""
    return f"{source}:{chat_id}"


class ChatInfo(msgspec.Struct, frozen=True):
    """One chat with at least one sample."""

    name: str  # the contact (personal chat) or the group, as the export names it
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

    @property
    def key(self) -> str:
        """Its identity: "telegram:4001", as the JSONL lines' `chat` names it."""
        return chat_key(self.source, self.id)

    def names(self) -> tuple[str, ...]:
        """Everything that names it in a setting: its name or id, alone or after its source."""
        return (self.name, str(self.id), f"{self.source}:{self.name}", self.key)


class ChatIndex(msgspec.Struct, frozen=True):
    me: str  # my name, as the assistant's `name` in the samples
    chats: tuple[ChatInfo, ...]  # most conversations first, then most samples, then by name

    def find(self, name: str, setting: str) -> ChatInfo:
        """The one chat `name` names (see ChatInfo.names); one line naming the setting and the
        choices when it names none, or several (a Telegram and a WhatsApp "Lorenzo")."""
        name = str(name).strip()
        found = [c for c in self.chats if name in c.names()]
        if len(found) == 1:
            return found[0]
        refs = self.refs()
        if not found:
            choices = ", ".join(refs[c.key] for c in self.chats)
            raise ChatlikeError(f"{setting} names {name!r}, not a chat of this run; choose one of: {choices}")
        both = " and ".join(f"{refs[c.key]} ({c.kind}, {c.conversations} conversations)" for c in found)
        raise ChatlikeError(
            f"{setting} names {name!r}, which is {len(found)} chats of this run: {both}; "
            "name the one you mean as written here"
        )

    def refs(self) -> dict[str, str]:
        """Each chat's shortest name that finds it alone (`find`), by key: its name where no other
        chat shares it, else "whatsapp:Lorenzo", else "telegram:4001". What serve.json keys it by."""
        taken = Counter(n for c in self.chats for n in set(c.names()))
        return {
            c.key: next((n for n in (c.name, f"{c.source}:{c.name}") if taken[n] == 1), c.key)
            for c in self.chats
        }

    def system_prompts(self) -> dict[str, str]:
        """Each chat's training system prompt, by its shortest name (refs): what a client sends."""
        refs = self.refs()
        return {refs[c.key]: c.system for c in self.chats}


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
