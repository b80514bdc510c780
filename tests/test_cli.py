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


TINY_TRAIN = ["train", "--preset", "mlp", "--source", "embedded", "--set", "units=8",
              "--set", "depth=1", "--batch-size", "64"]


def test_train_without_rectifiers_says_nothing_of_the_dead_unit_monitor(tmp_path, recwarn):
    # A sigmoid net has no unit DeadReLUMonitor watches: its column is left out, quietly.
    out = tmp_path / "run"
    assert main([*TINY_TRAIN, "--activation", "sigmoid", "--epochs", "1", "--quiet",
                 "--out", str(out)]) == 0
    assert not [w for w in recwarn if "DeadReLUMonitor" in str(w.message)]
    assert (out / "metrics.json").is_file()


def test_train_shows_the_monitors_by_default(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*TINY_TRAIN, "--epochs", "1", "--out", str(out)]) == 0
    progress = capsys.readouterr().out
    assert "dead_fraction:" in progress and "gradient_ratio:" in progress, progress
    history = json.loads((out / "history.json").read_text())
    assert {"dead_fraction", "gradient_ratio", "dead_fraction/activation_0"} <= set(history[-1])
    assert main([*TINY_TRAIN, "--epochs", "1", "--out", str(tmp_path / "bare"), "--no-monitors",
                 "--quiet"]) == 0
    assert "dead_fraction" not in json.loads((tmp_path / "bare" / "history.json").read_text())[-1]


