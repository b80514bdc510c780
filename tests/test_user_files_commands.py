"""The user's files are never replaced by `bench`, `export` or `tune`, and their bad
arguments are refused in one line, exit 2, before any work (before Keras loads)."""

import dataclasses
import json

import pytest

from actkeras import ownership
from actkeras.cli import main
from actkeras.commands import bench, common, tune

BENCH = ["bench", "--source", "embedded", "--steps", "10", "--rounds", "1", "--cost-rounds", "0",
         "--mlp-rounds", "0", "--presets", "udacity", "--variants", "c"]
TUNE = ["tune", "--synthetic", "300", "--steps", "2", "--quiet", "--activations", "relu",
        "--max-trials", "1"]


@pytest.fixture
def no_work(monkeypatch):
    """Fails the test if a command gets past its checks to `run` (where the work is)."""
    for module in (bench, tune):
        monkeypatch.setattr(module, "run", lambda args: pytest.fail("the work began"))
    from actkeras.commands import export, train

    for module in (export, train):
        monkeypatch.setattr(module, "run", lambda args: pytest.fail("the work began"))


def _refused(argv, capsys, *words):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    for word in words:
        assert word in err, err
    return err


# --- bench -------------------------------------------------------------------------------

def test_bench_refuses_files_it_did_not_write(tmp_path, capsys, no_work):
    mine, data = tmp_path / "myreadme.md", tmp_path / "mydata.json"
    mine.write_text("my notes\n")
    data.write_text('{"a": 1}\n')
    _refused([*BENCH, "--write", str(mine)], capsys, "bench did not write it", "--overwrite")
    _refused([*BENCH, "--json", str(data)], capsys, "bench did not write it")
    _refused([*BENCH, "--write", str(tmp_path)], capsys, "is a folder")
    assert mine.read_text() == "my notes\n" and data.read_text() == '{"a": 1}\n'


def test_bench_knows_its_own_files(tmp_path):
    md, js = tmp_path / "B.md", tmp_path / "B.json"
    md.write_text("# Benchmarks\n\nWritten by `actkeras bench --write B.md`; regenerate it\n")
    js.write_text(json.dumps({"written_by": "actkeras bench", "runs": []}))
    assert ownership.bench_state(md, "markdown") == "ours"
    assert ownership.bench_state(js, "json") == "ours"
    js.write_text(json.dumps({"runs": [{"environment": {}}]}))  # before the marker
    assert ownership.bench_state(js, "json") == "ours"
    js.write_text(json.dumps({"runs": [{"environment": {}}], "mine": 1}))
    assert ownership.bench_state(js, "json") == "other"


def test_bench_overwrite_lets_the_work_begin(tmp_path, monkeypatch):
    mine = tmp_path / "myreadme.md"
    mine.write_text("my notes\n")
    ran = []
    monkeypatch.setattr(bench, "run", lambda args: ran.append(args) or 0)
    assert main([*BENCH, "--write", str(mine), "--overwrite"]) == 0
    assert ran


def test_bench_preset_train_too_small_is_refused_first(capsys, no_work):
    _refused([*BENCH[:-4], "--presets", "mlp", "--preset-train", "704"], capsys,
             "--preset-train must be at least 1280", "Received: --preset-train 704")


# --- export ------------------------------------------------------------------------------

def _fake_export(folder, extra=None):
    folder.mkdir(parents=True)
    (folder / "model.keras").write_bytes(b"old")
    (folder / "metadata.json").write_text(json.dumps({"format_version": 1, "files": {}}))
    for name, text in (extra or {}).items():
        (folder / name).write_text(text)


def _fake_run(folder):
    folder.mkdir()
    (folder / "model.keras").write_bytes(b"model")


def test_export_overwrite_never_deletes_a_folder_that_is_not_an_export(tmp_path, capsys, no_work):
    _fake_run(tmp_path / "real2")
    thesis = tmp_path / "scratch" / "thesis"
    thesis.mkdir(parents=True)
    (thesis / "ch1.tex").write_text("chapter one")
    _refused(["export", "--from", str(tmp_path / "real2"), "--name", "thesis", "--export-root",
              str(tmp_path / "scratch"), "--overwrite"], capsys, "not an actkeras export",
             "ch1.tex")
    assert (thesis / "ch1.tex").read_text() == "chapter one"


