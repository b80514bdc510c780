"""Exporting trained models: a `.keras` file, a TensorFlow SavedModel and their metadata.

`export_model` writes `ROOT/NAME/` with `model.keras`, `serving/` (a SavedModel with a
`serve` endpoint and a `serving_default` signature, for TF Serving) and
`metadata.json`; `export_run` does the same for a finished `actkeras train` run;
`load_exported` reloads the `.keras` file with `safe_mode` on and
turns Keras's opaque load errors into ones that name the fix.
"""

import datetime
import importlib.util
import json
import shutil
import zipfile
from pathlib import Path

import keras

from actkeras import atomic, ownership, records
from actkeras.ownership import export_extras

KERAS_FILE = "model.keras"
SERVING_DIR = "serving"
METADATA_FILE = "metadata.json"
FORMAT_VERSION = 1

_NAME = ownership.EXPORT_NAME


def export_model(model, name, *, root="saved_models", metadata=None, overwrite=False,
                 serving=True):
    """Exports a built, compiled model to `root/name/`; returns that folder's `Path`.

    The export is assembled in a hidden temporary folder beside the destination and
    renamed into place, so a crash never leaves half an export behind.

    Example:
    >>> model = actkeras.build_model("leaky_relu", preset="mlp", units=8, depth=2)
    >>> path = export_model(model, "leaky", root=tmp, metadata={"dataset": "notmnist"})
    >>> reloaded = load_exported(path)

    Args:
        model: a built and compiled Keras model; `model.actkeras_config` (set by
            `build_model`) supplies the configuration, activation and preset.
        name: the export's folder name: letters, digits, `.`, `_` and `-`.
        root: the folder that holds exports. Defaults to `"saved_models"`.
        metadata: extra JSON-ready entries for `metadata.json`, such as `dataset`,
            `metrics`, or `config` (a `ModelConfig.to_dict()`, for a model that has
            lost its `actkeras_config`, e.g. after a reload). Defaults to `None`.
        overwrite: replace an existing export of the same name: the files an export
            holds (`model.keras`, `serving/`, `metadata.json`); anything else the
            user put in that folder is kept. A folder that is not an export is never
            replaced. Defaults to `False`.
        serving: also write the TensorFlow SavedModel. Without TensorFlow it is
            skipped and `metadata.json` says why. Defaults to `True`.

    Raises:
        ValueError: an unbuilt or uncompiled model, a bad name, or `root/name` is a
            file or a folder that is not an export.
        FileExistsError: an export `root/name` exists and `overwrite` is False.
    """
    _check_exportable(model)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            "The export name must be a folder name of letters, digits, '.', '_' and '-', "
            f"starting with a letter or digit. Received: name={name!r}"
        )
    root = Path(root)
    destination = root / name
    check_destination(destination, overwrite)
    staging = atomic.staging_folder(root, name)
    try:
        model.save(staging / KERAS_FILE)
        files = {"keras": KERAS_FILE, "savedmodel": None, "why": None}
        if serving:
            files["why"] = _write_savedmodel(model, staging / SERVING_DIR)
            if files["why"] is None:
                files["savedmodel"] = SERVING_DIR
        else:
            files["why"] = "skipped: export_model(serving=False)"
        record = _metadata(model, name, metadata, files)
        atomic.write_json(staging / METADATA_FILE, records.plain(record, strict=True))
        # The user's own files in the export being replaced move into the new one.
        kept = _move(export_extras(destination), destination, staging) if overwrite and (
            ownership.export_state(destination) == "ours") else []
        try:
            atomic.replace_folder(staging, destination, overwrite)
        except FileExistsError:
            raise FileExistsError(
                f"An export appeared at {destination} while writing; pass overwrite=True "
                f"to replace it. Received: destination={str(destination)!r}") from None
        except BaseException:
            _move(kept, staging, destination)  # replace_folder put the old export back
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return destination


def check_destination(destination, overwrite=False):
    """Raises unless `export_model` may write `destination`: nothing is there, or an
    export is there and `overwrite` is set (its files are replaced, the user's kept).

    Raises:
        FileExistsError: an export is there and `overwrite` is False.
        ValueError: a file, or a folder that is not an export, is there: it is never
            replaced.
    """
    destination = Path(destination)
    state = ownership.export_state(destination)
    if state == "ours" and not overwrite:
        raise FileExistsError(
            f"An export already exists at {destination}; pass overwrite=True to replace "
            f"it, or choose another name. Received: name={destination.name!r}")
    problem = ownership.export_problem(destination)
    if problem:
        raise ValueError(f"{problem} Received: name={destination.name!r}")


def _move(names, source, target):
    for name in names:
        (Path(source) / name).rename(Path(target) / name)
    return names


