"""`actkeras reproduce`: the specs and presets, the resumable runner (resume, corrupt
files, failures, divergence), the report and SIGKILLs at several points. The claims'
judges are tested on hand-made results in `test_claims_*.py`, the statistics in
`test_stats.py`.

End-to-end runs use the `tiny` preset on the embedded samples (no files needed).
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from actkeras.experiments import reproduce, select
from actkeras.experiments.claims import PRESETS, claims
from actkeras.experiments.report import SUMMARY_END, SUMMARY_START, update_readme
from actkeras.experiments.runner import read_result, result_path, run_specs
from actkeras.experiments.spec import RunSpec
from actkeras.experiments.judging import OUTCOMES

ROOT = Path(__file__).resolve().parents[1]


# --- specs and presets -------------------------------------------------------------------

def test_run_id_is_the_content_not_the_label():
    spec = RunSpec(claim=1, label="relu", activation="relu", preset="udacity",
                   overrides={"steps": 30}, seed=0)
    same = replace(spec, claim=7, label="another name", tuned_from="tune-x")
    assert spec.run_id == same.run_id and spec.run_id.startswith("train-udacity-relu-s0-")
    assert replace(spec, seed=1).run_id != spec.run_id
    assert replace(spec, overrides={"steps": 31}).run_id != spec.run_id
    json.dumps(spec.to_dict())
    assert RunSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    with pytest.raises(ValueError, match="Received: monitors"):
        RunSpec(monitors=("nope",))
    with pytest.raises(ValueError, match="Received: kind='guess'"):
        RunSpec(kind="guess")


def test_fields_added_later_keep_the_ids_of_runs_made_before_them():
    # Every committed run's spec, read back, has the id it was stored under: the fields
    # added since (at the value those runs had) are not hashed.
    stored = sorted((ROOT / "reproduction" / "full" / "runs").glob("*.config.json"))
    assert len(stored) > 100
    for path in stored:
        spec = RunSpec.from_dict(json.loads(path.read_text())["spec"])
        assert path.name == spec.run_id + ".config.json"
    spec = RunSpec(preset="udacity", overrides={"steps": 30}, eval_train_epochs=1.0)
    for later in ({"minibatch": True}, {"eval_train_every": False}):
        assert replace(spec, **later).run_id != spec.run_id
        with pytest.raises(ValueError, match="eval_train_epochs"):
            replace(spec, eval_train_epochs=None, **later)


def test_presets_and_claim_ids_are_checked_in_one_place():
    quick = claims("quick")
    assert [c.id for c in quick] == list(range(1, 14))
    assert {s.source for c in quick for s in c.runs if s.kind == "train"} == {"embedded"}
    assert {s.source for c in claims("full") for s in c.runs if s.kind == "train"} == {"auto"}
    assert [c.id for c in claims("tiny", ids=[9, 3])] == [3, 9]
    with pytest.raises(ValueError, match="Received: claims=14"):
        select(quick, [1, 14])
    with pytest.raises(ValueError, match="Received: claims=14"):
        claims("tiny", ids=[14])
    with pytest.raises(ValueError, match="Received: preset='huge'"):
        claims("huge")
    with pytest.raises(ValueError, match="Received: seeds=0"):
        claims("tiny", seeds=0)


# --- the runner ---------------------------------------------------------------------------

TINY = replace(PRESETS["tiny"], seeds_cap=1, udacity_steps=10, udacity_log_every=5,
               regression_steps=128, tuned=False, cost_invocations=1)


def _strip(payload):
    """results.json without what may differ between equal reproductions."""
    return {k: v for k, v in payload.items() if k not in ("timing", "environment", "command")}


def _results(out):
    return _strip(json.loads((Path(out) / "results.json").read_text()))


def _unique(ids, sizes=TINY):
    return {s.run_id for c in claims(sizes=sizes, ids=ids) for s in (*c.runs, *c.tuning)}


@pytest.mark.slow
def test_reproduce_end_to_end_then_resume_only_what_is_missing(tmp_path):
    # Claim 10 trains by steps (the course network) and by epochs (the deep MLP);
    # claim 9 fits a regression and a logistic regression.
    out, lines = tmp_path / "repro", []
    n = len(_unique([9, 10]))
    assert reproduce("tiny", out, claim_ids=[10, 9], sizes=TINY, verbose=0,
                     progress=lines.append) == 0
    first = _results(out)
    assert [c["id"] for c in first["claims"]] == [9, 10]
    assert all(v["verdict"] in OUTCOMES for c in first["claims"] for v in c["verdicts"].values())
    report = (out / "report.md").read_text()
    assert "**as run:" in report and "How the verdict moves when a rule moves" in report
    assert (out / "figures" / "claim10.png").stat().st_size > 0
    assert (out / "figures" / "forest.png").stat().st_size > 0
    assert lines[0].startswith(f"{n} runs: 0 reused from earlier invocations, {n} to run")
    assert any(line.startswith(f"[run {n}/{n}]") and "ETA" in line for line in lines)
    assert any(line.startswith("report: ") and "figures: " in line for line in lines)
    results = [p for p in (out / "runs").glob("*.json") if not p.name.endswith(".config.json")]
    assert len(results) == n
    assert all(json.loads(p.read_text())["timing"]["cpu_seconds"] > 0 for p in results)
    assert re.search(r"CPU time summed over the (\d+) of \1 runs that record it", report)

    # Nothing to do: every run is reused and the results are the same.
    lines.clear()
    reproduce("tiny", out, claim_ids=[9, 10], sizes=TINY, verbose=0, progress=lines.append)
    assert lines[0].startswith(f"{n} runs: {n} reused from earlier invocations, 0 to run")
    assert _results(out) == first

    # One result deleted and one truncated (a partial write): only those two run again.
    deleted = next(p for p in results if "udacity-sigmoid" in p.name)
    truncated = next(p for p in results if "regression-linear" in p.name)
    deleted.unlink()
    truncated.write_text(truncated.read_text()[:200])
    lines.clear()
    reproduce("tiny", out, claim_ids=[9, 10], sizes=TINY, verbose=0, progress=lines.append)
    assert lines[0].startswith(f"{n} runs: {n - 2} reused from earlier invocations, 2 to run")
    assert any("unreadable result file" in line for line in lines)
    assert _results(out) == first


def test_a_run_that_skips_the_final_training_split_records_the_rest_unchanged(tmp_path):
    base = RunSpec(claim=0, label="ok", activation="relu", preset="mlp", dataset="fashion_mnist",
                   subset=(256, 64, 64), overrides={"units": 8, "depth": 1, "epochs": 1},
                   monitors=("dead",))
    lean = replace(base, final_train=False)
    diverging = replace(lean, label="nan", overrides={"units": 8, "depth": 1, "epochs": 2,
                                                      "learning_rate": 1e30})
    assert lean.run_id != base.run_id  # another record, so another run
    results = run_specs([base, lean, diverging], tmp_path, verbose=0)
    full, short = results[base.run_id], results[lean.run_id]
    assert full["status"] == short["status"] == "ok"
    assert set(full["metrics"]) - set(short["metrics"]) == {"train_loss", "train_accuracy"}
    assert short["metrics"] == {k: v for k, v in full["metrics"].items()
                                if not k.startswith("train_")}
    assert short["history"] == full["history"] and short["monitors"] == full["monitors"]
    assert results[diverging.run_id]["status"] == "diverged"


@pytest.mark.slow
def test_failed_and_diverged_runs_are_recorded_and_the_rest_goes_on(tmp_path):
    base = RunSpec(claim=0, label="ok", activation="relu", preset="mlp", dataset="fashion_mnist",
                   subset=(256, 64, 64), overrides={"units": 8, "depth": 1, "epochs": 1})
    failing = replace(base, label="bad", overrides={"units": 8, "depth": 1, "epochs": 1,
                                                    "initializer": "no_such_initializer"})
    diverging = replace(base, label="nan", overrides={"units": 8, "depth": 1, "epochs": 2,
                                                      "learning_rate": 1e30})
    lines = []
    results = run_specs([failing, diverging, base], tmp_path, verbose=0, progress=lines.append)
    assert [r["status"] for r in results.values()] == ["failed", "diverged", "ok"]
    assert "no_such_initializer" in results[failing.run_id]["error"]
    assert any(line.strip().startswith("failed: ValueError") for line in lines)
    # A failed run is not finished: the next call tries it again; the others are kept.
    again = []
    run_specs([failing, diverging, base], tmp_path, verbose=0, progress=again.append)
    assert again[0].startswith("3 runs: 2 reused from earlier invocations, 1 to run")


SINE = RunSpec(label="x", kind="regression", activation="relu", dataset="sin", source="generated",
               overrides={"steps": 8, "points": 16, "log_every": 4})


def test_a_run_made_under_other_rules_is_refused_unless_asked(tmp_path):
    from actkeras.experiments.runner import StaleRuns

    old = {"actkeras": "0.3.0", "protocol": {"9": "aaaa"}, "data": None}
    new = {"actkeras": "0.3.0", "protocol": {"9": "bbbb"}, "data": None}
    quiet = {"verbose": 0, "progress": lambda line: None}
    first = run_specs([SINE], tmp_path, provenance=lambda spec: old, **quiet)[SINE.run_id]
    assert first["provenance"]["protocol"] == {"9": "aaaa"}
    with pytest.raises(StaleRuns, match=f"{SINE.run_id}: made under claim 9's protocol aaaa, "
                                        "now bbbb.*--rerun-stale.*--reuse-stale"):
        run_specs([SINE], tmp_path, provenance=lambda spec: new, **quiet)
    reused = run_specs([SINE], tmp_path, provenance=lambda spec: new, stale="reuse", **quiet)
    assert "protocol aaaa" in reused[SINE.run_id]["stale"]
    assert reused[SINE.run_id]["timing"] == first["timing"]  # not run again
    rerun = run_specs([SINE], tmp_path, provenance=lambda spec: new, stale="rerun", **quiet)
    assert rerun[SINE.run_id]["provenance"]["protocol"] == {"9": "bbbb"}
    assert rerun[SINE.run_id]["timing"] != first["timing"]
    other_version = {**new, "actkeras": "0.2.0"}
    with pytest.raises(StaleRuns, match="made by actkeras 0.3.0, this is 0.2.0"):
        run_specs([SINE], tmp_path, provenance=lambda spec: other_version, **quiet)
    # The backend a run was made on is recorded, and another backend's run is not this one's.
    ran_on, other = keras_backend(), {"tensorflow": "jax", "jax": "tensorflow"}[keras_backend()]
    assert rerun[SINE.run_id]["provenance"]["backend"] == ran_on
    with pytest.raises(StaleRuns, match=f"made on Keras's {ran_on} backend, this is {other}"):
        run_specs([SINE], tmp_path, provenance=lambda spec: {**new, "backend": other}, **quiet)


def test_a_run_records_the_code_that_made_it_and_the_report_counts_the_versions(tmp_path, monkeypatch):
    import actkeras
    from actkeras.experiments import runner
    from actkeras.experiments.report import code_versions

    quiet = {"verbose": 0, "progress": lambda line: None}
    mark = {"actkeras": "0.3.0", "protocol": {}, "data": None}
    first = run_specs([SINE], tmp_path / "out", provenance=lambda spec: mark, **quiet)[SINE.run_id]
    made_by = first["provenance"]["code"]
    assert made_by == runner.code_digest() and len(made_by) == 12
    # Other code is counted, not a reason to rerun: the run is reused as it is.
    monkeypatch.setattr(runner, "_CODE_DIGEST", ["0123456789ab"])
    again = run_specs([SINE], tmp_path / "out", provenance=lambda spec: mark, **quiet)[SINE.run_id]
    assert again["timing"] == first["timing"] and not again.get("stale")
    counted = code_versions({SINE.run_id: again, "older": {"provenance": {"actkeras": "0.3.0"}}},
                            [SINE.run_id, "older"])
    assert counted == {"report": "0123456789ab", "runs": {made_by: 1, "not recorded": 1}}
    # The digest follows every .py file of the package, and nothing else.
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("x = 1\n")
    monkeypatch.setattr(actkeras, "__file__", str(package / "__init__.py"))

    def digest():
        monkeypatch.setattr(runner, "_CODE_DIGEST", [])
        return runner.code_digest()

    before = digest()
    (package / "notes.txt").write_text("not code")
    assert digest() == before
    (package / "a.py").write_text("x = 2\n")
    assert digest() != before


def keras_backend():
    import keras

    return keras.backend.backend()


def test_each_backend_has_its_own_folder_and_never_reuses_the_others(tmp_path):
    from actkeras.errors import UserError
    from actkeras.experiments.folder import default_out, prepare

    assert default_out("quick", backend="tensorflow") == Path("reproduction/quick")
    assert default_out("quick", [3], backend="jax") == Path("reproduction/quick-jax-claims-3")
    out = tmp_path / "tf"
    prepare(out, "tiny", 4, backend="tensorflow")
    assert json.loads((out / "manifest.json").read_text())["backend"] == "tensorflow"
    with pytest.raises(UserError, match="holds a reproduction on Keras's tensorflow backend, not "
                                        "jax: .*--out \\(the default is reproduction/tiny-jax\\)"):
        prepare(out, "tiny", 4, backend="jax")
    # A folder from before the manifest named its backend: its runs say which.
    legacy = tmp_path / "legacy"
    (legacy / "runs").mkdir(parents=True)
    (legacy / "manifest.json").write_text(json.dumps({"tool": "actkeras reproduce",
                                                      "preset": "tiny", "result_format": 4}))
    (legacy / "runs" / "train-x.json").write_text(json.dumps({"timing": {"backend": "jax"}}))
    with pytest.raises(UserError, match="on Keras's jax backend, not tensorflow"):
        prepare(legacy, "tiny", 4, backend="tensorflow")
    prepare(legacy, "tiny", 4, backend="jax")


@pytest.mark.slow
def test_cli_backend_runs_in_a_process_of_that_backend_and_keeps_its_own_folder(tmp_path, capsys):
    """`reproduce --backend OTHER` from a process whose Keras runs this backend: a fresh
    process runs it, every run records OTHER, and this backend's run is refused there."""
    import importlib.util

    from actkeras.cli import main

    other = {"tensorflow": "jax", "jax": "tensorflow"}[keras_backend()]
    if importlib.util.find_spec(other) is None:
        pytest.skip(f"{other} is not installed here")
    out = tmp_path / "other"
    argv = ["reproduce", "--preset", "tiny", "--claims", "9", "--quiet", "--out", str(out)]
    assert main([*argv, "--backend", other]) == 0
    printed = capsys.readouterr().out
    assert f"[{other}] running in a new process" in printed and f"[{other}] report: " in printed
    assert json.loads((out / "manifest.json").read_text())["backend"] == other
    results = [json.loads(p.read_text()) for p in (out / "runs").glob("*.json")
               if not p.name.endswith(".config.json")]
    assert results and {r["provenance"]["backend"] for r in results} == {other}
    assert json.loads((out / "results.json").read_text())["environment"]["backend"] == other
    assert main([*argv, "--backend", keras_backend()]) == 1
    err = capsys.readouterr().err
    assert f"holds a reproduction on Keras's {other} backend, not {keras_backend()}" in err


