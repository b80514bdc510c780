"""`make_tuner` and `run_search`: one search over activations, local or distributed, resumable."""

import csv
import io
import json
import math
import shutil
from pathlib import Path

import keras_tuner

from actkeras import ownership
from actkeras.atomic import write_json, write_text
from actkeras.models import resolve_config
from actkeras.tuning import distributed
from actkeras.tuning.hypermodel import epochs_of
from actkeras.tuning.tuners import TUNERS, public_values

MARKER = ownership.SEARCH_MARKER
RESULTS = ("results.json", "results.csv")
MONITOR_KEYS = ("dead_fraction", "inactive_fraction", "gradient_ratio")


def search_signature(name, hypermodel, objective, executions_per_trial):
    """What defines a search: a directory holding a different one is refused."""
    return {
        "preset": hypermodel.preset,
        "tuner": name,
        "objective": objective,
        "space": hypermodel.search_space(),
        "overrides": {k: v if not isinstance(v, tuple) else list(v)
                      for k, v in sorted(hypermodel.overrides.items())},
        "seed": hypermodel.seed,
        "executions_per_trial": executions_per_trial,
        "activation_kwargs": getattr(hypermodel, "activation_kwargs", {}),
    }


class _OracleSeed(int):
    """A seed keras-tuner keeps when it is 0: its `Oracle` takes `seed or
    random.randint(1, 10000)`, so a plain 0 (the CLI's default) would seed each search
    at random. The oracle saves it as the number it is."""

    def __bool__(self):
        return True


def _check_marker(project_dir, signature, mode=None):
    path = project_dir / MARKER
    if not path.exists():
        if (project_dir / "oracle.json").is_file() and mode != "worker":
            # `make_tuner` writes its marker before any trial: this search is not one of ours
            raise ValueError(
                f"{project_dir} holds a Keras Tuner search that actkeras did not start (an "
                f"oracle.json, no {MARKER}): its trials would mix with this search's. Use a "
                f"new `directory` or `project_name`, or discard it with `overwrite=True`. "
                f"Received: directory={str(project_dir.parent)!r}, "
                f"project_name={project_dir.name!r}")
        return
    saved = json.loads(path.read_text())
    saved.setdefault("activation_kwargs", {})  # searches saved before the key existed
    different = [key for key in signature if saved.get(key) != signature[key]]
    if not different:
        return
    fix = ("use a new `directory` or `project_name`, or discard it with `overwrite=True`")
    if "preset" in different:
        raise ValueError(
            f"{project_dir} holds a search of preset {saved.get('preset')!r}, not "
            f"{signature['preset']!r}: {fix}. Received: preset={signature['preset']!r}")
    key = different[0]
    differ = "differs" if len(different) == 1 else "differ"
    raise ValueError(
        f"{project_dir} holds a different search ({', '.join(different)} {differ}; it has "
        f"{key}={saved.get(key)!r}): resume it with the same arguments, or {fix}. "
        f"Received: {key}={signature[key]!r}")


