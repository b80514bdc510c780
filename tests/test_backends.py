"""A Keras backend actkeras cannot run on: one line and exit 2 from the CLI, ImportError
from the library, in fresh processes (Keras picks its backend once, as it imports)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from actkeras import backends

ROOT = Path(__file__).resolve().parents[1]


def _run(code, backend):
    env = {**os.environ, "KERAS_BACKEND": backend,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)


# `sys.modules[name] = None` makes Python treat the backend as not installed.
HIDE = "import sys; sys.modules[{name!r}] = None\n"
CLI = "from actkeras.cli import main; sys.exit(main(['activations']))\n"


@pytest.mark.parametrize("argv", [["bench", "--backend", "jax", "--steps", "1"],
                                  ["reproduce", "--backend", "jax", "--preset", "tiny"]])
def test_a_backend_option_naming_a_backend_that_is_not_installed(argv, monkeypatch, capsys,
                                                                  tmp_path):
    """`bench --backend NAME` and `reproduce --backend NAME` are checked like KERAS_BACKEND,
    before anything runs."""
    import importlib.util

    from actkeras.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "jax" else real(name, *a))
    monkeypatch.chdir(tmp_path)  # reproduce's default folder would be made here
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"actkeras {argv[0]}: error: "), lines
    assert not list(tmp_path.iterdir())
    assert 'jax is not installed: pip install "actkeras[jax]"' in lines[0]
    assert "Received: backend='jax' from --backend" in lines[0]


@pytest.mark.parametrize("backend, hidden, said", [
    ("torch", None, "not 'torch'"),
    ("tensorflow", "tensorflow", 'tensorflow is not installed: pip install "actkeras[tensorflow]"'),
    ("jax", "jax", 'jax is not installed: pip install "actkeras[jax]"'),
])
def test_cli_names_the_supported_backends_and_exits_2(backend, hidden, said):
    done = _run("import sys\n" + (HIDE.format(name=hidden) if hidden else "") + CLI, backend)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("actkeras activations: error: "), lines
    assert said in lines[0] and "tensorflow or jax" in lines[0]
    assert f"Received: backend={backend!r} from KERAS_BACKEND" in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("use", ["import keras", "actkeras.build_model('relu')"])
def test_first_keras_use_after_import_actkeras_raises_import_error(use):
    code = ("import actkeras\ntry:\n    " + use +
            "\nexcept ImportError as error:\n    print(error)\nelse:\n    print('no error')\n")
    done = _run(code, "torch")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("actkeras runs on Keras's tensorflow or jax backend, not 'torch'")
    assert 'pip install "actkeras[jax]"' in done.stdout


def test_requested_backend_is_read_as_keras_reads_it(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert backends.requested() == "tensorflow"  # no keras.json: Keras's default
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    assert backends.requested() == "jax"
    monkeypatch.setenv("KERAS_BACKEND", "torch")
    assert backends.requested() == "torch"
    assert "Received: backend='torch' from KERAS_BACKEND" in backends.problem()
    monkeypatch.setenv("KERAS_BACKEND", "")  # empty: Keras ignores it too
    assert backends.requested() == "jax"
