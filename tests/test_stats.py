"""The statistics (`experiments.stats`) against SciPy, and the decisions on both sides of
every margin, in every direction."""

import math

import pytest
from scipy import stats as scipy_stats

from actkeras.experiments import stats
from actkeras.experiments.judging import (
    INCONCLUSIVE_VERDICT,
    MIXED,
    NOT_REPRODUCED,
    REPRODUCED,
    Part,
    combine,
    outcome_of,
)
from actkeras.experiments.stats import FAILS, HOLDS, INCONCLUSIVE


def test_t_critical_and_intervals_are_scipys():
    for df in (1, 4, 7, 29, 1000):
        assert stats.t_critical(0.95, df) == pytest.approx(scipy_stats.t.ppf(0.975, df))
    values = [0.1, 0.4, 0.35, 0.2, 0.5]
    low, high = stats.interval(values)
    ci = scipy_stats.ttest_1samp(values, 0).confidence_interval(0.95)
    assert (low, high) == pytest.approx((ci.low, ci.high))
    with pytest.raises(ValueError, match="Received: df=0"):
        stats.t_critical(0.95, 0)
    with pytest.raises(ValueError, match="Received: level=1"):
        stats.t_critical(1, 5)


def test_paired_uses_the_seeds_both_arms_have_and_matches_ttest_rel():
    a = {0: 0.9, 1: 0.8, 2: 0.85, 3: None, 4: 0.95}
    b = {0: 0.5, 1: 0.55, 2: 0.52, 3: 0.6, 5: 0.1}
    diff = stats.paired(a, b)
    assert diff.seeds == (0, 1, 2) and diff.n == 3
    ci = scipy_stats.ttest_rel([0.9, 0.8, 0.85], [0.5, 0.55, 0.52]).confidence_interval(0.95)
    assert (diff.low, diff.high) == pytest.approx((ci.low, ci.high))
    assert stats.paired({0: 1.0}, {1: 2.0}) is None
    one = stats.paired({0: 1.0}, {0: 0.5})
    assert one.n == 1 and one.low is None and stats.decide(one, 0) == INCONCLUSIVE


def estimate(center, spread=0.01, n=6):
    return stats.estimate({i: center + (spread if i % 2 else -spread) for i in range(n)})


@pytest.mark.parametrize("center, margin, direction, expected", [
    (0.10, 0.05, "above", HOLDS), (0.00, 0.05, "above", FAILS), (0.05, 0.05, "above", INCONCLUSIVE),
    (0.00, 0.05, "below", HOLDS), (0.10, 0.05, "below", FAILS), (0.05, 0.05, "below", INCONCLUSIVE),
    (-0.01, 0.05, "within", HOLDS), (-0.10, 0.05, "within", FAILS),
    (-0.05, 0.05, "within", INCONCLUSIVE),
])
def test_decide_on_both_sides_of_the_margin(center, margin, direction, expected):
    assert stats.decide(estimate(center), margin, direction) == expected


def test_decide_rejects_an_unknown_direction_and_equal_values_are_a_point():
    with pytest.raises(ValueError, match="Received: direction='sideways'"):
        stats.decide(estimate(0.1), 0, "sideways")
    flat = stats.estimate({0: 0.2, 1: 0.2, 2: 0.2})
    assert flat.low == pytest.approx(0.2) and flat.high == pytest.approx(0.2)
    assert stats.decide(flat, 0.1) == HOLDS


def test_above_chance_is_scipys_binomial_test():
    hit, p = stats.above_chance(950, 5000, 0.1, 0.001)  # 19 %: far above chance
    assert hit and p == pytest.approx(scipy_stats.binomtest(950, 5000, 0.1,
                                                            alternative="greater").pvalue)
    assert not stats.above_chance(520, 5000, 0.1, 0.001)[0]  # 10.4 %: not above chance
    assert stats.above_chance(0, 0, 0.1, 0.001) == (False, 1.0)


def test_combine_invocations_is_a_t_interval_over_their_means():
    est, means = stats.combine_invocations([[1.0, 3.0], [2.0, 2.0, 2.0], [4.0], []])
    assert means == [2.0, 2.0, 4.0] and est.n == 3
    assert (est.low, est.high) == pytest.approx(stats.interval(means))


@pytest.mark.parametrize("outcomes, verdict", [
    ([HOLDS, HOLDS], REPRODUCED),
    ([FAILS, FAILS], NOT_REPRODUCED),
    ([HOLDS, FAILS], MIXED),
    ([HOLDS, INCONCLUSIVE], INCONCLUSIVE_VERDICT),
    ([FAILS, INCONCLUSIVE], INCONCLUSIVE_VERDICT),
    ([], INCONCLUSIVE_VERDICT),
])
def test_parts_combine_into_the_four_outcomes(outcomes, verdict):
    assert outcome_of([Part("p", o) for o in outcomes]) == verdict
    assert combine([Part("p", o) for o in outcomes], "rule").verdict == verdict


def test_a_part_rejects_an_unknown_outcome_and_reads_its_words():
    with pytest.raises(ValueError, match="Received: outcome='fails'"):
        Part("p", "fails")
    assert [HOLDS, FAILS, INCONCLUSIVE] == ["holds", "does not hold", "undecided"]
    assert math.isclose(stats.summarize([1, 2, 3]).std, 1.0)
