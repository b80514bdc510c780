"""The statistics and the verdict combination every claim is judged with, and the
shared comparison helpers, on hand-made numbers on both sides of every margin."""

import math

import pytest
from fakes import arm

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.judging import (
    INCONCLUSIVE_VERDICT,
    MIXED,
    NOT_REPRODUCED,
    REPRODUCED,
    Part,
    combine,
)
from actkeras.experiments.stats import FAILS, HOLDS, INCONCLUSIVE


def test_t_quantiles_match_the_tables_and_the_normal_limit():
    assert stats.t_quantile(0.975, 1) == pytest.approx(12.706, abs=1e-3)
    assert stats.t_quantile(0.975, 4) == pytest.approx(2.776, abs=1e-3)
    assert stats.t_quantile(0.95, 4) == pytest.approx(2.132, abs=1e-3)
    assert stats.t_quantile(0.975, 5000) == pytest.approx(1.960, abs=1e-3)
    # The table is monotone: more degrees of freedom, a narrower interval.
    values = [stats.t_quantile(0.975, df) for df in range(1, 40)]
    assert values == sorted(values, reverse=True)
    with pytest.raises(ValueError, match="Received: q=0.4"):
        stats.t_quantile(0.4, 3)


def test_paired_differences_use_the_seeds_both_arms_have():
    d = stats.paired({0: 0.9, 1: 0.92, 2: 0.91, 3: None}, {0: 0.8, 1: 0.83, 2: 0.80, 4: 0.5})
    assert d.seeds == (0, 1, 2) and d.n == 3
    assert d.values == pytest.approx((0.1, 0.09, 0.11))
    half = stats.t_quantile(0.975, 2) * d.std / math.sqrt(3)
    assert (d.low, d.high) == pytest.approx((0.1 - half, 0.1 + half))
    assert stats.paired({0: 1.0}, {1: 1.0}) is None
    single = stats.paired({0: 1.0}, {0: 0.5})
    assert single.n == 1 and single.low is None


@pytest.mark.parametrize("diffs, margin, expected", [
    ((0.05, 0.06, 0.055, 0.052, 0.058), 0.01, HOLDS),          # interval far above
    ((0.002, 0.004, 0.003, 0.001, 0.002), 0.01, FAILS),        # interval below
    ((0.0, 0.03, -0.01, 0.04, 0.01), 0.01, INCONCLUSIVE),      # straddles the margin
    ((0.5,), 0.01, INCONCLUSIVE),                              # one seed: no interval
])
def test_greater_on_both_sides_of_the_margin(diffs, margin, expected):
    a = {i: 0.5 + d for i, d in enumerate(diffs)}
    b = {i: 0.5 for i in range(len(diffs))}
    assert stats.greater(stats.paired(a, b), margin) == expected


def test_at_least_and_equivalent_are_the_two_sides_of_tost():
    b = {i: 0.85 for i in range(5)}
    close = stats.paired({i: 0.85 + d for i, d in enumerate((0.001, -0.002, 0.0, 0.002, -0.001))}, b)
    assert stats.at_least(close, 0.02) == HOLDS and stats.equivalent(close, 0.02) == HOLDS
    worse = stats.paired({i: 0.85 - 0.1 + d for i, d in enumerate((0.001, -0.002, 0.0, 0.002, -0.001))}, b)
    assert stats.at_least(worse, 0.02) == FAILS and stats.equivalent(worse, 0.02) == FAILS
    better = stats.paired({i: 0.95 + d for i, d in enumerate((0.001, -0.002, 0.0, 0.002, -0.001))}, b)
    assert stats.at_least(better, 0.02) == HOLDS and stats.equivalent(better, 0.02) == FAILS
    noisy = stats.paired({i: 0.85 + d for i, d in enumerate((0.05, -0.06, 0.04, -0.05, 0.0))}, b)
    assert stats.at_least(noisy, 0.02) == INCONCLUSIVE
    assert stats.equivalent(noisy, 0.02) == INCONCLUSIVE


def test_one_sample_against_a_threshold():
    assert stats.one_sample([0.5, 0.52, 0.49, 0.51], 0.3) == HOLDS
    assert stats.one_sample([0.1, 0.12, 0.09], 0.3) == FAILS
    assert stats.one_sample([0.1, 0.5, 0.3], 0.3) == INCONCLUSIVE
    assert stats.one_sample([0.1, 0.12, 0.09], 0.3, above=False) == HOLDS


@pytest.mark.parametrize("outcomes, verdict", [
    ((HOLDS, HOLDS), REPRODUCED),
    ((FAILS, FAILS), NOT_REPRODUCED),
    ((HOLDS, FAILS), MIXED),
    ((HOLDS, FAILS, INCONCLUSIVE), MIXED),
    ((HOLDS, INCONCLUSIVE), INCONCLUSIVE_VERDICT),
    ((FAILS, INCONCLUSIVE), INCONCLUSIVE_VERDICT),
    ((), INCONCLUSIVE_VERDICT),
])
def test_combine_gives_the_four_outcomes(outcomes, verdict):
    parts = [Part(f"part {i}", o) for i, o in enumerate(outcomes)]
    result = combine(parts, "rule")
    assert result.verdict == verdict
    if not outcomes:
        assert "nothing could be compared" in result.findings[0]


def test_part_rejects_an_unknown_outcome():
    with pytest.raises(ValueError, match="Received: outcome='maybe'"):
        Part("x", "maybe")


def test_compare_leaves_diverged_and_stuck_runs_out_and_counts_them():
    a = arm([0.90, 0.91, None, 0.90, 0.92])           # seed 2 diverged
    b = arm([0.80, 0.81, 0.80, 0.12, 0.79])           # seed 3 stuck at chance
    part, diff = c.compare("A beats B", a, b, c.final("valid_accuracy"), 0.01)
    assert diff.seeds == (0, 1, 4) and part.outcome == HOLDS
    assert "A: 1 diverged of 5 left out" in part.detail
    assert "B: 1 at chance of 5 left out" in part.detail
    # Every seed of A diverged: nothing to pair, inconclusive, and said so.
    part, diff = c.compare("A beats B", arm([None] * 5), b, c.final("valid_accuracy"), 0.01)
    assert diff is None and part.outcome == INCONCLUSIVE and "5 diverged of 5" in part.detail


def test_a_network_that_never_trained_is_decided_on_that_alone():
    trained = arm([0.85, 0.86, 0.84, 0.85, 0.86])
    stuck = arm([0.10, 0.10, 0.11, 0.10, 0.10])
    part, _ = c.compare("BN rescues sigmoid", trained, stuck, c.final("valid_accuracy"), 0.01)
    assert part.outcome == HOLDS and "did not train in 5 of 5" in part.detail
    part, _ = c.compare("sigmoid beats BN", stuck, trained, c.final("valid_accuracy"), 0.01)
    assert part.outcome == FAILS
    assert c.counts_text(c.counts(stuck)) == "5 (5 at chance)"


def test_share_part_counts_seeds():
    stuck = arm([0.10, 0.10, 0.11])
    assert c.share_part("stays at chance", stuck, c.at_chance).outcome == HOLDS
    assert c.share_part("stays at chance", arm([0.8, 0.85, 0.9]), c.at_chance).outcome == FAILS
    assert c.share_part("stays at chance", arm([0.1, 0.85, 0.9]), c.at_chance).outcome == INCONCLUSIVE
    assert c.share_part("stays at chance", arm([0.1]), c.at_chance).outcome == INCONCLUSIVE
