"""scripts/repeat_sample.py: which runs of a reproduction its sampled repeat chooses."""

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "scripts" / "repeat_sample.py"
_SPEC = importlib.util.spec_from_file_location("repeat_sample", _PATH)
repeat_sample = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(repeat_sample)


def _run(claim, kind, seconds, status="ok"):
    return {"status": status, "spec": {"claim": claim, "kind": kind},
            "timing": {"seconds": seconds}}


RESULTS = {
    "a.json": _run(1, "train", 60), "b.json": _run(1, "train", 30),
    "c.json": _run(1, "tune", 90), "d.json": _run(9, "baseline", 5),
    "e.json": _run(8, "cost", 1), "f.json": _run(2, "train", 600, status="failed"),
    "g.json": _run(2, "train", 120, status="diverged"),
}


def test_the_cheapest_run_of_every_claim_and_kind_comes_first_and_cost_runs_never():
    chosen = dict(repeat_sample.choose(RESULTS, minutes=0))
    # One per (claim, kind): b (cheaper than a), c, d, g; the cost run and the failed one never.
    assert set(chosen) == {"b.json", "c.json", "d.json", "g.json"}


def test_the_budget_takes_the_rest_at_random_but_never_beyond_it():
    # The first pick is 245 s; a budget of 5 minutes leaves 55 s: "a" (60 s) does not fit.
    assert "a.json" not in dict(repeat_sample.choose(RESULTS, minutes=5))
    assert "a.json" in dict(repeat_sample.choose(RESULTS, minutes=5.1))
    assert repeat_sample.choose(RESULTS, 8, seed=3) == repeat_sample.choose(RESULTS, 8, seed=3)


def test_a_folder_with_files_in_it_is_refused(tmp_path, capsys):
    (tmp_path / "into").mkdir()
    (tmp_path / "into" / "x").write_text("mine")
    with pytest.raises(SystemExit) as stop:
        repeat_sample.main([str(tmp_path), str(tmp_path / "into")])
    assert stop.value.code == 2
    assert "is not empty" in capsys.readouterr().err
    assert (tmp_path / "into" / "x").read_text() == "mine"


def test_training_numbers_leave_out_only_what_the_monitors_measured():
    run = {"status": "ok", "history": [{"loss": 0.5, "act_mean/dense_0": 0.1,
                                        "grad_norm/global": 2.0}],
           "monitors": {"dead": [1]}, "metrics": {"valid_accuracy": 0.9}}
    moved = {**run, "history": [{"loss": 0.5, "act_mean/dense_0": 0.2, "grad_norm/global": 3.0}],
             "monitors": {"dead": [2]}}
    assert repeat_sample._training(moved) == repeat_sample._training(run)
    trained_otherwise = {**run, "history": [{**run["history"][0], "loss": 0.6}]}
    assert repeat_sample._training(trained_otherwise) != repeat_sample._training(run)


def test_write_never_replaces_a_file_unasked(tmp_path, capsys):
    notes = tmp_path / "notes.md"
    notes.write_text("mine")
    with pytest.raises(SystemExit) as exit_:
        repeat_sample.main([str(tmp_path), str(tmp_path / "into"), "--write", str(notes)])
    assert exit_.value.code == 2 and notes.read_text() == "mine"
    assert "exists: pass --overwrite to replace it" in capsys.readouterr().err
