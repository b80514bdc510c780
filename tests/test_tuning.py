"""Keras Tuner over the activation: hypermodel, the four tuners, resume, seeds, errors, workers."""

import contextlib
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import keras
import keras_tuner
import pytest

from actkeras.cli import main
from actkeras.data import synthetic_dataset
from actkeras.models import resolve_config
from actkeras.registry import activation_names
from actkeras.tuning import ActivationHyperModel, make_tuner, run_search

NUM_SAMPLES = 128
DATA = synthetic_dataset(NUM_SAMPLES)
TINY = dict(units=8, depth=1, epochs=1)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _one_machine(monkeypatch):
    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        monkeypatch.delenv(name, raising=False)


def _hypermodel(activations=("relu", "sigmoid", "elu", "tanh"), **kwargs):
    return ActivationHyperModel("mlp", activations=list(activations), seed=0, **TINY, **kwargs)


# --- the hypermodel -----------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["mlp", "udacity"])
def test_empty_hyperparameters_build_the_presets_defaults(preset):
    hypermodel = ActivationHyperModel(preset, learning_rates=[0.5, 0.01, 0.05],
                                      initializers=["glorot_uniform", "he_normal",
                                                    "truncated_normal"])
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert model.actkeras_config == resolve_config(preset, "relu")
    assert hypermodel.search_space()["activation"] == activation_names()


def test_sampled_values_reach_build_model():
    hypermodel = _hypermodel(learning_rates=[0.1, 0.01], initializers=["glorot_normal"],
                             widths=[4, 6], depths=[1, 2])
    hp = keras_tuner.HyperParameters()
    hypermodel.build(hp)  # declares the space
    assert {p.name for p in hp.space} == {"activation", "learning_rate", "initializer",
                                          "units", "depth"}
    hp.values.update(activation="elu", learning_rate=0.01, units=6, depth=2)
    config = hypermodel.build(hp).actkeras_config
    assert (config.activation, config.learning_rate, config.initializer) == (
        "elu", 0.01, "glorot_normal")
    assert config.hidden_units == (6, 6) and config.seed == 0


def test_a_trial_without_rectifiers_is_quiet_about_the_dead_unit_monitor():
    # Every trial's summary says what the monitors found: no warning per trial that a
    # sigmoid network has no unit for DeadReLUMonitor to watch.
    hypermodel = _hypermodel(["sigmoid"])
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hypermodel.fit(hp, model, DATA)
    assert [str(w.message) for w in caught if "DeadReLUMonitor" in str(w.message)] == []


def test_a_diverged_trial_is_a_failed_one_listed_last_and_never_the_best(tmp_path):
    """A trial whose loss went NaN was COMPLETED and ranked by its score before diverging,
    with nothing saying so (`actkeras train` stops such a run as diverged)."""
    hypermodel = _hypermodel(["linear"], learning_rates=[0.01, 1e30])
    tuner = make_tuner("grid", hypermodel, tmp_path, max_trials=2)
    with contextlib.redirect_stdout(io.StringIO()) as said:
        rows = run_search(tuner, DATA)
    assert [(row["learning_rate"], row["status"]) for row in rows] == [
        (0.01, "COMPLETED"), (1e30, "FAILED")]
    assert rows[1]["score"] is None
    failed = next(t for t in tuner.oracle.trials.values() if t.status == "FAILED")
    assert "training diverged at step" in failed.message
    assert "diverged" in said.getvalue()


def test_hyperband_epochs_of_by_step_presets():
    from actkeras.tuning.hypermodel import epochs_of

    assert epochs_of(resolve_config("udacity"), log_every=500) == 7  # 3,001 steps
    assert epochs_of(resolve_config("udacity", steps=20), log_every=500) == 1
    assert epochs_of(resolve_config("mlp", epochs=3)) == 3


# --- bad input ----------------------------------------------------------------------------


