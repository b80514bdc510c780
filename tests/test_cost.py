"""The activation-cost and MLP step timings: paired rounds in a seeded random order, an
identity baseline subtracted round by round, and geometric-mean ratios with t intervals
checked on hand-made numbers; plus one real measurement that could fail."""

import json
import math
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from actkeras import activation_timing, paired_timing
from actkeras.bench_report import to_markdown
from actkeras.experiments import stats
from actkeras.records import environment

TINY = dict(elements=2048, inner=2, rounds=4, warmup=1)


def test_t_critical_matches_the_printed_tables():
    # Two-sided 95 % and 99 % values, as printed in any t table (4 decimals).
    table = {1: 12.7062, 2: 4.3027, 5: 2.5706, 10: 2.2281, 29: 2.0452, 30: 2.0423,
             120: 1.9799}
    for df, value in table.items():
        assert stats.t_critical(0.95, df) == pytest.approx(value, abs=6e-5)
    assert stats.t_critical(0.99, 7) == pytest.approx(3.4995, abs=6e-5)
    assert stats.t_critical(0.90, 12) == pytest.approx(1.7823, abs=6e-5)
    # Past the exact series, the expansion joins it and tends to the normal value.
    assert stats.t_critical(0.95, 1001) == pytest.approx(stats.t_critical(0.95, 1000), abs=1e-5)
    assert stats.t_critical(0.95, 10**7) == pytest.approx(1.959964, abs=1e-6)
    with pytest.raises(ValueError, match="Received: df=0"):
        stats.t_critical(0.95, 0)
    with pytest.raises(ValueError, match="Received: level=1"):
        stats.t_critical(1, 5)


def test_geometric_ratio_ci_on_hand_made_log_ratios():
    # Mean log(1.2), sample sd 0.1, n = 3: half-width t(0.975, 2) * 0.1 / sqrt(3).
    mean, sd = math.log(1.2), 0.1
    ci = paired_timing.geometric_ratio_ci([mean - sd, mean, mean + sd])
    half = 4.302653 * sd / math.sqrt(3)
    assert ci["n"] == 3
    assert ci["ratio"] == pytest.approx(1.2, rel=1e-12)
    assert ci["low"] == pytest.approx(1.2 * math.exp(-half), rel=1e-6)
    assert ci["high"] == pytest.approx(1.2 * math.exp(half), rel=1e-6)
    # Rounds that could not be measured (None) are left out, not counted.
    assert paired_timing.geometric_ratio_ci([mean - sd, None, mean, mean + sd]) == ci
    # Identical values: no spread, the interval is the point.
    assert paired_timing.geometric_ratio_ci([0.0] * 5) == {"ratio": 1.0, "low": 1.0, "high": 1.0, "n": 5}
    # A 90 % interval is narrower than the 95 % one.
    narrow = paired_timing.geometric_ratio_ci([mean - sd, mean, mean + sd], level=0.9)
    assert ci["low"] < narrow["low"] < narrow["high"] < ci["high"]


def test_geometric_ratio_ci_says_when_it_cannot_be_computed():
    one = paired_timing.geometric_ratio_ci([math.log(2.0)])
    assert one == {"ratio": pytest.approx(2.0), "low": None, "high": None, "n": 1}
    assert paired_timing.geometric_ratio_ci([None, None]) == {
        "ratio": None, "low": None, "high": None, "n": 0}
    with pytest.raises(ValueError, match="must be finite"):
        paired_timing.geometric_ratio_ci([0.1, math.inf])


def test_paired_rounds_shuffle_each_round_from_the_seed():
    ran = []
    arms = {key: (lambda key=key: ran.append(key)) for key in "abcde"}
    orders, seconds = paired_timing.paired_rounds(arms, rounds=8, warmup=2, seed=3)
    assert len(ran) == 10 * 5 and ran[10:] == [k for order in orders for k in order]
    assert all(sorted(order) == list("abcde") for order in orders)
    assert len({tuple(order) for order in orders}) > 1  # not one fixed order
    assert all(len(values) == 8 for values in seconds.values())
    again, _ = paired_timing.paired_rounds(arms, rounds=8, warmup=2, seed=3)
    other, _ = paired_timing.paired_rounds(arms, rounds=8, warmup=2, seed=4)
    assert again == orders and other != orders


