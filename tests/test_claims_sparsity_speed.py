"""Claims 7 (sparse representations) and 10 (convergence speed): judges on hand-made
results on both sides of every margin, builds for every preset, analyses of nothing,
and figures with one line (or dot) per seed."""

import math

import pytest

from actkeras.experiments.claims import c01_course, c03_vanishing
from actkeras.experiments.claims import c07_sparsity as c7
from actkeras.experiments.claims import c10_speed as c10
from actkeras.experiments.claims._common import Analysis
from actkeras.experiments.claims.sizes import PRESETS, budget_steps, deep_runs
from actkeras.experiments.judging import (
    INCONCLUSIVE_VERDICT,
    MIXED,
    NOT_REPRODUCED,
    REPRODUCED,
)
from actkeras.experiments.stats import FAILS, HOLDS, INCONCLUSIVE
from tests.fakes import result

# --- claim 7 ----------------------------------------------------------------------------


def sparse_arm(zeros, near, below=None, family="rectifier", valid=0.9):
    """`{seed: result}` with a one-layer `sparsity` measure; `None` zeros: diverged."""
    out = {}
    for seed, (z, n) in enumerate(zip(zeros, near)):
        if z is None:
            out[seed] = result("diverged", seed, {"valid_accuracy": None})
            continue
        layer = {"family": family, "units": 1024, "zero_fraction": z,
                 "near_zero_fraction": n, "epsilon": 0.05, "scale": 1.0,
                 "below_0.05_fraction": n if below is None else below}
        out[seed] = result("ok", seed, {"valid_accuracy": valid},
                           measures={"sparsity": {"layers": {"activation_0": layer}}})
    return out


RELU_ZEROS = [0.78, 0.76, 0.79, 0.77, 0.78]
RELU_NEAR = [0.85, 0.83, 0.86, 0.84, 0.85]


def judge7(sig_near, relu_zeros=RELU_ZEROS, relu_near=RELU_NEAR):
    arms = {"relu": sparse_arm(relu_zeros, relu_near),
            "sigmoid": sparse_arm([0.0] * len(sig_near), sig_near, family="sigmoid")}
    verdict, _ = c7.judge(arms)
    return verdict


def test_c7_reproduced_when_relu_sparse_and_sigmoid_dense():
    verdict = judge7([0.20, 0.22, 0.19, 0.21, 0.20])
    assert [p.outcome for p in verdict.parts] == [HOLDS, HOLDS, HOLDS]
    assert verdict.verdict == REPRODUCED


def test_c7_sigmoid_mostly_near_zero_fails_dense_and_says_so():
    verdict = judge7([0.60, 0.62, 0.61, 0.63, 0.60])
    assert [p.outcome for p in verdict.parts] == [HOLDS, HOLDS, FAILS]
    assert verdict.verdict == MIXED
    assert any("like-with-like" in f and "FAILS" in f for f in verdict.findings)


def test_c7_sigmoid_straddling_half_is_inconclusive():
    verdict = judge7([0.30, 0.70, 0.45, 0.55, 0.50])
    assert verdict.parts[2].outcome == INCONCLUSIVE
    assert verdict.verdict == INCONCLUSIVE_VERDICT


def test_c7_relu_exact_zeros_below_half_fails():
    verdict = judge7([0.2] * 5, relu_zeros=[0.30, 0.32, 0.31, 0.29, 0.30])
    assert verdict.parts[0].outcome == FAILS
    straddle = judge7([0.2] * 5, relu_zeros=[0.30, 0.70, 0.45, 0.55, 0.52])
    assert straddle.parts[0].outcome == INCONCLUSIVE


@pytest.mark.parametrize("gap, expected", [(0.20, HOLDS), (0.05, FAILS)])
def test_c7_near_zero_gap_against_margin(gap, expected):
    sig = [0.20, 0.22, 0.19, 0.21, 0.20]
    verdict = judge7(sig, relu_near=[s + gap + d for s, d in
                                     zip(sig, (0.0, 0.003, -0.002, 0.001, 0.0))])
    assert verdict.parts[1].outcome == expected


