"""Filtering: which chats and which messages become training data. Every rule is counted, and the
counts come back with the chat they are of."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Optional

from chatlike.config import Config, FilterConfig
from chatlike.data.near_duplicates import collapse_mine
from chatlike.data.records import Chat, Message, SourceChat, SourceMessage
from chatlike.data.redact import pseudonym, redact
from chatlike.data.sources import messages_of
from chatlike.data.stats import Counts, FilterStats, SourceTally
from chatlike.errors import ChatlikeError

GROUP_TYPES = frozenset({"private_group", "private_supergroup", "public_supergroup"})
BLOCKED = "<BLOCKED>"  # what filter.blocked_action=redact puts in place of a blocked word


def blocked_words(cfg: FilterConfig) -> Optional[re.Pattern]:
    """filter.blocked and the lines of filter.blocked_file as one pattern (None: nothing blocked): a
    word or phrase matches as whole words in any case, an entry written /like this/ is a regular
    expression (any case too); blank lines and lines starting with # in the file are skipped."""
    entries = [(f"filter.blocked[{i}]", e) for i, e in enumerate(cfg.blocked)]
    if cfg.blocked_file:
        path = Path(cfg.blocked_file).expanduser()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise ChatlikeError(f"filter.blocked_file: cannot read {path} ({why})") from None
        entries += [
            (f"{path}:{n}", line) for n, line in enumerate(lines, 1) if not line.lstrip().startswith("#")
        ]
    parts = []
    for where, entry in entries:
        text = str(entry).strip()
        if not text:
            continue
        if len(text) > 2 and text.startswith("/") and text.endswith("/"):
            try:
                re.compile(text[1:-1])
            except re.error as exc:
                raise ChatlikeError(f"{where}: {text} is not a regular expression ({exc})") from None
            parts.append(f"(?:{text[1:-1]})")
        else:
            parts.append(r"(?<!\w)" + r"\s+".join(map(re.escape, text.split())) + r"(?!\w)")
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


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


def chat_name(raw: SourceChat, placeholder: str) -> str:
    if raw.type == "saved_messages":
        return "Saved Messages"
    return raw.name if raw.name is not None else placeholder


def _named(raw: SourceChat, name: str, wanted: Iterable[str]) -> bool:
    """A chat is named by its name or id, alone or after its source: "Lorenzo", "whatsapp:Lorenzo"."""
    keys = {name, str(raw.id), f"{raw.source}:{name}", f"{raw.source}:{raw.id}"}
    return any(str(w) in keys for w in wanted)