def test_export_overwrite_keeps_the_users_files_in_an_export(tmp_path):
    keras = pytest.importorskip("keras")
    from actkeras.export import export_model
    from actkeras.models import build_model

    _fake_export(tmp_path / "r", {"NOTES.md": "my notes"})
    (tmp_path / "r" / "extra").mkdir()
    (tmp_path / "r" / "extra" / "a.txt").write_text("a")
    model = build_model("relu", preset="mlp", units=4, depth=1)
    assert isinstance(model, keras.Model)
    export_model(model, "r", root=tmp_path, overwrite=True, serving=False)
    assert (tmp_path / "r" / "NOTES.md").read_text() == "my notes"
    assert (tmp_path / "r" / "extra" / "a.txt").read_text() == "a"
    assert (tmp_path / "r" / "model.keras").read_bytes() != b"old"
    with pytest.raises(ValueError, match="not an actkeras export"):
        (tmp_path / "mine").mkdir()
        (tmp_path / "mine" / "x").write_text("x")
        export_model(model, "mine", root=tmp_path, overwrite=True, serving=False)
    assert (tmp_path / "mine" / "x").read_text() == "x"


@pytest.mark.parametrize("name", ["../escape", ""])
def test_export_bad_name_is_a_usage_error_before_keras(tmp_path, capsys, no_work, name):
    _fake_run(tmp_path / "run")
    _refused(["export", "--from", str(tmp_path / "run"), "--name", name,
              "--export-root", str(tmp_path)], capsys, "--name must be a folder name")


def test_export_messages_say_what_is_there(tmp_path, capsys, no_work):
    afile = tmp_path / "afile"
    afile.write_text("x")
    _fake_run(tmp_path / "r3")
    _refused(["export", "--from", str(tmp_path / "r3"), "--export-root", str(afile)], capsys,
             "is a file, not a folder")
    _refused(["export", "--from", str(afile)], capsys, "is a file, not a run folder")
    diverged = tmp_path / "diverge"
    diverged.mkdir()
    (diverged / "config.json").write_text("{}")
    _refused(["export", "--from", str(diverged)], capsys, "diverged")
    _refused(["export", "--from", str(tmp_path / "nonexist")], capsys, "does not exist")
    _fake_export(tmp_path / "saved" / "r3")
    _refused(["export", "--from", str(tmp_path / "r3"), "--export-root", str(tmp_path / "saved")],
             capsys, "already exists", "--overwrite")


# --- tune --------------------------------------------------------------------------------

def test_tune_never_mixes_a_search_into_the_users_folder(tmp_path, capsys, no_work):
    for name, file in (("mydocs", "essay.txt"), ("myphotos", "holiday.jpg")):
        (tmp_path / name).mkdir()
        (tmp_path / name / file).write_text("mine")
    _refused([*TUNE, "--directory", str(tmp_path), "--project-name", "mydocs", "--no-export"],
             capsys, "holds no search", "essay.txt")
    _refused([*TUNE, "--directory", str(tmp_path), "--project-name", "myphotos", "--no-export",
              "--overwrite"], capsys, "holds no search", "holiday.jpg")
    assert sorted(p.name for p in (tmp_path / "myphotos").iterdir()) == ["holiday.jpg"]
    assert sorted(p.name for p in (tmp_path / "mydocs").iterdir()) == ["essay.txt"]


def test_tune_refuses_an_existing_export_before_the_search(tmp_path, capsys, no_work):
    _fake_export(tmp_path / "saved" / "tune-udacity-relu", {"NOTES.md": "mine"})
    _refused([*TUNE, "--directory", str(tmp_path / "t"), "--export-root", str(tmp_path / "saved")],
             capsys, "earlier export", "--export-overwrite")
    afile = tmp_path / "afile"
    afile.write_text("x")
    _refused([*TUNE, "--directory", str(tmp_path / "t"), "--export-root", str(afile)], capsys,
             "is a file")
    assert not (tmp_path / "t").exists()


def test_tune_overwrite_discards_only_the_searchs_files(tmp_path):
    pytest.importorskip("keras_tuner")
    from actkeras.tuning.search import check_project_dir, discard_search

    project = tmp_path / "p"
    (project / "trial_00").mkdir(parents=True)
    for name in ("oracle.json", "tuner0.json", "results.csv", "actkeras_search.json", "NOTES.md"):
        (project / name).write_text("{}")
    check_project_dir(project)  # a search: resumed or discarded, never refused
    discard_search(project)
    assert [p.name for p in project.iterdir()] == ["NOTES.md"]


