"""Claims 3 (vanishing gradients), 4 (rescaled sigmoid) and 9 (ReLU is not linear):
judges on hand-made results on both sides of every margin, `build` for every preset,
`analyze({})`, the figures, and claim 9's identities as unit tests."""

import math

import numpy as np
import pytest

from actkeras.experiments.claims import c01_course, c03_vanishing, c04_rescaled, c09_linear
from actkeras.experiments.claims.sizes import PRESETS
from actkeras.experiments.judging import INCONCLUSIVE_VERDICT, MIXED, NOT_REPRODUCED, REPRODUCED
from actkeras.experiments.stats import FAILS, HOLDS, INCONCLUSIVE
import fakes

DEPTH = 5


def deep_result(decay0, decay1=None, *, status="ok", valid=0.85, saturated=None, mean=None,
                std=None, family="sigmoid", seed=0):
    """A deep-MLP result whose step-0 gradient decay is `decay0` decades (epoch 1:
    `decay1`): RMS falls geometrically from the last hidden layer to the first."""
    def grads(decay, trigger, epoch):
        weights = {}
        for i in range(DEPTH):
            rms = 1e-3 * 10 ** (-decay * (DEPTH - 1 - i) / (DEPTH - 1))
            weights[f"dense_{i}/kernel"] = rms * 100.0  # 100 x 100 kernels
            weights[f"dense_{i}/bias"] = 1.0
        weights["output/kernel"] = 5.0
        return {"trigger": trigger, "epoch": epoch, "step": 0, "weights": weights}

    def stat_record(trigger, epoch):
        layers = {f"activation_{i}": {"family": family, "saturated_fraction": saturated,
                                      "mean": mean, "std": std} for i in range(DEPTH)}
        return {"trigger": trigger, "epoch": epoch, "layers": layers}

    records = [grads(decay0, "train_begin", 0)]
    if decay1 is not None:
        records.append(grads(decay1, "epoch_end", 1))
    monitors = {"gradients": records}
    if saturated is not None or mean is not None:
        monitors["stats"] = [stat_record("train_begin", 0), stat_record("epoch_end", 1)]
    return fakes.result(status, seed, {"valid_accuracy": None if status != "ok" else valid},
                        monitors=monitors,
                        config={"input_shape": [100], "hidden_units": [100] * DEPTH})


def deep_arm(decays, decays1=None, **kw):
    out = {}
    for seed, d in enumerate(decays):
        if d is None:
            out[seed] = deep_result(0.0, status="diverged", seed=seed, **kw)
        else:
            out[seed] = deep_result(d, None if decays1 is None else decays1[seed], seed=seed, **kw)
    return out


# --- claim 3 ------------------------------------------------------------------------------

def test_decay_is_read_from_the_step0_record():
    result = deep_result(3.0, 7.0)
    assert c03_vanishing.decay(result, "step 0") == pytest.approx(3.0)
    assert c03_vanishing.decay(result, "epoch 1") == pytest.approx(7.0)
    assert [i for i, _ in c03_vanishing.gradient_profile(result)] == list(range(DEPTH))
    assert c03_vanishing.decay(fakes.result()) is None


def test_claim3_reproduced():
    verdict, diffs = c03_vanishing.judge({"sigmoid": deep_arm([11.6, 11.7, 11.5]),
                                          "relu": deep_arm([0.0, 0.1, -0.1])})
    assert [p.outcome for p in verdict.parts] == [HOLDS, HOLDS, HOLDS]
    assert verdict.verdict == REPRODUCED
    assert diffs["decay sigmoid - ReLU at step 0"]["mean"] == pytest.approx(11.6)
    assert verdict.would_change


def test_claim3_relu_decays_too_is_mixed():
    verdict, _ = c03_vanishing.judge({"sigmoid": deep_arm([11.6, 11.7, 11.5]),
                                      "relu": deep_arm([3.0, 3.1, 2.9])})
    assert [p.outcome for p in verdict.parts] == [HOLDS, FAILS, HOLDS]
    assert verdict.verdict == MIXED