def test_a_backend_other_than_the_loaded_one_is_refused_before_any_work(tmp_path):
    import importlib.util

    other = {"tensorflow": "jax", "jax": "tensorflow"}[keras_backend()]
    said = (f"this process's Keras runs the {keras_backend()} .*actkeras reproduce --backend "
            f"{other}" if importlib.util.find_spec(other) else f"{other} is not installed")
    with pytest.raises(ValueError, match=f"{said}.*Received: backend='{other}'"):
        reproduce("tiny", tmp_path / "out", claim_ids=[9], sizes=TINY, backend=other)
    with pytest.raises(ValueError, match="Received: backend='torch'"):
        reproduce("tiny", tmp_path / "out", claim_ids=[9], sizes=TINY, backend="torch")
    assert not (tmp_path / "out").exists()


def test_a_protocol_naming_an_unknown_metric_stops_before_any_run(tmp_path, monkeypatch):
    from actkeras.experiments.claims import c09_linear
    from actkeras.experiments.protocol import ProtocolError

    bad = replace(c09_linear.PROTOCOL, parts=(replace(c09_linear.PROTOCOL.parts[0],
                                                      metric="val_acc"),))
    monkeypatch.setattr(c09_linear, "PROTOCOL", bad)
    with pytest.raises(ProtocolError, match="claim 9, part \\(a\\).*Received: metric='val_acc'"):
        reproduce("tiny", tmp_path / "out", claim_ids=[9], sizes=TINY, verbose=0,
                  progress=lambda line: None)
    assert not (tmp_path / "out").exists()


