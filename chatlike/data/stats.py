"""data/stats.json: what prepare saw, kept and removed, as one msgspec Struct (`DatasetStats`) that
prepare writes and the report, the plots and the sweep summary read back through the same type; an
unreadable file is one line naming the field (`read_stats`).

Counts are values that add up (`Tally`, `a + b`): the counts of the worker processes that each read
a run of the chats add up, field by field, to one process's, so no field can be forgotten on the way.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Optional, Union

import msgspec

from chatlike.config import Config
from chatlike.data.records import ChatHead, Sample, Source
from chatlike.errors import ChatlikeError
from chatlike.files import write_bytes
from chatlike.quantiles import Summary, summarize
from chatlike.rundir import SPLITS

GAP_EDGES_MINUTES = [0, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880, 10080]


def _added(a: Any, b: Any) -> Any:
    """Numbers add, lists join (in chat order), dicts add key by key, Structs by their own `+`."""
    if isinstance(a, dict):
        return {k: _added(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k)) for k in {**a, **b}}
    return a + b


class Tally(msgspec.Struct):
    """Counts that add up: `a + b` adds every field."""

    def __add__(self, other: Tally) -> Tally:
        return type(self)(**{f: _added(getattr(self, f), getattr(other, f)) for f in self.__struct_fields__})


class SourceTally(Tally):
    """One messenger's chats and messages, seen and kept."""

    chats_seen: int = 0
    chats_kept: int = 0
    messages_seen: int = 0
    messages_kept: int = 0


class FilterStats(Tally):
    """What the filters saw and removed (by rule: `type:bot_chat`, `forwarded`, `no_text:sticker`, ...)."""

    chats_seen: int = 0
    chats_kept: int = 0
    messages_seen: int = 0  # in the chats the chat rules selected (the others are never decoded)
    messages_kept: int = 0
    chats_removed: dict[str, int] = {}
    messages_removed: dict[str, int] = {}
    messages_redacted: dict[
        str, int
    ] = {}  # kept with a part replaced (`blocked`: filter.blocked_action=redact)
    only_my_messages: list[str] = []  # groups exported with "only my messages": nobody to answer


class SegmentStats(Tally):
    """What segmentation saw and dropped (`one_sided`, `too_few_turns`, `over_cap_per_chat`)."""

    conversations: int = 0
    conversations_kept: int = 0
    conversations_dropped: dict[str, int] = {}
    conversations_split_into_windows: int = 0
    windows: int = 0  # samples made, before de-duplication
    duplicates_dropped: int = 0


class Gaps(msgspec.Struct):
    """The silences between consecutive kept messages of a chat, binned: counts[i] gaps of at least
    edges_minutes[i] minutes and under edges_minutes[i + 1] (the last bin has no end)."""

    edges_minutes: list[Union[int, float]] = msgspec.field(default_factory=lambda: list(GAP_EDGES_MINUTES))
    counts: list[int] = msgspec.field(default_factory=lambda: [0] * len(GAP_EDGES_MINUTES))

    @classmethod
    def of(cls, silences: list[int]) -> Gaps:
        """These silences (in seconds), binned."""
        ordered = sorted(silences)
        below = [bisect_left(ordered, edge * 60) for edge in GAP_EDGES_MINUTES[1:]] + [len(ordered)]
        return cls(counts=[hi - lo for lo, hi in zip([0, *below], below)])

    def __add__(self, other: Gaps) -> Gaps:
        return Gaps(self.edges_minutes, [a + b for a, b in zip(self.counts, other.counts)])

    def share_longer(self, threshold_minutes: float) -> float:
        """The share of gaps longer than the threshold; inside a bin, interpolated on a log scale."""
        edges, counts = self.edges_minutes, self.counts
        total = sum(counts)
        if not total:
            return 0.0
        longer = 0.0
        for i, n in enumerate(counts):
            lo = edges[i]
            hi = edges[i + 1] if i + 1 < len(edges) else math.inf
            if lo >= threshold_minutes:
                longer += n
            elif hi > threshold_minutes and n:
                if lo > 0 and hi < math.inf:
                    longer += n * (math.log(hi) - math.log(threshold_minutes)) / (math.log(hi) - math.log(lo))
                else:
                    longer += n / 2
        return longer / total