def test_claim3_nothing_decays_is_not_reproduced():
    verdict, _ = c03_vanishing.judge({"sigmoid": deep_arm([0.5, 0.6, 0.55]),
                                      "relu": deep_arm([1.3, 1.4, 1.35])})
    assert verdict.verdict == NOT_REPRODUCED


def test_claim3_difference_margin_both_sides():
    relu = deep_arm([0.0, 0.1, 0.2])
    below = c03_vanishing.judge({"sigmoid": deep_arm([0.4, 0.5, 0.6]), "relu": relu})[0]
    above = c03_vanishing.judge({"sigmoid": deep_arm([0.6, 0.7, 0.8]), "relu": relu})[0]
    assert below.parts[2].outcome == FAILS  # +0.4 every seed: at or below 0.5
    assert above.parts[2].outcome == HOLDS  # +0.6 every seed


def test_claim3_straddling_is_inconclusive():
    verdict, _ = c03_vanishing.judge({"sigmoid": deep_arm([0.5, 1.5, 2.5]),
                                      "relu": deep_arm([0.0, 0.1, -0.1])})
    assert verdict.parts[0].outcome == INCONCLUSIVE
    assert verdict.verdict == INCONCLUSIVE_VERDICT


def test_claim3_diverged_seeds_are_left_out_and_counted():
    verdict, diffs = c03_vanishing.judge({"sigmoid": deep_arm([11.6, None, 11.5, 11.7]),
                                          "relu": deep_arm([0.0, 0.1, -0.1, 0.05])})
    assert "1 of 4 seeds diverged" in verdict.parts[0].detail
    assert "sigmoid: 1 diverged of 4 left out" in verdict.parts[2].detail
    assert diffs["decay sigmoid - ReLU at step 0"]["n"] == 3
    assert verdict.verdict == REPRODUCED


def test_claim3_judged_at_step0_not_epoch1():
    sigmoid = deep_arm([11.6, 11.7, 11.5], [0.1, 0.2, 0.0])
    verdict, _ = c03_vanishing.judge({"sigmoid": sigmoid, "relu": deep_arm([0.0, 0.1, -0.1])})
    assert verdict.parts[0].outcome == HOLDS
    assert any("at epoch 1 the parts would read" in f for f in verdict.findings)


# --- claim 4 ------------------------------------------------------------------------------

def c4_arms(scaled_decays, sigmoid_decays=(11.6, 11.7, 11.5), scaled_valid=0.10,
            saturated=0.015, mean=0.5, std=0.2):
    relu = deep_arm([0.0, 0.1, -0.1], family="relu", valid=0.85)
    sigmoid = deep_arm(list(sigmoid_decays), valid=0.10, saturated=0.0, mean=0.5, std=0.05)
    scaled = deep_arm(list(scaled_decays), valid=scaled_valid, saturated=saturated, mean=mean,
                      std=std)
    return {"relu": relu, "sigmoid": sigmoid, "scaled_sigmoid": scaled}


def test_claim4_partial_cure_is_named():
    verdict, diffs = c04_rescaled.judge(c4_arms([3.9, 4.0, 3.8]))
    assert [p.outcome for p in verdict.parts] == [HOLDS, HOLDS, FAILS]
    assert verdict.verdict == MIXED
    assert any(f.startswith("partial cure") and "from 11.6 to 3.9" in f for f in verdict.findings)
    assert "partial cure" in verdict.would_change
    assert diffs["decay reduction sigmoid - rescaled"]["mean"] == pytest.approx(7.7)
    # 1.5 % saturated: saturation is reported as not what keeps the decay
    assert any("saturation is not what keeps the decay" in f for f in verdict.findings)
    assert any("0.84 of its peak" in f for f in verdict.findings)  # 4 (0.5 - 0.25 - 0.04)