def make_tuner(name, hypermodel, directory, project_name="actkeras", max_trials=10,
               executions_per_trial=1, seed=None, objective="val_accuracy",
               overwrite=False, max_retries_per_trial=1, worker_timeout=60.0,
               oracle_timeout=120.0, log_every=500):
    """Returns a Keras Tuner over `hypermodel`, resuming any search already in the directory.

    Example:
    >>> hypermodel = ActivationHyperModel("mlp", ["relu", "sigmoid"], units=8, depth=1)
    >>> tuner = make_tuner("grid", hypermodel, "tuning", max_trials=2, seed=0)
    >>> rows = run_search(tuner, data)

    Args:
        name: `"random"`, `"grid"`, `"hyperband"` or `"bayesian"`.
        hypermodel: an `ActivationHyperModel`.
        directory, project_name: the search lives in `directory/project_name`
            (shared by every process of a distributed search). Defaults to `"actkeras"`.
        max_trials: trials at most (`None`: the whole grid, for Bayesian optimisation
            each point once; Hyperband has its own budget, `hypermodel`'s epoch count
            as `max_epochs`, at least 2). Defaults to `10`.
        executions_per_trial: trainings averaged per trial. Defaults to `1`.
        seed: the oracle's seed (0 included: same seed, same trials; `None` draws one).
            Defaults to `hypermodel.seed`.
        objective: the metric to optimise: minimised if its name holds "loss",
            else maximised (`val_*` needs a validation split). Defaults to
            `"val_accuracy"`.
        overwrite: discard a search already there: the files it wrote; anything
            else in the folder is kept (ignored on workers, which must never delete
            the chief's files). Defaults to `False`.
        max_retries_per_trial: retries of a crashed trial or a lost worker's
            trial before it is recorded as FAILED. Defaults to `1`.
        worker_timeout, oracle_timeout: seconds of silence after which the chief
            gives up on a worker and a worker on the chief. Defaults to `60`, `120`.
        log_every: steps per Hyperband epoch for by-step presets. Defaults to `500`.

    Raises:
        ValueError: an unknown tuner name, an objective no trial logs
            (`hypermodel.logged_metrics()` names the valid ones), a directory
            holding another search (without `overwrite`), or a `directory/project_name`
            that is a file or a folder holding files but no search.
    """
    if name not in TUNERS:
        raise ValueError(f"Unknown tuner. Valid choices: {', '.join(TUNERS)}. "
                         f"Received: tuner={name!r}")
    _check_objective(objective, hypermodel)
    if not project_name:  # keras-tuner would put the search in "untitled_project"
        raise ValueError("`project_name` names the search's folder inside `directory`: give "
                         f"a name. Received: project_name={project_name!r}")
    mode = distributed.role()
    overwrite = overwrite and mode != "worker"
    seed = hypermodel.seed if seed is None else seed
    project_dir = Path(directory) / project_name
    signature = search_signature(name, hypermodel, objective, executions_per_trial)
    check_project_dir(project_dir)
    if overwrite:
        discard_search(project_dir)  # keras-tuner's own overwrite deletes the whole folder
    else:
        _check_marker(project_dir, signature, mode)
    direction = "min" if "loss" in objective else "max"
    # A diverged trial ends FAILED by design (a learning rate too large for an activation):
    # keras-tuner's default would abort the search after 3 in a row, results unwritten.
    kwargs = dict(hypermodel=hypermodel, objective=keras_tuner.Objective(objective, direction),
                  seed=None if seed is None else _OracleSeed(seed),
                  max_retries_per_trial=max_retries_per_trial,
                  max_consecutive_failed_trials=None,
                  directory=str(directory), project_name=project_name, overwrite=False)
    if name == "hyperband":
        config = resolve_config(hypermodel.preset, **hypermodel.overrides)
        # Hyperband needs at least 2 epochs to share out.
        kwargs.update(max_epochs=max(epochs_of(config, log_every), 2), hyperband_iterations=1)
    elif max_trials is None and name == "bayesian":
        # keras-tuner's Bayesian oracle tries a point again and again once its random start
        # is over: "no limit" is the grid, each point once.
        kwargs.update(max_trials=math.prod(map(len, hypermodel.search_space().values())))
    else:
        kwargs.update(max_trials=max_trials)
    tuner = TUNERS[name](executions_per_trial=executions_per_trial, **kwargs)
    tuner.worker_timeout, tuner.oracle_timeout = worker_timeout, oracle_timeout
    tuner.log_every = log_every
    if not (project_dir / MARKER).exists():
        project_dir.mkdir(parents=True, exist_ok=True)
        _write_json(project_dir / MARKER, signature)
    return tuner


def check_project_dir(project_dir):
    """A search lives in a folder of its own: one that does not exist, is empty or holds
    a search (resumed, or discarded with `overwrite`). A file, or a folder holding
    anything else, is refused: the search's files would mix with the user's."""
    problem = ownership.search_problem(project_dir, "another `directory` or `project_name`",
                                       "`overwrite=True`")
    if problem:
        raise ValueError(f"{problem} Received: {project_dir}")


def discard_search(project_dir):
    """Deletes what a search wrote in `project_dir` (its marker, results, keras-tuner's
    oracle, tuner states and trials), and nothing else."""
    for path in ownership.search_entries(project_dir) if Path(project_dir).is_dir() else ():
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def _check_objective(objective, hypermodel):
    """Before any trial: an objective that no trial would log fails every trial."""
    logged = getattr(hypermodel, "logged_metrics", None)
    if logged is not None and objective not in logged():
        raise ValueError(
            f"Unknown objective: every trial of this search logs {', '.join(logged())} "
            f"(the objective is minimised if it names a loss, else maximised). "
            f"Received: objective={objective!r}")


def check_validation(tuner, data):
    """A `val_` objective needs validation images: refused before any trial without them."""
    name = tuner.oracle.objective.name
    x_valid = getattr(data, "x_valid", None)
    if name.startswith("val_") and x_valid is not None and not len(x_valid):
        raise ValueError(
            f"The objective {name!r} is measured on the validation split, and the data "
            f"have no validation images: keep some, or choose an objective without val_. "
            f"Received: objective={name!r}")


def check_trained_on(tuner, data):
    """What a search trains on, its data (every split's arrays, `fingerprint`) and the Keras
    backend, is the same in every process and every resumption: the first process that
    trains records it beside the search's marker, and one that differs is refused before
    any trial (its scores would be ranked with others made on other data). The chief,
    which trains nothing, has no data to compare."""
    import keras

    from actkeras.data.dataset import fingerprint

    path = Path(tuner.project_dir) / MARKER
    if data is None or not path.is_file():
        return
    saved = json.loads(path.read_text())
    mine = {"data": fingerprint(data), "backend": keras.backend.backend()}
    recorded = saved.get("trained_on")
    if recorded is None:
        _write_json(path, {**saved, "trained_on": mine})
        return
    different = [key for key in mine if recorded.get(key) != mine[key]]
    if different:
        what = {"data": f"other data ({getattr(data, 'name', 'data')}: every split's arrays "
                        f"hash to {mine['data']}, the search's to {recorded.get('data')})",
                "backend": f"the {recorded.get('backend')} backend, not {mine['backend']}"}
        raise ValueError(
            f"{tuner.project_dir} holds a search trained on "
            f"{' and '.join(what[key] for key in different)}: its trials would be ranked with "
            "this one's. Resume it with the same data and backend, or use a new `directory` "
            f"or `project_name`, or discard it with `overwrite=True`. Received: "
            f"{', '.join(f'{key}={mine[key]!r}' for key in different)}")


