"""Splits: whole conversations; test = each contact's latest; deterministic."""

from chatlike.config import SplitConfig
from chatlike.data.records import Samples
from chatlike.data.split import split_samples


def samples_of(keys: list[tuple[int, int]]) -> Samples:
    """One sample per (chat, conversation start)."""
    n = len(keys)
    return Samples(
        [f"{c}-{t}".encode() for c, t in keys],
        [c for c, _ in keys],
        [f"c{c}" for c, _ in keys],
        [t for _, t in keys],
        [1] * n,
        [1] * n,
        [1] * n,
        [1] * n,
    )


def keys(samples: Samples) -> list[tuple[int, int]]:
    return list(zip(samples.chat_id, samples.start))


def test_test_split_holds_each_contacts_latest_conversations():
    samples = samples_of([(c, t) for c in (1, 2) for t in range(20)])
    out = split_samples(samples, SplitConfig(test_fraction=0.1, val_fraction=0.0))
    assert sorted(keys(out["test"])) == [(1, 18), (1, 19), (2, 18), (2, 19)]
    assert max(out["train"].start) < 18


def test_windows_of_one_conversation_stay_in_one_split():
    samples = samples_of([(1, t // 2) for t in range(40)])  # two windows per conversation
    out = split_samples(samples, SplitConfig(test_fraction=0.2, val_fraction=0.2, seed=3))
    where = {}
    for name, part in out.items():
        for start in part.start:
            assert where.setdefault(start, name) == name


def test_split_is_deterministic_and_covers_every_sample_once():
    samples = samples_of([(c, t) for c in (1, 2, 3) for t in range(30)])
    a = split_samples(samples, SplitConfig(seed=5))
    b = split_samples(samples, SplitConfig(seed=5))
    assert a == b
    assert sorted(line for part in a.values() for line in part.line) == sorted(samples.line)
    assert len(a["val"])


def test_a_contact_with_one_conversation_keeps_it_for_training():
    out = split_samples(samples_of([(1, 0)]), SplitConfig(test_fraction=0.5, val_fraction=0.0))
    assert len(out["train"]) == 1
