"""Claims 2 (He initialisation), 5 (batch normalisation) and 6 (dying ReLU): judges on
hand-made results on both sides of every margin, `build` for every preset,
`analyze({})`, the figures, and claim 6's step-0 / end bookkeeping."""

import pytest

from actkeras.experiments.claims import c01_course, c02_init, c05_batchnorm, c06_dying
from actkeras.experiments.claims.sizes import PRESETS
from actkeras.experiments.judging import INCONCLUSIVE_VERDICT, MIXED, NOT_REPRODUCED, REPRODUCED
from actkeras.experiments.stats import FAILS, HOLDS, INCONCLUSIVE
import fakes

CHANCE_RUN = [0.10, 0.09, 0.10, 0.11, 0.10]
TRAINED = [0.85, 0.86, 0.84, 0.85, 0.86]


def thin_lines(ax):
    """The per-seed lines `figures.seed_curves` draws (linewidth 0.7)."""
    return [line for line in ax.lines if line.get_linewidth() == pytest.approx(0.7)]


# --- claim 2 ----------------------------------------------------------------------------------

def c2_arms(**changes):
    """Every arm of claim 2, shaped as the notebook found it (ELU with glorot trains)."""
    arms = {
        "relu glorot lr=0.01": CHANCE_RUN, "relu glorot lr=0.001": CHANCE_RUN,
        "relu he lr=0.01": [0.80, None, 0.82, 0.79, 0.81], "relu he lr=0.001": TRAINED,
        "sigmoid glorot lr=0.001": CHANCE_RUN, "tanh glorot lr=0.001": TRAINED,
        "leaky_relu glorot lr=0.01": CHANCE_RUN, "leaky_relu glorot lr=0.001": CHANCE_RUN,
        "leaky_relu he lr=0.001": TRAINED,
        "elu glorot lr=0.01": [0.86, 0.87, 0.86, 0.85, 0.86],
        "elu glorot lr=0.001": [0.84, 0.85, 0.84, 0.86, 0.85], "elu he lr=0.001": TRAINED,
    }
    arms.update(changes)
    return {label: fakes.arm(v) for label, v in arms.items()}


def test_claim2_elu_never_broken_is_mixed_and_said():
    verdict, diffs = c02_init.judge(c2_arms())
    assert [p.outcome for p in verdict.parts] == [HOLDS, HOLDS, HOLDS, HOLDS, FAILS]
    assert verdict.verdict == MIXED
    assert any("ELU" in f and "never broken" in f for f in verdict.findings)
    assert diffs["elu: He - glorot at lr 0.001"]["mean"] == pytest.approx(0.004)
    # The notebook's confounded comparison and the grid are findings, with intervals.
    assert any("notebook's comparison for ReLU" in f for f in verdict.findings)
    assert any("learning rate with glorot" in f and "neither trained" in f
               for f in verdict.findings)
    assert "relu: He lr 0.001 - glorot lr 0.01 (notebook)" in diffs
    assert verdict.would_change


def test_claim2_reproduced_when_every_glorot_arm_is_stuck():
    verdict, _ = c02_init.judge(c2_arms(**{"elu glorot lr=0.001": CHANCE_RUN}))
    assert verdict.verdict == REPRODUCED
    assert not any("never broken" in f for f in verdict.findings)


def test_claim2_margin_both_sides_and_straddling():
    base = [0.80, 0.81, 0.79, 0.80, 0.80]
    above = c02_init.judge(c2_arms(**{"relu glorot lr=0.001": base,
                                      "relu he lr=0.001": [v + 0.08 for v in base]}))[0]
    assert above.parts[2].outcome == HOLDS
    below = c02_init.judge(c2_arms(**{"relu glorot lr=0.001": base,
                                      "relu he lr=0.001": [v + 0.02 for v in base]}))[0]
    assert below.parts[2].outcome == FAILS
    straddle = c02_init.judge(c2_arms(**{"relu glorot lr=0.001": base,
                                         "relu he lr=0.001": [0.80 + d for d in
                                                              (0.01, 0.09, 0.02, 0.10, 0.05)]}))[0]
    assert straddle.parts[2].outcome == INCONCLUSIVE