def test_c7_near_zero_gap_straddling_margin_is_inconclusive():
    sig = [0.20, 0.22, 0.19, 0.21, 0.20]
    gaps = [0.02, 0.18, 0.05, 0.15, 0.10]
    verdict = judge7(sig, relu_near=[s + g for s, g in zip(sig, gaps)])
    assert verdict.parts[1].outcome == INCONCLUSIVE


def test_c7_diverged_seeds_are_left_out_and_counted():
    zeros = [0.78, None, 0.79, 0.77, None]
    verdict = judge7([0.20, 0.22, 0.19, 0.21, 0.20], relu_zeros=zeros)
    assert verdict.parts[0].outcome == HOLDS
    assert "2 diverged of 5 left out" in verdict.parts[0].detail
    assert "n=3" in verdict.parts[1].detail


def test_c7_analyze_nothing_is_inconclusive():
    claim = c7.build(PRESETS["tiny"])
    analysis = c7.analyze(claim, {})
    assert analysis.verdict.verdict == INCONCLUSIVE_VERDICT
    assert c7.draw(claim, analysis) is None


@pytest.mark.parametrize("preset", ["quick", "full", "tiny"])
def test_c7_build_shares_claim_1_runs(preset):
    sizes = PRESETS[preset]
    claim = c7.build(sizes)
    assert {r.run_id for r in claim.runs} == {r.run_id for r in c01_course.build(sizes).runs}
    assert all("sparsity" in r.measures for r in claim.runs)
    assert claim.seed_file == "seeds/002_971926e18ad6f5cd.txt"
    assert any("seed" in n for n in claim.notes)


def test_c7_analyze_and_draw_one_dot_and_one_line_per_seed():
    claim = c7.build(PRESETS["tiny"])
    relu = sparse_arm(RELU_ZEROS[:3], RELU_NEAR[:3])
    sig = sparse_arm([0.0] * 3, [0.4, 0.41, 0.39], family="sigmoid")
    hist = {"counts": [5, 3, 2], "edges": [0.0, 0.5, 1.0, 1.5]}
    for runs in (relu, sig):
        for r in runs.values():
            r["monitors"] = {"stats": [{"epoch": 1, "step": 20, "trigger": "epoch_end",
                                        "layers": {"activation_0": {"histogram": hist}}}]}
    results = {}
    for spec in claim.runs:
        arm = {"relu": relu, "sigmoid": sig}.get(spec.activation)
        if arm is not None and spec.seed in arm:
            results[spec.run_id] = arm[spec.seed]
    analysis = c7.analyze(claim, results)
    assert analysis.numbers["arms"]["relu"]["near_zero_fraction"]["summary"]["n"] == 2
    # Draw a synthetic analysis with three seeds per arm.
    series = {"zeros": {"relu": {0: 0.78, 1: 0.77, 2: 0.79}, "sigmoid": {0: 0.0, 1: 0.0, 2: 0.0}},
              "near": {"relu": {0: 0.85, 1: 0.84, 2: 0.86}, "sigmoid": {0: 0.4, 1: 0.41, 2: 0.39}},
              "histograms": {a: {s: c7.histograms(r) for s, r in runs.items()}
                             for a, runs in (("relu", relu), ("sigmoid", sig))}}
    figure = c7.draw(claim, Analysis([], [], {}, analysis.verdict, series))
    left, middle, right = figure.axes[:3]
    dots = [line for line in left.lines if line.get_marker() == "o"]
    assert [len(line.get_xdata()) for line in dots] == [3, 3]
    assert len(right.lines) == 6  # one histogram line per seed, two arms


# --- claim 10 ---------------------------------------------------------------------------

STEPS = budget_steps(300)


def speed_run(seed, rate, offset=0.0, top=0.9, status="ok", stop=None, stuck=False):
    """A run whose validation accuracy rises as top - (top - 0.1) exp(-step / rate),
    lowered by `offset` after step 0; `stuck`: stays at 0.1; `stop`: last budget."""
    budgets = []
    for step in STEPS:
        if stop is not None and step > stop:
            break
        if stuck:
            value = 0.1
        else:
            value = top - (top - 0.1) * math.exp(-step / rate) - (offset if step else 0.0)
        budgets.append({"step": step, "valid_accuracy": value})
    final = None if status == "diverged" else budgets[-1]["valid_accuracy"]
    return result(status, seed, {"valid_accuracy": final}, budgets=budgets)