def test_claim4_no_cure_reproduces():
    verdict, _ = c04_rescaled.judge(c4_arms([11.4, 11.6, 11.5], saturated=0.4))
    assert [p.outcome for p in verdict.parts] == [HOLDS, HOLDS, HOLDS]
    assert verdict.verdict == REPRODUCED
    assert any(f.startswith("no cure") for f in verdict.findings)
    assert any("consistent with the narrower" in f for f in verdict.findings)


def test_claim4_full_cure_is_not_reproduced():
    verdict, _ = c04_rescaled.judge(c4_arms([0.1, 0.2, 0.0], scaled_valid=0.85))
    assert [p.outcome for p in verdict.parts] == [FAILS, FAILS, FAILS]
    assert verdict.verdict == NOT_REPRODUCED
    assert any(f.startswith("cure of the gradient decay") for f in verdict.findings)


def test_claim4_accuracy_margin_both_sides():
    worse = c04_rescaled.judge(c4_arms([3.9, 4.0, 3.8], scaled_valid=0.83))[0]
    level = c04_rescaled.judge(c4_arms([3.9, 4.0, 3.8], scaled_valid=0.845))[0]
    assert worse.parts[1].outcome == HOLDS  # 2 points every seed
    assert level.parts[1].outcome == FAILS  # 0.5 point every seed


def test_claim4_straddling_reduction_is_inconclusive():
    verdict, _ = c04_rescaled.judge(c4_arms([1.5, 1.6, 1.7], sigmoid_decays=(2.0, 3.0, 4.0)))
    assert verdict.parts[2].outcome == INCONCLUSIVE
    assert not any(f.startswith(("partial cure", "no cure", "cure")) for f in verdict.findings)


def test_claim4_diverged_seeds_left_out():
    arms = c4_arms([3.9, 4.0, 3.8])
    arms["scaled_sigmoid"][3] = deep_result(0.0, status="diverged", seed=3)
    verdict, _ = c04_rescaled.judge(arms)
    assert "1 diverged" in verdict.parts[1].detail
    assert verdict.parts[0].outcome == HOLDS


# --- claim 9: the identities (unit tests, not evidence) -------------------------------------

def test_relu_is_not_additive_the_identity_is():
    from actkeras.experiments.regression import additivity_gaps

    assert additivity_gaps("relu")[0] == pytest.approx(1.0)  # relu(-1) + relu(1) - relu(0)
    assert max(additivity_gaps("linear")) == pytest.approx(0.0, abs=1e-7)
    assert max(additivity_gaps("tanh")) > 0.1  # odd: passes (-1, 1), fails the others


def _dense_product(model, x):
    import keras

    w = np.eye(x.shape[1])
    b = np.zeros((1, x.shape[1]))
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            kernel, bias = (np.asarray(v, dtype="float64") for v in layer.get_weights())
            w, b = w @ kernel, b @ kernel + bias
    return x @ w + b


def test_linear_course_network_is_the_product_of_its_layers():
    from actkeras.models import build_model

    x = np.random.default_rng(0).normal(size=(16, 784)).astype("float32")
    for activation, equal in (("linear", True), ("relu", False)):
        model = build_model(activation, preset="udacity", seed=0, init_stddev=0.05)
        out = np.asarray(model(x.reshape(16, 28, 28)), dtype="float64")
        error = np.max(np.abs(out - _dense_product(model, x.astype("float64"))))
        scale = np.max(np.abs(out))
        assert (error / scale < 1e-3) == equal, (activation, error / scale)


def test_linear_regressor_collapses():
    from actkeras.experiments.regression import build_regressor, collapse_error, sine_data

    x, _ = sine_data(64)
    assert collapse_error(build_regressor("linear", seed=1), x) < 1e-4
    assert collapse_error(build_regressor("relu", seed=1), x) > 1e-2


# --- claim 9: the judge -----------------------------------------------------------------------

def sine_arm(mses, line=0.1988):
    out = {}
    for seed, mse in enumerate(mses):
        out[seed] = fakes.result("diverged" if mse is None else "ok", seed, {"mse": mse},
                                 measurements={"mse": mse, "mse_line": line})
    return out