def test_claim2_default_arm_that_trains_fails_part_a_and_diverged_left_out():
    verdict, _ = c02_init.judge(c2_arms(**{"relu glorot lr=0.01": TRAINED,
                                           "sigmoid glorot lr=0.001": [0.1, 0.5, 0.1, None, 0.1]}))
    assert verdict.parts[0].outcome == FAILS
    assert verdict.parts[1].outcome == INCONCLUSIVE  # 3 of 4 at chance
    assert "1 diverged" in verdict.parts[1].detail


def test_claim2_he_arm_diverged_everywhere_is_inconclusive():
    verdict, _ = c02_init.judge(c2_arms(**{"leaky_relu he lr=0.001": [None] * 5}))
    assert verdict.parts[3].outcome == INCONCLUSIVE
    assert "5 diverged" in verdict.parts[3].detail


@pytest.mark.parametrize("preset", ["quick", "full", "tiny"])
def test_claim2_build(preset):
    sizes = PRESETS[preset]
    claim = c02_init.build(sizes)
    assert len(claim.runs) == len(c02_init.ARMS) * sizes.seeds
    assert len({s.run_id for s in claim.runs}) == len(claim.runs)
    assert all(s.eval_steps and s.overrides["steps_per_execution"] == 10 for s in claim.runs)
    assert claim.runs[0].depth == sizes.fashion_depth
    assert claim.notes and claim.published and claim.seed_file


def test_claim2_arms_are_selected_by_fields_not_labels():
    claim = c02_init.build(PRESETS["tiny"])
    results = {}
    for spec in claim.runs:
        ok = spec.initializer == "he_normal"
        results[spec.run_id] = fakes.result("ok", spec.seed,
                                            {"valid_accuracy": 0.85 if ok else 0.1})
    # Relabelled runs are still found by their fields.
    from dataclasses import replace
    claim = replace(claim, runs=tuple(replace(s, label="x") for s in claim.runs))
    analysis = c02_init.analyze(claim, results)
    assert analysis.numbers["arms"]["relu he lr=0.001"]["runs"]["n"] == 2
    assert analysis.verdict.parts[2].outcome == HOLDS


def test_claim2_analyze_empty_and_draw():
    claim = c02_init.build(PRESETS["tiny"])
    empty = c02_init.analyze(claim, {})
    assert empty.verdict.verdict == INCONCLUSIVE_VERDICT
    budgets = [{"step": s, "valid_accuracy": 0.1 + s / 1000} for s in (0, 100, 200)]
    results = {spec.run_id: fakes.result("ok", spec.seed, {"valid_accuracy": 0.3},
                                         budgets=budgets) for spec in claim.runs}
    analysis = c02_init.analyze(claim, results)
    figure = c02_init.draw(claim, analysis)
    axes = figure.axes
    assert len(thin_lines(axes[0])) == 4 * 2  # four ReLU arms x two seeds
    assert len(thin_lines(axes[1])) == 6 * 2
    assert len(thin_lines(axes[2])) == 2 * 2


# --- claim 5 ----------------------------------------------------------------------------------

def c5_arms(sigmoid=CHANCE_RUN, bn=TRAINED, relu=(0.84, 0.85, 0.84, 0.85, 0.84),
            relu_bn=TRAINED):
    return {"sigmoid": fakes.arm(sigmoid), "sigmoid + BN": fakes.arm(bn),
            "relu": fakes.arm(relu), "relu + BN": fakes.arm(relu_bn)}


def test_claim5_reproduced_categorically_and_against_best_relu():
    verdict, diffs = c05_batchnorm.judge(c5_arms())
    assert [p.outcome for p in verdict.parts] == [HOLDS, HOLDS]
    assert verdict.verdict == REPRODUCED
    assert "relu + BN" in verdict.parts[1].text  # the ReLU arm with the higher mean
    assert "did not train" in verdict.parts[0].detail
    assert diffs["sigmoid + BN - relu + BN"]["mean"] == pytest.approx(0.0)
    assert verdict.would_change


