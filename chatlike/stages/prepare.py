"""prepare: exports (Telegram, WhatsApp, Discord, Instagram, Messenger) -> data/{train,val,test}.jsonl,
data/chats.json, data/stats.json, report.md.

Reads top to bottom as the pipeline: read the exports, then chat by chat filter, segment and format
(in worker processes for big exports), then de-duplicate, split and write.
"""

from __future__ import annotations

import gc
import os
import signal
import time
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain, filterfalse
from operator import attrgetter
from pathlib import Path
from typing import Any, Callable, NamedTuple

import msgspec

from chatlike.config import Config
from chatlike.data import report
from chatlike.data.chats import ChatIndex, ChatInfo, chat_key, write_chats
from chatlike.data.filters import ChatFilter
from chatlike.data.persona import check_templates, system_prompt, to_line
from chatlike.data.records import Chat, Sample
from chatlike.data.segment import TURN_OVERHEAD_TOKENS, approx_tokens, keep, segment, windows
from chatlike.data.sources import Sources, read_sources
from chatlike.data.sources.telegram import check_unchanged
from chatlike.data.split import split_samples
from chatlike.errors import ChatlikeError
from chatlike.files import atomic_open, write_bytes
from chatlike.quantiles import summarize
from chatlike.rundir import SPLITS, RunDir

GAP_EDGES_MINUTES = [0, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880, 10080]
PARALLEL_FROM_BYTES = 64 * 2**20  # smaller exports are read in one process: workers would not pay
_SENDER, _MINE = attrgetter("sender"), attrgetter("mine")


def token_counter(tokenizer: str | None) -> Callable[[str], int]:
    """Exact counts from a local tokenizer (tokenizer.json or a folder holding it), else approximate."""
    if not tokenizer:
        return approx_tokens
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ChatlikeError(
            "segment.tokenizer needs the `tokenizers` package (pip install 'chatlike[train]')"
        ) from None
    path = Path(tokenizer).expanduser()
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise ChatlikeError(f"segment.tokenizer: {file} not found (give a local tokenizer.json)")
    tok = Tokenizer.from_file(str(file))
    return lambda text: len(tok.encode(text, add_special_tokens=False).ids)


@dataclass
class SegmentCounts:
    """What segmentation saw and dropped, over the chats it was given; added up across workers."""

    conversations: int = 0
    split: int = 0  # conversations cut into several windows
    dropped: Counter = field(default_factory=Counter)
    gaps: list[int] = field(default_factory=lambda: [0] * len(GAP_EDGES_MINUTES))

    def add(self, other: SegmentCounts) -> None:
        self.conversations += other.conversations
        self.split += other.split
        self.dropped.update(other.dropped)
        self.gaps = [a + b for a, b in zip(self.gaps, other.gaps)]

    def stats(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "conversations_kept": self.conversations - sum(self.dropped.values()),
            "conversations_dropped": dict(sorted(self.dropped.items())),
            "conversations_split_into_windows": self.split,
        }