def c9_arms(relu_mse=(1e-4, 2e-4, 1.5e-4), linear_mse=(0.2172, 0.205, 0.23),
            relu_valid=(0.89, 0.90, 0.895), linear_valid=(0.79, 0.78, 0.80)):
    return {"sine": {"relu": sine_arm(relu_mse), "linear": sine_arm(linear_mse)},
            "notmnist": {"relu": fakes.arm(list(relu_valid)),
                         "linear": fakes.arm(list(linear_valid))}}


def test_claim9_reproduced():
    verdict, diffs = c09_linear.judge(c9_arms())
    assert [p.outcome for p in verdict.parts] == [HOLDS, HOLDS, HOLDS]
    assert verdict.verdict == REPRODUCED
    assert any("lands +10.5" in f for f in verdict.findings)
    assert diffs["notMNIST validation accuracy ReLU - linear"]["n"] == 3


def test_claim9_fit_margin_both_sides():
    close = c09_linear.judge(c9_arms(relu_mse=(0.03, 0.03, 0.03),
                                     linear_mse=(0.2, 0.2, 0.2)))[0]
    far = c09_linear.judge(c9_arms(relu_mse=(0.015, 0.015, 0.015),
                                   linear_mse=(0.2, 0.2, 0.2)))[0]
    assert close.parts[0].outcome == FAILS  # 6.7x: under one decade
    assert far.parts[0].outcome == HOLDS  # 13x


def test_claim9_linear_beating_the_line_fails():
    verdict, _ = c09_linear.judge(c9_arms(linear_mse=(0.1, 0.11, 0.105)))
    assert verdict.parts[1].outcome == FAILS
    assert verdict.verdict == MIXED


def test_claim9_line_part_straddling_is_inconclusive():
    verdict, _ = c09_linear.judge(c9_arms(linear_mse=(0.15, 0.25, 0.2)))
    assert verdict.parts[1].outcome == INCONCLUSIVE


def test_claim9_notmnist_margin_and_diverged():
    level = c09_linear.judge(c9_arms(linear_valid=(0.885, 0.895, 0.89)))[0]
    assert level.parts[2].outcome == FAILS  # half a point every seed
    diverged = c09_linear.judge(c9_arms(linear_valid=(None, None, 0.80)))[0]
    assert diverged.parts[2].outcome == INCONCLUSIVE  # one pair: no interval
    assert "linear: 2 diverged of 3 left out" in diverged.parts[2].detail
    assert any("2 of 3 seeds diverged" in f for f in diverged.findings)
    straddle = c09_linear.judge(c9_arms(linear_valid=(0.80, 0.895, 0.87)))[0]
    assert straddle.parts[2].outcome == INCONCLUSIVE


# --- build, analyze, draw ---------------------------------------------------------------------

@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("module", [c03_vanishing, c04_rescaled, c09_linear])
def test_build_every_preset(module, preset):
    sizes = PRESETS[preset]
    claim = module.build(sizes)
    assert claim.id == module.ID and claim.runs and claim.notes
    assert len({r.run_id for r in claim.runs}) == len(claim.runs)
    verdict = module.analyze(claim, {}).verdict
    assert verdict.verdict == INCONCLUSIVE_VERDICT


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_shared_runs_have_identical_content(preset):
    sizes = PRESETS[preset]
    ids = {m: {r.run_id for r in m.build(sizes).runs}
           for m in (c01_course, c03_vanishing, c04_rescaled, c09_linear)}
    relu_1 = {r.run_id for r in c01_course.build(sizes).runs if r.activation == "relu"}
    assert relu_1 <= ids[c09_linear]
    shared = {r.run_id for r in c03_vanishing.build(sizes).runs
              if r.activation in ("relu", "sigmoid") and r.initializer != "glorot_uniform"
              or r.activation == "sigmoid"}
    assert shared <= ids[c04_rescaled]
    assert sum(r.kind == "regression" for r in c09_linear.build(sizes).runs) == 2 * sizes.cheap_seeds