class Counts(Tally):
    """What a run of chats gave, besides its samples: the filters' counts (also per messenger), the
    segmentation's and the gaps."""

    filter: FilterStats = msgspec.field(default_factory=FilterStats)
    sources: dict[str, SourceTally] = {}
    segment: SegmentStats = msgspec.field(default_factory=SegmentStats)
    gaps: Gaps = msgspec.field(default_factory=Gaps)


class SplitCounts(Tally):
    """Conversations (windows of one conversation count once) and samples, in all and per split."""

    conversations: int = 0
    samples: int = 0
    train: int = 0
    val: int = 0
    test: int = 0


class SourceStats(Source):
    """One messenger of the run: its files, who I am there, and what it gave."""

    chats_seen: int
    chats_kept: int
    messages_seen: int
    messages_kept: int
    conversations: int
    samples: int
    train: int
    val: int
    test: int


class HeldOut(msgspec.Struct):
    """Whether the held-out data is unseen: the held-out conversations moved to train for nearly
    repeating a training sample (split.near_duplicate_threshold; null: not looked for), and my test
    replies that still occur verbatim among my training replies (all, and those of 20+ characters:
    short ones such as "ok" recur by themselves)."""

    near_duplicate_threshold: Optional[float] = None
    near_duplicates_moved: int = 0  # conversations (windows of one conversation move together)
    near_duplicate_samples_moved: int = 0
    test_replies: int = 0
    test_replies_in_training: int = 0
    test_long_replies: int = 0
    test_long_replies_in_training: int = 0


class JudgeStats(msgspec.Struct):
    """The LLM judge (filter.judge): training samples rated, and dropped for a rating below the
    threshold; how many samples got each score (1-5, the lower of relevance and coherence)."""

    model: str
    threshold: float
    judged: int
    dropped: int
    scores: dict[str, int]


class Settings(msgspec.Struct):
    gap_minutes: float
    turn_window_minutes: float
    max_tokens: int
    min_turns: int


class SampleCounts(msgspec.Struct):
    train: int
    val: int
    test: int
    total: int


class DatasetStats(msgspec.Struct):
    """data/stats.json."""

    me: str  # my name, the assistant's in the samples
    sources: dict[str, SourceStats]  # by label: telegram, whatsapp, discord, instagram, messenger, meta
    settings: Settings
    filter: FilterStats
    segment: SegmentStats
    gaps: Gaps
    samples: SampleCounts
    turns_per_sample: Summary
    chars_per_sample: Summary
    approx_tokens_per_sample: Summary
    my_share_of_turns: float
    contacts: dict[str, SplitCounts]  # by chat name, the most samples first
    held_out: HeldOut = msgspec.field(default_factory=HeldOut)
    judge: Optional[JudgeStats] = None  # filter.judge.api_base set
    canaries: int = 0  # eval.privacy: canary insertions into train (an audit run: never deploy it)

    @property
    def paths(self) -> list[str]:
        """Every file read, in the order read."""
        return [path for source in self.sources.values() for path in source.paths]

    @property
    def one_telegram_export(self) -> bool:
        return list(self.sources) == ["telegram"] and len(self.sources["telegram"].paths) == 1


def per_chat(splits: dict[str, list[Sample]]) -> dict[int, SplitCounts]:
    """Each chat's conversations and samples per split, counted once for everything that needs them
    (the stats per contact and per source, data/chats.json)."""
    starts: dict[int, set[int]] = {}
    for name in SPLITS:
        for s in splits[name]:
            starts.setdefault(s.chat_id, set()).add(s.start)  # a conversation's windows share its start
    in_split = {name: Counter(s.chat_id for s in splits[name]) for name in SPLITS}
    return {
        chat_id: SplitCounts(
            len(starts[chat_id]),
            sum(in_split[name][chat_id] for name in SPLITS),
            *(in_split[name][chat_id] for name in SPLITS),
        )
        for chat_id in starts
    }