def load_exported(path_or_name, *, root="saved_models", compile=True):
    """Loads an exported `.keras` model with `safe_mode` on.

    Args:
        path_or_name: an export's folder, or a `.keras` file, or an export's name:
            looked up as `root/name` in the current folder, then in each folder
            above it.
        root: where names are looked up. Defaults to `"saved_models"`.
        compile: passed to `keras.saving.load_model`. Defaults to `True`.

    Raises:
        FileNotFoundError: no such export or file.
        ValueError: a truncated or corrupt file (re-export it), or a model that uses
            a custom class no imported package has registered (import it first).
    """
    path = _find(path_or_name, root)
    if path.is_dir():
        path = path / KERAS_FILE
    config = _read_keras_config(path)
    missing = sorted(set(_unregistered_classes(config)))
    if missing:
        packages = sorted({n.partition(">")[0] for n in missing})
        raise ValueError(
            f"{path} uses custom class(es) {', '.join(missing)} that are not registered "
            f"in this process. Import the package that defines them (registered as "
            f"package {', '.join(map(repr, packages))}) before loading. "
            f"Received: path={str(path)!r}"
        )
    try:
        return keras.saving.load_model(path, compile=compile, safe_mode=True)
    except (TypeError, ValueError) as error:
        if "safe_mode" in str(error):
            raise ValueError(
                f"{path} holds Python code (a Lambda layer), which could do anything when "
                f"loaded, so actkeras refuses it (Keras's safe_mode). If you trust the file, "
                f"load it yourself with keras.saving.load_model(path, safe_mode=False)."
            ) from error
        raise ValueError(
            f"Could not rebuild the model in {path}. If it uses custom layers, import "
            "the package that defines them before loading; if the file is damaged, "
            f"re-export the model. Keras said: {error}"
        ) from error


def read_metadata(path_or_name, *, root="saved_models"):
    """Returns the `metadata.json` of an export, by name or folder, as a dict."""
    path = _find(path_or_name, root, METADATA_FILE)
    with open(path / METADATA_FILE) as handle:
        return json.load(handle)


def _find(path_or_name, root, wanted=KERAS_FILE):
    """The export `path_or_name` names: a folder or file that exists as given, else a
    name looked up as `root/name`, where `export_model` and `actkeras export` wrote it:
    in the current folder, then in each folder above it (a notebook in `notebooks/`
    finds the repository's `saved_models/`). Raises `FileNotFoundError` saying where
    it looked."""
    path = Path(path_or_name)
    if path.is_file() or (path / wanted).is_file():
        return path
    looked = [path.absolute()]
    if len(path.parts) == 1 and not path.is_absolute():
        root = Path(root)
        bases = [Path.cwd(), *Path.cwd().parents] if not root.is_absolute() else [Path("/")]
        for base in bases:
            candidate = base / root / path
            if (candidate / wanted).is_file():
                return candidate
            looked.append(candidate)
    where = ", ".join(str(p) for p in looked[:4])
    if len(looked) > 4:
        where += f" and {len(looked) - 4} folder(s) further up, to {looked[-1]}"
    raise FileNotFoundError(
        f"No exported model at {where}: export one with `actkeras export` or "
        f"actkeras.export_model(), or give its folder. Received: path_or_name="
        f"{str(path_or_name)!r}")


def export_run(run_dir, name=None, *, root="saved_models", overwrite=False, serving=True):
    """Exports a finished training run (the folder `actkeras train --out` wrote).

    The run's `model.keras` is reloaded (with `safe_mode` on) and exported with its
    `config.json` (configuration and data set) and `metrics.json` folded into the
    metadata.

    Args:
        run_dir: the run's folder, holding `model.keras`.
        name: the export's name. Defaults to `None`: the run folder's name.
        root, overwrite, serving: as for `export_model`.

    Raises:
        FileNotFoundError: `run_dir` holds no `model.keras`.
        FileExistsError: the export exists and `overwrite` is False.
    """
    run_dir = Path(run_dir)
    problem = ownership.run_problem(run_dir)
    if problem:
        raise FileNotFoundError(f"{problem} Received: run_dir={str(run_dir)!r}")
    # The run's own records first (before the model loads): a damaged one is named.
    config = _read_run_json(run_dir / "config.json")
    metrics = _read_run_json(run_dir / "metrics.json") or {}
    try:
        model = load_exported(run_dir / KERAS_FILE)
    except _DamagedFile:  # a run's model is not re-exported: it is trained
        raise ValueError(f"{run_dir / KERAS_FILE} is truncated or corrupt, not a readable "
                         f".keras file: restore it, or train the run again. Received: "
                         f"run_dir={str(run_dir)!r}") from None
    metadata = {"source": str(run_dir)}
    if config:
        metadata.update(config=config.get("model"), dataset=config.get("dataset"))
    metadata["metrics"] = metrics
    return export_model(model, name or run_dir.resolve().name, root=root, metadata=metadata,
                        overwrite=overwrite, serving=serving)


def _read_run_json(path):
    """A run's JSON record, `None` where there is none; a damaged one is a `ValueError`
    naming it (a bare JSON error named no file)."""
    if not path.is_file():
        return None
    try:
        with open(path) as handle:
            return json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is damaged, not JSON ({error}): restore it, or train the run "
                         f"again. Received: run_dir={str(path.parent)!r}") from None