def test_paired_rounds_time_each_call_on_its_own():
    ticks = iter(range(0, 1000, 1))
    clock = lambda: next(ticks)  # noqa: E731
    # Every arm takes one tick (start, end): the clock is read twice per call.
    _, seconds = paired_timing.paired_rounds({"a": lambda: None, "b": lambda: None}, rounds=3,
                                     clock=clock)
    assert seconds == {"a": [1, 1, 1], "b": [1, 1, 1]}


def test_net_times_subtract_the_same_rounds_baseline_and_skip_honestly():
    seconds = {"relu": [3.0, 2.0, 5.0, 4.0], "elu": [5.0, 4.0, 4.0, 4.5]}
    baseline = [1.0, 2.5, 2.0, 3.0]
    net, log_ratio, skipped = paired_timing.net_log_ratios(seconds, baseline)
    assert net == {"relu": [2.0, -0.5, 3.0, 1.0], "elu": [4.0, 1.5, 2.0, 1.5]}
    # Round 2: ReLU's net time is negative, so no arm has a ratio there.
    assert log_ratio["elu"] == [math.log(2.0), None, math.log(2 / 3), math.log(1.5)]
    assert log_ratio["relu"] == [0.0, None, 0.0, 0.0]
    assert skipped == {"relu": 1, "elu": 1}


def test_activation_cost_structure_and_baseline():
    cost = activation_timing.activation_cost(["sigmoid"], seed=5, **TINY)
    assert cost["names"] == ["relu", "sigmoid"]  # the reference is added first
    assert cost["backend"] == keras.backend.backend()
    assert (cost["elements"], cost["shape"], cost["inner"], cost["rounds"]) == (
        2048, [2, 1024], 2, 4)
    assert len(cost["order"]) == 4
    assert all(sorted(order) == ["baseline", "relu", "sigmoid"] for order in cost["order"])
    assert len(cost["baseline"]) == 4 and all(t > 0 for t in cost["baseline"])
    for name in ("relu", "sigmoid"):
        assert len(cost["seconds"][name]) == 4
        assert cost["net_seconds"][name] == [
            t - b for t, b in zip(cost["seconds"][name], cost["baseline"])]
        row = cost["summary"][name]
        assert set(row) >= {"ratio", "low", "high", "n", "skipped", "net_us_per_pass"}
        assert row["n"] + row["skipped"] == 4
    relu_net = cost["net_seconds"]["relu"]
    for sigmoid_net, relu, logged in zip(cost["net_seconds"]["sigmoid"], relu_net,
                                         cost["log_ratio"]["sigmoid"]):
        if sigmoid_net > 0 and relu > 0:
            assert logged == pytest.approx(math.log(sigmoid_net / relu))
        else:
            assert logged is None
    assert set(cost["compile_seconds"]) == {"baseline", "relu", "sigmoid"}
    json.dumps(cost)  # plain JSON, as it is saved


def test_activation_cost_order_is_seeded():
    first = activation_timing.activation_cost(["relu", "tanh", "elu"], seed=1, **TINY)["order"]
    again = activation_timing.activation_cost(["relu", "tanh", "elu"], seed=1, **TINY)["order"]
    other = activation_timing.activation_cost(["relu", "tanh", "elu"], seed=2, **TINY)["order"]
    assert first == again and first != other
    assert len({tuple(order) for order in first}) > 1


def test_activation_cost_refuses_what_it_cannot_judge():
    with pytest.raises(ValueError, match="linear"):
        activation_timing.activation_cost(["relu", "linear"], **TINY)
    with pytest.raises(ValueError, match="Received: elements=1000"):
        activation_timing.activation_cost(["relu"], elements=1000)
    with pytest.raises(ValueError, match="Received: inner=0"):
        activation_timing.activation_cost(["relu"], elements=2048, inner=0)


