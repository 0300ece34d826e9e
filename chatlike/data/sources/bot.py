"""The bot's record (RUN/bot/conversations.jsonl, chatlike.bot.record) as a source: the replies the
owner sent or corrected in draft mode are mine, so the next SFT round learns from them.

Each Telegram chat of the record is a chat of its own (named after its contact), made of what was
said in it: before each approved reply, the other side's messages since my last one, then the reply
as it was sent; one time per exchange (the record keeps no more), so segment's gaps still cut
conversations apart. Auto-mode replies (the model's, never looked at) and discarded drafts are not
mine: left out, as is a chat whose history a /forget cut (the next exchange starts afresh).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from chatlike.bot.record import FORGET, decode_exchanges
from chatlike.conversation import messages_of
from chatlike.data.records import ReadChat, SourceChat, SourceMessage
from chatlike.data.sources.snapshot import read_file
from chatlike.errors import ChatlikeError

SOURCE = "bot"
APPROVED = ("send", "edit")


def looks_like(key: bytes, head: bytes) -> bool:
    """Whether a JSON Lines file is a bot record, from its first key and head."""
    return key == b"telegram_chat_id" or (key == b"messages" and b'"telegram_chat_id"' in head)


def _epoch(path: Path, when: str) -> int:
    try:
        return int(dt.datetime.fromisoformat(when).timestamp())
    except ValueError:
        raise ChatlikeError(f"{path}: {when!r} is not a time (a bot record's `time`)") from None


def _text(message: dict) -> str:
    """A user turn's text without a group's speaker prefix (persona adds it again)."""
    name, content = message.get("name") or "", message["content"]
    return content[len(name) + 2 :] if name and content.startswith(name + ": ") else content


def read_record(path: Path) -> list[ReadChat]:
    """The chats of one bot record."""
    data, version = read_file(path)
    chats: dict[int, tuple[str, list[SourceMessage], dict[str, str]]] = {}
    for e in decode_exchanges(path, data):
        if e.event == FORGET or e.owner not in APPROVED or not e.sent:
            continue
        contact, messages, senders = chats.setdefault(e.telegram_chat_id, (e.contact, [], {}))
        t = _epoch(path, e.time)
        prompt = e.prompt
        since = len(prompt)
        while since > 0 and prompt[since - 1]["role"] == "user":
            since -= 1
        for m in prompt[since:]:
            name = m.get("name") or contact
            senders[f"{SOURCE}:{name}"] = name
            messages += [SourceMessage(t, sender_id=f"{SOURCE}:{name}", sender=name, text=x)
                         for x in messages_of(_text(m))]  # fmt: skip
        me = e.messages[-1].get("name") or "me"
        senders[f"{SOURCE}:me:{me}"] = me
        messages += [SourceMessage(t, sender_id=f"{SOURCE}:me:{me}", sender=me, text=x) for x in e.sent]
    out = []
    for chat_id, (contact, messages, senders) in chats.items():
        others = frozenset(i for i in senders if not i.startswith(f"{SOURCE}:me:"))
        kind = "personal_chat" if len(others) <= 1 else "private_group"
        digest = hashlib.sha256(f"{SOURCE}:{chat_id}".encode()).digest()
        chat = SourceChat(int.from_bytes(digest[:7], "big"), contact, kind, messages, SOURCE, str(path),
                          size=len(data))  # fmt: skip
        out.append(ReadChat(chat, senders, others, "record", [(path, version)] if not out else []))
    return out
