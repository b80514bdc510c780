"""The benchmark measures what it says, in one process, and writes its tables."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from actkeras import bench
from actkeras.bench_report import to_markdown
from actkeras.records import environment


def _data(n=600):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 28, 28)).astype("float32") * 0.3
    y = (np.arange(n) % 10).astype("int32")
    return SimpleNamespace(x_train=x, y_train=y, x_valid=x[:64], y_valid=y[:64],
                           x_test=x[:128], y_test=y[:128], info={})


@pytest.mark.slow
def test_speed_variants_ratios_and_markdown():
    pytest.importorskip("tensorflow", reason="variant a, the TF1 loop, needs TensorFlow")
    speed = bench.run_speed(_data(), steps=12, rounds=1, variants=("a", "b", "c"),
                            progress=lambda line: None)
    assert set(speed["samples_per_second"]) == {"a", "b", "c"}
    assert all(rate > 0 for rate in speed["samples_per_second"].values())
    ratios = speed["ratios"]
    # One round: the median of the per-round ratios is that round's ratio of speeds.
    rate = speed["samples_per_second"]
    assert ratios["c/a"] == pytest.approx(rate["c"] / rate["a"], rel=1e-12)
    low, high = speed["ratio_ranges"]["c/a"]
    assert low == high == pytest.approx(ratios["c/a"])
    assert speed["matmul_flops"] > 0 and 0 < ratios["c_flops/e"]
    cost = bench.activation_cost(["relu", "sigmoid"], elements=2048, inner=2, rounds=2)
    text = to_markdown([_run(speed, cost)])
    assert "| c/a |" in text and "| sigmoid |" in text
    assert f"backend: {keras.backend.backend()}" in text
    assert "net µs per pass" in text and "Baseline (identity" in text


def test_the_tf1_baseline_runs_on_the_tensorflow_backend_only(monkeypatch):
    lines, ran = [], []

    def fake(name):
        return lambda *args, **kwargs: ran.append(name) or (1.0, lambda x: np.zeros((len(x), 10)))

    monkeypatch.setattr(bench, "tf1_loop", fake("a"))
    monkeypatch.setattr(bench, "plain_keras", fake("b"))
    monkeypatch.setattr(bench, "start_weights", lambda: None)
    monkeypatch.setattr(bench, "matmul_rate", lambda: 1e9)
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    speed = bench.run_speed(_data(), steps=10, rounds=1, variants=("a", "b"), progress=lines.append)
    assert ran == ["b"] and list(speed["labels"]) == ["b"]
    assert lines[0] == ("variant a skipped: the TF1 loop is the tensorflow backend's baseline, "
                        "not jax's")


def test_step_flops_count_the_five_products():
    forward = 2 * 128 * (784 * 1024 + 1024 * 10)
    backward = 2 * 128 * (784 * 1024 + 2 * 1024 * 10)  # dW1, dW2 and dh; no dX
    assert bench.STEP_FLOPS == forward + backward


@pytest.mark.slow
def test_tf1_loop_and_package_fit_do_the_same_training(monkeypatch):
    """From the same start weights and the course's batches, the seed's TF1 loop and
    `build_model` + `fit` agree to float rounding after a step of each kind (later the
    rounding grows: SGD 0.5 on this network is chaotic), and the seed's own random
    start does not: the benchmark compares like with like."""
    pytest.importorskip("tensorflow", reason="the TF1 loop needs TensorFlow")
    monkeypatch.setattr(bench, "WARMUP", 1)
    data = _data()
    _, seed_code = bench.tf1_loop(data.x_train, data.y_train, 1, weights=bench.start_weights())
    _, package = bench.package_fit(data, 1)
    _, own_start = bench.tf1_loop(data.x_train, data.y_train, 1)
    a, c, other = (f(data.x_test) for f in (seed_code, package, own_start))
    scale = np.abs(a).max()
    assert np.abs(a - c).max() <= 1e-5 * scale
    assert np.abs(a - other).max() > 1e-2 * scale


def test_ratios_are_medians_of_per_round_ratios(monkeypatch):
    """A machine that slows down mid-round moves both sides of that round's ratio:
    the ratio reported is the median of the rounds' ratios, not a ratio of medians."""
    data = _data()
    times = {"b": iter([1.0, 2.0, 4.0]), "c": iter([2.0, 1.0, 2.0])}

    def fake(name):
        return lambda *args, **kwargs: (next(times[name]), lambda x: np.zeros((len(x), 10)))

    monkeypatch.setattr(bench, "plain_keras", fake("b"))
    monkeypatch.setattr(bench, "package_fit", fake("c"))
    monkeypatch.setattr(bench, "matmul_rate", lambda: 1e9)
    speed = bench.run_speed(data, steps=10, rounds=3, variants=("b", "c"), progress=lambda _: None)
    assert speed["ratios"]["c/b"] == 2.0  # rounds: 0.5, 2, 2; the medians alone give 1
    assert speed["ratio_ranges"]["c/b"] == (0.5, 2.0)
    # `--json` keeps every round, not only the medians (it said so, and kept none).
    assert speed["seconds"] == {"b": [1.0, 2.0, 4.0], "c": [2.0, 1.0, 2.0]}
    assert speed["test_accuracies"]["b"] == [speed["test_accuracy"]["b"]] * 3