def speed_arm(rates, offsets=None, **kw):
    offsets = offsets or [0.0] * len(rates)
    return {s: speed_run(s, r, o, **kw) for s, (r, o) in enumerate(zip(rates, offsets))}


def test_c10_area_is_normalised_mean_accuracy():
    assert c10.area([(0, 0.5), (10, 0.5), (300, 0.5)], 300) == pytest.approx(0.5)
    assert c10.area([(0, 0.5), (10, 0.5)], 300) is None  # stopped short


def test_c10_steps_to_target_reads_budgets_without_interpolation():
    run = result(budgets=[{"step": 0, "valid_accuracy": 0.1}, {"step": 10, "valid_accuracy": 0.5},
                          {"step": 20, "valid_accuracy": 0.85}])
    assert c10.steps_to(run, 0.8) == 20
    assert c10.steps_to(run, 0.9) is None


def test_c10_faster_relu_holds():
    setups = {"course": {"relu": speed_arm([20, 22, 19, 21, 20]),
                         "sigmoid": speed_arm([80, 85, 78, 90, 82])}}
    verdict, numbers = c10.judge(setups)
    assert [p.outcome for p in verdict.parts] == [HOLDS]
    assert verdict.verdict == REPRODUCED
    assert any("every budget after step 0 in 5 of 5" in f for f in verdict.findings)
    assert numbers["course"]["target"] == pytest.approx(0.9 * 0.9, abs=0.01)


def test_c10_same_speed_fails():
    offsets = [0.002, -0.001, 0.0, 0.001, -0.002]
    setups = {"course": {"relu": speed_arm([20] * 5),
                         "sigmoid": speed_arm([20] * 5, offsets)}}
    verdict, _ = c10.judge(setups)
    assert verdict.parts[0].outcome == FAILS
    assert verdict.verdict == NOT_REPRODUCED


def test_c10_lead_straddling_margin_is_inconclusive():
    # Sigmoid = ReLU lowered by these amounts after step 0: the area differences are
    # about these, straddling one point.
    offsets = [-0.02, 0.04, 0.0, 0.03, -0.01]
    setups = {"course": {"relu": speed_arm([20] * 5),
                         "sigmoid": speed_arm([20] * 5, offsets)}}
    verdict, _ = c10.judge(setups)
    assert verdict.parts[0].outcome == INCONCLUSIVE
    assert verdict.verdict == INCONCLUSIVE_VERDICT


def test_c10_sigmoid_that_never_trains_is_not_slower():
    setups = {"course": {"relu": speed_arm([20, 22, 19, 21, 20]),
                         "sigmoid": speed_arm([80, 85, 78, 90, 82])},
              "deep": {"relu": speed_arm([50] * 5, [0.0, 0.01, -0.01, 0.0, 0.005]),
                       "sigmoid": speed_arm([50] * 5, stuck=True)}}
    verdict, numbers = c10.judge(setups)
    assert len(verdict.parts) == 1  # the deep MLP gives no speed part
    assert verdict.verdict == REPRODUCED
    assert numbers["deep"]["did_not_train"] == "sigmoid"
    assert any("sigmoid did not train" in f and "not evidence of 'slower'" in f
               for f in verdict.findings)
    only_deep, _ = c10.judge({"deep": setups["deep"]})
    assert only_deep.verdict == INCONCLUSIVE_VERDICT


def test_c10_diverged_and_stuck_seeds_are_left_out_and_counted():
    relu = speed_arm([20, 22, 19, 21, 20])
    relu[1] = speed_run(1, 22, status="diverged", stop=50)
    sigmoid = speed_arm([80, 85, 78, 90, 82])
    sigmoid[3] = speed_run(3, 90, stuck=True)
    verdict, numbers = c10.judge({"course": {"relu": relu, "sigmoid": sigmoid}})
    part = verdict.parts[0]
    assert part.outcome == HOLDS
    assert "ReLU: 1 diverged of 5 left out" in part.detail
    assert "sigmoid: 1 never left chance of 5 left out" in part.detail
    assert "n=3" in part.detail
    assert numbers["course"]["horizon"] == 300  # the diverged run does not cut it


