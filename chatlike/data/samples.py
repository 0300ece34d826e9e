"""A run's chats -> training samples: each chat filtered (chatlike.data.filters), segmented into
conversations and windows (chatlike.data.segment) and each window formatted as its JSONL line
(chatlike.data.persona). What each step counted comes back with the samples (`Part`), and the parts
of several runs of chats (worker processes, chatlike.data.workers) add up to one (`+`)."""

from __future__ import annotations

from collections import Counter
from itertools import chain, filterfalse
from operator import attrgetter
from pathlib import Path

import msgspec

from chatlike.config import Config
from chatlike.data.chats import chat_key
from chatlike.data.filters import ChatFilter
from chatlike.data.persona import system_prompt, to_line
from chatlike.data.records import Chat, ChatHead, Conversation, Sample, Turn
from chatlike.data.segment import TURN_OVERHEAD_TOKENS, keep, segment, token_counter, windows
from chatlike.data.sources import Sources
from chatlike.data.stats import Counts, Gaps, SegmentStats, Tally
from chatlike.data.workers import in_workers, worker_count
from chatlike.files import atomic_open

_SENDER, _MINE = attrgetter("sender"), attrgetter("mine")


class Part(Tally):
    """What a run of chats gives: its samples and the chats that gave them, in chat order, and what
    the filters and the segmentation counted."""

    samples: list[Sample] = []
    chats: list[ChatHead] = []
    counts: Counts = msgspec.field(default_factory=Counts)


class SampleBuilder:
    """Segments a kept chat and formats its windows as samples."""

    def __init__(self, cfg: Config, me: str):
        self.cfg, self.me = cfg, me
        self.count = token_counter(cfg.segment.tokenizer)

    def __call__(self, chat: Chat) -> Part:
        """The chat's samples, the chat as data/chats.json lists it (none without samples), and what
        segmentation saw and dropped."""
        seg, persona = self.cfg.segment, self.cfg.persona
        conversations, silences = segment(chat, seg.gap_minutes * 60, seg.turn_window_minutes * 60)
        system = system_prompt(
            persona,
            self.me,
            chat.name,
            chat.type,
            lambda: dict.fromkeys(t.sender for c in conversations for t in c.turns if not t.mine),
            chat.source,
        )
        kept, counted = self.windows(conversations, self.count(system) + TURN_OVERHEAD_TOKENS)
        samples, key = [], chat_key(chat.source, chat.id)
        for conv, ws in kept:
            for w in ws:
                line, mine, chars, tokens = to_line(persona, self.me, conv, w, system, key)
                samples.append(Sample(line, chat.id, chat.name, conv.start, len(w), mine, chars, tokens))
        counts = Counts(segment=counted + SegmentStats(windows=len(samples)), gaps=Gaps.of(silences))
        if not samples:
            return Part(counts=counts)
        turns = chain.from_iterable(conv.turns for conv, _ in kept)
        speakers = Counter(map(_SENDER, filterfalse(_MINE, turns)))  # in C: a chat has many turns
        members = tuple(sorted(speakers, key=lambda name: (-speakers[name], name)))
        return Part(samples, [ChatHead(chat.id, chat.name, chat.type, members, system, chat.source)], counts)

    def windows(
        self, conversations: list[Conversation], reserved: int
    ) -> tuple[list[tuple[Conversation, list[tuple[Turn, ...]]]], SegmentStats]:
        """The conversations kept, each with its windows under the token budget (after `reserved`,
        the system prompt's), and how many were dropped and why."""
        seg, kept, dropped, split = self.cfg.segment, [], Counter(), 0
        for conv in conversations:
            ws = [w for w in windows(conv, seg.max_tokens, reserved, self.count) if keep(w, seg.min_turns)]
            if ws:
                split += len(ws) > 1
                kept.append((conv, ws))
                continue
            turns = conv.turns
            one_sided = all(t.mine for t in turns) or not any(t.mine for t in turns)
            dropped["one_sided" if one_sided else "too_few_turns"] += 1
        cap = self.cfg.filter.max_conversations_per_chat
        if cap is not None and len(kept) > cap:
            dropped["over_cap_per_chat"] += len(kept) - cap
            kept = kept[-cap:]  # the latest
        return kept, SegmentStats(len(conversations), len(kept), dict(dropped), split)


def chats_part(cfg: Config, export: Sources, me: str, lo: int, hi: int) -> Part:
    """Filter, segment and format the chats export.chats[lo:hi]."""
    chat_filter = ChatFilter(cfg.filter, export.me_ids, me, cfg.persona.deleted_account_name)
    build = SampleBuilder(cfg, me)
    samples, heads, counts = [], [], Counts()
    for raw in export.chats[lo:hi]:
        chat, counted = chat_filter(raw)
        counts += counted
        if chat is not None:
            made = build(chat)
            samples += made.samples
            heads += made.chats
            counts += made.counts
    return Part(samples, heads, counts)


def all_samples(cfg: Config, export: Sources, me: str, advance=lambda n: None) -> Part:
    """Every chat of the run, in order: in worker processes for a big export (one part each), else in
    this one; `advance(bytes)` as runs of chats are done."""
    sizes = [c.size for c in export.chats]
    task = lambda lo, hi: chats_part(cfg, export, me, lo, hi)  # noqa: E731  (runs in each worker)
    first, *rest = in_workers(task, sizes, worker_count(cfg, export.size), export.where, advance)
    return sum(rest, first)


def dedupe(samples: list[Sample]) -> list[Sample]:
    """Exact duplicate samples (same messages) are dropped, the first one kept; the same conversation
    in two chats (one chat exported from two messengers) is a duplicate too: the model sees the
    messages, not the chat key that ends the line (`{"messages": [...],"chat": "..."}`)."""
    seen: set[bytes] = set()
    kept = []
    for s in samples:
        messages = s.line[: s.line.rindex(b',"chat":')]  # a quote inside a message is escaped
        if messages not in seen:
            seen.add(messages)
            kept.append(s)
    return kept


def write_jsonl(path: Path, samples: list[Sample]) -> None:
    with atomic_open(path, "wb", buffering=1 << 20) as f:
        for s in samples:
            f.write(s.line)
            f.write(b"\n")