def dataset_stats(
    cfg: Config,
    me: str,
    sources: dict[str, Source],
    counts: Counts,
    splits: dict[str, list[Sample]],
    chats: Iterable[ChatHead],
    by_chat: dict[int, SplitCounts],
    held_out: HeldOut | None = None,
    judge: JudgeStats | None = None,
    canaries: int = 0,
) -> DatasetStats:
    """The stats of a prepared dataset: the `sources` read, the `counts` of all their chats, the
    samples in their splits, the chats that gave them and each one's counts (`per_chat`); what the
    split's near-duplicate check, the judge and the canaries did."""
    contacts: dict[str, SplitCounts] = {}
    per_source: dict[str, SplitCounts] = {}
    for head in chats:
        n = by_chat.get(head.id)
        if n is not None:
            contacts[head.name] = contacts.get(head.name, SplitCounts()) + n
            per_source[head.source] = per_source.get(head.source, SplitCounts()) + n
    every = [s for name in SPLITS for s in splits[name]]
    turns = [s.turns for s in every]
    f, seg, settings = counts.filter, counts.segment, cfg.segment
    return DatasetStats(
        me=me,
        sources={
            label: SourceStats(
                **msgspec.structs.asdict(src),
                **msgspec.structs.asdict(counts.sources.get(label, SourceTally())),
                **msgspec.structs.asdict(per_source.get(label, SplitCounts())),
            )
            for label, src in sources.items()
        },
        settings=Settings(
            settings.gap_minutes, settings.turn_window_minutes, settings.max_tokens, settings.min_turns
        ),
        filter=msgspec.structs.replace(
            f,
            chats_removed=dict(sorted(f.chats_removed.items())),
            messages_removed=dict(sorted(f.messages_removed.items())),
            messages_redacted=dict(sorted(f.messages_redacted.items())),
        ),
        segment=msgspec.structs.replace(
            seg,
            conversations_dropped=dict(sorted(seg.conversations_dropped.items())),
            duplicates_dropped=seg.windows - len(every) - (judge.dropped if judge else 0),
        ),
        gaps=counts.gaps,
        samples=SampleCounts(*(len(splits[name]) for name in SPLITS), len(every)),
        turns_per_sample=summarize(turns),
        chars_per_sample=summarize([s.chars for s in every]),
        approx_tokens_per_sample=summarize([s.tokens for s in every]),
        my_share_of_turns=round(sum(s.mine for s in every) / sum(turns), 4) if turns else 0.0,
        contacts=dict(sorted(contacts.items(), key=lambda kv: (-kv[1].samples, kv[0]))),
        held_out=held_out or HeldOut(),
        judge=judge,
        canaries=canaries,
    )


def write_stats(path: Path, stats: DatasetStats) -> None:
    write_bytes(path, msgspec.json.format(msgspec.json.encode(stats), indent=2) + b"\n")


_DECODER = msgspec.json.Decoder(DatasetStats)


def read_stats(path: Path) -> DatasetStats:
    """stats.json as prepare wrote it; a missing or unreadable one is one line naming the file (and
    the field: "Expected `int`, got `str` - at `$.samples.train`")."""
    try:
        return _DECODER.decode(path.read_bytes())
    except FileNotFoundError:
        raise ChatlikeError(f"{path} is missing: the prepare stage failed or did not run") from None
    except OSError as exc:
        raise ChatlikeError(f"{path} is unreadable ({exc.strerror or exc})") from None
    except msgspec.DecodeError as exc:
        raise ChatlikeError(f"{path} is unreadable ({exc}); run prepare again") from None
