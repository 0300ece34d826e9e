"""prepare: a Telegram export -> data/{train,val,test}.jsonl, data/stats.json, report.md.

Reads top to bottom as the pipeline: read, then chat by chat filter, segment and format, then
de-duplicate, split and write. Chats are decoded one at a time, so memory holds the file and one
chat's records, not the whole export as Python objects.
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from bisect import bisect_left
from collections import Counter
from itertools import chain, compress, repeat
from operator import not_
from pathlib import Path
from typing import Any, Callable

import msgspec

from chatlike.config import Config
from chatlike.data import report
from chatlike.data.export import Export, LayoutMismatch, read_export, resolve_path
from chatlike.data.filters import ChatFilter
from chatlike.data.persona import check_templates, system_prompt, to_line
from chatlike.data.records import Chat, Samples
from chatlike.data.segment import (
    TURN_OVERHEAD_TOKENS,
    approx_tokens,
    keep,
    segment,
    windows,
)
from chatlike.data.split import split_samples
from chatlike.errors import ChatlikeError
from chatlike.files import atomic_open, write_bytes

SPLITS = ("train", "val", "test")
GAP_EDGES_MINUTES = [0, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880, 10080]


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


class SampleBuilder:
    """Segments each kept chat and formats its windows, counting what segmentation drops."""

    def __init__(self, cfg: Config, me: str):
        self.cfg, self.me = cfg, me
        self.count = token_counter(cfg.segment.tokenizer)
        self.dropped: Counter = Counter()
        self.conversations = self.split = 0
        self.gaps = [0] * len(GAP_EDGES_MINUTES)
        self._edges = [e * 60 for e in GAP_EDGES_MINUTES]

    def __call__(self, chat: Chat, chat_filter: ChatFilter) -> Samples:
        """Segment the chat as its messages are read and filtered, then (if the filter's chat rules
        keep it) cut its conversations into windows and format them."""
        seg, persona = self.cfg.segment, self.cfg.persona
        conversations, silences = segment(chat, seg.gap_minutes * 60, seg.turn_window_minutes * 60)
        if not chat_filter.judge(chat):
            return Samples()
        ordered = sorted(silences)
        below = [bisect_left(ordered, edge) for edge in self._edges[1:]] + [len(ordered)]
        for i, (lo, hi) in enumerate(zip([0, *below], below)):
            self.gaps[i] += hi - lo  # bin i: edge[i] <= gap < edge[i + 1]
        self.conversations += len(conversations)
        system = system_prompt(
            persona,
            self.me,
            chat.name,
            chat.type,
            lambda: dict.fromkeys(t.sender for c in conversations for t in c.turns if not t.mine),
        )
        reserved = self.count(system) + TURN_OVERHEAD_TOKENS
        kept = []
        for conv in conversations:
            ws = [w for w in windows(conv, seg.max_tokens, reserved, self.count) if keep(w, seg.min_turns)]
            if ws:
                self.split += len(ws) > 1
                kept.append((conv, ws))
                continue
            turns = conv.turns
            one_sided = all(t.mine for t in turns) or not any(t.mine for t in turns)
            self.dropped["one_sided" if one_sided else "too_few_turns"] += 1
        cap = self.cfg.filter.max_conversations_per_chat
        if cap is not None and len(kept) > cap:
            self.dropped["over_cap_per_chat"] += len(kept) - cap
            kept = kept[-cap:]  # the latest
        rows = []
        for conv, ws in kept:
            for w in ws:
                line, mine, chars, tokens = to_line(persona, self.me, conv, w, system)
                rows.append((line, chat.id, chat.name, conv.start, len(w), mine, chars, tokens))
        return Samples(*map(list, zip(*rows))) if rows else Samples()

    def absorb(self, other: SampleBuilder) -> None:
        """Add the counts of a builder that segmented other chats (a worker's)."""
        self.dropped.update(other.dropped)
        self.conversations += other.conversations
        self.split += other.split
        self.gaps = [a + b for a, b in zip(self.gaps, other.gaps)]

    def stats(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "conversations_kept": self.conversations - sum(self.dropped.values()),
            "conversations_dropped": dict(sorted(self.dropped.items())),
            "conversations_split_into_windows": self.split,
        }


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


def _summary(values: list[int]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    v = sorted(values)

    def pick(q: float) -> int:
        return v[min(len(v) - 1, int(q * len(v)))]

    return {
        "count": len(v),
        "mean": round(sum(v) / len(v), 2),
        "min": v[0],
        "p50": pick(0.5),
        "p90": pick(0.9),
        "p99": pick(0.99),
        "max": v[-1],
    }


def dedupe(samples: Samples, hashes: list[int] | None = None) -> tuple[Samples, int]:
    """Exact duplicate samples (same messages) are dropped, the first one kept. `hashes` are the
    lines' hashes when the workers computed them (in parallel); equal lines are then found by
    comparing ints, and lines only when two hashes match."""
    lines = samples.line
    if hashes is None:
        hashes = list(map(hash, lines))
    first = dict(zip(reversed(hashes), range(len(hashes) - 1, -1, -1)))  # each hash's first row
    if len(first) == len(lines):
        return samples, 0
    keep = [first[h] == i for i, h in enumerate(hashes)]
    if any(lines[i] != lines[first[hashes[i]]] for i in compress(range(len(keep)), map(not_, keep))):
        seen: dict[bytes, int] = {}  # different lines share a hash: compare the lines themselves
        keep = [seen.setdefault(line, i) == i for i, line in enumerate(lines)]
    kept = samples.where(keep)
    return kept, len(samples) - len(kept)


def dataset_stats(splits: dict[str, Samples]) -> dict[str, Any]:
    in_split = {name: Counter(splits[name].contact) for name in SPLITS}
    # windows of one conversation share its start: count (contact, start) pairs once
    pairs = {pair for name in SPLITS for pair in zip(splits[name].contact, splits[name].start)}
    conversations = Counter(contact for contact, _ in pairs)
    per_contact = {
        contact: {
            "conversations": n,
            "samples": sum(in_split[name][contact] for name in SPLITS),
            **{name: in_split[name][contact] for name in SPLITS},
        }
        for contact, n in conversations.items()
    }

    def column(key: str) -> list[int]:
        return [v for name in SPLITS for v in getattr(splits[name], key)]

    turns = column("turns")
    return {
        "samples": {name: len(splits[name]) for name in SPLITS} | {"total": len(turns)},
        "turns_per_sample": _summary(turns),
        "chars_per_sample": _summary(column("chars")),
        "approx_tokens_per_sample": _summary(column("tokens")),
        "my_share_of_turns": round(sum(column("mine")) / sum(turns), 4) if turns else 0.0,
        "contacts": dict(sorted(per_contact.items(), key=lambda kv: (-kv[1]["samples"], kv[0]))),
    }


def write_jsonl(path: Path, samples: Samples) -> None:
    with atomic_open(path, "wb", buffering=1 << 20) as f:
        f.writelines(chain.from_iterable(zip(samples.line, repeat(b"\n"))))  # no joined copy


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


# What forked workers inherit instead of receiving it pickled: the config, the read export, my name,
# and the folder where they leave their JSONL lines.
_SHARED: tuple[Config, Export, str, str] | None = None


def _prepare_chats(bounds: tuple[int, int]) -> tuple[Samples, ChatFilter, SampleBuilder]:
    """Filter, segment and format the chats export.chats[lo:hi] (in a worker, or in-process)."""
    cfg, export, me, _ = _SHARED
    chat_filter = ChatFilter(cfg.filter, export.me_id, me, cfg.persona.deleted_account_name)
    build = SampleBuilder(cfg, me)
    samples = Samples()
    for source in export.chats[bounds[0] : bounds[1]]:
        chat = chat_filter(source)
        if chat is not None:
            samples.extend(build(chat, chat_filter))
    build.count = None  # a tokenizer's closure does not pickle; the parent has its own
    return samples, chat_filter, build


def _prepare_chats_in_worker(
    bounds: tuple[int, int],
) -> tuple[str, list[int], Samples, ChatFilter, SampleBuilder]:
    """`_prepare_chats` in a worker. Its JSONL lines go to a file in the spool folder (memory-backed
    where the system has /dev/shm), one line per line: the pipe back to the parent is shared by the
    workers, and tens of MB through it would hold up the others' results."""
    samples, chat_filter, build = _prepare_chats(bounds)
    spool = Path(_SHARED[3]) / f"{bounds[0]}.jsonl"
    with open(spool, "wb") as f:
        f.write(b"\n".join(samples.line))  # a JSONL line never holds a raw newline
    hashes = list(map(hash, samples.line))  # for dedupe; forked workers share the parent's hash seed
    samples.line = []
    return str(spool), hashes, samples, chat_filter, build


def _spool_dir(export_bytes: int) -> str | None:
    """Memory-backed when the system has it with room to spare (the JSONL is a fraction of the
    export's size): the lines only pass through. Else the usual temporary folder."""
    try:
        st = os.statvfs("/dev/shm")
        if os.access("/dev/shm", os.W_OK) and st.f_bavail * st.f_frsize > 2 * export_bytes:
            return "/dev/shm"
    except OSError:
        pass
    return None


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
    if export_bytes < PARALLEL_FROM_BYTES or cfg.segment.tokenizer:
        return 1
    return min(os.cpu_count() or 1, 8)


PARALLEL_FROM_BYTES = 64 * 2**20


def prepare_chats(
    cfg: Config, export: Export, me: str, progress, workers: int = 1
) -> tuple[Samples, list[int] | None, ChatFilter, SampleBuilder]:
    """All chats, in order: in forked workers for a big export (chunks of chats in parallel, results
    merged in chat order, so the output is the same as in-process), else in this process. Also the
    lines' hashes when workers computed them (for `dedupe`)."""
    global _SHARED
    sizes = [len(c.raw) for c in export.chats]
    task = progress.add_task("chats", total=sum(sizes))
    hashes: list[int] | None = None
    _SHARED = (cfg, export, me, "")
    try:
        if workers <= 1 or len(sizes) < 2:
            samples, chat_filter, build = _prepare_chats((0, len(sizes)))
            progress.advance(task, sum(sizes))
        else:
            import multiprocessing

            bounds = chunks(sizes, workers * 8)
            samples, chat_filter, build, hashes = Samples(), None, None, []
            spool_in = _spool_dir(sum(sizes))
            with tempfile.TemporaryDirectory(prefix="chatlike-", dir=spool_in) as spool:  # mode 0700
                _SHARED = (cfg, export, me, spool)  # before the pool forks: the workers inherit it
                with multiprocessing.get_context("fork").Pool(workers) as pool:
                    results = pool.imap(_prepare_chats_in_worker, bounds)
                    for (lo, hi), (path, more_hashes, more, other_filter, other_build) in zip(
                        bounds, results
                    ):
                        # merged as they come, while the workers go on
                        with open(path, "rb") as f:
                            more.line = f.read().split(b"\n") if more_hashes else []
                        os.unlink(path)
                        samples.extend(more)
                        hashes += more_hashes
                        if chat_filter is None:
                            chat_filter, build = other_filter, other_build
                        else:
                            chat_filter.absorb(other_filter)
                            build.absorb(other_build)
                        progress.advance(task, sum(sizes[lo:hi]))
    except OSError as exc:
        raise ChatlikeError(
            f"passing the samples from the workers through {exc.filename or 'a file'} failed: "
            f"{exc.strerror or exc}; free some space, or set source.workers=1"
        ) from None
    finally:
        _SHARED = None
    build.count = token_counter(cfg.segment.tokenizer)
    return samples, hashes, chat_filter, build


def run(cfg: Config, run_dir: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    check_templates(cfg.persona)
    from rich.console import Console

    console = Console(stderr=True)
    # Millions of small records and no cycles: the cyclic GC would only rescan them over and over.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        path = resolve_path(cfg.source.path)
        workers = worker_count(cfg, path.stat().st_size)
        for parse in (False, True):
            with console.status("finding the chats…"):
                export = read_export(str(path), cfg.source.me, workers, parse=parse)
            me = cfg.persona.me_name or export.me_name or "Me"
            try:
                with _progress(console) as progress:
                    samples, hashes, chat_filter, build = prepare_chats(cfg, export, me, progress, workers)
                break
            except LayoutMismatch:
                pass  # a chat found from the layout was misread, or is broken: parse the whole file
        fstats = chat_filter.finish()
        samples, n_dupes = dedupe(samples, hashes) if cfg.filter.drop_duplicates else (samples, 0)
        if not samples:
            raise ChatlikeError(
                f"{export.path}: no training conversations left after filtering " + _why_nothing(cfg, fstats)
            )
        splits = split_samples(samples, cfg.split)
        stats: dict[str, Any] = {
            "source": {"path": export.path, "shape": export.shape, "me_id": export.me_id, "me": me},
            "settings": {
                "gap_minutes": cfg.segment.gap_minutes,
                "turn_window_minutes": cfg.segment.turn_window_minutes,
                "max_tokens": cfg.segment.max_tokens,
                "min_turns": cfg.segment.min_turns,
            },
            "filter": msgspec.to_builtins(fstats),
            "segment": build.stats() | {"windows": len(samples) + n_dupes, "duplicates_dropped": n_dupes},
            "gaps": {"edges_minutes": GAP_EDGES_MINUTES, "counts": build.gaps},
            **dataset_stats(splits),
        }
        data = run_dir / "data"
        for name in SPLITS:
            write_jsonl(data / f"{name}.jsonl", splits[name])
        write_bytes(data / "stats.json", msgspec.json.format(msgspec.json.encode(stats), indent=2) + b"\n")
        report.write_report(run_dir, stats)
    finally:
        if gc_was_enabled:
            gc.enable()
    report.print_summary(stats, run_dir, time.perf_counter() - t0)
    return stats
