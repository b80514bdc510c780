"""Claim 8's judge on hand-made per-round log-ratios, on both sides of both margins."""

import math

import pytest

from actkeras.experiments.claims import PRESETS, claims, select
from actkeras.experiments.claims import c08_cost as m
from actkeras.experiments.judging import (
    INCONCLUSIVE_VERDICT,
    MIXED,
    NOT_REPRODUCED,
    REPRODUCED,
)


def rounds(ratio, spread=0.02, n=30):
    """Per-round log-ratios around `ratio`, alternating +-spread (sd about `spread`)."""
    return [math.log(ratio) + (spread if i % 2 else -spread) for i in range(n)]


@pytest.mark.parametrize("op, step, verdict", [
    (2.5, 1.25, REPRODUCED),        # both clearly above their margins
    (2.5, 1.00, MIXED),             # cheaper alone, invisible in a training step
    (1.00, 1.00, NOT_REPRODUCED),   # no difference anywhere
    (1.05, 1.00, INCONCLUSIVE_VERDICT),  # alone: the interval straddles 1.05; step fails
])
def test_judge_on_both_sides_of_the_margins(op, step, verdict):
    ops = {"relu": rounds(1.0, 0.0), "sigmoid": rounds(op), "elu": rounds(op)}
    steps = {"relu": rounds(1.0, 0.0), "sigmoid": rounds(step), "elu": rounds(step)}
    result, ratios = m.judge(ops, steps)
    outcomes = [p.outcome for p in result.parts]
    assert result.verdict == verdict
    if op == 1.05:
        assert outcomes == ["inconclusive", "inconclusive", "fails", "fails"]
    assert ratios["op"]["sigmoid"]["ratio"] == pytest.approx(op, rel=1e-3)


def test_too_few_rounds_or_none_is_inconclusive_not_an_error():
    result, _ = m.judge({"sigmoid": [math.log(3.0)]}, {})
    assert result.verdict == INCONCLUSIVE_VERDICT
    assert all(p.outcome == "inconclusive" for p in result.parts)
    # An empty result set: the analysis says so instead of raising.
    claim = select(claims("tiny", sizes=PRESETS["tiny"]), [8])[0]
    analysis = m.analyze(claim, {})
    assert analysis.verdict.verdict == INCONCLUSIVE_VERDICT and m.draw(claim, analysis) is None