@pytest.mark.parametrize("preset", ["quick", "full", "tiny"])
def test_c10_build_shares_runs_and_selects_by_fields(preset):
    sizes = PRESETS[preset]
    claim = c10.build(sizes)
    course_ids = {r.run_id for r in c01_course.build(sizes).runs
                  if r.activation in ("relu", "sigmoid")}
    deep_ids = {r.run_id for r in deep_runs(sizes, 3, ("relu", "sigmoid"))}
    assert {r.run_id for r in claim.runs} == course_ids | deep_ids
    assert deep_ids <= {r.run_id for r in c03_vanishing.build(sizes).runs}
    assert all(r.eval_steps for r in claim.runs)
    results = {r.run_id: result(seed=r.seed) for r in claim.runs}
    arms = c10.arms_of(claim, results)
    for name, preset_name in c10.SETUPS.items():
        for a in c10.ARMS:
            assert len(arms[name][a]) == sizes.seeds
            assert all(s.preset == preset_name for s in claim.runs
                       if s.preset == preset_name and s.activation == a)


def test_c10_analyze_nothing_is_inconclusive():
    claim = c10.build(PRESETS["tiny"])
    analysis = c10.analyze(claim, {})
    assert analysis.verdict.verdict == INCONCLUSIVE_VERDICT
    assert c10.draw(claim, analysis) is None


def test_c10_analyze_and_draw_one_line_per_seed():
    claim = c10.build(PRESETS["tiny"])
    arms = {("udacity", "relu"): speed_arm([20, 22]), ("udacity", "sigmoid"): speed_arm([80, 85]),
            ("mlp", "relu"): speed_arm([30, 32]),
            ("mlp", "sigmoid"): speed_arm([50, 50], stuck=True)}
    arms[("udacity", "sigmoid")][1] = speed_run(1, 85, status="diverged", stop=40)
    results = {s.run_id: arms[(s.preset, s.activation)][s.seed] for s in claim.runs}
    analysis = c10.analyze(claim, results)
    assert len(analysis.rows) == 4
    figure = c10.draw(claim, analysis)
    course, deep = figure.axes[:2]
    # course: 2 seeds x 2 arms + 2 means + 1 diverged marker + chance + target
    thin = [line for line in course.lines if line.get_linewidth() == 0.7]
    assert len(thin) == 4
    assert len(course.lines) == 4 + 2 + 1 + 2
    assert len([line for line in deep.lines if line.get_linewidth() == 0.7]) == 4


# --- one tiny real run, shared by both modules ------------------------------------------

def test_real_tiny_course_run_measures_sparsity_and_budgets(tmp_path):
    from actkeras.experiments.runner import run_one

    sizes = PRESETS["tiny"]
    claim7, claim10 = c7.build(sizes), c10.build(sizes)
    spec = next(r for r in claim7.runs if r.activation == "sigmoid" and r.seed == 0)
    assert spec.run_id in {r.run_id for r in claim10.runs}  # the same run serves claim 10
    run = run_one(spec, tmp_path)
    assert run["status"] == "ok"
    near, zeros = c7.NEAR(run), c7.ZEROS(run)
    assert 0.0 <= zeros <= near <= 1.0
    assert zeros == 0.0  # a sigmoid is never exactly 0
    assert c7.EPSILON(run) <= 0.05 + 1e-9  # sigmoid's scale is at most 1
    assert c7.histograms(run)  # histograms in units of the layer's scale
    points = c10.curve(run)
    assert [s for s, _ in points] == list(budget_steps(sizes.udacity_steps))
    assert 0.0 <= c10.area(points, points[-1][0]) <= 1.0
    analysis = c7.analyze(claim7, {spec.run_id: run})
    row = next(r for r in analysis.rows if r[0] == "sigmoid")
    assert row[4] != "–"
    analysis10 = c10.analyze(claim10, {spec.run_id: run})
    assert analysis10.verdict.verdict == INCONCLUSIVE_VERDICT
