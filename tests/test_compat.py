"""The Keras and keras-tuner versions actkeras's internals were tested on, and the fallbacks."""

import re
import tomllib
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

import actkeras
from actkeras import _compat
from actkeras.training import fit

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _pin(package):
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    for line in dependencies:
        match = re.fullmatch(rf"{re.escape(package)}(\[\w+\])?>=([\d.]+),<([\d.]+)", line)
        if match:
            return match.group(2), match.group(3)
    raise AssertionError(f"{package} has no '>=low,<high' pin in pyproject.toml: {dependencies}")


@pytest.mark.parametrize("package, tested", [("keras", _compat.KERAS_TESTED),
                                             ("keras-tuner", _compat.KERAS_TUNER_TESTED)])
def test_installed_versions_are_the_tested_ones_and_the_pins_agree(package, tested):
    version = _compat.installed(package)
    assert _compat.is_tested(version, tested), (
        f"{package} {version} is installed, but actkeras's use of its internals was tested "
        f"with {tested} only: test graph_steps / distributed tuning on it, then widen "
        f"_compat.py and the pin in pyproject.toml together")
    low, high = _pin(package)
    (a, b), (c, d) = tested
    assert _compat.minor_version(low) == (a, b)
    assert _compat.minor_version(high) == (c, d + 1)  # below the next minor


def test_minor_version_reads_release_and_development_versions():
    assert _compat.minor_version("3.15.1") == (3, 15)
    assert _compat.minor_version("1.4.8.dev0") == (1, 4)
    assert _compat.minor_version("3.16rc1") == (3, 16)
    assert not _compat.is_tested("3.16.0", ((3, 15), (3, 15)))
    assert not _compat.is_tested(None, ((3, 15), (3, 15)))


def _data(n=200):
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = (np.arange(n) % 3).astype("int32")
    return SimpleNamespace(x_train=x, y_train=y, x_valid=x[:0], y_valid=y[:0],
                           x_test=x[:0], y_test=y[:0])


@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="graph_steps exists on TensorFlow only")
def test_untested_keras_falls_back_to_keras_own_loop_with_one_warning(monkeypatch):
    monkeypatch.setattr(keras, "version", lambda: "3.99.0")
    monkeypatch.setattr(_compat, "_warned", set())

    def train():
        model = actkeras.build_model("relu", preset="mlp", input_shape=(6,), units=4, depth=1,
                                     num_classes=3, steps=12, batch_size=16, seed=0)
        fit(model, _data(), log_every=6, verbose=0, validation=False)
        return model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        models = [train(), train()]
    said = [w for w in caught if "Keras 3.99.0" in str(w.message)]
    assert len(said) == 1 and "Keras's own loop" in str(said[0].message)
    for model in models:
        assert not hasattr(model, "_actkeras_group_steps")  # the in-graph groups never ran
        assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 12


def test_missing_keras_tuner_internals_are_a_clear_error(monkeypatch):
    from keras_tuner.src.distribute import oracle_client

    monkeypatch.delattr(oracle_client, "OracleClient")
    with pytest.raises(RuntimeError, match=r"keras-tuner's internal gRPC oracle.*"
                       r"pip install 'keras-tuner>=1.4,<1.5'"):
        _compat.keras_tuner_internals()


@pytest.mark.slow
def test_distributed_tuning_loads_keras_tuner_internals_only_when_it_starts():
    import subprocess
    import sys

    code = ("import sys, actkeras.tuning.distributed as d; "
            "print('actkeras.tuning._oracle_rpc' in sys.modules); d.OracleClient; "
            "print('actkeras.tuning._oracle_rpc' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
