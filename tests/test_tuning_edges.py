"""Keras Tuner searches where an outside reading found them wrong (QA report of 8 December
2026): diverged trials in a row, `--overwrite` and a user's `trial_*` folders, a resumed
search on other data or another backend, an oracle saved with its last trial still
"ongoing", Bayesian optimisation without a limit, Hyperband's step budgets, and the
command's bad inputs (an empty project name, `--set seed`, Keras Tuner's variables).
Each test fails without its mend.
"""

import contextlib
import io
import json

import keras_tuner
import pytest

from actkeras.cli import main
from actkeras.commands import tune
from actkeras.data import synthetic_dataset
from actkeras.tuning import ActivationHyperModel, make_tuner, run_search
from actkeras.tuning.search import discard_search

DATA = synthetic_dataset(128)
TINY = dict(units=8, depth=1, epochs=1)


@pytest.fixture(autouse=True)
def _one_machine(monkeypatch):
    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        monkeypatch.delenv(name, raising=False)


def _search(tuner, data=DATA):
    with contextlib.redirect_stdout(io.StringIO()):
        return run_search(tuner, data)


def test_diverged_trials_in_a_row_do_not_abort_the_search(tmp_path):
    # keras-tuner's default stopped it at the third FAILED trial with a RuntimeError,
    # no results written, its oracle left with that trial "ongoing" for ever.
    hypermodel = ActivationHyperModel("mlp", activations=["relu", "elu", "leaky_relu", "selu"],
                                      learning_rates=[1e30], seed=0, **TINY)
    tuner = make_tuner("grid", hypermodel, tmp_path, max_trials=None)
    rows = _search(tuner)
    assert len(rows) == 4 and {row["status"] for row in rows} == {"FAILED"}
    saved = json.loads((tmp_path / "actkeras" / "results.json").read_text())
    assert [row["activation"] for row in saved] == [row["activation"] for row in rows]


def test_overwrite_leaves_a_users_trial_named_folders(tmp_path):
    project = tmp_path / "p"
    for name in ("trial_0", "trial_0003", "trial_notes", "trial_best_backup"):
        (project / name).mkdir(parents=True)
    (project / "trial_notes" / "plan.txt").write_text("important")
    (project / "oracle.json").write_text("{}")
    discard_search(project)
    assert sorted(p.name for p in project.iterdir()) == ["trial_best_backup", "trial_notes"]


def test_a_search_resumed_on_other_data_is_refused(tmp_path):
    hypermodel = ActivationHyperModel("mlp", activations=["relu", "elu"], seed=0, **TINY)
    _search(make_tuner("random", hypermodel, tmp_path, max_trials=1))
    marker = json.loads((tmp_path / "actkeras" / "actkeras_search.json").read_text())
    assert set(marker["trained_on"]) == {"data", "backend"}
    again = make_tuner("random", hypermodel, tmp_path, max_trials=2)
    with pytest.raises(ValueError, match=r"trained on other data .*Received: data="):
        _search(again, synthetic_dataset(128, seed=1))
    rows = _search(again)  # the same data: resumed
    assert len(rows) == 2


def test_the_oracle_is_saved_once_a_trial_is_no_longer_ongoing(tmp_path):
    # keras-tuner saves it before taking the trial off the ongoing list; the chief saved
    # it no more, so a restarted chief ran the last finished trial again.
    from actkeras.tuning import _oracle_rpc

    hypermodel = ActivationHyperModel("mlp", activations=["relu", "elu"], seed=0, **TINY)
    tuner = make_tuner("grid", hypermodel, tmp_path, max_trials=None)
    servicer = _oracle_rpc._Servicer(tuner.oracle)
    trial = tuner.oracle.create_trial("tuner0")
    trial.status = "COMPLETED"
    tuner.oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
    request = _oracle_rpc.protos.get_service().EndTrialRequest(trial=trial.to_proto())
    servicer.EndTrial(request, None)
    oracle = json.loads((tmp_path / "actkeras" / "oracle.json").read_text())
    assert oracle["ongoing_trials"] == {}
    assert oracle["end_order"] == [trial.trial_id]


def test_bayesian_without_a_limit_tries_each_point_once(tmp_path):
    # keras-tuner's Bayesian oracle kept proposing the same points: 105 trials of a space
    # of 3 before it was stopped.
    hypermodel = ActivationHyperModel("mlp", activations=["relu", "elu", "tanh"],
                                      learning_rates=[0.1, 0.01], seed=0, **TINY)
    tuner = make_tuner("bayesian", hypermodel, tmp_path, max_trials=None)
    assert tuner.oracle.max_trials == 6


@pytest.mark.parametrize("epochs, initial_epoch, steps", [(1, 0, 500), (3, 1, 700), (3, 0, 1200),
                                                          (2, 0, 1000), (3, 2, 200)])
def test_a_hyperband_epoch_of_a_by_step_preset_trains_its_share_of_the_steps(
        epochs, initial_epoch, steps, monkeypatch):
    # Epoch e ends at step min(500 e, 1200): a trial continued from epoch 1 to 3 trained
    # 1,000 steps (1,500 in all) where a fresh one to 3 trained 1,200.
    from actkeras.tuning import hypermodel as module

    taken = {}
    monkeypatch.setattr(module, "fit", lambda model, data, **kwargs: taken.update(kwargs))
    hypermodel = ActivationHyperModel("udacity", activations=["relu"], seed=None, steps=1200,
                                      units=4)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    hypermodel.train(hp, model, DATA, epochs=epochs, initial_epoch=initial_epoch)
    assert taken["steps"] == steps


