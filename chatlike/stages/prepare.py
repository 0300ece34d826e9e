"""prepare: exports (Telegram, WhatsApp, Discord, Instagram, Messenger) -> data/{train,val,test}.jsonl,
data/chats.json, data/stats.json, report.md and its plots.

Reads top to bottom as the pipeline: read the exports; chat by chat filter, segment and format (in
worker processes for big exports: chatlike.data.samples); de-duplicate, split (held-out
near-duplicates of training samples moved to train), rate the training samples (the LLM judge, when
set), put in the canaries (an audit run), count; write.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path

from chatlike.config import Config
from chatlike.data import report
from chatlike.data.canaries import insert as insert_canaries
from chatlike.data.canaries import write_canaries
from chatlike.data.chats import chat_index, write_chats
from chatlike.data.filters import blocked_words, nothing_left
from chatlike.data.persona import check_templates
from chatlike.data.samples import all_samples, dedupe, write_jsonl
from chatlike.data.sources import read_sources
from chatlike.data.split import held_out, move_near_duplicates, split_samples, texts_of
from chatlike.data.stats import DatasetStats, dataset_stats, per_chat, write_stats
from chatlike.errors import ChatlikeError
from chatlike.rundir import SPLITS, RunDir


def run(cfg: Config, run_dir: Path) -> DatasetStats:
    started = time.perf_counter()
    check_templates(cfg.persona)
    blocked_words(cfg.filter)  # a bad entry fails before a large export is read
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
        with report.progress(console, "reading chats", sum(c.size for c in export.chats)) as advance:
            part = all_samples(cfg, export, me, advance)
        samples = dedupe(part.samples) if cfg.filter.drop_duplicates else part.samples
        if not samples:
            raise ChatlikeError(f"{export.where}: {nothing_left(cfg, part.counts.filter)}")
        splits = split_samples(samples, cfg.split)
        texts, moved, threshold = texts_of(samples), (0, 0), cfg.split.near_duplicate_threshold
        if threshold is not None:
            splits, *moved = move_near_duplicates(samples, splits, threshold, texts)
        judged = None
        if cfg.filter.judge.api_base is not None:
            from chatlike.data import judge

            with report.progress(
                console, "the judge rates samples", len(splits["train"]), counted=True
            ) as advance:
                splits["train"], judged = judge.rate(cfg.filter.judge, splits["train"], me, advance)
        unseen = held_out(splits, texts, threshold, tuple(moved))
        canaries = None
        if cfg.eval.privacy:  # an audit run: the canaries go into its training data, and only there
            splits["train"], canaries = insert_canaries(cfg.eval, splits["train"])
        counts = per_chat(splits)
        inserted = sum(c.repeats for c in canaries.canaries) if canaries else 0
        stats = dataset_stats(
            cfg, me, export.sources, part.counts, splits, part.chats, counts, unseen, judged, inserted
        )
        export.check_unchanged()  # before any output is replaced
        if canaries is not None:
            write_canaries(run.canaries, canaries)
        else:
            run.canaries.unlink(missing_ok=True)  # an earlier audit's, in this run dir
        for name in SPLITS:
            write_jsonl(run.split(name), splits[name])
        write_chats(run.chats, chat_index(me, part.chats, counts))
        write_stats(run.stats, stats)
        report.write_report(run_dir, stats)
        from chatlike.data import plots  # matplotlib: imported only to draw

        plots.write_plots(run_dir, stats)
    finally:
        if gc_was_enabled:
            gc.enable()
    report.print_summary(stats, run_dir, time.perf_counter() - started)
    return stats
