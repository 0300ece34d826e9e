"""Filtering: which chats and which messages become training data. Every rule is counted."""

from __future__ import annotations

import calendar
import datetime as dt
from collections import Counter
from typing import Iterable, Iterator, Optional

import msgspec

from chatlike.config import FilterConfig
from chatlike.data.export import ChatHead, ChatSource, RawMessage, flatten_text, normalize_from_id
from chatlike.data.records import Chat, Message
from chatlike.data.redact import pseudonym, redact
from chatlike.errors import ChatlikeError

GROUP_TYPES = frozenset({"private_group", "private_supergroup", "public_supergroup"})


class FilterStats(msgspec.Struct):
    """What the filters saw and removed; goes to stats.json and the report."""

    chats_seen: int = 0
    chats_kept: int = 0
    messages_seen: int = 0  # in the chats the chat rules selected (the others are never decoded)
    messages_kept: int = 0
    chats_removed: dict[str, int] = {}
    messages_removed: dict[str, int] = {}
    only_my_messages: list[str] = []  # groups exported with "only my messages": nobody to answer


def _parse_date(value: Optional[str], key: str, end: bool) -> Optional[int]:
    if value is None:
        return None
    try:
        day = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ChatlikeError(f"config: {key}={value!r} is not an ISO date (YYYY-MM-DD)") from None
    if end and len(str(value)) <= 10:
        day += dt.timedelta(days=1)
    return calendar.timegm(day.timetuple()) - (1 if end and len(str(value)) <= 10 else 0)


def message_time(m: RawMessage) -> int:
    """Epoch seconds; `date` (local, no offset) is read as UTC when `date_unixtime` is missing
    (before mid-2022), which keeps gaps right and results independent of this machine's zone."""
    if m.date_unixtime is not None:
        return m.date_unixtime
    return calendar.timegm(dt.datetime.fromisoformat(m.date).timetuple())


def _media_kind(m: RawMessage) -> str:
    if m.media_type:
        return m.media_type
    if m.photo is not None:
        return "photo"
    if m.poll is not msgspec.UNSET:
        return "poll"
    if m.location_information is not msgspec.UNSET or m.place_name:
        return "location"
    if m.contact_information is not msgspec.UNSET:
        return "contact"
    if m.file is not None:
        return "file"
    return "empty"


def chat_name(head: ChatHead, placeholder: str) -> str:
    if head.type == "saved_messages":
        return "Saved Messages"
    return head.name if head.name is not None else placeholder


def _named(head: ChatHead, name: str, wanted: Iterable[str]) -> bool:
    keys = {name, str(head.id)}
    return any(str(w) in keys for w in wanted)