@pytest.fixture
def no_work(monkeypatch):
    monkeypatch.setattr(tune, "run", lambda args: pytest.fail("the work began"))


TUNE = ["tune", "--synthetic", "300", "--steps", "2", "--quiet", "--activations", "relu",
        "--max-trials", "1", "--no-export"]


@pytest.mark.parametrize("argv, env, words", [
    (["--project-name", ""], {}, "--project-name names the search's folder"),
    (["--set", "seed=3"], {}, "use --seed 3"),
    ([], {"KERASTUNER_ORACLE_PORT": "99999"}, "1 to 65535"),
    ([], {"KERASTUNER_ORACLE_PORT": "0"}, "1 to 65535"),
    ([], {"KERASTUNER_ORACLE_PORT": "abc"}, "KERASTUNER_ORACLE_PORT='abc'"),
    ([], {"KERASTUNER_ORACLE_PORT": None}, "Missing: KERASTUNER_ORACLE_PORT"),
])
def test_tune_refuses_before_any_work(tmp_path, capsys, monkeypatch, no_work, argv, env, words):
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "chief")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", "8000")
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name)
        else:
            monkeypatch.setenv(name, value)
    assert main([*TUNE, "--directory", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and words in err, err



def test_a_second_chief_on_the_same_port_is_refused(tmp_path, monkeypatch):
    # gRPC shares a port by default (SO_REUSEPORT): both chiefs listened, and the
    # workers of one were served by the other.
    import socket
    import threading
    import time

    from actkeras.tuning import _oracle_rpc

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for name, value in (("KERASTUNER_ORACLE_IP", "127.0.0.1"), ("KERASTUNER_ORACLE_PORT", port),
                        ("KERASTUNER_TUNER_ID", "chief")):
        monkeypatch.setenv(name, str(value))
    done = threading.Event()
    monkeypatch.setattr(_oracle_rpc._Servicer, "finished", lambda self: done.is_set())
    hypermodel = ActivationHyperModel("mlp", activations=["relu"], seed=0, **TINY)
    first, second = (make_tuner("random", hypermodel, tmp_path / name, max_trials=1).oracle
                     for name in ("a", "b"))
    outcome = {}

    def serve(oracle, key):
        try:
            _oracle_rpc.serve(oracle)
        except OSError as error:
            outcome[key] = str(error)

    threading.Thread(target=serve, args=(first, "first"), daemon=True).start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # until the first one listens
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    thread = threading.Thread(target=serve, args=(second, "second"), daemon=True)
    thread.start()
    thread.join(30)
    done.set()
    assert "first" not in outcome and "port is in use" in outcome.get("second", ""), outcome


def test_a_users_folder_where_the_export_goes_names_export_root(tmp_path, capsys, no_work):
    # It said "Received: --name tune-udacity-relu", an option tune does not have.
    root = tmp_path / "exports"
    (root / "tune-udacity-relu").mkdir(parents=True)
    (root / "tune-udacity-relu" / "mine.txt").write_text("x")
    argv = [a for a in TUNE if a != "--no-export"]
    assert main([*argv, "--directory", str(tmp_path / "t"), "--export-root", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"or --no-export. Received: --export-root {root}"), err
    assert "--name" not in err and "choose another name" not in err


def test_synthetic_with_data_options_is_refused(tmp_path, capsys, no_work):
    # They were ignored without a word (a --valid-samples 0 with a val_ objective too).
    assert main([*TUNE, "--directory", str(tmp_path), "--valid-samples", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--valid-samples would be left unused" in err and err.endswith(
        "Received: --synthetic 300 --valid-samples 0"), err


def test_more_images_than_the_split_has_is_refused(tmp_path, capsys, monkeypatch):
    # --train-samples 99999999 quietly used the whole split.
    monkeypatch.setattr(tune, "load_data", lambda name, args: synthetic_dataset(128))
    argv = ["tune", "--max-trials", "1", "--no-export", "--quiet", "--activations", "relu",
            "--epochs", "1", "--preset", "mlp", "--directory", str(tmp_path)]
    assert main([*argv, "--train-samples", "129"]) == 2
    err = capsys.readouterr().err.strip()
    assert "more images than synthetic's training split has (128)" in err, err


def test_equal_scores_rank_in_trial_order(tmp_path):
    # A reload walked the trials in another order and ranked ties otherwise, which
    # changed the model export_best exported.
    from actkeras.tuning.search import collect_results

    hypermodel = ActivationHyperModel("mlp", activations=["relu", "elu", "tanh"], seed=0, **TINY)
    tuner = make_tuner("grid", hypermodel, tmp_path, max_trials=None)
    for trial_id in ("0002", "0000", "0001"):  # a dict in another order than the trials'
        trial = keras_tuner.engine.trial.Trial(tuner.oracle.get_space(), trial_id=trial_id,
                                               status="COMPLETED")
        trial.score = 0.5
        tuner.oracle.trials[trial_id] = trial
    assert [row["trial_id"] for row in collect_results(tuner)] == ["0000", "0001", "0002"]