def test_claim5_nearly_as_well_both_sides_and_straddling():
    relu = [0.86, 0.87, 0.86, 0.87, 0.86]
    far = c05_batchnorm.judge(c5_arms(bn=[v - 0.06 for v in relu], relu=relu))[0]
    assert far.parts[1].outcome == FAILS
    assert far.verdict == MIXED
    close = c05_batchnorm.judge(c5_arms(bn=[v - 0.005 for v in relu], relu=relu))[0]
    assert close.parts[1].outcome == HOLDS
    wide = c05_batchnorm.judge(c5_arms(bn=[v - d for v, d in
                                           zip(relu, (0.0, 0.05, 0.01, 0.04, 0.0))], relu=relu))[0]
    assert wide.parts[1].outcome == INCONCLUSIVE
    assert wide.verdict == INCONCLUSIVE_VERDICT


def test_claim5_rescue_margin_both_sides():
    # The plain sigmoid trains too (a shallow net): BN's gain is under 5 points.
    small = c05_batchnorm.judge(c5_arms(sigmoid=[0.83, 0.84, 0.83, 0.84, 0.83]))[0]
    assert small.parts[0].outcome == FAILS
    big = c05_batchnorm.judge(c5_arms(sigmoid=[0.70, 0.71, 0.72, 0.70, 0.71]))[0]
    assert big.parts[0].outcome == HOLDS


def test_claim5_diverged_bn_seeds_left_out():
    verdict, diffs = c05_batchnorm.judge(c5_arms(bn=[0.85, None, 0.86, None, 0.85]))
    assert "2 diverged" in verdict.parts[0].detail
    assert diffs["sigmoid + BN - relu + BN"]["n"] == 3


@pytest.mark.parametrize("preset", ["quick", "full", "tiny"])
def test_claim5_build_shares_runs_with_claim3(preset):
    from actkeras.experiments.claims import c03_vanishing

    sizes = PRESETS[preset]
    claim = c05_batchnorm.build(sizes)
    assert len(claim.runs) == 4 * sizes.seeds
    shared = {s.run_id for s in c03_vanishing.build(sizes).runs}
    assert {s.run_id for s in claim.runs if not s.batch_norm} <= shared
    assert any("5 epochs" in n for n in claim.notes)


def test_claim5_analyze_empty_and_draw():
    claim = c05_batchnorm.build(PRESETS["tiny"])
    assert c05_batchnorm.analyze(claim, {}).verdict.verdict == INCONCLUSIVE_VERDICT
    budgets = [{"step": s, "valid_accuracy": 0.5} for s in (0, 10, 20)]
    results = {spec.run_id: fakes.result("ok", spec.seed, {"valid_accuracy": 0.8},
                                         budgets=budgets) for spec in claim.runs}
    analysis = c05_batchnorm.analyze(claim, results)
    figure = c05_batchnorm.draw(claim, analysis)
    assert len(thin_lines(figure.axes[0])) == 4 * 2


# --- claim 6 ----------------------------------------------------------------------------------

UNITS = 100


def dead_record(trigger, off, step, family="rectifier"):
    return {"trigger": trigger, "step": step, "epoch": 0 if trigger == "train_begin" else 1,
            "layers": {"activation_0": {"family": family, "units": UNITS,
                                        "inactive_units": len(off), "off_units": sorted(off),
                                        "fraction": len(off) / UNITS}}}


def dying_result(start, end, middle=None, status="ok", seed=0, family="rectifier",
                 valid=0.85):
    """One layer of 100 units: `start`, `middle`, `end` are the counts of units off
    (units 0..k-1), or sets of indices."""
    as_set = lambda v: set(range(v)) if isinstance(v, int) else set(v)  # noqa: E731
    recs = [dead_record("train_begin", as_set(start), 0, family)]
    if middle is not None:
        recs.append(dead_record("epoch_end", as_set(middle), 100, family))
    recs.append(dead_record("epoch_end", as_set(end), 200, family))
    return fakes.result(status, seed, {"valid_accuracy": None if status != "ok" else valid},
                        monitors={"dead": recs})


def dying_arm(pairs, family="rectifier"):
    out = {}
    for seed, pair in enumerate(pairs):
        if pair is None:
            out[seed] = dying_result(0, 0, status="diverged", seed=seed, family=family)
        else:
            out[seed] = dying_result(*pair, seed=seed, family=family)
    return out


