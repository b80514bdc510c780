"""Bad input, through the public API and the CLI: one clear message that names the fix.

One table, `CASES`. Each case builds what it needs in a temporary folder, then
  - calls the public API and expects an exception (or, for NaN loss, a warning)
    whose message holds the case's text, and
  - runs the same mistake through `actkeras` (where the CLI can express it) and
    expects one line on stderr holding the same text, no traceback, and exit code 2
    for a bad argument (usage error) or 1 for any other failure (`FAILURES`).
"""

import errno
import json
import os
import re
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from test_data import png, tiny_images, write_idx, write_tar

import actkeras
from actkeras import atomic
from actkeras.cli import main
from actkeras.data import load_dataset
from actkeras.errors import UserError
from actkeras.experiments import reproduce
from actkeras.experiments.claims import PRESETS
from actkeras.training import fit

TINY = PRESETS["tiny"]


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTKERAS_NO_DOWNLOAD", "1")
    monkeypatch.setenv("ACTKERAS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("ACTKERAS_DATA_DIR", raising=False)


def _images(n=64, shape=(28, 28), dtype="float32"):
    rng = np.random.default_rng(0)
    x = rng.random((n, *shape)).astype(dtype)
    y = (np.arange(n) % 10).astype("int32")
    return SimpleNamespace(x_train=x, y_train=y, x_valid=x[:8], y_valid=y[:8],
                           x_test=x[:0], y_test=y[:0])


def _small_model(**overrides):
    return actkeras.build_model("relu", preset="mlp", units=8, depth=1, steps=20,
                                batch_size=16, **overrides)


# --- builders of bad data folders --------------------------------------------------------

def _notmnist_archive(tmp, damage):
    good = write_tar(tmp / "good.tar.gz", {n: png(p) for n, p in tiny_images().items()})
    data = bytearray(good.read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[len(data) // 2] ^= 0xFF
    folder = tmp / "data"
    folder.mkdir()
    (folder / "notMNIST_small.tar.gz").write_bytes(bytes(data))
    return folder


def _fashion_files(tmp, damage):
    folder = tmp / "data"
    folder.mkdir()
    rng = np.random.default_rng(0)
    write_idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 28, 28)),
              **({"cut": 100} if damage == "truncated" else {}))
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(20) % 10,
              **({"magic": 2051} if damage == "corrupt" else {}))
    write_idx(folder / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (10, 28, 28)))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.arange(10))
    return folder


def _empty(tmp):
    (tmp / "data").mkdir()
    return tmp / "data"


def _manifest(tmp, **fields):
    out = tmp / "repro"
    (out / "runs").mkdir(parents=True)
    (out / "manifest.json").write_text(json.dumps(
        {"tool": "actkeras reproduce", "preset": "tiny", "result_format": 2, **fields}))
    return out


def _unrelated(tmp):
    out = tmp / "repro"
    out.mkdir()
    (out / "thesis.tex").write_text("not mine")
    return out


def _fail_writes(monkeypatch, code, text):
    """Every atomic write fails as a full or read-only disk would."""
    def refuse(*args, **kwargs):
        raise OSError(code, text)
    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)


def _a_file(tmp):
    (tmp / "notes.md").write_text("not a folder")
    return tmp / "notes.md"


def _read_only_exports(tmp, monkeypatch):
    """A trained run, and an export root on a read-only disk."""
    (tmp / "run").mkdir()
    _small_model().save(tmp / "run" / "model.keras")

    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")
    monkeypatch.setattr(atomic.tempfile, "mkdtemp", refuse)
    return tmp


def _reproduce(out):
    return reproduce("tiny", out, claim_ids=[9], sizes=TINY, verbose=0, progress=lambda _: None)


def _nan_fit():
    # A fixed seed: from some starts (1 in 8 seeds on JAX) every ReLU dies at the
    # first update and the loss stays finite, however large the learning rate.
    fit(_small_model(learning_rate=1e30, seed=0), _images(), verbose=0)


# --- the table ----------------------------------------------------------------------------
# name: (setup(tmp, monkeypatch) -> folder or None, api(folder), argv(folder) or None, text)

TRAIN = ["train", "--quiet", "--steps", "20"]

