"""prepare: a Telegram export -> data/{train,val,test}.jsonl, data/stats.json, report.md.

Reads top to bottom as the pipeline: read, filter, segment, format, de-duplicate, split, write.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec

from chatlike.config import Config
from chatlike.data import report
from chatlike.data.export import read_export
from chatlike.data.filters import filter_export
from chatlike.data.persona import check_templates, system_prompt, to_sample
from chatlike.data.records import ChatMessage, Sample
from chatlike.data.segment import (
    TURN_OVERHEAD_TOKENS,
    approx_tokens,
    keep,
    split_conversations,
    windows,
)
from chatlike.data.split import split_samples
from chatlike.errors import ChatlikeError
from chatlike.files import atomic_open, write_bytes

SPLITS = ("train", "val", "test")
GAP_EDGES_MINUTES = [0, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880, 10080]


class Line(msgspec.Struct):
    messages: tuple[ChatMessage, ...]


_ENCODER = msgspec.json.Encoder()


def token_counter(tokenizer: str | None):
    """Exact counts from a local tokenizer (tokenizer.json or a folder holding it), else approximate."""
    if not tokenizer:
        return approx_tokens
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ChatlikeError("segment.tokenizer needs the `tokenizers` package "
                            "(pip install 'chatlike[train]')") from None
    path = Path(tokenizer).expanduser()
    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise ChatlikeError(f"segment.tokenizer: {file} not found (give a local tokenizer.json)")
    tok = Tokenizer.from_file(str(file))
    return lambda text: len(tok.encode(text, add_special_tokens=False).ids)


def _summary(values: list[int]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    v = sorted(values)
    pick = lambda q: v[min(len(v) - 1, int(q * len(v)))]  # noqa: E731
    return {"count": len(v), "mean": round(sum(v) / len(v), 2), "min": v[0], "p50": pick(0.5),
            "p90": pick(0.9), "p99": pick(0.99), "max": v[-1]}


def _gap_histogram(chats) -> list[int]:
    counts = [0] * len(GAP_EDGES_MINUTES)
    edges = [e * 60 for e in GAP_EDGES_MINUTES]
    from bisect import bisect_right

    for chat in chats:
        ms = chat.messages
        for a, b in zip(ms, ms[1:]):
            counts[bisect_right(edges, b.time - a.time) - 1] += 1
    return counts


def build_samples(cfg: Config, chats, me: str) -> tuple[list[Sample], dict[str, Any]]:
    """Segment every chat and format its windows; returns the samples and the segment stats."""
    seg = cfg.segment
    count = token_counter(seg.tokenizer)
    gap_s, window_s = seg.gap_minutes * 60, seg.turn_window_minutes * 60
    dropped: Counter = Counter()
    n_conversations = n_split = 0
    samples: list[Sample] = []
    for chat in chats:
        conversations = split_conversations(chat, gap_s, window_s)
        n_conversations += len(conversations)
        chat_windows = []
        for conv in conversations:
            system = system_prompt(cfg.persona, me, conv, chat.members)
            reserved = count(system) + TURN_OVERHEAD_TOKENS
            ws = [w for w in windows(conv, seg.max_tokens, reserved, count) if keep(w, seg.min_turns)]
            if not ws:
                one_sided = not (any(t.mine for t in conv.turns) and any(not t.mine for t in conv.turns))
                dropped["one_sided" if one_sided else "too_few_turns"] += 1
                continue
            n_split += len(ws) > 1
            chat_windows.append((conv, ws))
        cap = cfg.filter.max_conversations_per_chat
        if cap is not None and len(chat_windows) > cap:
            dropped["over_cap_per_chat"] += len(chat_windows) - cap
            chat_windows = chat_windows[-cap:]
        for conv, ws in chat_windows:
            samples.extend(to_sample(cfg.persona, me, conv, w, chat.members) for w in ws)
    stats = {"conversations": n_conversations, "conversations_kept": n_conversations - sum(dropped.values()),
             "conversations_dropped": dict(sorted(dropped.items())),
             "conversations_split_into_windows": n_split, "windows": len(samples)}
    return samples, stats


def dedupe(samples: list[Sample]) -> tuple[list[Sample], int]:
    """Exact duplicate samples (same messages) are dropped, the first one kept."""
    seen: set[bytes] = set()
    out = []
    for s in samples:
        key = _ENCODER.encode(s.messages)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out, len(samples) - len(out)


def dataset_stats(splits: dict[str, list[Sample]]) -> dict[str, Any]:
    per_contact: dict[str, dict[str, int]] = {}
    turns, chars, mine_turns, all_turns = [], [], 0, 0
    tokens = []
    for name in SPLITS:
        for s in splits[name]:
            c = per_contact.setdefault(s.contact, {"conversations": 0, "samples": 0, **dict.fromkeys(SPLITS, 0)})
            c["samples"] += 1
            c[name] += 1
            body = s.messages[1:]
            turns.append(len(body))
            chars.append(sum(len(m.content) for m in body))
            tokens.append(sum(approx_tokens(m.content) + TURN_OVERHEAD_TOKENS for m in s.messages))
            n_mine = sum(1 for m in body if m.role == "assistant")
            mine_turns += n_mine
            all_turns += len(body)
    conv_keys: dict[str, set] = {}
    for name in SPLITS:
        for s in splits[name]:
            conv_keys.setdefault(s.contact, set()).add(s.start)
    for contact, keys in conv_keys.items():
        per_contact[contact]["conversations"] = len(keys)
    return {
        "samples": {name: len(splits[name]) for name in SPLITS} | {"total": sum(map(len, splits.values()))},
        "turns_per_sample": _summary(turns),
        "chars_per_sample": _summary(chars),
        "approx_tokens_per_sample": _summary(tokens),
        "my_share_of_turns": round(mine_turns / all_turns, 4) if all_turns else 0.0,
        "contacts": dict(sorted(per_contact.items(), key=lambda kv: (-kv[1]["samples"], kv[0]))),
    }


def write_jsonl(path: Path, samples: list[Sample]) -> None:
    with atomic_open(path, "wb") as f:
        for s in samples:
            f.write(_ENCODER.encode(Line(s.messages)))
            f.write(b"\n")


def run(cfg: Config, run_dir: Path) -> dict[str, Any]:
    t0 = time.perf_counter()
    check_templates(cfg.persona)
    from rich.console import Console

    console = Console(stderr=True)
    with console.status("reading the export…"):
        export = read_export(cfg.source.path, cfg.source.me)
    me = cfg.persona.me_name or export.me_name or "Me"
    with console.status(f"filtering {sum(len(c.messages) for c in export.chats):,} messages…"):
        chats, fstats = filter_export(export, cfg.filter, cfg.persona.deleted_account_name)
    del export.chats[:]  # the raw records are no longer needed: free them before segmenting
    samples, sstats = build_samples(cfg, chats, me)
    samples, n_dupes = dedupe(samples)
    if not samples:
        raise ChatlikeError(
            f"{cfg.source.path or 'the sample export'}: no training conversations left after filtering "
            f"(chats kept: {fstats.chats_kept}, removed: {fstats.chats_removed}); check filter.chat_types, "
            "filter.include_chats and source.me")
    splits = split_samples(samples, cfg.split)
    stats: dict[str, Any] = {
        "source": {"path": str(Path(export.path)), "shape": export.shape, "me_id": export.me_id, "me": me},
        "settings": {"gap_minutes": cfg.segment.gap_minutes,
                     "turn_window_minutes": cfg.segment.turn_window_minutes,
                     "max_tokens": cfg.segment.max_tokens, "min_turns": cfg.segment.min_turns},
        "filter": msgspec.to_builtins(fstats),
        "segment": sstats | {"duplicates_dropped": n_dupes},
        "gaps": {"edges_minutes": GAP_EDGES_MINUTES, "counts": _gap_histogram(chats)},
        **dataset_stats(splits),
    }
    data = run_dir / "data"
    for name in SPLITS:
        write_jsonl(data / f"{name}.jsonl", splits[name])
    write_bytes(data / "stats.json", msgspec.json.format(msgspec.json.encode(stats), indent=2) + b"\n")
    report.write_report(run_dir, stats)
    report.print_summary(stats, run_dir, time.perf_counter() - t0)
    return stats
