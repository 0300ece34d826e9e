"""Bootstrap intervals: seeded, so an eval reruns to the same interval."""

import pytest

from chatlike.eval import bootstrap
from chatlike.eval.results import Interval

VALUES = [3.0, 9.0, 1.0, 4.0, 7.0, 2.0, 8.0, 5.0, 6.0, 0.0]


def test_the_interval_is_the_same_for_a_seed():
    values = [(i * 0.618034) % 1 for i in range(30)]  # no two resamples share a mean by chance
    assert bootstrap.mean(values, seed=7) == bootstrap.mean(values, seed=7)
    assert bootstrap.mean(values, seed=7) != bootstrap.mean(values, seed=8)


def test_the_interval_holds_the_mean_and_lies_within_the_values():
    out = bootstrap.mean(VALUES, seed=0)
    assert out.value == pytest.approx(4.5)
    assert 0 < out.low < out.value < out.high < 9


def test_constant_values_have_a_point_interval_and_no_values_none():
    assert bootstrap.mean([2.5] * 6, seed=0) == Interval(2.5, 2.5, 2.5)
    assert bootstrap.mean([], seed=0) == Interval(None, None, None)


def test_columns_resample_the_same_items_together():
    # a ratio of sums: each resample takes the numerator and denominator of the same items
    out = bootstrap.interval([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]], lambda a, b: a.sum(-1) / b.sum(-1), seed=0)
    assert out == Interval(0.5, 0.5, 0.5)
