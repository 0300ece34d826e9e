"""Filtering: which chats and which messages become training data. Every rule is counted."""

from __future__ import annotations

import calendar
import datetime as dt
from collections import Counter
from typing import Iterable, Optional

import msgspec

from chatlike.config import FilterConfig
from chatlike.data.records import Chat, Message, SourceChat
from chatlike.data.redact import pseudonym, redact
from chatlike.data.sources.telegram import RawMessage, flatten_text, normalize_from_id, read_messages
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


def chat_name(raw: SourceChat, placeholder: str) -> str:
    if raw.type == "saved_messages":
        return "Saved Messages"
    return raw.name if raw.name is not None else placeholder


def _named(raw: SourceChat, name: str, wanted: Iterable[str]) -> bool:
    """A chat is named by its name or id, alone or after its source: "Lorenzo", "whatsapp:Lorenzo"."""
    keys = {name, str(raw.id), f"{raw.source}:{name}", f"{raw.source}:{raw.id}"}
    return any(str(w) in keys for w in wanted)


class ChatFilter:
    """Applies the chat and message rules one chat at a time, counting what each removes.
    A chat the chat rules reject by its head (type, include, exclude) is never decoded. `me_id` is
    my sender id, or my ids in every source of the run (sender ids are namespaced per source)."""

    def __init__(self, cfg: FilterConfig, me_id: str | Iterable[str], me_name: str, placeholder: str):
        self.cfg, self.me_name, self.placeholder = cfg, me_name, placeholder
        self.me_ids = frozenset([me_id] if isinstance(me_id, str) else me_id)
        self.since = _parse_date(cfg.date_from, "filter.date_from", end=False)
        self.until = _parse_date(cfg.date_to, "filter.date_to", end=True)
        self.types = set(cfg.chat_types)
        self.stats = FilterStats()
        self.removed: Counter = Counter()
        self.chats_removed: Counter = Counter()
        self.per_source: Counter = Counter()  # (source, "chats_seen" | ... | "messages_kept")

    def __call__(self, raw: SourceChat, path: str) -> Optional[Chat]:
        """The chat with its kept messages, or None when a chat rule removes it."""
        stats, per_source, source = self.stats, self.per_source, raw.source
        stats.chats_seen += 1
        per_source[source, "chats_seen"] += 1
        name = chat_name(raw, self.placeholder)
        reason = self.select(raw, name)
        if reason:
            self.chats_removed[reason] += 1
            return None
        decoded = raw.messages if type(raw.messages) is list else read_messages(raw, path)
        stats.messages_seen += len(decoded)
        per_source[source, "messages_seen"] += len(decoded)
        messages, n_mine = self.messages(decoded)
        kind = raw.type or "unknown"
        if kind == "personal_chat" and self.cfg.pseudonymize_contacts:
            name = pseudonym(raw.peer or f"user{raw.id}")
        if not self.judge(name, kind, len(messages), n_mine):
            return None
        per_source[source, "chats_kept"] += 1
        per_source[source, "messages_kept"] += len(messages)
        return Chat(raw.id, name, kind, messages, source)

    def select(self, raw: SourceChat, name: str) -> Optional[str]:
        """Why a chat is not read at all, or None."""
        cfg = self.cfg
        if (raw.type or "unknown") not in self.types:
            return f"type:{raw.type}"
        if cfg.include_chats and not _named(raw, name, cfg.include_chats):
            return "not_included"
        if cfg.exclude_chats and _named(raw, name, cfg.exclude_chats):
            return "excluded"
        return None

    def judge(self, name: str, kind: str, n: int, n_mine: int) -> bool:
        """Keep a chat of n kept messages, n_mine of them mine, or count why not (too few messages,
        too few of mine, or a group exported with only my messages)."""
        cfg, stats = self.cfg, self.stats
        reason = None
        if kind in GROUP_TYPES and n and n_mine == n:
            stats.only_my_messages.append(name)
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

    def messages(self, raw: list[RawMessage]) -> tuple[list[Message], int]:
        """Keep text messages; drop service, unsupported, media without text, forwards, via-bot.
        The kept `Message`s (as plain tuples), and how many of them are mine."""
        cfg, removed = self.cfg, self.removed
        me_ids, me_name, placeholder = self.me_ids, self.me_name, self.placeholder
        since, until = self.since, self.until
        drop_forwarded, drop_via_bot, pseudo = cfg.drop_forwarded, cfg.drop_via_bot, cfg.pseudonymize_contacts
        unset = msgspec.UNSET
        redacting = cfg.redact
        dated = since is not None or until is not None
        kept: list[Message] = []
        keep = kept.append
        n_mine = 0
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
            if sender_id in me_ids:
                n_mine += 1
                keep((t, sender_id, me_name, text, True))
            elif m.from_ is None:
                keep((t, sender_id, placeholder, text, False))
            else:
                keep((t, sender_id, pseudonym(sender_id) if pseudo else m.from_, text, False))
        return kept, n_mine

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
        self.per_source.update(other.per_source)

    def source_counts(self) -> dict[str, dict[str, int]]:
        """Chats and messages seen and kept, per source (stats.json's `sources`)."""
        out: dict[str, dict[str, int]] = {}
        for (source, key), n in self.per_source.items():
            out.setdefault(
                source, dict.fromkeys(("chats_seen", "chats_kept", "messages_seen", "messages_kept"), 0)
            )
            out[source][key] = n
        return out

    def finish(self) -> FilterStats:
        self.stats.chats_removed = dict(sorted(self.chats_removed.items()))
        self.stats.messages_removed = dict(sorted(self.removed.items()))
        return self.stats
