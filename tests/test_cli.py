"""The `actkeras` command in-process: train writes its files; bad input is one line,
exit 2 for a bad argument and 1 for any other failure; `--help` is fast and TF-free."""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import actkeras
from actkeras.cli import COMMANDS, build_parser, main
from actkeras.commands.common import UsageError

ROOT = Path(__file__).resolve().parent.parent


def test_train_on_the_embedded_sample_writes_history_config_and_metrics(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--preset", "udacity", "--activation", "leaky_relu:negative_slope=0.1",
                 "--source", "embedded", "--steps", "30", "--out", str(out), "--quiet"])
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["activation_kwargs"] == {"negative_slope": 0.1}
    assert config["model"]["steps"] == 30 and config["dataset"]["source"] == "embedded"
    history = json.loads((out / "history.json").read_text())
    assert history and "val_accuracy" in history[-1]
    assert (out / "history.csv").read_text().startswith("epoch,")
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert (out / "model.keras").is_file()
    assert "814,090 parameters" in capsys.readouterr().out


def test_activations_lists_the_registry(capsys):
    assert main(["activations"]) == 0
    text = capsys.readouterr().out
    for name in ("relu", "leaky_relu", "scaled_sigmoid", "softmax", "linear"):
        assert name in text
    assert "negative_slope=0.3" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--activation", "relux", "--source", "embedded"], "Valid choices: relu"),
        (["train", "--preset", "vgg", "--source", "embedded"], "Valid choices: udacity"),
        (["train", "--activation", "leaky_relu:negative_slope=-1"], ">= 0"),
        (["train", "--activation", "elu:beta=1"], "accepts: alpha"),
        (["train", "--set", "learning_rte=0.1", "--source", "embedded"], "Valid overrides"),
        (["train", "--data-dir", "/nonexistent/actkeras", "--steps", "1"], "nonexistent"),
        (["train", "--steps", "0"], "must be positive"),
        (["train", "--set", "units"], "--set takes KEY=VALUE"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(argv, message, capsys, tmp_path):
    code = main(argv + ["--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert err.startswith("actkeras train: error:")


def test_debug_shows_the_traceback():
    with pytest.raises(UsageError) as error:
        main(["--debug", "train", "--activation", "relux"])
    assert isinstance(error.value.__cause__, ValueError)  # the library's own error, chained


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def _python(code, **env):
    """Runs `code` in a fresh interpreter (the repository importable); returns stdout."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           **env}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def test_help_is_fast_and_loads_neither_tensorflow_nor_keras():
    out = _python("""
        import json, sys, time
        start = time.perf_counter()
        import actkeras, actkeras.data
        from actkeras.cli import COMMANDS, build_parser, main
        build_parser()
        codes = [main(["--help"])] + [main([name, "--help"]) for name in COMMANDS]
        seconds = time.perf_counter() - start
        loaded = [m for m in ("tensorflow", "keras", "keras_tuner") if m in sys.modules]
        print(json.dumps({"codes": codes, "loaded": loaded, "seconds": seconds}))
    """).stdout.splitlines()[-1]
    result = json.loads(out)
    assert result["codes"] == [0] * (len(COMMANDS) + 1)
    assert result["loaded"] == [], f"--help imported {result['loaded']}"
    assert result["seconds"] < 1.0, f"--help of every command took {result['seconds']:.2f} s"


def test_the_package_exposes_its_subpackages_and_names_lazily():
    assert {"callbacks", "data", "layers", "tuning", "experiments", "plots"} <= set(dir(actkeras))
    assert actkeras.callbacks.DeadReLUMonitor.__module__ == "actkeras.callbacks.dead_relu"
    assert actkeras.data.load_dataset("notmnist", source="embedded", verbose=False).name == "notmnist"
    assert actkeras.layers.ReLU is actkeras.ReLU
    for name in actkeras.__all__:
        assert getattr(actkeras, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'relux'"):
        actkeras.relux  # noqa: B018


@pytest.mark.slow
def test_import_actkeras_still_registers_the_layers_for_load_model():
    """Lazy, yet `import actkeras` then `import keras` (either order) registers the layers."""
    for first, second in (("actkeras", "keras"), ("keras", "actkeras")):
        out = _python(f"""
            import {first}, {second}
            print(keras.saving.get_registered_object("actkeras>PReLU"))
        """, TF_CPP_MIN_LOG_LEVEL="3")
        assert "actkeras.layers.prelu.PReLU" in out.stdout, (first, out.stdout)


@pytest.mark.parametrize("argv, message", [
    (["train", "--no-such-flag"], "actkeras: error: unrecognized arguments: --no-such-flag"),
    (["train", "--steps", "0"], "argument --steps: must be positive. Received: 0"),
    (["train", "--seed", "-1"], "argument --seed: must be 0 or more. Received: -1"),
    (["tune", "--widths", "8,x"], "argument --widths: expected an integer. Received: x"),
    (["bench", "--variants", "a,e"], "argument --variants: takes a subset of a,b,c,d"),
    (["bench", "--backend", "torch"], "argument --backend: takes tensorflow or jax"),
    (["bench", "--presets", "udacity,resnet"],
     "argument --presets: takes udacity, fashion_mlp, mlp, or several comma-separated. "
     "Received: resnet"),
    (["reproduce", "--claims", "1,42"], "argument --claims: Unknown claim"),
    (["reproduce", "--jobs", "0"], "argument --jobs: must be positive"),
    (["export", "--name", "x"], "the following arguments are required: --from"),
])
def test_argument_errors_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("error, code", [
    (UsageError("bad --thing"), 2),            # a bad argument found after parsing
    (ValueError("the loss is not a number"), 1),  # the library failed: not a usage error
    (OSError(28, "No space left on device"), 1),
    (actkeras.data.DataError("archive truncated"), 1),
])
def test_only_argument_errors_are_usage_errors(error, code, capsys, monkeypatch):
    from actkeras.commands import listing

    def fail(args):
        raise error

    monkeypatch.setattr(listing, "run", fail)
    assert main(["activations"]) == code
    err = capsys.readouterr().err
    assert err.startswith("actkeras activations: error: ") and str(error) in err
    with pytest.raises(type(error)):
        main(["activations", "--debug"])


def test_an_empty_data_dir_names_the_cli_fix_and_creates_nothing(tmp_path, monkeypatch, capsys):
    """No download, no `~/.keras/datasets/notmnist/`: the folder given is the only place."""
    import keras  # noqa: F401  (imported before HOME moves: Keras writes ~/.keras/keras.json)

    from actkeras.data import locate

    home, empty = tmp_path / "home", tmp_path / "empty"
    home.mkdir()
    empty.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("KERAS_HOME", "ACTKERAS_DATA_DIR", "ACTKERAS_CACHE_DIR", "ACTKERAS_NO_DOWNLOAD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(locate, "download", lambda *args: pytest.fail("a download was tried"))
    code = main(["train", "--data-dir", str(empty), "--steps", "1", "--quiet",
                 "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "--data-dir" in err and "--source embedded" in err and "Traceback" not in err
    assert "data_dir=" not in err and 'source="embedded"' not in err
    assert list(home.rglob("*")) == [] and list(empty.iterdir()) == []
    assert not (tmp_path / "run").exists()


def test_the_cli_quiets_tensorflow_for_itself_and_its_children(monkeypatch, capsys):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    assert main(["activations", "--debug"]) == 0
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ  # --debug keeps TensorFlow's logging
    assert main(["activations"]) == 0
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"  # inherited by the processes it starts


@pytest.mark.slow
def test_a_command_prints_no_tensorflow_start_up_chatter():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-m", "actkeras", "activations"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "relu" in done.stdout
    for chatter in ("absl::InitializeLog", "oneDNN", "cuInit", "cuda", "use_unbounded_threadpool"):
        assert chatter not in done.stderr, done.stderr


BOTH_BACKENDS = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in ("tensorflow", "jax")),
    reason="needs TensorFlow and JAX installed",
)


@pytest.mark.slow
@BOTH_BACKENDS
def test_bench_on_two_backends_measures_each_in_its_process_and_writes_both(tmp_path, capsys):
    tables, raw = tmp_path / "BENCH.md", tmp_path / "bench.json"
    code = main(["bench", "--backend", "tensorflow,jax", "--source", "embedded", "--steps", "3",
                 "--rounds", "1", "--variants", "b,c,d", "--presets", "udacity,mlp",
                 "--preset-train", "1280", "--cost-rounds", "0",
                 "--mlp-rounds", "0", "--write", str(tables), "--json", str(raw)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "[tensorflow] round 1/1 d:" in out and "[jax] round 1/1 d:" in out
    assert "[tensorflow] mlp round 1/1 e:" in out and "[jax] mlp round 1/1 e:" in out
    runs = json.loads(raw.read_text())["runs"]
    assert [run["environment"]["backend"] for run in runs] == ["tensorflow", "jax"]
    assert "jax" in runs[1]["environment"]["versions"]
    text = tables.read_text()
    assert "`actkeras bench --backend tensorflow,jax --write BENCH.md`" in text
    assert "| tensorflow | " in text and "| jax | " in text and "## jax" in text
    assert "| mlp | tensorflow | " in text and "| mlp | jax | " in text


@pytest.mark.slow
@BOTH_BACKENDS
def test_bench_says_which_backend_failed_and_why(tmp_path, capsys):
    other = "jax" if keras_backend() == "tensorflow" else "tensorflow"
    code = main(["bench", "--backend", other, "--source", "large", "--data-dir", str(tmp_path),
                 "--steps", "3", "--rounds", "1", "--cost-rounds", "0", "--mlp-rounds", "0"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"actkeras bench: error: the {other} measurement failed (exit 1): " in err
    assert str(tmp_path) in err  # the child's own one-line reason


def keras_backend():
    import keras

    return keras.backend.backend()


def test_reproduce_takes_its_command_line_from_argv_not_sys_argv(monkeypatch, tmp_path):
    import actkeras.experiments

    seen = {}
    monkeypatch.setattr(actkeras.experiments, "reproduce", lambda *a, **kw: seen.update(kw) or 0)
    monkeypatch.setattr(sys, "argv", ["pytest", "--not-this"])
    assert main(["reproduce", "--preset", "tiny", "--quiet", "--out", str(tmp_path)]) == 0
    assert seen["command"] == f"actkeras reproduce --preset tiny --quiet --out {tmp_path}"
    assert seen["verbose"] == 0


def test_one_spelling_per_option_with_the_old_export_root_hidden():
    parser = build_parser()
    assert parser.parse_args(["export", "--from", "run"]).export_root == "saved_models"
    args = parser.parse_args(["export", "--from", "run", "--root", "old"])
    assert args.export_root == "old"  # the old spelling still works ...
    export_help = parser._subparsers._group_actions[0].choices["export"].format_help()
    assert "--export-root" in export_help and "--root" not in export_help  # ... unadvertised
    helps = {name: parser._subparsers._group_actions[0].choices[name].format_help()
             for name in COMMANDS}
    assert not any("--verbose" in text for text in helps.values())
    assert all("--quiet" in helps[name] for name in ("train", "tune", "reproduce"))


def test_the_progress_bar_leaves_out_per_layer_monitor_keys(capsys):
    from actkeras.callbacks import DeadReLUMonitor
    from actkeras.data import synthetic_dataset

    model = actkeras.build_model("relu", preset="mlp", units=8, depth=2, epochs=1,
                                 batch_size=16, seed=0)
    history = actkeras.fit(model, synthetic_dataset(64), callbacks=[DeadReLUMonitor()], verbose=2)
    line = [row for row in capsys.readouterr().out.splitlines() if "loss" in row][-1]
    per_layer = [key for key in history.history if "/" in key]  # History keeps them all
    assert per_layer and "dead_fraction:" in line, line
    assert not any(key in line for key in per_layer), line