def _check_exportable(model):
    if not isinstance(model, keras.Model):
        raise ValueError(
            f"export_model() takes a keras.Model. Received: model={type(model).__name__}"
        )
    if not model.built:
        raise ValueError(
            f"Model {model.name!r} is not built, so it has no weights to export. Build it "
            "first: start it with keras.Input(shape=...), or call it on a batch of data "
            f"(model(x)) or model.build(input_shape). Received: model.built=False"
        )
    if not getattr(model, "compiled", False):
        raise ValueError(
            f"Model {model.name!r} is not compiled; an export keeps its loss and "
            "optimizer so that it can be trained further. Call model.compile(optimizer=..., "
            "loss=...) first (build_model() does). Received: model.compiled=False"
        )


def _write_savedmodel(model, path):
    """Writes the SavedModel; returns `None`, or why it was skipped."""
    if importlib.util.find_spec("tensorflow") is None:
        return (f"skipped: the SavedModel needs TensorFlow, which is not installed "
                f"(Keras backend {keras.backend.backend()!r})")
    try:
        model.export(str(path), format="tf_saved_model", verbose=False)
    except (ImportError, NotImplementedError) as error:
        shutil.rmtree(path, ignore_errors=True)
        return f"skipped: {type(error).__name__}: {error}"
    return None


def _metadata(model, name, extra, files):
    extra = dict(extra or {})
    config = getattr(model, "actkeras_config", None)
    config = config.to_dict() if config is not None else extra.pop("config", None)
    extra.pop("config", None)
    if config is not None:
        activation = {"name": config["activation"], "kwargs": config["activation_kwargs"]}
        preset = config["preset"]
    else:
        activation, preset = _activations_in(model), None
    environment = records.environment()
    record = {
        "name": name,
        "format_version": FORMAT_VERSION,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"),
        "activation": activation,
        "preset": preset,
        "dataset": None,
        "metrics": {},
        "config": config,
        "model": {
            "name": model.name,
            "class": type(model).__name__,
            "parameters": int(model.count_params()),
            "inputs": [_spec(t) for t in _flat(getattr(model, "inputs", None))],
            "outputs": [_spec(t) for t in _flat(getattr(model, "outputs", None))],
        },
        "files": files,
        "versions": _versions(environment),
        "environment": environment,
    }
    record.update(extra)
    return record


def _activations_in(model):
    """The distinct activation layers of a model without a `ModelConfig`: actkeras's, and
    Keras's own (`ReLU`, `LeakyReLU`, ..., `Activation`; a `build_model` model given one of
    them, reloaded, has no other record of it)."""
    from actkeras.layers import BaseActivation
    from actkeras.registry import describe_activation

    kinds = (BaseActivation, keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU,
             keras.layers.PReLU, keras.layers.Softmax, keras.layers.Activation)
    found, stack = [], list(model.layers)
    while stack:
        layer = stack.pop(0)
        if isinstance(layer, keras.Model):
            stack[:0] = layer.layers
        elif isinstance(layer, kinds):
            layer_name, kwargs = describe_activation(layer)
            entry = {"name": layer_name, "kwargs": kwargs}
            if entry not in found:
                found.append(entry)
    return found[0] if len(found) == 1 else found or None


def _versions(environment):
    """The versions a reader checks first, from `records.environment()`; TensorFlow
    `None` where it cannot be imported (no SavedModel then)."""
    versions = environment["versions"]
    tensorflow = versions.get("tensorflow") or versions.get("tensorflow-cpu")
    return {
        "actkeras": versions.get("actkeras"),
        "keras": versions.get("keras"),
        "backend": environment["backend"],
        "numpy": versions.get("numpy"),
        "python": environment["python"],
        "tensorflow": tensorflow if importlib.util.find_spec("tensorflow") is not None else None,
    }


def _flat(tensors):
    if tensors is None:
        return []
    return list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]


def _spec(tensor):
    return {
        "name": getattr(tensor, "name", None),
        "shape": list(tensor.shape),
        "dtype": str(getattr(tensor, "dtype", "float32")),
    }


class _DamagedFile(ValueError):
    """A `.keras` file that is not a readable zip of a model (`_read_keras_config`)."""


def _read_keras_config(path):
    """The model config inside a `.keras` zip, checking every member's CRC."""
    damaged = (f"{path} is truncated or corrupt, not a readable .keras file. Re-export the "
               "model (export_model(..., overwrite=True) or `actkeras export --overwrite`) "
               "or copy the file again.")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise _DamagedFile(f"{damaged} Received: damaged member {bad!r}")
            return json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, EOFError, KeyError, json.JSONDecodeError) as error:
        raise _DamagedFile(f"{damaged} Received: {type(error).__name__}: {error}") from error


def _unregistered_classes(config):
    """Registered names (`package>Class`) in a saved config that nothing has registered."""
    if isinstance(config, dict):
        registered = config.get("registered_name")
        if (isinstance(registered, str) and ">" in registered
                and keras.saving.get_registered_object(registered) is None):
            yield registered
        for value in config.values():
            yield from _unregistered_classes(value)
    elif isinstance(config, list):
        for value in config:
            yield from _unregistered_classes(value)