def test_plain_keras_warms_up_as_long_as_actkeras_fit_whatever_the_steps(monkeypatch):
    """Below 100 steps b warmed up for `steps` steps and c for 100: their accuracies were
    not comparable."""
    seen = []
    fit = keras.Model.fit

    def counted(self, x, y, **kwargs):
        seen.append(len(x))
        return fit(self, x, y, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", counted)
    monkeypatch.setattr(bench, "WARMUP", 4)
    data = _data()
    bench.plain_keras(data.x_train, data.y_train, 2)
    assert seen == [4 * bench.BATCH, 2 * bench.BATCH]  # warm-up, then the timed steps


def test_the_monitors_first_use_is_paid_in_an_untimed_warm_up_and_reported(monkeypatch):
    """The warm-up before d runs the monitors too (they measure once in it), and its
    seconds are kept for the table, where the first round's stand apart."""
    monkeypatch.setattr(bench, "WARMUP", 3)
    measured = []
    original = bench._all_monitors

    def counted():
        monitors = original()
        measured.append(monitors)
        return monitors

    monkeypatch.setattr(bench, "_all_monitors", counted)
    warm_up = []
    bench.package_fit(_data(), 4, monitors=True, warm_up=warm_up)
    assert len(warm_up) == 1 and warm_up[0] > 0
    warm, timed = measured
    assert all(len(m.records) == 1 for m in warm) and all(m.records for m in timed)
    text = to_markdown([_run(_fake_speed())])
    assert "c 1.00 s, d 3.00 s in the first round, median c 0.60 s, d 0.70 s" in text


def test_the_tables_name_the_file_they_were_written_to():
    text = to_markdown([_run(_fake_speed())], target="BENCHMARKS_gpu.md")
    assert "Written by `actkeras bench --write BENCHMARKS_gpu.md`;" in text


def test_printed_tables_do_not_claim_a_write_that_was_not_asked_for(tmp_path, monkeypatch,
                                                                    capsys):
    from actkeras.cli import main
    from actkeras.commands import bench as command

    monkeypatch.setattr(command, "_measure", lambda args: _run(_fake_speed()))
    assert main(["bench", "--steps", "1"]) == 0
    out = capsys.readouterr().out
    assert "--write" not in out.split("`")[1] and "Measured by `actkeras bench`" in out, out
    assert main(["bench", "--steps", "1", "--write", str(tmp_path / "B.md")]) == 0
    assert (f"Written by `actkeras bench --steps 1 --write {tmp_path / 'B.md'}`;"
            in (tmp_path / "B.md").read_text())


def test_the_header_names_the_command_that_made_the_file(tmp_path, monkeypatch):
    """The header said `actkeras bench --write t.md` whatever options and folder made it:
    running that did another, 15-minute, run."""
    from actkeras.cli import main
    from actkeras.commands import bench as command

    monkeypatch.setattr(command, "_measure", lambda args: _run(_fake_speed()))
    out = tmp_path / "sub" / "t.md"
    assert main(["bench", "--presets", "udacity", "--steps", "100", "--write", str(out),
                 "--json", str(tmp_path / "t.json"), "--overwrite"]) == 0
    assert (f"Written by `actkeras bench --presets udacity --steps 100 --write {out}`; "
            "regenerate it") in out.read_text()


def test_bench_writes_through_links_and_refuses_what_it_would_find_late(tmp_path, monkeypatch,
                                                                         capsys):
    """A path below a file, or a read-only file bench wrote, failed only after all the
    timing (with --json, every measurement lost); a link became a plain file."""
    from actkeras.cli import main
    from actkeras.commands import bench as command

    measured = []
    monkeypatch.setattr(command, "_measure",
                        lambda args: measured.append(1) or _run(_fake_speed()))
    target = tmp_path / "B.md"
    assert main(["bench", "--write", str(target)]) == 0
    link = tmp_path / "link.md"
    link.symlink_to(target)
    target.write_text(target.read_text().replace("| c |", "| stale |"))
    assert main(["bench", "--write", str(link)]) == 0
    assert link.is_symlink() and "stale" not in target.read_text()
    notes = tmp_path / "notes.md"
    notes.write_text("mine")
    target.chmod(0o444)
    measured.clear()
    for argv, message in (
            (["--json", str(notes / "out.json")], f"{notes} is a file, not a folder"),
            (["--write", str(target)], "(the file is read-only): make it writable")):
        assert main(["bench", *argv]) == 1
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert measured == []  # refused before any timing
    target.chmod(0o644)


@pytest.mark.parametrize("argv, message", [
    (["--backend", "jax,jax"], "--backend names a backend twice"),
    (["--backend", "jax", "--variants", "a"], "--variants a is the TF1 loop"),
])
def test_arguments_that_measure_nothing_or_twice_are_usage_errors(argv, message, capsys):
    from actkeras.cli import main

    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_two_backends_side_by_side_then_each_in_full():
    tf = _run(_fake_speed(c=2.0, d=1.9, b=1.0), backend="tensorflow")
    jax = _run(_fake_speed(c=1.2, d=1.2, b=1.0), backend="jax")
    text = to_markdown([tf, jax])
    assert "Written by `actkeras bench --backend tensorflow,jax --write BENCHMARKS.md`;" in text
    rows = [line for line in text.splitlines() if line.startswith(("| tensorflow |", "| jax |"))]
    assert rows == [
        "| tensorflow | 1 | 2 | 2 | 2.000 (1.800 to 2.200) | 0.950 (0.855 to 1.000) | "
        "0.5000, 0.5000, 0.5000 | +2.00 s, then +0.10 s |",
        "| jax | 1 | 1 | 1 | 1.200 (1.080 to 1.320) | 1.000 (0.900 to 1.000) | "
        "0.5000, 0.5000, 0.5000 | +2.00 s, then +0.10 s |",
    ]
    # Each backend's own tables follow under its name, with its own date and versions.
    assert text.index("## tensorflow") < text.index("## jax")
    assert text.count("### Training speed, `udacity` network") == 2
    assert text.count("- backend: jax;") == 1 and text.count("- backend: tensorflow;") == 1


def test_the_report_needs_a_run():
    with pytest.raises(ValueError, match=r"Received: runs=\[\]"):
        to_markdown([])


def _run(speed, cost=None, backend=None, presets=None):
    env = environment()
    if backend is not None:
        env = {**env, "backend": backend}
    return {"environment": env, "speed": speed, "presets": presets or {},
            "activation_cost": cost or {}, "mlp_step_time": {},
            "data_info": {"notmnist": "600 random images"}}


def _fake_speed(**rates):
    rates = rates or {"c": 1.0, "d": 1.0}
    ratios, ranges = {}, {}
    for top, bottom in (("d", "c"), ("c", "b")):
        if top in rates and bottom in rates:
            ratio = ratios[f"{top}/{bottom}"] = rates[top] / rates[bottom]
            high = min(ratio * 1.1, 1.0) if top == "d" else ratio * 1.1
            ranges[f"{top}/{bottom}"] = [ratio * 0.9, high]
    return {"steps": 10, "rounds": 3, "labels": {v: v for v in rates},
            "samples_per_second": rates, "test_accuracy": {v: 0.5 for v in rates},
            "matmul_flops": 1e9, "ratios": ratios, "ratio_ranges": ranges,
            "warm_up_seconds": {"c": [1.0, 0.5, 0.7], "d": [3.0, 0.6, 0.8]}}


def _fashion(n=1280):
    rng = np.random.default_rng(1)
    x = rng.random((n, 28, 28), dtype=np.float32)
    y = (np.arange(n) % 10).astype("int32")
    return SimpleNamespace(x_train=x, y_train=y, x_valid=x[:100], y_valid=y[:100],
                           x_test=x[:0], y_test=y[:0])


def test_a_deep_preset_is_timed_as_plain_keras_actkeras_fit_and_the_compiled_step():
    from actkeras.bench_presets import preset_speed

    lines = []
    result = preset_speed(_fashion(), "mlp", rounds=2, n_train=1280, progress=lines.append)
    assert result["steps"] == {"b": 20, "c": 20, "e": 20}  # 1,280 images in batches of 64
    assert len(lines) == 6 and lines[0].startswith("mlp round 1/2 b: ")
    assert all(len(result["seconds"][v]) == 2 for v in "bce")
    per_step = {v: [s / 20 for s in result["seconds"][v]] for v in "bce"}
    ratios = [e / c for c, e in zip(per_step["c"], per_step["e"])]
    assert result["ratios"]["c/e"] == pytest.approx(sum(ratios) / 2)  # median of two
    assert result["ratio_ranges"]["c/e"] == (min(ratios), max(ratios))
    assert set(result["valid_accuracy"]) == {"b", "c"}
    text = to_markdown([_run(_fake_speed(), presets={"mlp": result})])
    assert "## Training speed, `mlp` network (one epoch of 1,280 images" in text
    row = next(line for line in text.splitlines() if line.startswith("| mlp | "))
    assert f"{result['ratios']['c/e']:.3f} (" in row and f"{result['ratios']['c/b']:.3f} (" in row


def test_the_compiled_step_is_the_step_keras_trains():
    """e runs Keras's SGD step (forward, loss, gradient, update) as a function of the
    weights: from the same start, on the same batches, the same weights to rounding."""
    import actkeras
    from actkeras.bench_presets import INNER, CompiledSteps

    data = _fashion()
    model = actkeras.build_model("relu", preset="mlp", seed=3, units=16, depth=2)
    reference = actkeras.build_model("relu", preset="mlp", seed=3, units=16, depth=2)
    start = [w.copy() for w in model.get_weights()]
    steps = CompiledSteps(model, data.x_train, data.y_train, INNER)
    steps.run()
    for step in range(INNER):
        batch = slice(step * 64, (step + 1) * 64)
        reference.train_on_batch(data.x_train[batch], data.y_train[batch])
    compiled = [keras.ops.convert_to_numpy(w) for w in steps.weights]
    for mine, keras_own, first in zip(compiled, reference.get_weights(), start):
        assert not np.allclose(keras_own, first)  # the steps moved the weights
        np.testing.assert_allclose(mine, keras_own, rtol=1e-4, atol=1e-6)


def test_unknown_presets_are_refused_naming_the_presets():
    from actkeras.bench_presets import preset_speed

    with pytest.raises(ValueError, match=r"fashion_mlp, mlp. Received: preset='udacity'"):
        preset_speed(_fashion(), "udacity")
    with pytest.raises(ValueError, match=r"udacity, fashion_mlp, mlp. Received: presets=\['x'\]"):
        bench.run_all(None, presets=["x"])
    from actkeras.commands.bench import PRESETS

    assert PRESETS == bench.PRESETS  # the CLI names them without importing Keras


@pytest.mark.slow
def test_the_fifty_layer_preset_is_timed_on_both_paths():
    from actkeras.bench_presets import preset_speed

    result = preset_speed(_fashion(n=640), "fashion_mlp", rounds=1, progress=lambda _: None)
    assert result["steps"] == {"b": 20, "c": 20, "e": 20}
    assert all(result["ms_per_step"][v] > 0 for v in "bce")


def test_a_ctrl_c_stops_the_backend_child_too(monkeypatch):
    """A SIGINT to the parent alone left its child measuring (and writing into a temporary
    folder nobody removed)."""
    import subprocess

    from actkeras.commands import common

    class Child:
        terminated = False

        @property
        def stdout(self):
            yield "[tensorflow] round 1/5 ...\n"
            raise KeyboardInterrupt

        def terminate(self):
            Child.terminated = True

        def wait(self):
            return -15

    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: Child())
    with pytest.raises(KeyboardInterrupt):
        common.in_backend_process(["bench"], "tensorflow")
    assert Child.terminated