def test_train_into_a_run_folder_refuses_unless_overwrite(tmp_path, capsys):
    out = tmp_path / "run"
    argv = [*TINY_TRAIN, "--epochs", "1", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    assert main([*argv, "--activation", "elu"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (f"actkeras train: error: {out} already holds a training run "
                           "(config.json, history.json, history.csv, metrics.json, model.keras): "
                           "add --overwrite to replace it, or choose another folder with --out. "
                           f"Received: --out {out}")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing touched
    # --overwrite with a run that diverges: the earlier run stays whole (it lost its model
    # and history when the new run started), the new history is put beside it.
    assert main([*argv, "--overwrite", "--learning-rate", "1e30", "--set", "units=128"]) == 1
    err = capsys.readouterr().err
    assert "Lower the learning rate" in err
    assert len(err.strip().splitlines()) == 1, err  # the monitors' NaN warnings silenced
    assert (f"The history up to there is in {out / 'diverged-run'}; the earlier run in {out} "
            "is kept.") in err
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    diverged = out / "diverged-run"
    assert sorted(p.name for p in out.iterdir()) == sorted([*before, "diverged-run"])
    assert sorted(p.name for p in diverged.iterdir()) == ["config.json", "history.csv",
                                                          "history.json", "metrics.json"]
    assert json.loads((diverged / "config.json").read_text())["model"]["learning_rate"] == 1e30
    # A folder of that name holding a user's file is theirs: a second diverged history goes
    # beside it, and only the histories go when a run that trains replaces the earlier one.
    (diverged / "my-notes.md").write_text("mine")
    assert main([*argv, "--overwrite", "--learning-rate", "1e30", "--set", "units=128",
                 "--no-monitors"]) == 1
    assert f"The history up to there is in {out / 'diverged-run-2'};" in capsys.readouterr().err
    assert (out / "diverged-run-2" / "history.json").is_file()
    (out / "notes.txt").write_text("mine")
    assert main([*argv, "--overwrite", "--activation", "elu"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted([*before, "notes.txt",
                                                            "diverged-run"])
    assert sorted(p.name for p in diverged.iterdir()) == ["config.json", "history.csv",
                                                          "history.json", "metrics.json",
                                                          "my-notes.md"]
    assert json.loads((out / "config.json").read_text())["model"]["activation"] == "elu"
    assert (out / "model.keras").read_bytes() != before["model.keras"]
    assert (out / "notes.txt").read_text() == "mine"
    # A folder holding other things, but no run, is used as it is.
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    assert main([*TINY_TRAIN, "--epochs", "1", "--quiet", "--out", str(tmp_path / "mine")]) == 0
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine"


def test_ctrl_c_in_train_keeps_the_finished_epochs_and_their_model(tmp_path, capsys,
                                                                   monkeypatch):
    import keras
    import numpy as np

    from actkeras.commands import train

    class CtrlC(keras.callbacks.Callback):
        """Remembers the weights at the end of epoch 2, then "Ctrl-C" part-way into epoch 3."""

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.kept = [np.array(w) for w in self.model.get_weights()]

        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == 2 * 4 + 2:  # 4 batches an epoch
                raise KeyboardInterrupt

    ctrl_c = CtrlC()
    monkeypatch.setattr(train, "_monitors", lambda args: [ctrl_c])
    out = tmp_path / "run"
    code = main([*TINY_TRAIN, "--batch-size", "1024", "--set", "steps_per_execution=1",
                 "--epochs", "5", "--quiet", "--out", str(out)])  # 3,200 images: 4 batches
    err = capsys.readouterr().err
    assert code == 130, err
    assert err.strip() == (f"actkeras train: interrupted; kept the 2 finished epochs: their "
                           "history (history.json, history.csv) and the model at the end of "
                           f"epoch 2 (step 8, model.keras) are in {out}")
    assert [row["epoch"] for row in json.loads((out / "history.json").read_text())] == [1, 2]
    assert (out / "history.csv").read_text().count("\n") == 3
    saved = keras.saving.load_model(out / "model.keras")
    for kept, weights in zip(ctrl_c.kept, saved.get_weights()):
        np.testing.assert_array_equal(kept, weights)  # epoch 2's end, not part-way into 3
    assert json.loads((out / "metrics.json").read_text())["interrupted_after_epoch"] == 2


def test_overwrite_keeps_the_earlier_run_until_the_new_one_has_a_model(tmp_path, capsys,
                                                                     monkeypatch):
    """`--overwrite` deleted the earlier run's files when the new run started: a Ctrl-C in
    its first epoch, or a crash, left neither run."""
    import keras

    from actkeras.commands import train

    out = tmp_path / "run"
    argv = [*TINY_TRAIN, "--batch-size", "1024", "--set", "steps_per_execution=1", "--quiet",
            "--out", str(out)]  # 3,200 images: 4 batches an epoch
    assert main([*argv, "--epochs", "1"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    class Stop(keras.callbacks.Callback):
        def __init__(self, at, error):
            super().__init__()
            self.at, self.error = at, error

        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == self.at:
                raise self.error

    for at, error in ((2, KeyboardInterrupt), (2, RuntimeError("a crash")),
                      (6, RuntimeError("a crash"))):
        monkeypatch.setattr(train, "_monitors", lambda args: [Stop(at, error)])
        if error is KeyboardInterrupt:
            assert main([*argv, "--epochs", "3", "--overwrite"]) == 130
            assert (f"interrupted before the first epoch ended; nothing trained to keep (the "
                    f"earlier run in {out} is kept)") in capsys.readouterr().err
        else:
            with pytest.raises(RuntimeError, match="a crash"):
                main([*argv, "--epochs", "3", "--overwrite"])
        # The earlier run as it was, and no staging folder left behind.
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # Ctrl-C after the first epoch: the new run has a model, and replaces the earlier one.
    monkeypatch.setattr(train, "_monitors", lambda args: [Stop(6, KeyboardInterrupt)])
    assert main([*argv, "--epochs", "3", "--overwrite", "--activation", "elu"]) == 130
    assert f"kept the 1 finished epoch: " in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == sorted(before)
    assert json.loads((out / "metrics.json").read_text())["interrupted_after_epoch"] == 1
    assert json.loads((out / "config.json").read_text())["model"]["activation"] == "elu"
    # A staging folder left by a killed run is ours, and removed by the next run there.
    leftover = out / ".run.actkeras-abcdefgh.tmp"
    leftover.mkdir()
    (leftover / "config.json").write_text("{}")
    monkeypatch.setattr(train, "_monitors", lambda args: [])
    assert main([*argv, "--epochs", "1", "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(before)


def test_ctrl_c_after_training_ended_lets_the_run_be_written_whole(tmp_path, capsys,
                                                                  monkeypatch):
    """A Ctrl-C in the final evaluation escaped to the top: the run, trained to its end,
    kept config.json only (and the same command was then refused)."""
    import os
    import signal

    from actkeras import training

    evaluate = training.evaluate

    def interrupted_evaluate(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, while the evaluation runs
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(training, "evaluate", interrupted_evaluate)
    out = tmp_path / "run"
    code = main([*TINY_TRAIN, "--epochs", "1", "--quiet", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 130, err
    assert "training has ended; evaluating and writing the run first" in err
    assert f"interrupted after training ended; the run is whole in {out}" in err
    assert {"config.json", "history.json", "history.csv", "metrics.json",
            "model.keras"} <= {p.name for p in out.iterdir()}
    assert "test_accuracy" in json.loads((out / "metrics.json").read_text())


def test_a_real_sigint_stops_train_at_the_end_of_its_step_and_a_second_stops_at_once(
        tmp_path, capsys, monkeypatch):
    # A KeyboardInterrupt raised inside TensorFlow's code could abort the process on a
    # corrupted heap ("corrupted size vs. prev_size", exit -6) before anything was kept:
    # the first Ctrl-C now only asks the fit to stop after the step it is in.
    import signal

    import keras
    import numpy as np

    from actkeras.commands import train

    class Signals(keras.callbacks.Callback):
        """Sends itself SIGINT part-way into epoch 3 (twice if `second`), and counts the
        steps that follow."""

        def __init__(self, second=False):
            super().__init__()
            self.second, self.after, self.went_on = second, 0, False

        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.kept = [np.array(w) for w in self.model.get_weights()]

        def on_train_batch_end(self, batch, logs=None):
            step = int(self.model.optimizer.iterations.numpy())
            self.after += step > 2 * 4 + 2
            if step == 2 * 4 + 2:  # 4 batches an epoch
                signal.raise_signal(signal.SIGINT)
                if self.second:
                    signal.raise_signal(signal.SIGINT)
                    self.went_on = True  # never: the second one raises at once

    before = signal.getsignal(signal.SIGINT)
    for second in (False, True):
        sender = Signals(second)
        monkeypatch.setattr(train, "_monitors", lambda args: [sender])
        out = tmp_path / f"run{int(second)}"
        code = main([*TINY_TRAIN, "--batch-size", "1024", "--set", "steps_per_execution=1",
                     "--epochs", "5", "--quiet", "--out", str(out)])  # 3,200 images: 4 batches
        err = capsys.readouterr().err
        assert code == 130, err
        assert "Ctrl-C: stopping at the end of this step (Ctrl-C again: at once)" in err
        assert "kept the 2 finished epochs" in err and f"(step 8, model.keras) are in {out}" in err
        # Stopped right after the step it came in; the second signal did not wait for it.
        assert sender.after == 0 and not sender.went_on
        assert [row["epoch"] for row in json.loads((out / "history.json").read_text())] == [1, 2]
        saved = keras.saving.load_model(out / "model.keras")
        for kept, weights in zip(sender.kept, saved.get_weights()):
            np.testing.assert_array_equal(kept, weights)  # epoch 2's end, not part-way into 3
        assert signal.getsignal(signal.SIGINT) is before  # Ctrl-C is the caller's again


@pytest.mark.slow
def test_sigint_in_a_train_process_keeps_the_finished_epochs(tmp_path):
    import signal

    out = tmp_path / "run"
    child = subprocess.Popen(
        [sys.executable, "-m", "actkeras", *TINY_TRAIN, "--epochs", "500", "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as a terminal has it
    for line in child.stdout:
        if line.startswith("Epoch 4/500"):
            child.send_signal(signal.SIGINT)  # what Ctrl-C sends
            break
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    # 3 epochs had ended; a loaded machine may finish the 4th before the signal lands.
    finished = len(json.loads((out / "history.json").read_text()))
    assert finished in (3, 4)
    assert f"actkeras train: interrupted; kept the {finished} finished epochs" in err, err
    assert "Ctrl-C: stopping at the end of this step" in err
    assert json.loads((out / "metrics.json").read_text())["interrupted_after_epoch"] == finished
    assert actkeras.load_exported(out / "model.keras").count_params() > 0


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
        (["train", "--data-dir", str(Path(__file__)), "--steps", "1"], "is a file, not a folder"),
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


def test_debug_adds_the_traceback_and_keeps_the_exit_code(capsys, tmp_path):
    argv = ["train", "--activation", "leaky_relu:negative_slope=-1", "--out", str(tmp_path)]
    assert main(["--debug", *argv]) == 2  # a bad argument stays a usage error
    err = capsys.readouterr().err
    assert err.startswith("Traceback")
    assert "ValueError: `negative_slope` must be a finite number and >= 0" in err
    assert err.strip().splitlines()[-1].startswith("actkeras train: error: `negative_slope`")
    assert main(argv) == 2 and "Traceback" not in capsys.readouterr().err


def test_the_clis_preset_names_are_the_models_presets():
    from actkeras.commands.common import DATASET_OF_PRESET  # checked before Keras loads
    from actkeras.models import PRESETS

    assert list(DATASET_OF_PRESET) == list(PRESETS)


def test_argument_errors_are_refused_before_any_backend_loads():
    """A misspelt activation or preset costs no TensorFlow start-up (issue 27: 6 s)."""
    out = _python("""
        import json, sys, time
        from actkeras.cli import main
        start = time.perf_counter()
        codes = [main(["train", "--activation", "relux"]),
                 main(["train", "--activation", "elu:beta=1"]),
                 main(["train", "--activation", "leaky_relu:negative_slope=x"]),
                 main(["train", "--preset", "vgg"]),
                 main(["tune", "--activations", "relu,rleu"])]
        seconds = time.perf_counter() - start
        loaded = [m for m in ("tensorflow", "keras", "jax", "numpy") if m in sys.modules]
        print(json.dumps({"codes": codes, "loaded": loaded, "seconds": seconds}))
    """)
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["codes"] == [2] * 5 and result["loaded"] == [], result
    assert result["seconds"] < 1.0, result
    errors = out.stderr.strip().splitlines()
    assert len(errors) == 5
    assert "argument --activation: Unknown activation. Valid choices: relu" in errors[0]
    assert "takes no argument 'beta'; it accepts: alpha" in errors[1]
    assert "`negative_slope` must be a number. Received: negative_slope='x'" in errors[2]
    assert "argument --preset: Unknown preset. Valid choices: udacity" in errors[3]
    assert "argument --activations: Unknown activation" in errors[4]


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def _python(code, unset=(), **env):
    """Runs `code` in a fresh interpreter (the repository importable, the variables in
    `unset` removed, `env` added); returns the finished process."""
    env = {**{k: v for k, v in os.environ.items() if k not in unset},
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **env}
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
    """Lazy, yet `import actkeras` then `import keras` (either order) registers the layers
    and the other objects a built model may hold (`init_gain`, `lr_pulse`)."""
    for first, second in (("actkeras", "keras"), ("keras", "actkeras")):
        out = _python(f"""
            import {first}, {second}
            for name in ("PReLU", "ScaledInitializer", "PulseSchedule"):
                print(keras.saving.get_registered_object("actkeras>" + name))
        """, TF_CPP_MIN_LOG_LEVEL="3")
        for name in ("layers.prelu.PReLU", "initializers.ScaledInitializer",
                     "schedules.PulseSchedule"):
            assert f"actkeras.{name}" in out.stdout, (first, out.stdout)


@pytest.mark.parametrize("argv, message", [
    (["train", "--no-such-flag"],
     "actkeras train: error: unrecognized arguments: --no-such-flag"),
    (["train", "--steps", "0"], "argument --steps: must be positive. Received: 0"),
    (["train", "--seed", "-1"], "argument --seed: must be 0 or more. Received: -1"),
    (["train", "--learning-rate", "nan"], "argument --learning-rate: must be a finite positive"),
    (["train", "--epochs", "3", "--steps", "5"], "--epochs and --steps both set the training"),
    (["train", "--out", f"{__file__}/run"], f"--out must be a folder, and {__file__} is a file"),
    (["tune", "--widths", "8,x"], "argument --widths: expected an integer. Received: x"),
    # A list that starts with a minus is the list's value, not an unknown option.
    (["tune", "--learning-rates", "-0.1,0.1"],
     "argument --learning-rates: must be positive. Received: -0.1"),
    (["tune", "--widths", "-8,8"], "argument --widths: must be positive. Received: -8"),
    (["bench", "--variants", "a,e"], "argument --variants: takes a subset of a,b,c,d"),
    (["bench", "--write", "same.out", "--json", "./same.out"],
     "--write and --json name the same file"),
    (["bench", "--backend", "torch"], "argument --backend: takes tensorflow or jax"),
    (["bench", "--presets", "udacity,resnet"],
     "argument --presets: takes udacity, fashion_mlp, mlp, or several comma-separated. "
     "Received: resnet"),
    (["reproduce", "--claims", "1,42"], "argument --claims: Unknown claim"),
    (["reproduce", "--jobs", "0"], "argument --jobs: must be positive"),
    (["reproduce", "--backend", "torch"], "argument --backend: invalid choice: 'torch'"),
    (["reproduce", "--compare-with", "no/such/folder"],
     "--compare-with takes the folder of a finished reproduction on the other backend"),
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
    assert main(["activations", "--debug"]) == code  # the same outcome, with the traceback
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and f"actkeras activations: error: {error}" in err


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
    import logging

    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.delenv("ACTKERAS_QUIET", raising=False)
    logger = logging.getLogger("tensorflow")
    monkeypatch.setattr(logger, "level", logging.NOTSET)
    assert main(["activations", "--debug"]) == 0
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ  # --debug keeps TensorFlow's logging
    assert os.environ["ACTKERAS_QUIET"] == "0"  # ... in the processes it starts too
    assert logger.level == logging.NOTSET
    assert main(["activations"]) == 0
    # Inherited by the processes it starts: the workers and bench's children are as quiet.
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3" and os.environ["ACTKERAS_QUIET"] == "1"
    assert logger.level == logging.ERROR  # TensorFlow's retracing warnings and the like


def test_quietly_drops_tensorflows_start_up_chatter_and_nothing_else(monkeypatch, capfd):
    from actkeras import quiet

    chatter = (b"WARNING: All log messages before absl::InitializeLog() is called are written "
               b"to STDERR\n"
               b"I0000 00:00:1796517043.221717    5349 port.cc:153] oneDNN custom operations "
               b"are on.\n"
               b"E0000 00:00:1796517468.170817   10219 cuda_platform.cc:52] failed call to "
               b"cuInit: INTERNAL: CUDA error\n"
               b"To enable the following instructions: AVX2 FMA, in other operations, rebuild "
               b"TensorFlow with the appropriate compiler flags.\n")
    mine = b"mine: a user's own line\nI0000 is not absl's format\n"

    def load():
        ours, theirs = chatter.splitlines(keepends=True), mine.splitlines(keepends=True)
        for line in [ours[0], theirs[0], *ours[1:3], theirs[1], ours[3]]:  # interleaved
            os.write(2, line)
        return "loaded"

    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    monkeypatch.delenv("ACTKERAS_QUIET", raising=False)
    assert quiet.quietly(load) == "loaded"
    assert capfd.readouterr().err == mine.decode()
    def failing():
        load()
        raise RuntimeError("the import failed")

    with pytest.raises(RuntimeError):  # a failed import shows everything it wrote
        quiet.quietly(failing)
    assert "cuInit" in capfd.readouterr().err
    for name, value in (("TF_CPP_MIN_LOG_LEVEL", "0"), ("ACTKERAS_QUIET", "0")):
        monkeypatch.setenv(name, value)  # the user, or --debug, asks for everything
        quiet.quietly(load)
        assert "cuInit" in capfd.readouterr().err
        monkeypatch.delenv(name)


CHATTER = ("absl::InitializeLog", "oneDNN", "cuInit", "cuda", "use_unbounded_threadpool",
           "retracing", "0000 00:00:")


# Unset for a user who set no log level (pytest's environment may hold the CLI's).
QUIET_VARIABLES = ("TF_CPP_MIN_LOG_LEVEL", "ACTKERAS_QUIET")


def _unquiet_environment():
    return {k: v for k, v in os.environ.items() if k not in QUIET_VARIABLES}


def _no_chatter(stderr):
    return not any(chatter in stderr for chatter in CHATTER)


@pytest.mark.slow
def test_a_command_prints_no_tensorflow_start_up_chatter():
    done = subprocess.run([sys.executable, "-m", "actkeras", "activations"],
                          env=_unquiet_environment(), cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and "relu" in done.stdout
    assert _no_chatter(done.stderr), done.stderr


@pytest.mark.slow
def test_reproduction_workers_print_no_tensorflow_start_up_chatter(tmp_path):
    done = subprocess.run([sys.executable, "-m", "actkeras", "reproduce", "--preset", "tiny",
                           "--claims", "9", "--jobs", "2", "--quiet", "--out", str(tmp_path)],
                          env=_unquiet_environment(), cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert "worker processes" in done.stdout  # the runs did go to the workers
    assert _no_chatter(done.stderr), done.stderr


@pytest.mark.slow
def test_import_actkeras_quiets_tensorflows_start_up_and_keeps_the_users_output():
    code = """
        import logging, os, sys
        {first}
        logging.warning("the user's own warning")
        import keras
        import tensorflow as tf
        for i in range(7):  # retraced every time: TensorFlow warns about it
            tf.function(lambda x: x + 1)(tf.constant(float(i)))
        os.write(2, b"the user's own line\\n")
    """
    quiet = _python(code.format(first="import actkeras"), unset=QUIET_VARIABLES)
    assert "absl::InitializeLog" not in quiet.stderr and "0000 00:00:" not in quiet.stderr
    lines = quiet.stderr.splitlines()
    assert lines[0] == "WARNING:root:the user's own warning", quiet.stderr
    assert lines[-1] == "the user's own line", quiet.stderr
    assert "retracing" in quiet.stderr  # TensorFlow's Python logging is the user's to set
    # The same without actkeras: the chatter the test looks for is there to hide.
    loud = _python(code.format(first=""), unset=QUIET_VARIABLES)
    assert "absl::InitializeLog" in loud.stderr and "the user's own line" in loud.stderr
    # A quiet CLI's children also leave out TensorFlow's Python warnings (retracing).
    child = _python(code.format(first="import actkeras"), unset=QUIET_VARIABLES,
                    ACTKERAS_QUIET="1")
    assert _no_chatter(child.stderr), child.stderr
    assert "the user's own warning" in child.stderr and "the user's own line" in child.stderr


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
    assert _no_chatter(out), out  # the children's output passes through, without TensorFlow's
    text = tables.read_text()
    assert ("`actkeras bench --backend tensorflow,jax --source embedded --steps 3 --rounds 1 "
            "--variants b,c,d --presets udacity,mlp --preset-train 1280 --cost-rounds 0 "
            f"--mlp-rounds 0 --write {tables}`; regenerate it") in text  # the command itself
    assert "| tensorflow | " in text and "| jax | " in text and "## jax" in text
    assert "| mlp | tensorflow | " in text and "| mlp | jax | " in text


@pytest.mark.slow
@BOTH_BACKENDS
def test_bench_says_which_backend_failed_and_why(tmp_path, capsys):
    other = "jax" if keras_backend() == "tensorflow" else "tensorflow"
    code = main(["bench", "--backend", other, "--source", "large", "--data-dir", str(tmp_path),
                 "--steps", "3", "--rounds", "1", "--cost-rounds", "0", "--mlp-rounds", "0"])
    out, err = capsys.readouterr()
    assert code == 1
    assert (f"actkeras bench: error: the {other} measurement failed (exit 1; its error is "
            f"above, after [{other}])") in err
    # The child's own reason passes through with its backend's prefix, and only there.
    lines = (out + err).splitlines()
    assert sum(f"[{other}] actkeras bench: error: " in line for line in lines) == 1, out + err
    naming = [line for line in lines if str(tmp_path) in line]
    assert naming and all(line.startswith(f"[{other}] ") for line in naming), out + err


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