class ChatFilter:
    """Applies the chat and message rules one chat at a time, counting what each removes.
    A chat the chat rules reject is never decoded."""

    def __init__(self, cfg: FilterConfig, me_id: str, me_name: str, placeholder: str):
        self.cfg, self.me_id, self.me_name, self.placeholder = cfg, me_id, me_name, placeholder
        self.since = _parse_date(cfg.date_from, "filter.date_from", end=False)
        self.until = _parse_date(cfg.date_to, "filter.date_to", end=True)
        self.types = set(cfg.chat_types)
        self.stats = FilterStats()
        self.removed: Counter = Counter()
        self.chats_removed: Counter = Counter()
        self.counted = (0, 0)  # messages kept and mine of the chat `messages` last read

    def select(self, head: ChatHead, name: str) -> Optional[str]:
        """Why a chat is not read at all, or None."""
        cfg = self.cfg
        if (head.type or "unknown") not in self.types:
            return f"type:{head.type}"
        if cfg.include_chats and not _named(head, name, cfg.include_chats):
            return "not_included"
        if cfg.exclude_chats and _named(head, name, cfg.exclude_chats):
            return "excluded"
        return None

    def __call__(self, source: ChatSource) -> Optional[Chat]:
        """The chat, its messages still to be filtered as they are read (`messages`), or None when
        the chat rules reject it before reading (type, include, exclude). Once its messages are
        read, `judge` applies the rules that need them."""
        head, stats = source.head, self.stats
        stats.chats_seen += 1
        name = chat_name(head, self.placeholder)
        reason = self.select(head, name)
        if reason:
            self.chats_removed[reason] += 1
            return None
        raw = source.messages()
        stats.messages_seen += len(raw)
        if head.type == "personal_chat" and self.cfg.pseudonymize_contacts:
            name = pseudonym(f"user{head.id}")
        return Chat(head.id, name, head.type or "unknown", self.messages(raw))

    def read(self, source: ChatSource) -> Optional[Chat]:
        """All the rules at once: the chat with its kept messages as a list of `Message`s, or None.
        (prepare segments the messages as they are filtered instead: `__call__`, then `judge`.)"""
        chat = self(source)
        if chat is None:
            return None
        chat = Chat(chat.id, chat.name, chat.type, [Message._make(m) for m in chat.messages])
        return chat if self.judge(chat) else None

    def judge(self, chat: Chat) -> bool:
        """After its messages were read: keep the chat, or count why not (too few messages, too few
        of mine, or a group exported with only my messages)."""
        cfg, stats = self.cfg, self.stats
        n, n_mine = self.counted
        reason = None
        if chat.type in GROUP_TYPES and n and n_mine == n:
            stats.only_my_messages.append(chat.name)
            reason = "only_my_messages"
        elif n < cfg.min_messages:
            reason = "too_few_messages"
        elif n_mine < cfg.min_my_messages:
            reason = "too_few_of_mine"
        if reason:
            self.removed[f"chat:{reason}"] += n
            self.chats_removed[reason] += 1
            return False
        stats.chats_kept += 1
        stats.messages_kept += n
        return True

    def messages(self, raw: list[RawMessage]) -> Iterator[Message]:
        """Keep text messages; drop service, unsupported, media without text, forwards, via-bot.
        Yields `Message` tuples; once done, `counted` holds how many were kept and how many are mine."""
        cfg, removed = self.cfg, self.removed
        me_id, me_name, placeholder = self.me_id, self.me_name, self.placeholder
        since, until = self.since, self.until
        drop_forwarded, drop_via_bot, pseudo = cfg.drop_forwarded, cfg.drop_via_bot, cfg.pseudonymize_contacts
        unset = msgspec.UNSET
        redacting = cfg.redact
        dated = since is not None or until is not None
        n = n_mine = 0
        for m in raw:
            if m.type != "message":
                removed[m.type] += 1  # service, unsupported
                continue
            t = m.date_unixtime
            if t is None:
                t = message_time(m)
            if dated and ((since is not None and t < since) or (until is not None and t > until)):
                removed["date_range"] += 1
                continue
            if drop_forwarded and m.forwarded_from is not unset:
                removed["forwarded"] += 1
                continue
            if drop_via_bot and m.via_bot:
                removed["via_bot"] += 1
                continue
            text = m.text
            if type(text) is not str:
                text = flatten_text(text)
            if not text or text.isspace():
                kind = _media_kind(m)
                if kind == "sticker" and cfg.stickers_as_emoji and m.sticker_emoji:
                    text = m.sticker_emoji
                else:
                    removed[f"no_text:{kind}"] += 1
                    continue
            if redacting:
                text = redact(text)
            from_id = m.from_id
            sender_id = from_id if type(from_id) is str else normalize_from_id(from_id)
            n += 1
            if sender_id == me_id:
                n_mine += 1
                yield (t, sender_id, me_name, text, True)
            elif m.from_ is None:
                yield (t, sender_id, placeholder, text, False)
            else:
                yield (t, sender_id, pseudonym(sender_id) if pseudo else m.from_, text, False)
        self.counted = (n, n_mine)

    def absorb(self, other: ChatFilter) -> None:
        """Add the counts of a filter that read other chats (a worker's), in chat order."""
        s, o = self.stats, other.stats
        s.chats_seen += o.chats_seen
        s.chats_kept += o.chats_kept
        s.messages_seen += o.messages_seen
        s.messages_kept += o.messages_kept
        s.only_my_messages = [*s.only_my_messages, *o.only_my_messages]
        self.removed.update(other.removed)
        self.chats_removed.update(other.chats_removed)

    def finish(self) -> FilterStats:
        self.stats.chats_removed = dict(sorted(self.chats_removed.items()))
        self.stats.messages_removed = dict(sorted(self.removed.items()))
        return self.stats
