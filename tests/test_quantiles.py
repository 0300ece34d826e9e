"""The one quantile definition the report, the plan and the eval metrics share."""

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from chatlike.quantiles import quantile, summarize


def test_a_quantile_is_always_one_of_the_values_never_an_average():
    assert quantile([1, 2, 3, 4], 0.5) == 3  # index floor(0.5 * 4)
    assert quantile([10, 20, 30], 0.99) == 30
    assert quantile([10, 20, 30], 0.0) == 10
    assert quantile([], 0.5) == 0


@given(st.lists(st.integers(0, 10**6), min_size=1), st.floats(0, 1))
def test_quantiles_lie_within_the_values_and_grow_with_q(values, q):
    ordered = sorted(values)
    assert ordered[0] <= quantile(ordered, q) <= ordered[-1]
    assert quantile(ordered, q / 2) <= quantile(ordered, q)


def test_the_per_sample_summary_as_stats_json_shows_it():
    assert msgspec.json.encode(summarize([5, 1, 3])) == (
        b'{"count":3,"mean":3.0,"min":1,"p50":3,"p90":5,"p99":5,"max":5}'
    )
    assert msgspec.json.encode(summarize([])) == b'{"count":0}'