class TwentyExp(keras.layers.Layer):
    """A deliberately slow activation: 20 chained exponentials (bounded: exp(-x))."""

    def call(self, inputs):
        for _ in range(20):
            inputs = keras.ops.exp(-inputs)
        return inputs


def test_a_slow_activation_is_measured_slower_than_relu():
    """A real measurement: 20 exponentials forward and their 20 products backward
    against ReLU's one comparison each way, so the whole interval must lie above 1.
    (At this small size ReLU's net time is near zero and about half the rounds give
    no ratio; 30 rounds leave enough: the lower bound came out 14 to 140 in 30 trials
    on two backends.)"""
    cost = activation_timing.activation_cost(["relu", TwentyExp(name="slow")], elements=2**16, inner=5,
                                 rounds=30, warmup=1)
    slow = cost["summary"]["slow"]
    assert slow["n"] >= 5 and slow["low"] is not None
    assert slow["low"] > 1.5, slow


# Claim 8 on JAX: XLA fused ReLU's forward and backward into the loop's update, whose
# memory traffic is the baseline's, so ReLU's net time, every ratio's denominator,
# vanished. Run in a JAX process (in this one where it is JAX already).
_JAX_COST = """
import json, statistics
import keras
from actkeras import activation_timing
from actkeras.registry import get_activation

x = keras.ops.zeros((16, 1024))
moved = {}
for key, layer in (("baseline", None), ("relu", get_activation("relu"))):
    analysis = activation_timing._cost_loop(layer, 3).lower(x, x).compile().cost_analysis()
    analysis = analysis[0] if isinstance(analysis, list) else analysis
    moved[key] = analysis["bytes accessed"]
cost = activation_timing.activation_cost(["relu", "sigmoid"], elements=2**18, inner=10,
                                         rounds=5, warmup=1)
print(json.dumps({"backend": keras.backend.backend(), "moved": moved,
                  "seconds": cost["seconds"], "baseline": cost["baseline"],
                  "relu_net": statistics.median(cost["net_seconds"]["relu"]),
                  "sigmoid": cost["summary"]["sigmoid"]}))
"""


def _in_jax(code):
    if keras.backend.backend() == "jax":
        import contextlib
        import io

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(code, {})
        return json.loads(out.getvalue().splitlines()[-1])
    import importlib.util
    import os
    import subprocess
    import sys
    from pathlib import Path

    if importlib.util.find_spec("jax") is None:
        pytest.skip("needs jax")
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "KERAS_BACKEND": "jax",
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_the_relu_arm_writes_its_outputs_and_has_a_positive_net_time_on_jax():
    measured = _in_jax(_JAX_COST)
    assert measured["backend"] == "jax"
    # The compiled ReLU loop writes f(x) and the gradient: more bytes than the baseline
    # (fused into the update, it moved exactly the baseline's bytes).
    assert measured["moved"]["relu"] > 1.5 * measured["moved"]["baseline"], measured["moved"]
    assert all(t > 0 for values in measured["seconds"].values() for t in values)
    assert all(t > 0 for t in measured["baseline"])
    assert measured["relu_net"] > 0  # the denominator of every ratio
    sigmoid = measured["sigmoid"]
    assert sigmoid["n"] >= 1 and math.isfinite(sigmoid["ratio"]) and sigmoid["ratio"] > 0


def _fashion(n=96):
    rng = np.random.default_rng(0)
    return SimpleNamespace(x_train=rng.random((n, 28, 28), dtype=np.float32),
                           y_train=(np.arange(n) % 10).astype("int32"))


