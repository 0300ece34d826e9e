"""Context use without a model: the seeded derangement and the context gain's arithmetic."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatlike.eval import context
from chatlike.eval.results import Interval


@given(n=st.integers(min_value=2, max_value=200), seed=st.integers(min_value=0, max_value=2**32))
def test_the_derangement_is_a_permutation_that_moves_every_item(n, seed):
    order = context.derangement(n, seed)
    assert sorted(order) == list(range(n))
    assert all(i != j for i, j in enumerate(order))


def test_the_derangement_is_the_same_for_a_seed_and_differs_between_seeds():
    assert context.derangement(50, 3) == context.derangement(50, 3)
    assert context.derangement(50, 3) != context.derangement(50, 4)
    assert context.derangement(2, 0) == [1, 0]
    assert context.derangement(1, 0) is None and context.derangement(0, 0) == []


def test_context_gain_is_the_bits_per_byte_lost_under_the_shuffled_contexts():
    # 10 bytes, 20 nats more under the true contexts: 20 / (ln 2 * 10) bits per byte
    out = context.gain([-10.0, -5.0], [-25.0, -10.0], [4, 6], seed=0)
    assert out.value == pytest.approx(20 / (math.log(2) * 10))
    assert out.low <= out.value <= out.high


def test_a_model_that_ignores_the_context_gains_nothing():
    true = [-3.0, -7.5, -1.25, -9.0]
    out = context.gain(true, true, [3, 9, 1, 12], seed=0)
    assert out == Interval(0.0, 0.0, 0.0)


def test_no_shuffled_scores_no_gain():
    assert context.gain([-1.0], [], [3], seed=0) == Interval(None, None, None)