class ChatFilter:
    """The chat and message rules, applied one chat at a time. A chat the chat rules reject by its
    head (type, include, exclude) is never decoded. `me_id` is my sender id, or my ids in every
    source of the run (sender ids are namespaced per source)."""

    def __init__(self, cfg: FilterConfig, me_id: str | Iterable[str], me_name: str, placeholder: str):
        self.cfg, self.me_name, self.placeholder = cfg, me_name, placeholder
        self.me_ids = frozenset([me_id] if isinstance(me_id, str) else me_id)
        self.since = _parse_date(cfg.date_from, "filter.date_from", end=False)
        self.until = _parse_date(cfg.date_to, "filter.date_to", end=True)
        self.types = set(cfg.chat_types)
        self.blocked = blocked_words(cfg)

    def __call__(self, raw: SourceChat) -> tuple[Optional[Chat], Counts]:
        """The chat with its kept messages (None when a rule removes it), and what was counted."""
        name = chat_name(raw, self.placeholder)
        reason = self.select(raw, name)
        if reason:
            return None, _counts(raw, FilterStats(chats_seen=1, chats_removed={reason: 1}))
        decoded = messages_of(raw)
        messages, n_mine, removed, redacted = self.messages(decoded)
        kind = raw.type or "unknown"
        if kind == "personal_chat" and self.cfg.pseudonymize_contacts:
            name = pseudonym(raw.peer or f"user{raw.id}")
        reason = self.judge(kind, len(messages), n_mine)
        seen = FilterStats(chats_seen=1, messages_seen=len(decoded))
        if reason:
            removed[f"chat:{reason}"] += len(messages)
            groups = [name] if reason == "only_my_messages" else []
            why = FilterStats(
                chats_removed={reason: 1}, messages_removed=dict(removed), only_my_messages=groups
            )
            return None, _counts(raw, seen + why)
        kept = FilterStats(
            chats_kept=1,
            messages_kept=len(messages),
            messages_removed=dict(removed),
            messages_redacted=redacted,
        )
        return Chat(raw.id, name, kind, messages, raw.source), _counts(raw, seen + kept)

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

    def judge(self, kind: str, n: int, n_mine: int) -> Optional[str]:
        """Why a chat of n kept messages, n_mine of them mine, is not kept (too few messages, too few
        of mine, or a group exported with only my messages), or None."""
        if kind in GROUP_TYPES and n and n_mine == n:
            return "only_my_messages"
        if n < self.cfg.min_messages:
            return "too_few_messages"
        if n_mine < self.cfg.min_my_messages:
            return "too_few_of_mine"
        return None

    def messages(self, raw: list[SourceMessage]) -> tuple[list[Message], int, Counter, dict[str, int]]:
        """Keep text messages; drop service and other non-messages, media without text, forwards,
        via-bot, those holding a blocked word (or redact it), my near-repeats. The kept `Message`s (as
        plain tuples), how many of them are mine, how many each rule removed, and how many had a
        blocked word redacted."""
        cfg = self.cfg
        removed: Counter = Counter()
        me_ids, me_name, placeholder = self.me_ids, self.me_name, self.placeholder
        since, until = self.since, self.until
        drop_forwarded, drop_via_bot, pseudo = cfg.drop_forwarded, cfg.drop_via_bot, cfg.pseudonymize_contacts
        emoji, redacting = cfg.stickers_as_emoji, cfg.redact
        blocked, drop_blocked, n_blocked = self.blocked, cfg.blocked_action == "drop", 0
        dated = since is not None or until is not None
        kept: list[Message] = []
        keep = kept.append
        n_mine = 0
        for m in raw:
            if m.kind != "message":
                removed[m.kind] += 1  # service, unsupported, deleted, ...
                continue
            t = m.time
            if dated and ((since is not None and t < since) or (until is not None and t > until)):
                removed["date_range"] += 1
                continue
            if drop_forwarded and m.forwarded:
                removed["forwarded"] += 1
                continue
            if drop_via_bot and m.via_bot:
                removed["via_bot"] += 1
                continue
            text = m.text
            if not text or text.isspace():
                media = m.media or "empty"
                if media == "sticker" and emoji and m.emoji:
                    text = m.emoji
                else:
                    removed[f"no_text:{media}"] += 1
                    continue
            if redacting:
                text = redact(text)
            if blocked is not None and blocked.search(text):
                if drop_blocked:
                    removed["blocked"] += 1
                    continue
                text = blocked.sub(BLOCKED, text)
                n_blocked += 1
            sender_id = m.sender_id
            if sender_id in me_ids:
                n_mine += 1
                keep((t, sender_id, me_name, text, True))
            elif m.sender is None:
                keep((t, sender_id, placeholder, text, False))
            else:
                keep((t, sender_id, pseudonym(sender_id) if pseudo else m.sender, text, False))
        if cfg.near_duplicate_ratio is not None:
            kept, collapsed = collapse_mine(kept, cfg.near_duplicate_ratio, cfg.near_duplicate_minutes)
            if collapsed:
                removed["near_duplicate_of_mine"] += collapsed
                n_mine -= collapsed
        return kept, n_mine, removed, {"blocked": n_blocked} if n_blocked else {}


def _counts(raw: SourceChat, stats: FilterStats) -> Counts:
    """A chat's filter counts, also as its messenger's."""
    per_source = SourceTally(stats.chats_seen, stats.chats_kept, stats.messages_seen, stats.messages_kept)
    return Counts(filter=stats, sources={raw.source: per_source})


def nothing_left(cfg: Config, stats: FilterStats) -> str:
    """What to change when nothing is left: name the chat types that were skipped."""
    skipped = sorted(k.split(":", 1)[1] for k in stats.chats_removed if k.startswith("type:"))
    hint = ""
    if skipped:
        types = ",".join([*cfg.filter.chat_types, *skipped])
        hint = f"; chats of type {', '.join(skipped)} were skipped: to use them, filter.chat_types=[{types}]"
    return (
        f"no training conversations left after filtering (chats kept: {stats.chats_kept}, removed: "
        f"{stats.chats_removed}){hint}; check filter.*, segment.min_turns and source.me"
    )
