"""Exports: every registry activation reloads exactly in a fresh process; bad input is named.

One module-scoped fixture exports a tiny model per activation (NON-default arguments,
PReLU with non-trivial slopes), then ONE fresh `python` process that imports only
`actkeras` reloads every `.keras` file (safe mode on) and every SavedModel, predicts
on the saved inputs, and also tries a model whose custom class it never imported.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest

import actkeras
from actkeras import export as export_module
from actkeras.cli import main
from actkeras.export import export_model, load_exported, read_metadata
from actkeras.models import build_model
from actkeras.registry import ACTIVATIONS

NUM_SAMPLES = 8
# Without TensorFlow (a JAX-only environment) exports hold the .keras file only.
HAS_TF = importlib.util.find_spec("tensorflow") is not None
SERVING = ("serve", "serving_default") if HAS_TF else ()
THROWAWAY_PACKAGE = "actkeras_test_throwaway"
# Models that hold actkeras objects other than layers (registered with Keras too).
EXTRAS = {"gain": {"init_gain": 2.0}, "pulse": {"lr_pulse": (0.5, 1, 3)}}

FRESH_PROCESS = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import numpy as np

    import actkeras
    import keras

    root = Path(sys.argv[1])
    EXTRAS = json.loads(sys.argv[2])
    x = np.load(root / "inputs.npz")["x"]
    predictions, report = {}, {"configs": {}}
    for name in actkeras.activation_names():
        model = keras.saving.load_model(root / name / "model.keras")  # safe_mode default
        predictions[name + "/keras"] = model.predict(x, verbose=0)
        report["configs"][name] = model.get_layer("activation_0").get_config()

    import importlib.util

    served_names = []  # without TensorFlow, no SavedModel was written
    if importlib.util.find_spec("tensorflow") is not None:
        import tensorflow as tf

        served_names = actkeras.activation_names()
    for name in served_names:
        served = tf.saved_model.load(str(root / name / "serving"))
        predictions[name + "/serve"] = served.serve(x).numpy()
        signature = served.signatures["serving_default"]
        (key,) = signature.structured_input_signature[1]
        (output,) = signature(**{key: tf.constant(x)}).values()
        predictions[name + "/serving_default"] = output.numpy()
    # Models holding actkeras's other registered objects: a scaled initializer, a pulse
    report["extras"] = {}
    for name in EXTRAS:
        model = actkeras.load_exported(name, root=root / "extras")
        predictions[name + "/extra"] = model.predict(x, verbose=0)
        report["extras"][name] = {
            "initializer": next(layer.kernel_initializer.get_config()
                                for layer in model.layers if hasattr(layer, "kernel")),
            "schedule": model.optimizer.get_config()["learning_rate"],
        }
    np.savez(root / "reloaded.npz", **predictions)

    try:
        actkeras.load_exported(root / "custom.keras")
        report["custom_error"] = None
    except ValueError as error:
        report["custom_error"] = str(error)
    (root / "report.json").write_text(json.dumps(report))
    """
)


def _tiny_model(name="relu", **kwargs):
    return build_model(name, preset="mlp", units=8, depth=2, seed=0, **kwargs)


