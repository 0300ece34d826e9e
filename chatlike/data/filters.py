"""Filtering: which chats and which messages become training data. Every rule is counted."""

from __future__ import annotations

import calendar
import datetime as dt
from collections import Counter
from typing import Iterable, Optional

import msgspec

from chatlike.config import FilterConfig
from chatlike.data.export import Export, RawChat, RawMessage, flatten_text, normalize_from_id
from chatlike.data.records import Chat, Message
from chatlike.data.redact import pseudonym, redact
from chatlike.errors import ChatlikeError

GROUP_TYPES = frozenset({"private_group", "private_supergroup", "public_supergroup"})


class FilterStats(msgspec.Struct):
    """What the filters saw and removed; goes to stats.json and the report."""

    chats_seen: int = 0
    chats_kept: int = 0
    messages_seen: int = 0
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
    if m.date_unixtime:
        return int(m.date_unixtime)
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


def _chat_name(chat: RawChat, placeholder: str) -> str:
    if chat.type == "saved_messages":
        return "Saved Messages"
    return chat.name if chat.name is not None else placeholder


def _selected(chat: RawChat, name: str, wanted: Iterable[str]) -> bool:
    keys = {name, str(chat.id)}
    return any(str(w) in keys for w in wanted)


def filter_chat(
    chat: RawChat, me_id: str, me_name: str, cfg: FilterConfig, removed: Counter,
    placeholder: str, since: Optional[int], until: Optional[int],
) -> list[Message]:
    """Keep text messages; drop service, unsupported, media without text, forwards, via-bot."""
    kept: list[Message] = []
    append = kept.append
    pseudo = cfg.pseudonymize_contacts
    for m in chat.messages:
        if m.type != "message":
            removed[m.type] += 1  # service, unsupported
            continue
        t = message_time(m)
        if (since is not None and t < since) or (until is not None and t > until):
            removed["date_range"] += 1
            continue
        if cfg.drop_forwarded and m.forwarded_from is not msgspec.UNSET:
            removed["forwarded"] += 1
            continue
        if cfg.drop_via_bot and m.via_bot:
            removed["via_bot"] += 1
            continue
        text = m.text if type(m.text) is str else flatten_text(m.text)
        if not text.strip():
            kind = _media_kind(m)
            if kind == "sticker" and cfg.stickers_as_emoji and m.sticker_emoji:
                text = m.sticker_emoji
            else:
                removed[f"no_text:{kind}"] += 1
                continue
        sender_id = normalize_from_id(m.from_id)
        mine = sender_id == me_id
        if mine:
            sender = me_name
        elif m.from_ is None:
            sender = placeholder
        else:
            sender = pseudonym(sender_id) if pseudo else m.from_
        if cfg.redact:
            text = redact(text)
        append(Message(chat.id, m.id, t, sender_id, sender, text, mine))
    return kept


def filter_export(export: Export, cfg: FilterConfig, placeholder: str) -> tuple[list[Chat], FilterStats]:
    """Apply the chat and message rules to a whole export."""
    stats = FilterStats()
    chats_removed: Counter = Counter()
    removed: Counter = Counter()
    since = _parse_date(cfg.date_from, "filter.date_from", end=False)
    until = _parse_date(cfg.date_to, "filter.date_to", end=True)
    types = set(cfg.chat_types)
    out: list[Chat] = []
    for chat in export.chats:
        stats.chats_seen += 1
        n_raw = len(chat.messages)
        stats.messages_seen += n_raw
        name = _chat_name(chat, placeholder)
        reason = None
        if (chat.type or "unknown") not in types:
            reason = f"type:{chat.type}"
        elif cfg.include_chats and not _selected(chat, name, cfg.include_chats):
            reason = "not_included"
        elif cfg.exclude_chats and _selected(chat, name, cfg.exclude_chats):
            reason = "excluded"
        if reason:
            chats_removed[reason] += 1
            removed[f"chat:{reason}"] += n_raw
            continue
        messages = filter_chat(chat, export.me_id, export.me_name, cfg, removed, placeholder, since, until)
        n_mine = sum(1 for m in messages if m.mine)
        if chat.type in GROUP_TYPES and messages and n_mine == len(messages):
            stats.only_my_messages.append(name)
            reason = "only_my_messages"
        elif len(messages) < cfg.min_messages:
            reason = "too_few_messages"
        elif n_mine < cfg.min_my_messages:
            reason = "too_few_of_mine"
        if reason:
            chats_removed[reason] += 1
            removed[f"chat:{reason}"] += len(messages)
            continue
        members: dict[str, None] = {}
        for m in messages:
            if not m.mine:
                members.setdefault(m.sender, None)
        display = name
        if chat.type == "personal_chat" and cfg.pseudonymize_contacts:
            display = pseudonym(f"user{chat.id}")
        out.append(Chat(chat.id, display, chat.type or "unknown", messages, tuple(members)))
        stats.messages_kept += len(messages)
    stats.chats_kept = len(out)
    stats.chats_removed = dict(sorted(chats_removed.items()))
    stats.messages_removed = dict(sorted(removed.items()))
    return out, stats