def test_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="at least one activation.*Received: activations=\\[\\]"):
        ActivationHyperModel("mlp", activations=[])
    with pytest.raises(ValueError, match="Valid choices: relu.*Received: activation='rleu'"):
        ActivationHyperModel("mlp", activations=["relu", "rleu"])
    with pytest.raises(ValueError, match="initializer"):
        ActivationHyperModel("mlp", initializers=["he_normal", "nope"])
    with pytest.raises(ValueError, match="Valid choices: random, grid, hyperband, bayesian"):
        make_tuner("simulated_annealing", _hypermodel(), tmp_path)
    make_tuner("grid", _hypermodel(), tmp_path, max_trials=1)
    other = ActivationHyperModel("udacity", activations=["relu"], seed=0)
    with pytest.raises(ValueError, match="preset 'mlp', not 'udacity'.*overwrite=True"):
        make_tuner("grid", other, tmp_path, max_trials=1)
    with pytest.raises(ValueError, match=r"\(space differs; .*same arguments"):
        make_tuner("grid", _hypermodel(["relu"]), tmp_path, max_trials=1)
    with pytest.raises(ValueError, match=r"\(space, seed differ; "):
        make_tuner("grid", ActivationHyperModel("mlp", activations=["relu"], seed=1, **TINY),
                   tmp_path, max_trials=1)
    make_tuner("grid", other, tmp_path, max_trials=1, overwrite=True)  # the fix named


def test_a_plain_keras_tuner_search_in_the_folder_is_refused_not_resumed(tmp_path):
    """A search actkeras did not start (an oracle.json, no marker) would be resumed and its
    trials and hyperparameters mixed with this search's."""

    def build(hp):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 2, 8))])
        model.compile("sgd", "mse")
        return model

    plain = keras_tuner.RandomSearch(build, objective="val_loss", max_trials=1, seed=1,
                                     directory=tmp_path, project_name="actkeras")
    plain.oracle.create_trial("tuner0")  # saves its oracle.json
    with pytest.raises(ValueError, match=r"Keras Tuner search that actkeras did not start "
                       r"\(an oracle.json, no actkeras_search.json\).*overwrite=True"):
        make_tuner("random", _hypermodel(), tmp_path, max_trials=1)
    tuner = make_tuner("random", _hypermodel(), tmp_path, max_trials=1, overwrite=True)
    assert not tuner.oracle.trials and "units" not in tuner.oracle.hyperparameters