def _save_throwaway_model(path):
    """A `.keras` file naming a class that only this (pytest) process registers."""

    @keras.saving.register_keras_serializable(package=THROWAWAY_PACKAGE)
    class Doubler(keras.layers.Layer):
        def call(self, inputs):
            return 2.0 * inputs

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), Doubler()])
    model.compile(optimizer="sgd", loss="mse")
    model.save(path)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("saved_models")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(NUM_SAMPLES, 28, 28)).astype("float32")
    expected, extras = {}, {}
    for name, entry in ACTIVATIONS.items():
        model = _tiny_model(name, activation_kwargs=entry.test_kwargs)
        for layer in model.layers:
            if isinstance(layer, actkeras.PReLU):  # learned slopes: make them non-trivial
                layer.slope.assign(rng.uniform(0.05, 0.9, size=layer.slope.shape))
        expected[name] = model.predict(x, verbose=0)
        export_model(model, name, root=root,
                     metadata={"dataset": "synthetic", "metrics": {"accuracy": 0.5}})
    for name, kwargs in EXTRAS.items():
        model = _tiny_model(**kwargs)
        extras[name] = model.predict(x, verbose=0)
        export_model(model, name, root=root / "extras")
    np.savez(root / "inputs.npz", x=x)
    _save_throwaway_model(root / "custom.keras")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [
        str(Path(actkeras.__file__).parents[1]), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(root), json.dumps(EXTRAS)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return {
        "root": root,
        "expected": expected,
        "extras": extras,
        "reloaded": dict(np.load(root / "reloaded.npz")),
        "report": json.loads((root / "report.json").read_text()),
    }


@pytest.mark.slow
def test_every_activation_reloads_exactly_in_a_fresh_process(exported):
    for name, expected in exported["expected"].items():
        for how in ("keras",) + SERVING:
            np.testing.assert_allclose(exported["reloaded"][f"{name}/{how}"], expected,
                                       rtol=0, atol=1e-6, err_msg=f"{name} via {how}")


@pytest.mark.slow
def test_models_with_a_weight_gain_or_a_rate_pulse_reload_after_import_actkeras(exported):
    """`init_gain` and `lr_pulse` put actkeras objects in the model (its initializers, its
    optimizer's schedule): a fresh process that only imports actkeras reloads them."""
    for name in EXTRAS:
        np.testing.assert_allclose(exported["reloaded"][f"{name}/extra"],
                                   exported["extras"][name], rtol=0, atol=1e-6)
    extras = exported["report"]["extras"]
    assert extras["gain"]["initializer"]["gain"] == 2.0
    assert extras["pulse"]["schedule"]["config"] == {"base": 0.05, "peak": 0.5,
                                                     "first_step": 1, "end_step": 3}


@pytest.mark.slow
def test_non_default_arguments_survive_the_reload(exported):
    for name, entry in ACTIVATIONS.items():
        config = exported["report"]["configs"][name]
        for key, value in entry.test_kwargs.items():
            assert config[key] == value, (name, key)


@pytest.mark.slow
def test_export_layout_and_metadata(exported):
    root = exported["root"]
    assert not [p.name for p in root.iterdir() if p.name.startswith(".")]  # no temp leftovers
    path = root / "prelu"
    assert (path / "model.keras").is_file()
    assert (path / "serving" / "saved_model.pb").is_file() == HAS_TF
    meta = read_metadata("prelu", root=root)
    assert meta["activation"] == {"name": "prelu", "kwargs": {"initial_slope": 0.1}}
    assert (meta["preset"], meta["dataset"], meta["metrics"]) == ("mlp", "synthetic",
                                                                  {"accuracy": 0.5})
    assert meta["config"]["hidden_units"] == [8, 8] and meta["config"]["seed"] == 0
    if HAS_TF:
        assert meta["files"] == {"keras": "model.keras", "savedmodel": "serving", "why": None}
    else:
        assert meta["files"]["savedmodel"] is None and "needs TensorFlow" in meta["files"]["why"]
    versions = meta["versions"]
    assert versions["keras"] == keras.__version__
    assert versions["actkeras"] == actkeras.__version__
    assert bool(versions["tensorflow"]) == HAS_TF and versions["backend"] == keras.backend.backend()
    assert meta["created_utc"].endswith("+00:00")
    assert meta["model"]["inputs"][0]["shape"] == [None, 28, 28]


@pytest.mark.slow
def test_unregistered_custom_class_names_the_class_and_the_fix(exported):
    message = exported["report"]["custom_error"]
    assert message is not None
    assert f"{THROWAWAY_PACKAGE}>Doubler" in message and "Import the package" in message


@pytest.mark.slow
def test_truncated_or_corrupt_file_names_the_file_and_re_export(exported, tmp_path):
    data = (exported["root"] / "relu" / "model.keras").read_bytes()
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    corrupt = tmp_path / "corrupt.keras"
    corrupt.write_bytes(bytes(flipped))
    for path in (truncated, corrupt):
        with pytest.raises(ValueError, match="Re-export") as info:
            load_exported(path)
        assert str(path) in str(info.value)
    with pytest.raises(FileNotFoundError, match="actkeras export"):
        load_exported("missing", root=tmp_path)


def test_unbuilt_and_uncompiled_models_are_refused(tmp_path):
    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    no_input = keras.Sequential([keras.layers.Dense(2)])
    for model in (Subclassed(), no_input):
        model.compile(optimizer="sgd", loss="mse")
        with pytest.raises(ValueError, match=r"not built.*keras\.Input"):
            export_model(model, "unbuilt", root=tmp_path)
    uncompiled = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=r"model\.compile\("):
        export_model(uncompiled, "uncompiled", root=tmp_path)
    with pytest.raises(ValueError, match="folder name"):
        export_model(_tiny_model(), "../escape", root=tmp_path)
    assert not list(tmp_path.iterdir())