class SampleBuilder:
    """Segments a kept chat and formats its windows as samples, counting what it drops."""

    def __init__(self, cfg: Config, me: str):
        self.cfg, self.me = cfg, me
        self.count = token_counter(cfg.segment.tokenizer)
        self.counts = SegmentCounts()
        self._edges = [e * 60 for e in GAP_EDGES_MINUTES[1:]]

    def __call__(self, chat: Chat) -> tuple[list[Sample], ChatInfo | None]:
        """The chat's samples, and the chat as data/chats.json lists it (None without samples)."""
        seg, persona, counts = self.cfg.segment, self.cfg.persona, self.counts
        conversations, silences = segment(chat, seg.gap_minutes * 60, seg.turn_window_minutes * 60)
        ordered = sorted(silences)
        below = [bisect_left(ordered, edge) for edge in self._edges] + [len(ordered)]
        for i, (lo, hi) in enumerate(zip([0, *below], below)):
            counts.gaps[i] += hi - lo  # bin i: edge[i] <= gap < edge[i + 1]
        counts.conversations += len(conversations)
        system = system_prompt(
            persona,
            self.me,
            chat.name,
            chat.type,
            lambda: dict.fromkeys(t.sender for c in conversations for t in c.turns if not t.mine),
            chat.source,
        )
        reserved = self.count(system) + TURN_OVERHEAD_TOKENS
        kept = []
        for conv in conversations:
            ws = [w for w in windows(conv, seg.max_tokens, reserved, self.count) if keep(w, seg.min_turns)]
            if ws:
                counts.split += len(ws) > 1
                kept.append((conv, ws))
                continue
            turns = conv.turns
            one_sided = all(t.mine for t in turns) or not any(t.mine for t in turns)
            counts.dropped["one_sided" if one_sided else "too_few_turns"] += 1
        cap = self.cfg.filter.max_conversations_per_chat
        if cap is not None and len(kept) > cap:
            counts.dropped["over_cap_per_chat"] += len(kept) - cap
            kept = kept[-cap:]  # the latest
        samples, key = [], chat_key(chat.source, chat.id)
        for conv, ws in kept:
            for w in ws:
                line, mine, chars, tokens = to_line(persona, self.me, conv, w, system, key)
                samples.append(Sample(line, chat.id, chat.name, conv.start, len(w), mine, chars, tokens))
        if not samples:
            return samples, None
        turns = chain.from_iterable(conv.turns for conv, _ in kept)
        speakers = Counter(map(_SENDER, filterfalse(_MINE, turns)))  # in C: a chat has many turns
        members = tuple(sorted(speakers, key=lambda name: (-speakers[name], name)))
        return samples, ChatInfo(chat.name, chat.type, members, system, chat.id, 0, 0, chat.source)


class Part(NamedTuple):
    """What a run of chats gives: samples and chats in order, and the filters' and segmentation's counts."""

    samples: list[Sample]
    chats: list[ChatInfo]
    chat_filter: ChatFilter
    counts: SegmentCounts


def prepare_chats(cfg: Config, export: Sources, me: str, lo: int, hi: int) -> Part:
    """Filter, segment and format the chats export.chats[lo:hi]."""
    chat_filter = ChatFilter(cfg.filter, export.me_ids, me, cfg.persona.deleted_account_name)
    build = SampleBuilder(cfg, me)
    samples, chats = [], []
    for raw in export.chats[lo:hi]:
        chat = chat_filter(raw, raw.path)
        if chat is not None:
            more, info = build(chat)
            samples += more
            if info is not None:
                chats.append(info)
    return Part(samples, chats, chat_filter, build.counts)


# ---- worker processes -------------------------------------------------------------------------
# One forked process per chunk of chats: it inherits the read export (nothing is pickled to it) and
# sends its Part back through a pipe of its own. Not ProcessPoolExecutor: its workers share one result
# pipe, and a worker killed halfway through sending (the out-of-memory killer, a user) leaves the
# parent waiting forever for the rest of the message (measured: 1 hang in about 40 kills). A pipe
# only that worker writes to ends when it dies, so the parent always learns of it.


