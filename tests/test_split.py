"""Splits: whole conversations; test = each contact's latest; deterministic."""

from chatlike.config import SplitConfig
from chatlike.data.records import Sample
from chatlike.data.split import split_samples


def sample(chat: int, start: int) -> Sample:
    return Sample(f"{chat}-{start}".encode(), chat, f"c{chat}", start, turns=1, mine=1)


def test_test_split_holds_each_contacts_latest_conversations():
    samples = [sample(c, t) for c in (1, 2) for t in range(20)]
    out = split_samples(samples, SplitConfig(test_fraction=0.1, val_fraction=0.0))
    assert sorted((s.chat_id, s.start) for s in out["test"]) == [(1, 18), (1, 19), (2, 18), (2, 19)]
    assert max(s.start for s in out["train"]) < 18


def test_windows_of_one_conversation_stay_in_one_split():
    samples = [sample(1, t // 2) for t in range(40)]  # two windows per conversation
    out = split_samples(samples, SplitConfig(test_fraction=0.2, val_fraction=0.2, seed=3))
    where = {}
    for name, ss in out.items():
        for s in ss:
            assert where.setdefault(s.start, name) == name


def test_split_is_deterministic_and_covers_every_sample_once():
    samples = [sample(c, t) for c in (1, 2, 3) for t in range(30)]
    a = split_samples(samples, SplitConfig(seed=5))
    b = split_samples(samples, SplitConfig(seed=5))
    assert a == b
    assert sorted(len(v) for v in a.values()) and sum(len(v) for v in a.values()) == len(samples)
    assert a["val"]


def test_a_contact_with_one_conversation_keeps_it_for_training():
    out = split_samples([sample(1, 0)], SplitConfig(test_fraction=0.5, val_fraction=0.0))
    assert len(out["train"]) == 1