def test_a_reloaded_model_exported_again_keeps_its_activation(tmp_path):
    """A model given one of Keras's own layers, exported, reloaded and exported again, had
    `"activation": null` in the second metadata (a reloaded model has no ModelConfig)."""
    for activation, expected in (
            (keras.layers.LeakyReLU(negative_slope=0.2),
             {"name": "LeakyReLU", "kwargs": {"negative_slope": 0.2}}),
            ("elu", {"name": "elu", "kwargs": {"alpha": 1.0}})):
        model = actkeras.build_model(activation, preset="mlp", units=8, depth=2)
        first = export_model(model, "first", root=tmp_path, serving=False, overwrite=True)
        again = export_model(load_exported(first), "again", root=tmp_path, serving=False,
                             overwrite=True)
        assert read_metadata(first)["activation"] == expected
        assert read_metadata(again)["activation"] == expected
    # A plain Keras model: its activation layers, Keras's own included, each once.
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.ReLU(),
                              keras.layers.Dense(3), keras.layers.Activation("tanh")])
    plain.compile(optimizer="sgd", loss="mse")
    path = export_model(plain, "plain", root=tmp_path, serving=False)
    assert read_metadata(path)["activation"] == [
        {"name": "ReLU", "kwargs": {"max_value": None, "negative_slope": 0.0, "threshold": 0.0}},
        {"name": "Activation", "kwargs": {"activation": "tanh"}}]