CASES = {
    "unknown activation": (
        None, lambda f: actkeras.build_model("relux"),
        lambda f: ["train", "--activation", "relux"], "Valid choices: relu"),
    "unknown preset": (
        None, lambda f: actkeras.build_model("relu", preset="vgg"),
        lambda f: ["train", "--preset", "vgg"], "Valid choices: udacity"),
    "activation argument out of range": (
        None, lambda f: actkeras.build_model("leaky_relu", activation_kwargs={"negative_slope": -1}),
        lambda f: ["train", "--activation", "leaky_relu:negative_slope=-1"], ">= 0"),
    "unknown activation argument": (
        None, lambda f: actkeras.build_model("elu", activation_kwargs={"beta": 1}),
        lambda f: ["train", "--activation", "elu:beta=1"], "accepts: alpha"),
    "activation argument not a number": (
        None, lambda f: actkeras.build_model("leaky_relu", activation_kwargs={"negative_slope": "x"}),
        lambda f: ["train", "--activation", "leaky_relu:negative_slope=x"], "must be a number"),
    "misspelt override": (
        None, lambda f: actkeras.build_model("relu", learning_rte=0.1),
        lambda f: ["train", "--set", "learning_rte=0.1"], "Valid overrides"),
    "training length not positive": (
        None, lambda f: actkeras.build_model("relu", steps=0),
        lambda f: ["train", "--steps", "0"], "steps"),
    "negative seed": (
        None, lambda f: actkeras.build_model("relu", seed=-1),
        lambda f: ["train", "--seed", "-1"], "seed"),
    "input of the wrong shape": (
        None, lambda f: fit(_small_model(), _images(shape=(32, 32)), verbose=0),
        lambda f: TRAIN + ["--preset", "mlp", "--source", "embedded", "--set", "input_shape=(32, 32)"],
        "but the model expects ("),
    "input of the wrong dtype": (
        None, lambda f: fit(_small_model(), _images(dtype="<U1"), verbose=0), None,
        "must be numbers"),
    "labels outside the classes": (
        None, lambda f: fit(_small_model(num_classes=5), _images(), verbose=0), None,
        "integer class indices from 0 to 4"),
    "data folder missing": (
        lambda tmp, mp: tmp / "nowhere", lambda f: load_dataset("notmnist", data_dir=f),
        lambda f: TRAIN + ["--data-dir", str(f)], "nowhere does not exist"),
    "data folder is a file": (
        lambda tmp, mp: _a_file(tmp), lambda f: load_dataset("notmnist", data_dir=f),
        lambda f: TRAIN + ["--data-dir", str(f)], "is a file, not a folder"),
    "data folder empty": (
        lambda tmp, mp: _empty(tmp), lambda f: load_dataset("notmnist", data_dir=f),
        lambda f: TRAIN + ["--data-dir", str(f)], "is the only place looked in"),
    "truncated archive": (
        lambda tmp, mp: _notmnist_archive(tmp, "truncated"),
        lambda f: load_dataset("notmnist", data_dir=f),
        lambda f: TRAIN + ["--data-dir", str(f)], "is truncated or corrupt"),
    "corrupt archive": (
        lambda tmp, mp: _notmnist_archive(tmp, "corrupt"),
        lambda f: load_dataset("notmnist", data_dir=f),
        lambda f: TRAIN + ["--data-dir", str(f)], "is truncated or corrupt"),
    "truncated IDX file": (
        lambda tmp, mp: _fashion_files(tmp, "truncated"),
        lambda f: load_dataset("fashion_mnist", data_dir=f),
        lambda f: TRAIN + ["--preset", "fashion_mlp", "--data-dir", str(f)], "truncated"),
    "corrupt IDX file": (
        lambda tmp, mp: _fashion_files(tmp, "corrupt"),
        lambda f: load_dataset("fashion_mnist", data_dir=f),
        lambda f: TRAIN + ["--preset", "fashion_mlp", "--data-dir", str(f)],
        "magic number 2051, not 2049"),
    "unwritable output folder": (
        lambda tmp, mp: _fail_writes(mp, errno.EACCES, "Permission denied") or tmp / "repro",
        _reproduce, lambda f: ["reproduce", "--preset", "tiny", "--claims", "9", "--out", str(f)],
        "choose a folder you can write to with --out"),
    "full output folder": (
        lambda tmp, mp: _fail_writes(mp, errno.ENOSPC, "No space left on device") or tmp / "repro",
        _reproduce, lambda f: ["reproduce", "--preset", "tiny", "--claims", "9", "--out", str(f)],
        "No space left on device): free some space"),
    "unwritable train folder": (
        lambda tmp, mp: _fail_writes(mp, errno.EROFS, "Read-only file system") or tmp / "run",
        None, lambda f: TRAIN + ["--source", "embedded", "--out", str(f)],
        "choose a folder you can write to with --out"),
    "read-only export root": (
        lambda tmp, mp: _read_only_exports(tmp, mp), None,
        lambda f: ["export", "--from", str(f / "run"), "--export-root", str(f / "exports")],
        "(Read-only file system): choose a folder you can write to with --export-root"),
    "results folder of another preset": (
        lambda tmp, mp: _manifest(tmp, preset="quick"), _reproduce,
        lambda f: ["reproduce", "--preset", "tiny", "--out", str(f)],
        "holds a reproduction of the 'quick' preset"),
    "results folder of another version": (
        lambda tmp, mp: _manifest(tmp, result_format=1, actkeras="0.0.1"), _reproduce,
        lambda f: ["reproduce", "--preset", "tiny", "--out", str(f)],
        "add --force to run every run again"),
    "output folder that is not a reproduction": (
        lambda tmp, mp: _unrelated(tmp), _reproduce,
        lambda f: ["reproduce", "--preset", "tiny", "--out", str(f)],
        "holds no reproduction"),
    "unknown claim": (
        None, lambda f: reproduce("tiny", claim_ids=[42]),
        lambda f: ["reproduce", "--preset", "tiny", "--claims", "1,42"], "Received: claims=42"),
    "NaN loss": (
        None, lambda f: _nan_fit(),
        lambda f: TRAIN + ["--preset", "mlp", "--source", "embedded", "--learning-rate", "1e30"],
        "Lower the learning rate"),
}