def test_claim6_transitions_are_set_differences():
    t = c06_dying.transitions(dying_result({0, 1, 2, 3}, {2, 3, 4, 5, 6}, middle={2, 3, 4, 7}))
    assert t["start"] == pytest.approx(0.04)
    assert t["end"] == pytest.approx(0.05)
    assert t["died"] == pytest.approx(0.03)  # 4, 5, 6
    assert t["revived"] == pytest.approx(0.02)  # 0, 1
    assert t["stayed_start"] == pytest.approx(0.5)  # 2, 3 of 0-3
    assert t["stayed_died"] == pytest.approx(3 / 4)  # 4, 5, 6 of 4, 5, 6, 7
    old = fakes.result(monitors={"dead": [{"trigger": "epoch_end", "layers": {
        "a": {"units": 10, "inactive_units": 3}}}]})
    assert c06_dying.transitions(old)["end"] == pytest.approx(0.3)
    assert c06_dying.transitions(old)["died"] is None


def c6_arms(**changes):
    arms = {
        "relu": dying_arm([(0, 6), (0, 7), (0, 6), (0, 8), (0, 7)]),
        "relu large lr": dying_arm([(0, 93), (0, 94), (0, 95), (0, 94), (0, 93)]),
        "leaky_relu large lr": dying_arm([(0, 2), (0, 3), (0, 1), (0, 2), (0, 3)], "leaky"),
        "elu large lr": dying_arm([(0, 1), (0, 2), (0, 1), (0, 2), (0, 1)], "exponential"),
        # The bias kills units at initialisation and they stay dead.
        "relu negative bias": dying_arm([(90, 90), (91, 91), (89, 90), (90, 91), (90, 90)]),
        "leaky_relu negative bias": dying_arm([(40, 0), (41, 1), (39, 0), (40, 0), (40, 1)],
                                              "leaky"),
        "elu negative bias": dying_arm([(40, 0), (41, 1), (39, 0), (40, 0), (40, 1)],
                                       "exponential"),
    }
    arms.update(changes)
    return arms


def test_claim6_bias_kills_at_initialisation_is_not_credited_to_training():
    verdict, diffs = c06_dying.judge(c6_arms())
    outcomes = [p.outcome for p in verdict.parts]
    # large lr: dies, stays dead, leaky keeps, elu keeps; bias: does NOT die in training,
    # the init-killed units stay dead, leaky keeps, elu keeps.
    assert outcomes == [HOLDS, HOLDS, HOLDS, HOLDS, FAILS, HOLDS, HOLDS, HOLDS]
    assert verdict.verdict == MIXED
    assert "dead at step 0" in verdict.parts[4].detail
    assert any("negative bias" in f and "initialisation" in f for f in verdict.findings)
    assert diffs["large lr: died during training, stressed - unstressed ReLU"]["mean"] == \
        pytest.approx(0.870)
    assert verdict.would_change


def test_claim6_units_that_die_in_training_under_bias_count():
    verdict, _ = c06_dying.judge(c6_arms(**{"relu negative bias": dying_arm(
        [(5, 60), (6, 62), (5, 61), (4, 60), (5, 59)])}))
    assert verdict.parts[4].outcome == HOLDS
    assert verdict.verdict == REPRODUCED


def test_claim6_die_margin_both_sides_and_straddling():
    near = c06_dying.judge(c6_arms(**{"relu large lr": dying_arm(
        [(0, 10), (0, 12), (0, 11), (0, 13), (0, 12)])}))[0]
    assert near.parts[0].outcome == FAILS
    straddle = c06_dying.judge(c6_arms(**{"relu large lr": dying_arm(
        [(0, 10), (0, 40), (0, 12), (0, 35), (0, 20)])}))[0]
    assert straddle.parts[0].outcome == INCONCLUSIVE


def test_claim6_units_that_come_back_do_not_stay_dead():
    # 60 die by epoch 1, only 20 still dead at the end.
    verdict, _ = c06_dying.judge(c6_arms(**{"relu large lr": dying_arm(
        [(0, 20, 60), (0, 22, 61), (0, 21, 60), (0, 20, 59), (0, 19, 60)])}))
    assert verdict.parts[1].outcome == FAILS