def test_an_objective_no_trial_logs_is_refused_before_any_trial(tmp_path, capsys):
    with pytest.raises(ValueError, match="logs loss, accuracy, val_loss, val_accuracy, "
                       "gradient_ratio.*Received: objective='val_acc'"):
        make_tuner("grid", _hypermodel(), tmp_path, objective="val_acc")
    assert not list(tmp_path.iterdir())
    # The monitors' summaries are objectives where every trial logs them.
    assert "dead_fraction" in _hypermodel(["relu"]).logged_metrics()
    assert "inactive_fraction" in _hypermodel(["elu", "leaky_relu"]).logged_metrics()
    assert not {"dead_fraction", "inactive_fraction"} & set(_hypermodel().logged_metrics())
    make_tuner("grid", _hypermodel(["relu"]), tmp_path / "dead", objective="dead_fraction")

    code = main(["tune", "--preset", "mlp", "--objective", "val_acc", "--synthetic", "64",
                 "--directory", str(tmp_path / "cli"), "--export-root", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "actkeras tune: error: Unknown objective" in err and "val_accuracy" in err
    assert not (tmp_path / "cli").exists()


def test_a_val_objective_without_validation_images_is_refused_before_any_trial(tmp_path):
    tuner = make_tuner("grid", _hypermodel(["relu"]), tmp_path, max_trials=1)
    no_valid = DATA.subset(None, 0, None)
    with pytest.raises(ValueError, match="no validation images.*objective='val_accuracy'"):
        run_search(tuner, no_valid)
    assert not tuner.oracle.trials


def test_an_unwritable_export_root_is_refused_before_the_search(tmp_path, capsys, monkeypatch):
    from actkeras import errors

    root = tmp_path / "exports"
    monkeypatch.setattr(errors.os, "access", lambda path, mode: Path(path) != tmp_path)
    code = main(["tune", "--preset", "mlp", "--synthetic", "64", "--epochs", "1",
                 "--directory", str(tmp_path / "tuning"), "--export-root", str(root)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert err.strip() == (f"actkeras tune: error: cannot write to {root} (Permission denied): "
                           "choose a folder you can write to with --export-root.")
    assert not (tmp_path / "tuning").exists()


def test_cli_bad_input_exits_2_with_one_line(tmp_path, capsys):
    base = ["tune", "--preset", "mlp", "--directory", str(tmp_path), "--synthetic", "64"]
    assert main([*base, "--tuner", "annealing"]) == 2
    assert "Valid choices: random, grid" in capsys.readouterr().err
    assert main([*base, "--activations", "relu,nope"]) == 2
    assert "Received: activation='nope'" in capsys.readouterr().err


def test_partial_distribution_variables_are_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    with pytest.raises(ValueError, match="Missing: KERASTUNER_ORACLE_PORT, KERASTUNER_TUNER_ID"):
        make_tuner("random", _hypermodel(), tmp_path)


class _Trainings(keras.callbacks.Callback):
    """Counts trainings across keras-tuner's per-trial copies; interrupts the `stop_at`-th."""

    started = []
    stop_at = None

    def on_train_begin(self, logs=None):
        config = self.model.actkeras_config
        _Trainings.started.append((config.activation, config.seed))
        if len(_Trainings.started) == _Trainings.stop_at:
            raise KeyboardInterrupt


# --- searches on one machine --------------------------------------------------------------


@pytest.mark.parametrize("name", ["random", "grid", "hyperband", "bayesian"])
@pytest.mark.slow
def test_every_tuner_searches_and_records_the_monitors(name, tmp_path):
    trials, executions = (2, 1) if name == "random" else (1, 2 if name == "grid" else 1)
    tuner = make_tuner(name, _hypermodel(["relu", "sigmoid"]), tmp_path, max_trials=trials,
                       executions_per_trial=executions, seed=1)
    _Trainings.started, _Trainings.stop_at = [], None
    rows = run_search(tuner, DATA, callbacks=[_Trainings()])
    assert rows and all(row["status"] == "COMPLETED" for row in rows)
    assert len(rows) == trials or name == "hyperband"  # Hyperband sets its own budget
    scores = [row["score"] for row in rows]
    assert scores == sorted(scores, reverse=True) and [r["rank"] for r in rows][0] == 1
    assert all(0 < row["gradient_ratio"] for row in rows)
    relu = [row for row in rows if row["activation"] == "relu"]
    assert all(0 <= row["dead_fraction"] <= 1 for row in relu)
    saved = json.loads((tmp_path / "actkeras" / "results.json").read_text())
    assert saved == rows
    assert (tmp_path / "actkeras" / "results.csv").read_text().startswith("rank,trial_id,status")
    if name == "grid":  # execution k of a trial is seeded with seed + k
        assert [seed for _, seed in _Trainings.started] == [0, 1]


@pytest.mark.parametrize("name", ["random", "bayesian", "hyperband"])
def test_seed_0_seeds_the_oracle_as_any_other_seed(name, tmp_path):
    """keras-tuner's `Oracle` reads a seed of 0 as none (`seed or random.randint(...)`):
    the CLI's default `--seed 0` gave each search other trials."""

    def first_trials(folder):
        tuner = make_tuner(name, _hypermodel(activations=activation_names()), tmp_path / folder,
                           max_trials=3, seed=0)
        assert tuner.oracle.seed == 0
        trials = [tuner.oracle.create_trial(f"tuner{k}") for k in range(3)]
        return [trial.hyperparameters.values for trial in trials]

    assert first_trials("a") == first_trials("b")
    saved = json.loads(next((tmp_path / "a").rglob("oracle.json")).read_text())
    assert saved["seed"] == 0


@pytest.mark.slow
def test_same_seed_same_trials_and_scores(tmp_path):
    def search(folder):
        hypermodel = _hypermodel(activations=activation_names()[:6])
        tuner = make_tuner("random", hypermodel, tmp_path / folder, max_trials=2, seed=7)
        rows = run_search(tuner, DATA)
        return sorted((row["trial_id"], row["activation"], row["score"]) for row in rows)

    assert search("a") == search("b")


@pytest.mark.slow
def test_an_interrupted_search_resumes_without_repeating_finished_trials(tmp_path):
    def search():
        tuner = make_tuner("grid", _hypermodel(["relu", "sigmoid", "elu"]), tmp_path, seed=0)
        return run_search(tuner, DATA, callbacks=[_Trainings()])

    _Trainings.started, _Trainings.stop_at = [], 2
    with pytest.raises(KeyboardInterrupt):
        search()
    first = list(_Trainings.started)
    _Trainings.started, _Trainings.stop_at = [], None
    rows = search()
    assert [name for name, _ in first] == ["relu", "sigmoid"]
    assert [name for name, _ in _Trainings.started] == ["sigmoid", "elu"]  # interrupted, last
    assert sorted(row["activation"] for row in rows) == ["elu", "relu", "sigmoid"]
    assert all(row["status"] == "COMPLETED" for row in rows)


@pytest.mark.slow
def test_cli_tune_prints_the_table_writes_results_and_exports(tmp_path, capsys):
    code = main(["tune", "--preset", "mlp", "--tuner", "grid", "--activations", "relu",
                 "--set", "units=8", "--set", "depth=1", "--epochs", "1", "--synthetic", "64",
                 "--directory", str(tmp_path / "tuning"), "--export-root",
                 str(tmp_path / "saved_models")])
    out = capsys.readouterr().out
    assert code == 0
    assert "rank  trial_id  status" in out and "gradient_ratio" in out
    assert (tmp_path / "tuning" / "actkeras" / "results.csv").exists()
    exported = list((tmp_path / "saved_models").iterdir())
    assert len(exported) == 1 and exported[0].name.startswith("tune-mlp-")


# --- distributed: a chief and workers on 127.0.0.1 ----------------------------------------

TIMEOUT = 180
KILL_SELF = """
import os, signal, sys
from actkeras.tuning.hypermodel import ActivationHyperModel
ActivationHyperModel.fit = lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL)
from actkeras.cli import main
sys.exit(main(sys.argv[1:]))
"""
WAIT_FOR_FILE = """
import os, sys, time
import actkeras.tuning  # import TensorFlow and keras-tuner while waiting
from actkeras.cli import main
while not os.path.exists(os.environ["GATE"]):
    time.sleep(0.1)
sys.exit(main(sys.argv[1:]))
"""


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(tuner_id, port, directory, log, script=None, extra=(), **env):
    env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": "127.0.0.1",
           "KERASTUNER_ORACLE_PORT": str(port), "TF_CPP_MIN_LOG_LEVEL": "3",
           "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), **env}
    command = ["-c", script] if script else ["-m", "actkeras"]
    args = ["tune", "--preset", "mlp", "--tuner", "grid", "--activations",
            "relu,sigmoid,elu", "--set", "units=8", "--set", "depth=1", "--epochs", "1",
            "--synthetic", "128", "--directory", str(directory), "--no-export",
            "--oracle-timeout", "60", *extra]
    with open(log, "w") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, *command, *args], env=env,
                                cwd=directory.parent, stdout=out, stderr=subprocess.STDOUT)


@pytest.fixture
def processes():
    """name -> Popen; whatever is still running at the end of the test is killed."""
    started = {}
    yield started
    for process in started.values():
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_all(processes, deadline):
    codes = {}
    for name, process in processes.items():
        try:
            codes[name] = process.wait(timeout=max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for other in processes.values():
                other.kill()
            pytest.fail(f"{name} did not exit within {TIMEOUT} s")
    return codes


def _began(logs):
    """trial id -> the workers that began it, from the workers' logs."""
    began = {}
    for log in logs:
        for line in Path(log).read_text().splitlines():
            words = line.split()
            if len(words) > 3 and words[1] == "trial" and words[3] == "begins":
                began.setdefault(words[2], []).append(words[0].rstrip(":"))
    return began


def _results(directory):
    return json.loads((directory / "actkeras" / "results.json").read_text())


@pytest.mark.slow
def test_distributed_chief_and_two_workers_run_every_trial_once(tmp_path, processes):
    port, directory, deadline = _free_port(), tmp_path / "shared", time.monotonic() + TIMEOUT
    logs = {name: tmp_path / f"{name}.log" for name in ("chief", "tuner0", "tuner1")}
    for name, log in logs.items():
        processes[name] = _start(name, port, directory, log, extra=["--worker-timeout", "60"])
    codes = _wait_all(processes, deadline)
    assert codes == {"chief": 0, "tuner0": 0, "tuner1": 0}, {
        n: log.read_text()[-2000:] for n, log in logs.items()}
    began = _began([logs["tuner0"], logs["tuner1"]])
    assert sorted(began) == ["00", "01", "02"]
    assert all(len(workers) == 1 for workers in began.values()), began
    rows = _results(directory)
    assert sorted(row["activation"] for row in rows) == ["elu", "relu", "sigmoid"]
    assert all(row["status"] == "COMPLETED" and row["gradient_ratio"] for row in rows)


@pytest.mark.slow
def test_a_worker_killed_mid_trial_does_not_lose_the_search(tmp_path, processes):
    port, directory, deadline = _free_port(), tmp_path / "shared", time.monotonic() + TIMEOUT
    logs = {name: tmp_path / f"{name}.log" for name in ("chief", "tuner0", "tuner1")}
    gate, fast = tmp_path / "gate", ["--worker-timeout", "4"]
    processes.update(
        chief=_start("chief", port, directory, logs["chief"], extra=fast),
        tuner1=_start("tuner1", port, directory, logs["tuner1"], KILL_SELF, fast),
        tuner0=_start("tuner0", port, directory, logs["tuner0"], WAIT_FOR_FILE, fast,
                      GATE=str(gate)),
    )
    # tuner1 takes the first trial and dies in it; only then may tuner0 ask for one.
    assert processes["tuner1"].wait(timeout=TIMEOUT) == -signal.SIGKILL
    gate.touch()
    codes = _wait_all(processes, deadline)
    assert codes["chief"] == 0 and codes["tuner0"] == 0, logs["chief"].read_text()[-2000:]
    assert "lost worker tuner1; trial 00 -> retry" in logs["chief"].read_text()
    assert _began([logs["tuner1"]]) == {"00": ["tuner1"]}
    assert sorted(_began([logs["tuner0"]])) == ["00", "01", "02"]  # 00 retried
    rows = _results(directory)
    assert len(rows) == 3 and all(row["status"] == "COMPLETED" for row in rows)


def test_a_worker_gives_up_on_a_silent_chief_instead_of_hanging(monkeypatch, tmp_path):
    import threading

    from actkeras.tuning import distributed

    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", str(_free_port()))  # nobody listens
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner0")
    local = make_tuner("grid", _hypermodel(), tmp_path).oracle._oracle
    client = distributed.OracleClient(local, timeout=1.0)
    start = time.monotonic()
    with pytest.raises(distributed.ChiefLost, match="did not answer CreateTrial within 1 s"):
        client.create_trial("tuner0")
    lost = threading.Event()
    with distributed.Heartbeat("tuner0", timeout=1.0, on_lost=lost.set) as heartbeat:
        assert lost.wait(timeout=10)
    assert heartbeat.lost and time.monotonic() - start < 15