def _prepare_in_worker(send, cfg: Config, export: Sources, me: str, lo: int, hi: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops the workers
    try:
        result: Part | Exception = prepare_chats(cfg, export, me, lo, hi)
    except Exception as exc:  # a bad chat (ChatlikeError), or a bug: raised again in the parent
        result = exc
    send.send(result)


def chunks(sizes: list[int], n: int) -> list[tuple[int, int]]:
    """Contiguous ranges of chats of about equal bytes, at most n of them, in order."""
    total, out, start, acc = sum(sizes), [], 0, 0
    for i, size in enumerate(sizes):
        acc += size
        if acc >= total * (len(out) + 1) / n and i + 1 < len(sizes):
            out.append((start, i + 1))
            start = i + 1
    out.append((start, len(sizes)))
    return out


def worker_count(cfg: Config, export_bytes: int) -> int:
    """source.workers, or for 0 (auto) one per core once the export is big enough to pay for them."""
    if cfg.source.workers:
        return cfg.source.workers
    if export_bytes < PARALLEL_FROM_BYTES or cfg.segment.tokenizer or not hasattr(os, "fork"):
        return 1
    return min(os.cpu_count() or 1, 8)


def prepare_all_chats(cfg: Config, export: Sources, me: str, workers: int, progress) -> Part:
    """Every chat, in order: in `workers` forked processes (chunks of chats, merged in chat order, so
    the output is the same as in one process), or in this one."""
    sizes = [c.size for c in export.chats]
    task = progress.add_task("chats", total=sum(sizes))
    if workers <= 1 or len(sizes) < 2:
        part = prepare_chats(cfg, export, me, 0, len(sizes))
        progress.advance(task, sum(sizes))
        return part
    import multiprocessing

    fork = multiprocessing.get_context("fork")
    ranges = chunks(sizes, workers)
    started = []
    try:
        for lo, hi in ranges:
            receive, send = fork.Pipe(duplex=False)
            worker = fork.Process(
                target=_prepare_in_worker, args=(send, cfg, export, me, lo, hi), daemon=True
            )
            worker.start()
            send.close()  # the worker holds the only writing end now
            started.append((worker, receive))
        parts = []
        for (lo, hi), (_, receive) in zip(ranges, started):
            try:
                part = receive.recv()
            except EOFError:
                raise ChatlikeError(
                    f"{export.where}: a worker process reading the chats died (out of memory, or killed); "
                    "run again, or with source.workers=1"
                ) from None
            if isinstance(part, Exception):
                raise part
            parts.append(part)
            progress.advance(task, sum(sizes[lo:hi]))
    finally:  # done, failed or interrupted: no worker outlives prepare
        for worker, receive in started:
            worker.terminate()
            worker.join()
            receive.close()
    first = parts[0]
    for part in parts[1:]:
        first.samples.extend(part.samples)
        first.chats.extend(part.chats)
        first.chat_filter.absorb(part.chat_filter)
        first.counts.add(part.counts)
    return first


# ---- after the chats: de-duplicate, split, count --------------------------------------------


def dedupe(samples: list[Sample]) -> list[Sample]:
    """Exact duplicate samples (same messages) are dropped, the first one kept."""
    seen: set[bytes] = set()
    kept = []
    for s in samples:
        if s.line not in seen:
            seen.add(s.line)
            kept.append(s)
    return kept


def dataset_stats(splits: dict[str, list[Sample]]) -> dict[str, Any]:
    in_split = {name: Counter(s.contact for s in splits[name]) for name in SPLITS}
    # windows of one conversation share its start: count (contact, start) pairs once
    pairs = {(s.contact, s.start) for name in SPLITS for s in splits[name]}
    conversations = Counter(contact for contact, _ in pairs)
    per_contact = {
        contact: {
            "conversations": n,
            "samples": sum(in_split[name][contact] for name in SPLITS),
            **{name: in_split[name][contact] for name in SPLITS},
        }
        for contact, n in conversations.items()
    }
    every = [s for name in SPLITS for s in splits[name]]
    turns = [s.turns for s in every]
    return {
        "samples": {name: len(splits[name]) for name in SPLITS} | {"total": len(turns)},
        "turns_per_sample": summarize(turns),
        "chars_per_sample": summarize([s.chars for s in every]),
        "approx_tokens_per_sample": summarize([s.tokens for s in every]),
        "my_share_of_turns": round(sum(s.mine for s in every) / sum(turns), 4) if turns else 0.0,
        "contacts": dict(sorted(per_contact.items(), key=lambda kv: (-kv[1]["samples"], kv[0]))),
    }


def source_summary(export: Sources, me: str) -> dict[str, Any]:
    """stats.json's `source`: one Telegram export's as it always was; several files or another
    messenger's with every path, every source's label and my id in each."""
    if export.single_telegram:
        (src,) = export.sources.values()
        return {"path": src.paths[0], "shape": src.shape, "me_id": src.me_id, "me": me}
    return {
        "paths": export.paths,
        "shape": " + ".join(export.sources),
        "me_ids": sorted(export.me_ids),
        "me": me,
    }


def source_stats(export: Sources, chat_filter: ChatFilter, splits: dict[str, list[Sample]]) -> dict[str, Any]:
    """stats.json's `sources`: per messenger, its files and my id there, and its chats, messages,
    conversations and samples (the report's per-source table)."""
    source_of = {c.id: c.source for c in export.chats}
    seen = chat_filter.source_counts()
    conversations = Counter(
        source_of[chat_id] for chat_id, _ in {(s.chat_id, s.start) for n in SPLITS for s in splits[n]}
    )
    in_split = {n: Counter(source_of[s.chat_id] for s in splits[n]) for n in SPLITS}
    zeros = dict.fromkeys(("chats_seen", "chats_kept", "messages_seen", "messages_kept"), 0)
    return {
        label: {
            "format": src.format,
            "paths": src.paths,
            "shape": src.shape,
            "me_id": src.me_id,
            "me_name": src.me_name,
            **seen.get(label, zeros),
            "conversations": conversations[label],
            "samples": sum(in_split[n][label] for n in SPLITS),
            **{n: in_split[n][label] for n in SPLITS},
        }
        for label, src in export.sources.items()
    }


def chat_index(me: str, chats: list[ChatInfo], samples: list[Sample]) -> ChatIndex:
    """data/chats.json: the chats that have samples, with their counts; most conversations first."""
    n_samples = Counter(s.chat_id for s in samples)
    n_conversations = Counter(chat_id for chat_id, _ in {(s.chat_id, s.start) for s in samples})
    listed = [
        msgspec.structs.replace(c, conversations=n_conversations[c.id], samples=n_samples[c.id])
        for c in chats
        if n_samples[c.id]
    ]
    listed.sort(key=lambda c: (-c.conversations, -c.samples, c.name))
    return ChatIndex(me, tuple(listed))


def _why_nothing(cfg: Config, fstats) -> str:
    """What to change when nothing is left: name the chat types that were skipped."""
    skipped = sorted(k.split(":", 1)[1] for k in fstats.chats_removed if k.startswith("type:"))
    hint = ""
    if skipped:
        types = ",".join([*cfg.filter.chat_types, *skipped])
        hint = f"; chats of type {', '.join(skipped)} were skipped: to use them, filter.chat_types=[{types}]"
    return (
        f"(chats kept: {fstats.chats_kept}, removed: {fstats.chats_removed}){hint}; check filter.*, "
        "segment.min_turns and source.me"
    )


def write_jsonl(path: Path, samples: list[Sample]) -> None:
    with atomic_open(path, "wb", buffering=1 << 20) as f:
        for s in samples:
            f.write(s.line)
            f.write(b"\n")


def _progress(console):
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("reading chats"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def run(cfg: Config, run_dir: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    check_templates(cfg.persona)
    from rich.console import Console

    console = Console(stderr=True)
    run = RunDir(run_dir)
    # Millions of small records and no cycles: the cyclic GC would only rescan them over and over.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with console.status("reading the export…"):
            export = read_sources(cfg.source)
        me = cfg.persona.me_name or export.me_name or "Me"
        workers = worker_count(cfg, export.size)
        with _progress(console) as progress:
            samples, chats, chat_filter, counts = prepare_all_chats(cfg, export, me, workers, progress)
        fstats = chat_filter.finish()
        windows_made = len(samples)
        if cfg.filter.drop_duplicates:
            samples = dedupe(samples)
        if not samples:
            raise ChatlikeError(
                f"{export.where}: no training conversations left after filtering " + _why_nothing(cfg, fstats)
            )
        splits = split_samples(samples, cfg.split)
        n_dupes = windows_made - len(samples)
        stats: dict[str, Any] = {
            "source": source_summary(export, me),
            **({} if export.single_telegram else {"sources": source_stats(export, chat_filter, splits)}),
            "settings": {
                "gap_minutes": cfg.segment.gap_minutes,
                "turn_window_minutes": cfg.segment.turn_window_minutes,
                "max_tokens": cfg.segment.max_tokens,
                "min_turns": cfg.segment.min_turns,
            },
            "filter": msgspec.to_builtins(fstats),
            "segment": counts.stats() | {"windows": windows_made, "duplicates_dropped": n_dupes},
            "gaps": {"edges_minutes": GAP_EDGES_MINUTES, "counts": counts.gaps},
            **dataset_stats(splits),
        }
        for path, version in export.files:  # before any output is replaced
            check_unchanged(path, version)
        for name in SPLITS:
            write_jsonl(run.split(name), splits[name])
        write_chats(run.chats, chat_index(me, chats, samples))
        write_bytes(run.stats, msgspec.json.format(msgspec.json.encode(stats), indent=2) + b"\n")
        report.write_report(run_dir, stats)
    finally:
        if gc_was_enabled:
            gc.enable()
    report.print_summary(stats, run_dir, time.perf_counter() - t0)
    return stats