def test_existing_destination_needs_overwrite(tmp_path):
    model = _tiny_model()
    export_model(model, "run", root=tmp_path, metadata={"metrics": {"n": 1}}, serving=False)
    with pytest.raises(FileExistsError, match=r"overwrite=True"):
        export_model(model, "run", root=tmp_path, serving=False)
    assert read_metadata(tmp_path / "run")["metrics"] == {"n": 1}
    export_model(model, "run", root=tmp_path, metadata={"metrics": {"n": 2}}, serving=False,
                 overwrite=True)
    assert read_metadata(tmp_path / "run")["metrics"] == {"n": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_an_export_folder_has_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = export_model(_tiny_model(), "shared", root=tmp_path / "exports", serving=False)
    finally:
        os.umask(umask)
    assert (path.stat().st_mode & 0o777) == 0o755  # as mkdir makes it, not mkdtemp's 0700
    assert ((path / "model.keras").stat().st_mode & 0o777) == 0o644


def test_an_export_name_is_found_from_a_folder_below_and_a_miss_says_where(tmp_path,
                                                                          monkeypatch):
    export_model(_tiny_model("elu"), "by-name", root=tmp_path / "saved_models", serving=False)
    below = tmp_path / "notebooks" / "deeper"
    below.mkdir(parents=True)
    monkeypatch.chdir(below)  # where a notebook runs, below the folder the export went to
    model = load_exported("by-name")
    assert model.get_layer("activation_0").__class__.__name__ == "ELU"
    assert read_metadata("by-name")["name"] == "by-name"
    (below / "saved_models" / "by-name").mkdir(parents=True)  # nearer, but no export in it
    assert load_exported("by-name") is not None
    with pytest.raises(FileNotFoundError) as error:
        load_exported("no-such-export")
    message = str(error.value)
    assert f"{below / 'saved_models' / 'no-such-export'}" in message
    assert f"{tmp_path / 'saved_models' / 'no-such-export'}" in message
    assert "folder(s) further up, to /saved_models/no-such-export" in message
    assert "Received: path_or_name='no-such-export'" in message
    with pytest.raises(FileNotFoundError, match=f"No exported model at {tmp_path / 'x'}"):
        load_exported(tmp_path / "x")  # a path is looked for where it says, only


def test_a_failed_export_leaves_nothing_behind(tmp_path, monkeypatch):
    model = _tiny_model()

    def broken_export(*args, **kwargs):
        raise RuntimeError("disk full")

    # The SavedModel is written last; without TensorFlow there is none, so fail the .keras.
    monkeypatch.setattr(model, "export" if HAS_TF else "save", broken_export)
    with pytest.raises(RuntimeError, match="disk full"):
        export_model(model, "broken", root=tmp_path)
    assert not list(tmp_path.iterdir())


def test_without_tensorflow_the_savedmodel_is_skipped_with_a_reason(tmp_path, monkeypatch):
    find_spec = export_module.importlib.util.find_spec
    monkeypatch.setattr(export_module.importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorflow" else find_spec(name, *a))
    path = export_model(_tiny_model("elu"), "no_tf", root=tmp_path)
    meta = read_metadata(path)
    assert meta["files"]["savedmodel"] is None and "TensorFlow" in meta["files"]["why"]
    assert meta["versions"]["tensorflow"] is None
    assert not (path / "serving").exists() and (path / "model.keras").is_file()


def test_cli_exports_a_train_run(tmp_path, capsys):
    model = _tiny_model("leaky_relu", activation_kwargs={"negative_slope": 0.1})
    run_dir = tmp_path / "runs" / "train-mlp-leaky_relu"
    run_dir.mkdir(parents=True)
    model.save(run_dir / "model.keras")  # what `actkeras train --out` leaves
    (run_dir / "config.json").write_text(json.dumps(
        {"model": model.actkeras_config.to_dict(), "dataset": {"name": "notmnist"}}))
    (run_dir / "metrics.json").write_text(json.dumps({"test_accuracy": 0.9}))
    root = tmp_path / "saved_models"
    argv = ["export", "--from", str(run_dir), "--name", "leaky", "--root", str(root)]

    assert main(argv) == 0
    for artifact in ("model.keras", "serving/saved_model.pb", "metadata.json"):
        written = HAS_TF or not artifact.startswith("serving")
        assert (root / "leaky" / artifact).is_file() == written, artifact
    (said,) = capsys.readouterr().out.strip().splitlines()  # one line, saying what is missing
    assert ("no SavedModel: the SavedModel needs TensorFlow" in said) != HAS_TF, said
    meta = read_metadata("leaky", root=root)
    assert meta["activation"] == {"name": "leaky_relu", "kwargs": {"negative_slope": 0.1}}
    assert meta["config"] == model.actkeras_config.to_dict()
    assert meta["dataset"] == {"name": "notmnist"} and meta["metrics"] == {"test_accuracy": 0.9}
    assert meta["source"] == str(run_dir)

    capsys.readouterr()
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(argv + ["--overwrite", "--no-serving"]) == 0
    assert read_metadata("leaky", root=root)["files"]["savedmodel"] is None

    assert main(["export", "--from", str(tmp_path), "--root", str(root)]) == 2
    assert "actkeras train --out" in capsys.readouterr().err


def test_a_run_with_a_damaged_record_or_model_names_it_and_the_real_fix(tmp_path):
    """A damaged config.json gave a bare JSON error naming no file; a truncated run model
    the advice to re-export it, which cannot repair a run's own model."""
    from actkeras.export import export_run

    model = _tiny_model()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    model.save(run_dir / "model.keras")
    (run_dir / "config.json").write_text('{"model": ')
    with pytest.raises(ValueError, match=f"{run_dir / 'config.json'} is damaged, not JSON .*: "
                                         "restore it, or train the run again"):
        export_run(run_dir, root=tmp_path / "exports", serving=False)
    (run_dir / "config.json").unlink()
    data = (run_dir / "model.keras").read_bytes()
    (run_dir / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="model.keras is truncated or corrupt, not a readable "
                                         ".keras file: restore it, or train the run again"):
        export_run(run_dir, root=tmp_path / "exports", serving=False)
    assert not (tmp_path / "exports").exists()


def test_training_commands_can_offer_export_options(tmp_path, capsys):
    import argparse

    from actkeras.errors import UserError
    from actkeras.commands.export import add_export_arguments, export_from_args

    parser = argparse.ArgumentParser()
    parser.add_argument("--overwrite", action="store_true")  # a command's own option
    add_export_arguments(parser)
    args = parser.parse_args(["--export", "--export-root", str(tmp_path), "--export-no-serving"])
    assert args.export and not args.export_overwrite
    path = export_from_args(_tiny_model("tanh"), "tanh", args, {"metrics": {"loss": 1.0}})
    assert read_metadata(path)["metrics"] == {"loss": 1.0}
    with pytest.raises(UserError, match="--export-overwrite"):
        export_from_args(_tiny_model("tanh"), "tanh", args)


def test_a_lambda_layer_is_refused_by_safe_mode(tmp_path):
    import keras

    from actkeras.export import load_exported

    model = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2.0)])
    path = tmp_path / "lambda.keras"
    model.save(path)
    with pytest.raises(ValueError, match="Lambda layer.*safe_mode=False"):
        load_exported(path)