# Not a bad argument but a failure (of the data, the disk, the output folder, the
# training): exit code 1. Every other case is a usage error: exit code 2.
FAILURES = {
    "data folder empty", "truncated archive", "corrupt archive", "truncated IDX file",
    "corrupt IDX file", "unwritable output folder", "full output folder",
    "unwritable train folder", "read-only export root", "results folder of another preset",
    "results folder of another version", "output folder that is not a reproduction",
    "NaN loss",
}


def test_the_table_covers_every_kind_of_bad_input():
    # Issue 9's list; the closing note reports len(CASES).
    kinds = ["unknown activation", "unknown preset", "activation argument", "wrong shape",
             "wrong dtype", "folder missing", "folder empty", "truncated", "corrupt",
             "unwritable", "full", "another preset", "another version", "NaN"]
    names = " | ".join(CASES).replace("input of the ", "")
    assert all(kind in names for kind in kinds), kinds
    assert len(CASES) == 27
    assert FAILURES <= set(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_names_the_fix(name, tmp_path, monkeypatch, capsys):
    setup, api, argv, text = CASES[name]
    folder = setup(tmp_path, monkeypatch) if setup else None
    if api is not None:
        if name == "NaN loss":
            with pytest.warns(RuntimeWarning, match="Training diverged") as caught:
                api(folder)
            assert any(text in str(w.message) for w in caught)
        else:
            with pytest.raises((ValueError, UserError)) as error:
                api(folder)
            assert text in str(error.value), str(error.value)
    if argv is not None:
        args = argv(folder)
        if args[0] == "train" and "--out" not in args:
            args += ["--out", str(tmp_path / "run")]
        capsys.readouterr()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            code = main(args)
        err = capsys.readouterr().err
        assert code == (1 if name in FAILURES else 2), err
        # One message (progress lines such as "reading ..." may come before it; the
        # not-found message lists the folders searched, one per line).
        assert err.count(f"actkeras {args[0]}: error:") == 1, err
        message = err[err.index(f"actkeras {args[0]}: error:"):]
        assert text in message and "Traceback" not in err, err


@pytest.mark.slow
def test_a_full_disk_mid_reproduction_keeps_the_finished_runs(tmp_path, monkeypatch):
    """The disk fills up while the third result is written: a clear error, the first
    two results intact, no partial file; with space again the same call resumes."""
    out = tmp_path / "repro"
    real_fsync, calls = os.fsync, []

    def fsync(fd):
        name = os.readlink(f"/proc/self/fd/{fd}")
        if "/runs/.regression-" in name and ".config.json" not in name and "csv" not in name:
            calls.append(name)
            if len(calls) == 3:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    with pytest.raises(UserError, match="No space left on device.*run the same command again"):
        _reproduce(out)
    results = sorted(p.name for p in (out / "runs").glob("regression-*.json")
                     if not p.name.endswith(".config.json"))
    assert len(results) == 2
    assert not list((out / "runs").glob(".*")), "a partial file was left behind"
    monkeypatch.setattr(atomic.os, "fsync", real_fsync)
    finished = [p for p in (out / "runs").glob("*.json") if not p.name.endswith(".config.json")]
    searched = [p for p in finished if p.name.startswith("tune-")]
    lines = []
    assert reproduce("tiny", out, claim_ids=[9], sizes=TINY, verbose=0,
                     progress=lines.append) == 0
    # The last "N runs:" line counts the claim's runs with their tuned arms (the first
    # one is the learning-rate search's): the two finished regressions are reused.
    runs_line = [line for line in lines if re.match(r"\d+ runs: ", line)][-1]
    total = int(runs_line.split()[0])
    reused = len(finished) - len(searched)
    assert runs_line == (f"{total} runs: {reused} reused from earlier invocations, "
                         f"{total - reused} to run -> {out / 'runs'}"), lines
    assert json.loads((out / "results.json").read_text())["claims"][0]["id"] == 9
    assert Path(out / "manifest.json").is_file()



@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_export_root_that_cannot_be_made_is_blamed_on_export_root(tmp_path, capsys):
    """/proc/x cannot be made (as root too): the error named --from, as if its run had no
    model, after TensorFlow started."""
    (tmp_path / "run").mkdir()
    _small_model().save(tmp_path / "run" / "model.keras")
    code = main(["export", "--from", str(tmp_path / "run"), "--export-root", "/proc/x"])
    err = capsys.readouterr().err
    assert code == 1 and "cannot write to /proc/x" in err and "--export-root" in err, err
    assert "--from" not in err, err