def test_claim6_leaky_elu_lose_units_or_diverge():
    lost = c06_dying.judge(c6_arms(**{"elu large lr": dying_arm(
        [(0, 88), (0, 90), (0, 85), (0, 92), (0, 89)], "exponential")}))[0]
    assert lost.parts[3].outcome == FAILS
    straddle = c06_dying.judge(c6_arms(**{"elu large lr": dying_arm(
        [(0, 2), (0, 15), (0, 4), (0, 12), (0, 8)], "exponential")}))[0]
    assert straddle.parts[3].outcome == INCONCLUSIVE
    some = c06_dying.judge(c6_arms(**{"leaky_relu large lr": dying_arm(
        [(0, 2), None, (0, 1), (0, 2), (0, 3)], "leaky")}))[0]
    assert some.parts[2].outcome == INCONCLUSIVE
    assert "1 of 5 seeds diverged" in some.parts[2].detail
    most = c06_dying.judge(c6_arms(**{"leaky_relu large lr": dying_arm(
        [None, None, (0, 1), None, (0, 3)], "leaky")}))[0]
    assert most.parts[2].outcome == FAILS


def test_claim6_diverged_relu_seeds_left_out_of_pairs():
    verdict, diffs = c06_dying.judge(c6_arms(**{"relu large lr": dying_arm(
        [(0, 93), None, (0, 95), None, (0, 93)])}))
    assert "2 diverged" in verdict.parts[0].detail
    assert diffs["large lr: died during training, stressed - unstressed ReLU"]["n"] == 3


@pytest.mark.parametrize("preset", ["quick", "full", "tiny"])
def test_claim6_build_shares_the_course_runs_with_claim1(preset):
    sizes = PRESETS[preset]
    claim = c06_dying.build(sizes)
    assert len(claim.runs) == (len(c06_dying.ARMS) + 1) * sizes.seeds
    course = {s.run_id for s in claim.runs if s.preset == "udacity"}
    claim1 = {s.run_id for s in c01_course.build(sizes).runs if s.activation == "relu"}
    assert course == claim1
    assert all(s.monitors == ("dead",) for s in claim.runs if s.preset == "mlp")
    assert any("-1.5" in n for n in claim.notes)


def test_claim6_analyze_empty_and_draw():
    claim = c06_dying.build(PRESETS["tiny"])
    assert c06_dying.analyze(claim, {}).verdict.verdict == INCONCLUSIVE_VERDICT
    results = {spec.run_id: dying_result(3, 10, middle=8, seed=spec.seed) for spec in claim.runs}
    analysis = c06_dying.analyze(claim, results)
    assert len(analysis.rows) == len(c06_dying.ARMS) + 1
    figure = c06_dying.draw(claim, analysis)
    assert len(thin_lines(figure.axes[0])) == 4 * 2
    assert len(thin_lines(figure.axes[1])) == 4 * 2


def test_claim6_verdict_not_reproduced_when_nothing_holds():
    arms = c6_arms(**{
        "relu large lr": dying_arm([(0, 6), (0, 7), (0, 6), (0, 8), (0, 7)]),
        "relu negative bias": dying_arm([(0, 6), (0, 7), (0, 6), (0, 8), (0, 7)]),
        "leaky_relu large lr": dying_arm([(0, 50), (0, 60), (0, 55), (0, 52), (0, 58)], "leaky"),
        "elu large lr": dying_arm([(0, 50), (0, 60), (0, 55), (0, 52), (0, 58)], "exponential"),
        "leaky_relu negative bias": dying_arm([(50, 50)] * 5, "leaky"),
        "elu negative bias": dying_arm([(50, 50)] * 5, "exponential"),
    })
    verdict, _ = c06_dying.judge(arms)
    assert verdict.parts[0].outcome == FAILS
    assert verdict.parts[4].outcome == FAILS
    assert all(p.outcome == FAILS for i, p in enumerate(verdict.parts) if i not in (1, 5))
    assert verdict.verdict in (MIXED, NOT_REPRODUCED)
