"""Splits: whole conversations; test = each contact's latest; deterministic."""

from chatlike.config import SplitConfig
from chatlike.data.records import Sample
from chatlike.data.split import split_samples


def samples_of(keys: list[tuple[int, int]]) -> list[Sample]:
    """One sample per (chat, conversation start)."""
    return [Sample(f"{c}-{t}".encode(), c, f"c{c}", t, 1, 1, 1, 1) for c, t in keys]


def keys(samples: list[Sample]) -> list[tuple[int, int]]:
    return [(s.chat_id, s.start) for s in samples]


def test_test_split_holds_each_contacts_latest_conversations():
    samples = samples_of([(c, t) for c in (1, 2) for t in range(20)])
    out = split_samples(samples, SplitConfig(test_fraction=0.1, val_fraction=0.0))
    assert sorted(keys(out["test"])) == [(1, 18), (1, 19), (2, 18), (2, 19)]
    assert max(s.start for s in out["train"]) < 18


def test_windows_of_one_conversation_stay_in_one_split():
    samples = samples_of([(1, t // 2) for t in range(40)])  # two windows per conversation
    out = split_samples(samples, SplitConfig(test_fraction=0.2, val_fraction=0.2, seed=3))
    where = {}
    for name, part in out.items():
        for start in (s.start for s in part):
            assert where.setdefault(start, name) == name


def test_split_is_deterministic_and_covers_every_sample_once():
    samples = samples_of([(c, t) for c in (1, 2, 3) for t in range(30)])
    a = split_samples(samples, SplitConfig(seed=5))
    b = split_samples(samples, SplitConfig(seed=5))
    assert a == b
    assert sorted(s.line for part in a.values() for s in part) == sorted(s.line for s in samples)
    assert len(a["val"])


def test_a_contact_with_one_conversation_keeps_it_for_training():
    out = split_samples(samples_of([(1, 0)]), SplitConfig(test_fraction=0.5, val_fraction=0.0))
    assert len(out["train"]) == 1
