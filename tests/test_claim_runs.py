"""One real, tiny run of each kind the claims use (a course run, a deep run, a step-0
probe, a learning-rate search, the logistic regression, a regression fit, a dying-units
run with a pulse, a population of random networks, a saturation run with histograms),
read by the claims' own measurements; and claim 9's identities, which are mathematics and
so unit tests rather than parts."""

import math
import warnings

import keras
import numpy as np
import pytest

from actkeras.experiments.claims import PRESETS, claims
from actkeras.experiments.claims import c01_course as c1
from actkeras.experiments.claims import c06_dying as c6
from actkeras.experiments.claims import c07_sparsity as c7
from actkeras.experiments.claims import c09_linear as c9
from actkeras.experiments.claims import c10_speed as c10
from actkeras.experiments.claims import c11_born_dead as c11
from actkeras.experiments.claims import c12_saturation as c12
from actkeras.experiments.claims import c13_xavier_relu as c13
from actkeras.experiments.claims import deep
from actkeras.experiments.runner import run_one

TINY = PRESETS["tiny"]


def spec_of(claim_id, **fields):
    claim = claims("tiny", ids=[claim_id])[0]
    for spec in (*claim.runs, *claim.tuning):
        if all(getattr(spec, k) == v for k, v in fields.items()):
            return spec
    raise AssertionError(f"no run {fields} in claim {claim_id}")


def test_real_course_run_scores_every_budget_and_the_training_window(tmp_path):
    spec = spec_of(1, label="sigmoid", seed=0)
    run = run_one(spec, tmp_path)
    assert run["status"] == "ok"
    steps = [r["step"] for r in run["budgets"]]
    assert steps[:4] == [0, 1, 2, 3]  # one step per execution: the first steps are hit
    assert steps[-1] == TINY.udacity_steps
    window = c1.window(run)
    assert window == round(1.92 * run["data"]["n_train"] / 128)
    # the whole training split at the window's end only; the minibatches at every budget
    # up to it, over every step from the first
    assert [r["step"] for r in run["budgets"] if "train_accuracy" in r] == [window]
    assert [r["minibatch_images"] for r in run["budgets"] if "minibatch_accuracy" in r] == [
        128 * s for s in steps if 0 < s <= window]
    assert 0 < c1.train_budget_mean(run) < 1 and 0 < c1.train_at_budget(run) < 1
    assert c7.zeros_at("start")(run) == 0.0 and c7.METRICS["near_zero"].fn(run) is not None
    assert c10.steps_to(run, 0.0) == 1
    assert run["provenance"]["actkeras"] and run["provenance"]["data"]