def run_search(tuner, data, callbacks=(), verbose=0):
    """Runs (or resumes) the search; returns the results, best first.

    On one machine and on the chief, the results are also written to
    `results.json` and `results.csv` in the search's directory; a worker only
    runs trials and returns `[]`.

    Each result is a dict: `rank`, `trial_id`, `status`, `score`, the tuned
    hyper-parameters, the monitors' `dead_fraction`, `inactive_fraction` and
    `gradient_ratio` (None where they do not apply) and the trial's other metrics,
    all at the trial's best epoch.
    """
    check_validation(tuner, data)
    check_trained_on(tuner, data)
    tuner.search(data, callbacks=list(callbacks), verbose=verbose,
                 log_every=getattr(tuner, "log_every", 500))
    if distributed.role() == "worker":
        return []
    rows = collect_results(tuner, reverse=tuner.oracle.objective.direction == "max")
    write_results(rows, tuner.project_dir)
    return rows


def collect_results(tuner, reverse=True):
    """Every trial the oracle knows, as flat dicts sorted best first (failures last)."""
    rows = []
    for trial in tuner.oracle.trials.values():
        values = trial.hyperparameters.values
        row = {"trial_id": trial.trial_id, "status": trial.status, "score": trial.score}
        row.update(public_values(trial))
        if "tuner/epochs" in values:
            row["epochs"] = values["tuner/epochs"]
        row.update({key: None for key in MONITOR_KEYS})
        for metric in sorted(trial.metrics.metrics):
            if "/" in metric:  # per-layer monitor values: in the trial's own files
                continue
            value = trial.metrics.get_last_value(metric)
            finite = value is not None and math.isfinite(value)
            row[metric] = float(value) if finite else None  # a diverged run's NaN
        rows.append(row)
    def scored(row):
        return row["score"] is not None and math.isfinite(row["score"])

    # Equal scores in trial order: a reloaded search ranks them as the search did.
    done = sorted(filter(scored, rows),
                  key=lambda r: (-r["score"] if reverse else r["score"], r["trial_id"]))
    rest = sorted((r for r in rows if not scored(r)), key=lambda r: r["trial_id"])
    return [{"rank": i + 1, **row} for i, row in enumerate(done + rest)]


def _write_json(path, payload):
    # Atomic, so that processes sharing the directory never read half a file.
    write_json(path, payload, sort_keys=False)


def write_results(rows, folder):
    """Writes `results.json` and `results.csv` (one column per key seen) to `folder`."""
    folder = Path(folder)
    _write_json(folder / RESULTS[0], rows)
    columns = list(dict.fromkeys(key for row in rows for key in row)) or ["rank"]
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    write_text(folder / RESULTS[1], buffer.getvalue())


def format_table(rows, columns=None):
    """The results as a fixed-width text table."""
    if not rows:
        return "(no trials)"
    columns = columns or [c for c in rows[0] if c not in ("loss", "accuracy")]

    def cell(value):
        if isinstance(value, float):  # a vanished gradient ratio is tiny, not 0.0000
            return f"{value:.2e}" if 0 < abs(value) < 1e-3 else f"{value:.4f}"
        return "-" if value is None else str(value)

    table = [columns] + [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip()
                     for line in table)


def export_name(preset, activation):
    """The name `export_best` gives the best model."""
    return f"tune-{preset}-{activation}"


def export_best(tuner, rows, preset, root="saved_models", overwrite=False):
    """Exports the best completed trial's model as `tune-PRESET-ACTIVATION` under `root`;
    returns its folder, or `None` when no trial completed.

    Args:
        tuner: the tuner `run_search` ran.
        rows: `run_search`'s results, best first.
        preset: the preset searched, for the export's name.
        root: the folder that holds exports. Defaults to `"saved_models"`.
        overwrite: replace an earlier export of that name (its files only, as
            `export_model` does). Defaults to `False`.

    Raises:
        FileExistsError: the export exists and `overwrite` is False.
    """
    from actkeras.export import export_model

    best = next((row for row in rows if row["status"] == "COMPLETED"), None)
    if best is None:
        return None
    model = tuner.get_best_models(1)[0]
    name = export_name(preset, best["activation"])
    metadata = {"trial": best, "search": str(tuner.project_dir),
                "model": model.actkeras_config.to_dict()}
    return export_model(model, name, root=root, metadata=metadata, overwrite=overwrite)
