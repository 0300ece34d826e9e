"""The parrot baseline and the verdict of the tuned model against it."""

from chatlike.eval import baselines
from chatlike.eval.results import Interval, Spread

TRAIN = [f"reply {i}" for i in range(40)]


def test_the_parrot_draws_seeded_training_replies_for_every_item():
    draws = baselines.parrot(7, TRAIN, draws=5, seed=1)
    assert len(draws) == 5 and all(len(d) == 7 for d in draws)
    assert all(r in TRAIN for d in draws for r in d)
    assert draws == baselines.parrot(7, TRAIN, draws=5, seed=1)
    assert draws != baselines.parrot(7, TRAIN, draws=5, seed=2)
    assert len({tuple(d) for d in draws}) == 5  # the draws differ from each other


def test_spread_is_the_median_and_the_range_over_draws():
    assert baselines.spread([0.3, 0.1, 0.2, 0.5]) == Spread(0.3, 0.1, 0.5)


def test_the_tuned_model_beats_the_parrot_only_beyond_all_its_draws():
    draws = Spread(0.05, 0.03, 0.08)
    assert baselines.versus_draws(0.02, draws, higher_is_better=False) == "better"
    assert baselines.versus_draws(0.055, draws, higher_is_better=False) == "tie"
    assert baselines.versus_draws(0.09, draws, higher_is_better=False) == "worse"
    assert baselines.versus_draws(0.09, draws, higher_is_better=True) == "better"


def test_a_difference_beats_the_parrot_only_when_its_interval_excludes_zero():
    assert baselines.versus_zero(Interval(3.0, 0.5, 6.0)) == "better"
    assert baselines.versus_zero(Interval(1.0, -0.5, 2.0)) == "tie"
    assert baselines.versus_zero(Interval(-3.0, -6.0, -0.1)) == "worse"
    assert baselines.versus_zero(Interval(None, None, None)) == "tie"