@pytest.mark.parametrize("claim_id, label", [(1, "softmax"), (9, "linear")])
def test_real_course_run_with_nothing_to_watch_is_quiet_about_its_monitors(tmp_path, claim_id,
                                                                           label):
    # A softmax network has no unit DeadReLUMonitor watches, a linear one no activation
    # for ActivationStats either: the run records that (empty records), and the
    # reproduction's output does not repeat it for every such run.
    spec = spec_of(claim_id, label=label, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = run_one(spec, tmp_path)
    assert run["status"] == "ok" and "dead" in run["monitors"]
    assert [str(w.message) for w in caught if "will log nothing" in str(w.message)] == []


def test_real_probe_measures_every_depth_and_seed_without_training(tmp_path):
    spec = spec_of(3, kind="probe", label="sigmoid (step 0)")
    run = run_one(spec, tmp_path)
    assert run["status"] == "ok"
    assert set(run["probe"]) == {str(d) for d in TINY.probe_depths}
    profile = run["probe"]["4"]["0"]
    assert len(profile["layers"]) == 4 and profile["decay_error"] > 0.5  # about 0.6 a layer
    assert set(profile["layers"][0]["saturated"]) == {"0.01", "0.05", "0.1", "0.25"}
    claim = claims("tiny", ids=[3])[0]
    seeds = deep.probe_seeds(claim, {spec.run_id: run}, "sigmoid", 4)
    assert set(seeds) == {0, 1} and deep.DECAY_KERNEL.fn(seeds[0]) == profile["decay_kernel"]


def test_real_search_picks_the_best_rate_and_resumes(tmp_path):
    spec = spec_of(1, kind="tune", activation="relu")
    run = run_one(spec, tmp_path)
    assert run["status"] == "ok", run.get("traceback")
    search = run["search"]
    grid = [t["learning_rate"] for t in search["trials"] if not t["added"]]
    assert grid == list(spec.grid) and search["extension"]["stopped"]
    # Rates the grid-extension rule added lie beyond the grid, on the best's side.
    for t in search["trials"]:
        assert not t["added"] or (t["learning_rate"] > max(spec.grid)) == (t["added"] == "top")
    scored = [t for t in search["trials"] if t["score"] is not None]
    assert search["best"] == max(scored, key=lambda t: t["score"])["learning_rate"]
    again = run_one(spec, tmp_path)  # the trials are on disk: the search is not redone
    assert again["search"] == {**search, "earlier_seconds": run["timing"]["seconds"]}
    assert again["timing"]["seconds"] < run["timing"]["seconds"]


def test_real_logistic_regression_chooses_its_penalty_on_validation(tmp_path):
    spec = spec_of(9, kind="baseline")
    run = run_one(spec, tmp_path)
    fit = run["baseline"]
    assert run["status"] == "ok"
    assert fit["valid_accuracy"] == max(fit["valid_by_c"].values())
    assert fit["best_c"] in fit["c_grid"] and 0.5 < fit["test_accuracy"] <= 1


def test_real_regression_linear_network_never_beats_the_line(tmp_path):
    spec = spec_of(9, kind="regression", activation="linear", seed=0)
    run = run_one(spec, tmp_path)
    m = run["measurements"]
    assert m["mse"] >= m["mse_line"] * (1 - 1e-4)
    assert math.isfinite(c9.log_mse(run))


def test_real_dying_run_records_the_pulse_and_the_biases(tmp_path):
    spec = spec_of(6, label="relu pulse", seed=0)
    assert spec.overrides["lr_pulse"] == (0.03, 200, 600)
    run = run_one(spec, tmp_path)
    assert run["status"] == "ok"
    steps = [r["step"] for r in c6.records(run)]
    assert spec.monitor_every == 100 and steps[0] == 0  # tiny: one short epoch, no pulse yet
    assert set(run["measures"]["unit_biases"]["layers"]) == {"dense_0", "dense_1", "dense_2"}
    assert c6.transitions(run)["died"] is not None


def test_real_population_run_finds_born_dead_networks_as_numpy_does(tmp_path):
    from actkeras.experiments.population import first_dead_layers, population_model

    spec = spec_of(11, label="he")
    run = run_one(spec, tmp_path)
    assert run["status"] == "ok", run.get("traceback")
    cells = run["population"]
    assert set(cells) == {c11.key(w, d) for w in TINY.born_dead_widths
                          for d in TINY.born_dead_depths}
    for cell in cells.values():
        assert set(cell["first_dead"]) == {"0", "1"}
        assert all(sum(c) == TINY.born_dead_networks for c in cell["first_dead"].values())
    # Shallower cells are the deeper networks cut: never more dead.
    shares = c11.shares_by_seed(run)
    assert all(shares[s]["2x2"] <= shares[s]["2x10"] for s in shares)
    # The monitor's verdict, network by network, against a NumPy forward pass.
    keras.backend.clear_session()
    model = population_model("rai", (0,), 40, 3, 6, 1)
    probe = np.linspace(-1.7, 1.7, 41, dtype="float32")[:, None]
    got = first_dead_layers(model, probe, 3, 6)
    h, expected = np.repeat(probe[:, None, :], 40, axis=1), np.zeros(40, dtype=int)
    for index in range(1, 7):
        kernel, bias = (np.asarray(v) for v in model.get_layer(f"dense_{index}").get_weights())
        h = np.maximum(np.einsum("pni,nio->pno", h, kernel) + bias, 0.0)
        dead = (h <= 0).all(axis=(0, 2))
        expected[(expected == 0) & dead] = index
    assert got.tolist() == expected.tolist() and 0 < (got > 0).sum() < 40


def test_real_saturation_run_records_each_layer_and_its_98th_percentile(tmp_path):
    spec = spec_of(12, label="sigmoid 4", seed=0)
    assert spec.probe_size == 300 and spec.overrides["batch_size"] == 10
    run = run_one(spec, tmp_path)
    assert run["status"] == "ok", run.get("traceback")
    profile = c12.profile(run)
    assert len(profile["layers"]) == 4 and profile["steps"][0] == 0
    assert profile["steps"][-1] == TINY.glorot_steps
    for layer in profile["layers"]:
        assert all(0 < m < p98 < 1 for m, p98 in zip(layer["mean"], layer["p98"]))
    assert c12.top_min(run) == min(profile["layers"][-1]["mean"])
    assert c12.top_end(run) == profile["layers"][-1]["mean"][-1]


def test_real_step0_profile_shows_xavier_shrinking_relu_by_sqrt2(tmp_path):
    runs = {init: run_one(spec_of(13, label=f"{init} (step 0)"), tmp_path) for init in c13.INITS}
    he, xavier = (runs[i]["probe"]["30"]["0"] for i in ("he", "xavier"))
    assert len(he["layers"]) == 30 and all(layer["response_rms"] > 0 for layer in he["layers"])
    measured = c13.paired(he, xavier)
    assert measured["exponent"] == pytest.approx(1.0, abs=0.25)  # about sqrt(2) a layer
    assert measured["gap"] < -3  # every layer's gradient far below He's


# --- claim 9: the identities (unit tests, not evidence) -------------------------------------

def test_relu_is_not_additive_the_identity_is():
    from actkeras.experiments.regression import additivity_gaps

    assert additivity_gaps("relu")[0] == pytest.approx(1.0)  # relu(-1) + relu(1) - relu(0)
    assert max(additivity_gaps("linear")) == pytest.approx(0.0, abs=1e-7)
    assert max(additivity_gaps("tanh")) > 0.1  # odd: passes (-1, 1), fails the others


def _dense_product(model, x):
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
        assert (error / np.max(np.abs(out)) < 1e-3) == equal, activation


def test_no_linear_map_beats_the_least_squares_line():
    from actkeras.experiments.regression import build_regressor, collapse_error, line_mse, sine_data

    x, y = sine_data(64)
    assert collapse_error(build_regressor("linear", seed=1), x) < 1e-4
    assert collapse_error(build_regressor("relu", seed=1), x) > 1e-2
    rng = np.random.default_rng(0)
    best = line_mse(x, y)
    for _ in range(50):  # any other line does worse
        a, b = rng.normal(size=2)
        assert np.mean((a * x + b - y) ** 2) >= best