@pytest.mark.parametrize("argv, words", [
    (["--tuner", "nope"], "Unknown tuner"),
    (["--initializers", "nope"], "Unknown initializer"),
    (["--objective", "nope"], "Unknown objective"),
    (["--train-samples", "0", "--source", "embedded"], "at least one training image"),
    (["--set", "nope=1"], "Unknown build_model override"),
    (["--set", "units"], "KEY=VALUE"),
])
def test_tune_usage_errors_before_keras(tmp_path, capsys, no_work, argv, words):
    base = ["tune", *TUNE[3:]] if "--train-samples" in argv else TUNE  # real data, not --synthetic
    _refused([*base, "--directory", str(tmp_path), "--no-export", *argv], capsys, words)


def test_tune_synthetic_of_one_batch_is_refused(tmp_path, capsys, no_work):
    argv = [a for a in TUNE if a != "300"]
    argv[argv.index("--synthetic") + 1:argv.index("--synthetic") + 1] = ["128"]
    _refused([*argv, "--directory", str(tmp_path), "--no-export"], capsys,
             "more images than one batch of 128", "Received: --synthetic 128")


def test_tune_directory_that_is_a_file(tmp_path, capsys, no_work):
    (tmp_path / "f").write_text("x")
    _refused([*TUNE, "--directory", str(tmp_path / "f"), "--no-export"], capsys, "is a file")


# --- train -------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, words", [
    (["--initializer", "nope"], "Unknown initializer"),
    (["--set", "nope=1"], "Unknown build_model override"),
    (["--set", "units"], "KEY=VALUE"),
])
def test_train_usage_errors_before_keras(tmp_path, capsys, no_work, argv, words):
    _refused(["train", "--out", str(tmp_path / "o"), *argv], capsys, words)


def test_a_misspelt_option_names_its_command(capsys):
    err = _refused(["train", "--activaton", "relu"], capsys, "--activaton")
    assert "actkeras train" in err


# --- the lists kept without Keras agree with the library ----------------------------------

def test_the_lists_known_without_keras_agree_with_the_library():
    pytest.importorskip("keras_tuner")
    from actkeras import bench_presets, models
    from actkeras.tuning import TUNERS

    assert set(common.INITIALIZERS) == set(models.INITIALIZERS)
    fields = [f.name for f in dataclasses.fields(models.ModelConfig)]
    assert set(common.OVERRIDES) == set(fields) - {"preset", "activation",
                                                   "activation_kwargs"} | {"units", "depth"}
    assert common.PRESET_BATCH == {p: v["batch_size"] for p, v in models.PRESETS.items()}
    assert common.BY_STEPS == {p: bool(v.get("steps")) for p, v in models.PRESETS.items()}
    assert set(tune.TUNERS) == set(TUNERS)
    assert bench.INNER == bench_presets.INNER
    assert set(models.METRICS) | {"loss"} <= set(tune.OBJECTIVES)


# --- $ACTKERAS_DATA_DIR ----------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["train", "--epochs", "1"], ["tune", "--max-trials", "1"],
                                  ["bench", "--presets", "udacity"]])
def test_a_bad_data_dir_variable_is_refused_before_any_work(tmp_path, capsys, monkeypatch,
                                                               no_work, argv):
    monkeypatch.setenv("ACTKERAS_DATA_DIR", str(tmp_path / "nowhere"))
    _refused(argv, capsys, "does not exist", "ACTKERAS_DATA_DIR=")
    (tmp_path / "a_file").write_text("not a folder")
    monkeypatch.setenv("ACTKERAS_DATA_DIR", str(tmp_path / "a_file"))
    _refused(argv, capsys, "is a file, not a folder")


def test_a_bad_data_dir_variable_does_not_stop_the_embedded_samples(monkeypatch, tmp_path):
    monkeypatch.setenv("ACTKERAS_DATA_DIR", str(tmp_path / "nowhere"))
    ran = []
    from actkeras.commands import train

    monkeypatch.setattr(train, "run", lambda args: ran.append(args) or 0)
    assert main(["train", "--source", "embedded", "--epochs", "1"]) == 0 and ran