def test_mlp_step_time_structure(monkeypatch):
    """The per-step timing, on small stand-ins for the 50-layer model (the build is
    what the real run adds: `fashion_mlp`, `he_normal`, the seed)."""
    from actkeras import models

    built = []
    real = models.build_model

    def small(name, **kwargs):
        built.append((name, kwargs))
        return real(name, preset="mlp", hidden_units=(16, 16), seed=kwargs["seed"])

    monkeypatch.setattr(models, "build_model", small)
    mlp = activation_timing.mlp_epoch_time(_fashion(), ["sigmoid"], steps=2, rounds=3, warmup=1,
                                           seed=7)
    assert built == [(n, {"preset": "fashion_mlp", "initializer": "he_normal", "seed": 7})
                     for n in ("relu", "sigmoid")]
    assert mlp["names"] == ["relu", "sigmoid"] and mlp["steps_per_epoch"] == 3  # 96 / 32
    assert len(mlp["order"]) == 3 and all(sorted(o) == ["relu", "sigmoid"] for o in mlp["order"])
    for name in ("relu", "sigmoid"):
        values, row = mlp["seconds"][name], mlp["summary"][name]
        assert len(values) == 3 and all(v > 0 for v in values)
        assert row["step_seconds"] == pytest.approx(float(np.median(values)))
        assert row["epoch_seconds"] == pytest.approx(3 * row["step_seconds"])
        assert row["n"] == 3
    assert mlp["log_ratio"]["relu"] == [0.0] * 3
    assert mlp["log_ratio"]["sigmoid"] == pytest.approx(
        [math.log(s / r) for s, r in zip(mlp["seconds"]["sigmoid"], mlp["seconds"]["relu"])])
    json.dumps(mlp)


def test_the_tables_show_ratios_with_intervals_and_the_baseline():
    cost = activation_timing.activation_cost(["relu", "sigmoid"], **TINY)
    cost["summary"]["sigmoid"].update(ratio=1.5, low=1.2, high=1.9, n=3, skipped=1)
    mlp = {"level": 0.95, "batch_size": 32, "steps": 2, "seed": 0, "rounds": 3, "warmup": 1,
           "wall_seconds": 1.0, "steps_per_epoch": 1719, "summary": {
               "relu": {"ratio": 1.0, "low": 1.0, "high": 1.0, "n": 3, "step_seconds": 0.01,
                        "epoch_seconds": 17.19},
               "tanh": {"ratio": 0.98, "low": None, "high": None, "n": 1,
                        "step_seconds": 0.0098, "epoch_seconds": 16.8}}}
    text = to_markdown([{"environment": environment(), "speed": _speed(), "activation_cost": cost,
                         "mlp_step_time": mlp, "data_info": "random"}])
    assert "Baseline (identity; the loop, the update and the dispatch):" in text
    assert "| sigmoid |" in text and "| 1.50 | 1.20 to 1.90 | 3/4 |" in text
    assert "gives no ratio: the rounds used count the others" in text
    assert "| tanh | 9.80 | 16.80 | 0.98 | n/a | 1/1 |" in text
    assert "the median step times 1,719 steps" in text


def test_ratios_to_a_relu_lost_in_the_baseline_noise_are_flagged():
    cost = activation_timing.activation_cost(["relu", "sigmoid"], **TINY)
    cost["baseline_us_per_pass"] = 80.0

    def text(skipped):
        cost["summary"]["relu"].update(net_us_per_pass=1.2, n=4 - skipped, skipped=skipped)
        return to_markdown([{"environment": environment(), "speed": _speed(),
                             "activation_cost": cost, "mlp_step_time": {},
                             "data_info": "random"}])  # fmt: skip

    assert "Read the net times, not the ratios" not in text(0)
    assert ("ReLU's net time, the denominator of every ratio, is 1 µs per pass (median) "
            "beside a 80 µs baseline, and was <= 0 in 3 of 4 rounds.") in text(3)


def _speed():
    return {"steps": 10, "rounds": 1, "labels": {"c": "c"}, "samples_per_second": {"c": 1.0},
            "test_accuracy": {"c": 0.5}, "matmul_flops": 1e9, "ratios": {}, "ratio_ranges": {}}


def test_claim_8_still_finds_its_timings_in_bench():
    """The reproduction's claim 8 calls `bench.activation_cost` and `bench.mlp_epoch_time`."""
    from actkeras import bench

    assert bench.activation_cost is activation_timing.activation_cost
    assert bench.mlp_epoch_time is activation_timing.mlp_epoch_time