def test_claim3_and_4_figures_one_line_per_seed():
    from actkeras.experiments.claims import _common as c

    claim = c03_vanishing.build(PRESETS["tiny"])
    arms = {"sigmoid": deep_arm([2.0, 2.5, None], [1.0, 1.5, None]),
            "relu": deep_arm([0.0, 0.1, 0.2], [0.0, 0.1, 0.2])}
    series = {label: c03_vanishing.profile_series(runs) for label, runs in arms.items()}
    analysis = c.Analysis([], [], {}, c03_vanishing.judge(arms)[0], series)
    figure = c03_vanishing.draw(claim, analysis)
    left, right = figure.axes[:2]
    # sigmoid: 3 seeds (one diverged: its profile still drawn, plus an x) + mean; relu: 3 + mean
    assert len(left.lines) == (3 + 1 + 1) + (3 + 1)
    assert left.get_ylim() == right.get_ylim()
    assert left.get_ylabel() == "log10 RMS kernel gradient"

    series4 = {label: {**s, "valid": {seed: ([0, 10, 20], [0.1, 0.5, 0.8]) for seed in range(3)}}
               for label, s in series.items()}
    figure4 = c04_rescaled.draw(None, c.Analysis([], [], {}, None, series4))
    assert len(figure4.axes[2].lines) == 2 * (3 + 1) + 1 + 1  # + the x of the diverged seed, chance


def test_claim9_figure_one_line_per_seed():
    from actkeras.experiments.claims import _common as c

    curve = {"x": [-1.0, 0.0, 1.0], "y": [-0.84, 0.0, 0.84], "prediction": [-0.8, 0.0, 0.8]}
    series = {"sine": {a: {s: {"curve": curve, "status": "ok"} for s in range(4)}
                       for a in ("relu", "linear")},
              "notmnist": {a: {s: {"valid": ([0, 10, 20], [0.1, 0.6, 0.8]), "status": "ok"}
                               for s in range(3)} for a in ("relu", "linear")}}
    figure = c09_linear.draw(None, c.Analysis([], [], {}, None, series))
    left, right = figure.axes
    assert len(left.lines) == 2 * (4 + 1) + 1  # + sin(x)
    assert len(right.lines) == 2 * (3 + 1) + 2  # + chance and published lines


# --- one tiny real run per module ---------------------------------------------------------------

def test_real_tiny_deep_run_measures_decay_at_step0(tmp_path):
    from actkeras.experiments.runner import run_one

    claim = c04_rescaled.build(PRESETS["tiny"])
    spec = next(r for r in claim.runs if r.activation == "sigmoid" and r.seed == 0)
    result = run_one(spec, tmp_path)
    assert result["status"] == "ok"
    d0 = c03_vanishing.decay(result, "step 0")
    assert d0 is not None and d0 > 0.5  # 4 sigmoid layers: about 0.6 decade each
    assert c03_vanishing.decay(result, "epoch 1") is not None
    assert 0.0 <= c04_rescaled.saturated(result) <= 1.0
    assert 0.0 < c04_rescaled.relative_derivative(result) <= 1.0
    analysis = c04_rescaled.analyze(claim, {spec.run_id: result})
    assert analysis.rows[1][0] == "sigmoid" and analysis.rows[1][2] != "–"


def test_real_tiny_regression_linear_matches_the_line(tmp_path):
    from actkeras.experiments.runner import run_one

    claim = c09_linear.build(PRESETS["tiny"])
    spec = next(r for r in claim.runs if r.kind == "regression" and r.activation == "linear")
    result = run_one(spec, tmp_path)
    m = result["measurements"]
    assert result["status"] == "ok"
    assert m["mse"] >= m["mse_line"] * (1 - 1e-4)  # no linear map beats the line
    assert math.isfinite(c09_linear.log_mse(result))