def test_a_subset_goes_to_its_own_folder_and_never_replaces_a_report(tmp_path):
    from actkeras.errors import UserError
    from actkeras.experiments.folder import default_out, prepare

    assert default_out("quick") == Path("reproduction/quick")
    assert default_out("quick", [9, 3], 2) == Path("reproduction/quick-claims-3-9-seeds-2")
    out = tmp_path / "quick"
    prepare(out, "quick", 4)
    (out / "report.md").write_text("the ten claims")
    with pytest.raises(UserError, match="holds the report of every claim with the preset's "
                                        "seeds; this run \\(claims 3, 9 with 2 seeds per arm\\) "
                                        "would replace it.*--out.*--overwrite"):
        prepare(out, "quick", 4, selection={"claims": [3, 9], "seeds": 2})
    prepare(out, "quick", 4, selection={"claims": [3, 9], "seeds": 2}, overwrite=True)
    assert (out / "report.md").read_text() == "the ten claims"  # only the run replaces it


def test_read_result_trusts_only_complete_results_of_the_same_run(tmp_path):
    spec = SINE
    other = replace(spec, seed=1)
    path = result_path(tmp_path, spec)
    assert read_result(path, spec) == (None, "not run yet")
    run_specs([spec], tmp_path, verbose=0, progress=lambda line: None)
    result, why = read_result(path, spec)
    assert why is None and result["status"] == "ok"
    text = path.read_text()
    for broken in (text[: len(text) // 2], "", "[]", text.replace('"ok"', '"running"')):
        path.write_text(broken)
        assert read_result(path, spec)[0] is None
    path.write_text(text)
    assert read_result(path, other)[1] == "result of another run"


def test_update_readme_between_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{SUMMARY_START}\nold\n{SUMMARY_END}\nrest\n")
    with pytest.raises(ValueError, match="not written by actkeras reproduce"):
        update_readme(readme, "| # | claim |\n", "full")  # a hand-made block: only if asked
    update_readme(readme, "| # | claim |\n", "full", replace=True)
    text = readme.read_text()
    assert "old" not in text and "| # | claim |" in text and text.endswith("rest\n")
    readme.write_text("no markers")
    with pytest.raises(ValueError, match="summary markers"):
        update_readme(readme, "x", "full")


def test_cli_rejects_an_unknown_claim(capsys):
    from actkeras.cli import main

    # Refused while parsing the arguments: a usage error (exit 2), before anything runs.
    errors = {}
    for bad in ("1,42", "x", ","):
        assert main(["reproduce", "--preset", "tiny", "--claims", bad, "--out", "/nonexistent/x"]) == 2
        errors[bad] = " ".join(capsys.readouterr().err.split())
        assert errors[bad].count("actkeras reproduce: error:") == 1
    assert "Valid claims: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13. Received: claims=42" in errors["1,42"]
    assert "Received: --claims ," in errors[","]
    assert "numbers separated by commas" in errors["x"]


# --- killed mid-way -------------------------------------------------------------------------

# Run in the killed processes: `actkeras reproduce`, with `actkeras.atomic`'s `os` wrapped
# so that the process SIGKILLs itself at an exact point of the N-th write of a file:
# "half" (half the bytes in the temporary file), "before-rename" (the temporary file
# complete, not yet renamed over the result) or "after-rename" (just committed).
KILLER = """
import os, signal, sys
from actkeras import atomic

target, nth, how = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seen = []

def final(name):
    base = os.path.basename(name)[1:]  # .<name>.<random>.tmp
    return os.path.join(os.path.dirname(name), base.rsplit(".", 2)[0])

def matches(path):
    base = os.path.basename(path)
    if target == "result":
        return os.sep + "runs" + os.sep in path and base.endswith(".json") and ".config." not in base
    return base == target

class Os:
    def __getattr__(self, name):
        return getattr(os, name)

    def fsync(self, fd):
        name = final(os.readlink(f"/proc/self/fd/{fd}"))
        if matches(name):
            seen.append(name)
            if len(seen) == nth and how == "half":
                os.ftruncate(fd, os.fstat(fd).st_size // 2)
                os.kill(os.getpid(), signal.SIGKILL)
        return os.fsync(fd)

    def replace(self, src, dst):
        if matches(str(dst)) and len(seen) == nth and how == "before-rename":
            os.kill(os.getpid(), signal.SIGKILL)
        os.replace(src, dst)
        if matches(str(dst)) and len(seen) == nth and how == "after-rename":
            os.kill(os.getpid(), signal.SIGKILL)

atomic.os = Os()
from actkeras.cli import main
sys.exit(main(sys.argv[4:]))
"""


def _cli(out, *extra, kill=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT), ACTKERAS_NO_DOWNLOAD="1",
               TF_CPP_MIN_LOG_LEVEL="3")
    args = ["reproduce", "--preset", "tiny", "--claims", "9", "--quiet", "--out", str(out), *extra]
    command = [sys.executable, "-m", "actkeras", *args] if kill is None else \
        [sys.executable, "-c", KILLER, *map(str, kill), *args]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _finish(process, timeout=240, code=0):
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == code, output
    return output


def _finished(out):
    return sorted(p.name for p in (Path(out) / "runs").glob("*.json")
                  if not p.name.endswith(".config.json"))


def _assert_no_partial_file_is_visible(out):
    """Every result and report file that exists is complete JSON; what a kill cut short
    is only ever a hidden temporary file."""
    for path in [*(Path(out) / "runs").glob("*.json"), *Path(out).glob("*.json")]:
        json.loads(path.read_text())


@pytest.mark.slow
def test_sigkill_at_several_points_then_restart_gives_the_uninterrupted_results(tmp_path):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    uninterrupted = _cli(reference)

    # 1. From outside, at whatever point the first result has just appeared.
    process = _cli(killed)
    deadline = time.time() + 180
    while time.time() < deadline and process.poll() is None and not _finished(killed):
        time.sleep(0.1)
    assert process.poll() is None, "the reproduction finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    counts = [len(_finished(killed))]
    assert counts[0] >= 1 and not (killed / "results.json").exists()
    _assert_no_partial_file_is_visible(killed)
    # A partial file where the next result goes (not written through `atomic`): the
    # next process must not trust it.
    pending = [s for c in claims("tiny", ids=[9]) for s in c.runs
               if not result_path(killed, s).exists()]
    result_path(killed, pending[0]).write_text('{"format": 2, "status": "ok", "run_id": "')

    # 2-4. From inside, during a result write (half written; complete but not renamed),
    # and while results.json is half written (every run finished by then).
    outputs = []
    for kill in [("result", 2, "half"), ("result", 1, "before-rename"),
                 ("results.json", 1, "half")]:
        outputs.append(_finish(_cli(killed, kill=kill), code=-signal.SIGKILL))
        assert list(killed.rglob(".*.tmp")), outputs[-1]
        _assert_no_partial_file_is_visible(killed)
        counts.append(len(_finished(killed)))
    assert "unreadable result file" in outputs[0]
    assert counts[1] == counts[0] + 1 and counts[2] == counts[1], counts
    assert list(killed.glob(".results.json.*.tmp")) and not (killed / "results.json").exists()

    output = _finish(_cli(killed))
    assert "removed 1 partial files" in output and "0 to run" in output
    assert not list(killed.rglob(".*.tmp"))
    _finish(uninterrupted)
    assert _results(killed) == _results(reference)


def test_a_data_folder_without_the_data_is_one_error_before_the_folder_is_touched(tmp_path):
    """An empty data folder ran every run of the claims (each failing with the same
    message) and wrote a report of failures; with `force` it replaced finished runs."""
    from actkeras.data import DataError

    empty, out = tmp_path / "empty", tmp_path / "out"
    empty.mkdir()
    with pytest.raises(DataError, match=r"The fashion_mnist data was not found"):
        reproduce("full", out, claim_ids=[3], data_dir=empty, verbose=0,
                  progress=lambda line: None)
    assert not out.exists()


def test_a_failed_run_makes_the_exit_code_1_and_the_report_says_why(tmp_path, monkeypatch):
    import actkeras.experiments.claims as registry

    broken = claims("tiny", ids=[9])[0]
    bad = replace(broken.runs[0], activation="no_such_activation")
    monkeypatch.setattr(registry, "claims",
                        lambda *a, **k: [replace(broken, runs=(bad,), tuning=())])
    assert reproduce("tiny", tmp_path, verbose=0, progress=lambda line: None) == 1
    report = (tmp_path / "report.md").read_text()
    assert "failed: ValueError: Unknown activation" in report
    assert json.loads((tmp_path / "results.json").read_text())["claims"][0]["runs"][0]["status"] == "failed"


def _rounded(value):
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return float(f"{value:.10g}") if isinstance(value, float) else value


@pytest.mark.slow
def test_jobs_run_in_worker_processes_with_the_results_of_one_process(tmp_path):
    """`jobs=2`: the training and regression runs are shared by two spawned processes
    (one CPU thread each here), the cost run is timed afterwards in this process, and
    every trained number equals a one-process reproduction's."""
    one, two, lines = tmp_path / "one", tmp_path / "two", []
    assert reproduce("tiny", one, claim_ids=[9, 10], sizes=TINY, verbose=0,
                     progress=lambda _: None) == 0
    assert reproduce("tiny", two, claim_ids=[8, 9, 10], sizes=TINY, verbose=0,
                     progress=lines.append, jobs=2) == 0
    n = len(_unique([9, 10]))
    assert lines[0].startswith(f"{n} runs for 2 worker processes")
    done = [line for line in lines if line.startswith("[") and f"/{n}] claim" in line]
    assert len(done) == n and all(": ok in " in line for line in done)
    assert f"{n} runs: {n} run by this invocation's workers, 0 reused" in lines[n + 1]
    assert any(line.startswith("timings: 1 runs, each in a process of its own") for line in lines)
    parallel = {c["id"]: c for c in _results(two)["claims"]}
    sequential = _results(one)["claims"]
    # Equal to float rounding: another thread count may sum a reduction in another order.
    assert _rounded([parallel[c["id"]] for c in sequential]) == _rounded(sequential)
    report = (two / "report.md").read_text()
    assert f"{n + 1} runs executed, 0 reused" in report
    with pytest.raises(ValueError, match="Received: jobs=0"):
        reproduce("tiny", tmp_path / "three", claim_ids=[9], sizes=TINY, jobs=0)


@pytest.mark.slow
def test_a_worker_killed_mid_way_costs_only_its_run(tmp_path):
    """SIGKILL one of two workers once the first result is written: the reproduction
    still finishes, in this process, with every result and the same numbers."""
    import multiprocessing
    import threading

    one, two, lines = tmp_path / "one", tmp_path / "two", []
    reproduce("tiny", one, claim_ids=[9, 10], sizes=TINY, verbose=0, progress=lambda _: None)

    def kill_a_worker():
        deadline = time.time() + 120
        while time.time() < deadline and not _finished(two):
            time.sleep(0.05)
        workers = multiprocessing.active_children()
        if workers:
            os.kill(workers[0].pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    assert reproduce("tiny", two, claim_ids=[9, 10], sizes=TINY, verbose=0,
                     progress=lines.append, jobs=2) == 0
    killer.join()
    assert any("a worker process died" in line for line in lines), lines
    # A new pool takes over (the other worker's run in progress starts again in it).
    assert any("start again in new worker processes" in line for line in lines), lines
    assert not any("run in this process" in line for line in lines), lines
    assert len(_finished(two)) == len(_unique([9, 10]))
    assert _rounded(_results(two)["claims"]) == _rounded(_results(one)["claims"])


# --- the report -----------------------------------------------------------------------------

def test_a_claim_whose_analysis_raises_is_reported_and_the_rest_is_written(tmp_path, monkeypatch):
    from actkeras.experiments import report
    from actkeras.experiments.claims import module

    chosen = select(claims("tiny"), [1, 9])
    broken = module(9)

    def boom(claim, results):
        raise KeyError("mse")

    monkeypatch.setattr(broken, "numbers", boom)
    payload = report.write_report(chosen, {}, tmp_path, preset="tiny", wall_seconds=1.0,
                                  executed=set())
    verdicts = {c["id"]: c["verdicts"]["as run"] for c in payload["claims"]}
    assert verdicts[9]["verdict"] == "could not be judged"
    assert "KeyError" in verdicts[9]["findings"][0]
    # An empty result set is judged, not skipped: undecided, with the reason.
    assert verdicts[1]["verdict"] == "undecided"
    text = (tmp_path / "report.md").read_text()
    assert "## Claim 1:" in text and "## Claim 9:" in text
    assert "**Could not be judged**: KeyError" in text
    assert "runs have no result yet" in text
    # A smaller preset does not give the full preset's reasons as if they were its own.
    assert "The protocol's sizes below are the full preset's" in text
    assert "train window epochs = 1.92: the course's own budget" in text


def test_the_other_backends_verdicts_join_the_sensitivity_tables(tmp_path):
    from actkeras.experiments import report
    from actkeras.experiments.rules import protocol

    chosen = select(claims("tiny"), [1, 9])
    held = {"as run": {"verdict": "reproduced", "parts": [{"key": "a", "outcome": "holds"}]}}
    other = {"folder": "tiny-jax", "backend": "jax",
             "claims": {1: {"protocol_hash": protocol(1).hash(), "verdicts": held},
                        9: {"protocol_hash": "older", "verdicts": held}}}
    payload = report.write_report(chosen, {}, tmp_path, preset="tiny", wall_seconds=1.0,
                                  executed=set(), other=other)
    first, ninth = payload["claims"]
    assert first["sensitivity"][-1]["variant"] == "on the jax backend"
    assert any(f.startswith("on the jax backend") for f in first["fragile"])
    assert not any("jax" in f for f in ninth["fragile"]) and "older" in ninth["backend_note"]
    assert payload["compared_with"] == {"folder": "tiny-jax", "backend": "jax"}
    text = (tmp_path / "report.md").read_text()
    assert "Compared with the jax backend's reproduction `tiny-jax`" in text
    assert "| on the jax backend | as run |" in text
    assert "**fragile**: " in (tmp_path / "summary.md").read_text()


def test_cli_stale_options_are_exclusive_and_the_refusals_name_their_flags(tmp_path, capsys):
    from actkeras.cli import main

    assert main(["reproduce", "--preset", "tiny", "--reuse-stale", "--rerun-stale"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    out = tmp_path / "tiny"
    from actkeras.experiments.folder import prepare

    prepare(out, "tiny", 4)
    (out / "report.md").write_text("every claim")
    assert main(["reproduce", "--preset", "tiny", "--claims", "9", "--out", str(out)]) == 1
    err = " ".join(capsys.readouterr().err.split())
    assert err.count("actkeras reproduce: error:") == 1 and "--overwrite" in err
    assert (out / "report.md").read_text() == "every claim"


def test_the_wall_time_of_runs_made_by_two_invocations_leaves_out_the_gap_between_them():
    # Each run's `invocation` marks that one execution (compare's copy check), so the gap is
    # found from the runs' own intervals.
    from actkeras.experiments.report import (
        _environment_markdown, busy_seconds, cpu_seconds, run_seconds_by_claim, run_span,
    )

    def run(claim, invocation, start, seconds):
        return {"spec": {"claim": claim}, "timing": {"invocation": invocation, "seconds": seconds,
                                                     "started": f"2026-12-06T{start}+00:00"}}
    # Two workers in the first invocation (overlapping runs), a second invocation hours later.
    results = {"a": run(2, "x", "01:00:00", 100), "b": run(2, "x", "01:00:50", 100),
               "c": run(1, "x", "01:02:30", 30), "d": run(1, "y", "05:00:00", 60),
               "e": {"spec": {"claim": 3}, "timing": {"seconds": 5}}}  # no start recorded
    ids = set(results)
    assert run_span(results, ids) == pytest.approx(4 * 3600 + 60)
    assert busy_seconds(results, ids) == pytest.approx(150 + 30 + 60)  # 01:00:00-01:02:30, 30 s, 60 s
    assert run_seconds_by_claim(results, ids) == {2: 200, 1: 90, 3: 5}
    assert busy_seconds(results, {"e"}) is None and run_span(results, {"e"}) is None
    env = {"processor": "cpu", "cpu_count": 2, "accelerators": [], "platform": "linux",
           "backend": "tensorflow", "python": "3.11", "versions": {}}
    timing = {"wall_seconds": 10, "executed": 0, "reused": 5, "run_seconds": 295,
              "span_seconds": run_span(results, ids),
              "busy_seconds": busy_seconds(results, ids),
              "run_seconds_by_claim": run_seconds_by_claim(results, ids)}
    text = _environment_markdown(env, timing)
    # The machine is this invocation's, which made none of these runs: the line says so.
    assert text.startswith("- Machine of this invocation: cpu, 2 CPU cores, accelerators: none; "
                           "linux (0 of the 5 runs made here; the others by earlier "
                           "invocations, whose machines the runs do not record)\n")
    assert "runs made here" not in _environment_markdown(env, {**timing, "executed": 5,
                                                               "reused": 0})
    assert "some run was running during 4:00 of wall time" in text
    assert "first start to last finish: 4:01:00, the gaps between invocations included" in text
    assert "Run time by claim, largest first: claim 2 3:20, claim 1 1:30, claim 3 0:05" in text
    assert "CPU time" not in text  # none of these runs records it
    results["a"]["timing"]["cpu_seconds"] = 80.0
    results["d"]["timing"]["cpu_seconds"] = 55.5
    timing["cpu_seconds"] = cpu_seconds(results, ids)
    assert timing["cpu_seconds"] == (135.5, 2)
    assert "CPU time summed over the 2 of 5 runs that record it: 2:16" in _environment_markdown(env, timing)
    timing.update(span_seconds=150, busy_seconds=150)
    assert "the runs spanned 2:30 of wall time, first start to last finish" in _environment_markdown(env, timing)
