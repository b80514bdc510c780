"""Running `RunSpec`s: one result file per run, written atomically, so a reproduction resumes.

`run_specs` runs each spec in its own seeded, cleared Keras session and writes
`OUT/runs/<run_id>.json` (the result: status, metrics, history, monitor records),
after `<run_id>.history.csv` and `<run_id>.config.json`. The result file is the
commit mark: it is written last, through a temporary file and `os.replace`, so it
is either absent or complete. A later call skips every run whose result file is
complete, names the same content and finished (`ok` or `diverged`); anything else
(a truncated file, another run's file, a failed run) is run again.

Every result records its provenance: the actkeras version, the Keras backend, the
protocol hash of every claim that lists the run, a fingerprint of the data it
trained on, and a digest of the package's source code. A finished run
whose provenance differs from the present one is *stale*: it is never reused silently
(`Staleness` says which, and `reproduce` refuses, or reuses or reruns them when asked).
The code digest is the exception: it is recorded and counted in the report (which runs
were made by which code), not a reason to rerun, since most edits change no number.

A run whose loss becomes NaN stops (`fit`'s divergence guard) and is recorded as
`diverged`; a run that raises is recorded as `failed` with its error, and the
reproduction goes on. Cost runs (claim 8's timings) each run in a fresh process of
their own, one after the other.
"""

import hashlib
import json
import math
import os
import time
import traceback
import uuid
import warnings
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np

from actkeras.atomic import write_json
from actkeras.atomic import write_text as _write_text
from actkeras.callbacks import DeadUnitWarning, NonFiniteWarning, NothingToWatchWarning
from actkeras.data.dataset import fingerprint
from actkeras.errors import UserError, writing
from actkeras.records import plain
from actkeras.training import DivergenceGuard, history_csv

RESUME_NOTE = "Finished runs are kept: run the same command again to resume."

RESULT_FORMAT = 4
FINISHED = ("ok", "diverged")


def result_path(out, spec):
    return Path(out) / "runs" / f"{spec.run_id}.json"


def read_result(path, spec):
    """`(result, None)` if `path` holds a finished result of `spec`, else `(None, why)`."""
    path = Path(path)
    if not path.exists():
        return None, "not run yet"
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        return None, f"unreadable result file ({type(error).__name__})"
    if not isinstance(result, dict) or result.get("format") != RESULT_FORMAT:
        return None, "not a result file of this version"
    if result.get("run_id") != spec.run_id or result.get("content") != spec.content():
        return None, "result of another run"
    if result.get("status") not in FINISHED:
        return None, f"previous attempt {result.get('status', 'incomplete')}"
    if spec.kind == "tune" and result.get("status") == "ok":
        from actkeras.experiments.search import widened_by

        if not widened_by(result):  # resumed from its trials, and widened by today's rule
            return None, "a search not yet widened by the protocol's grid-extension rule"
    return result, None


def _version():
    from actkeras import __version__

    return __version__


_CODE_DIGEST = []


def code_digest():
    """A short digest (12 hex digits) of the running actkeras package's source: every `.py`
    file under the package, by relative path and content. The version number stays the
    same between commits; this tells two checkouts' code apart. Computed once a process."""
    if not _CODE_DIGEST:
        import actkeras

        root = Path(actkeras.__file__).parent
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
        _CODE_DIGEST.append(digest.hexdigest()[:12])
    return _CODE_DIGEST[0]


def stale_reason(result, provenance):
    """Why a finished result cannot be reused as it is (`None`: it can).

    Args:
        result: a finished result.
        provenance: what this invocation would record: `{"actkeras", "backend",
            "protocol": {claim: hash}, "data": fingerprint or None}` (a result from before
            the backend was recorded is checked by the backend its timing names).
    """
    theirs = result.get("provenance") or {}
    backend = provenance.get("backend")
    made_on = theirs.get("backend") or (result.get("timing") or {}).get("backend")
    if backend and made_on and made_on != backend:
        return f"made on Keras's {made_on} backend, this is {backend}"
    if theirs.get("actkeras") != provenance.get("actkeras"):
        return (f"made by actkeras {theirs.get('actkeras', '?')}, this is "
                f"{provenance.get('actkeras')}")
    recorded = {str(k): v for k, v in (theirs.get("protocol") or {}).items()}
    for claim, digest in (provenance.get("protocol") or {}).items():
        if recorded.get(str(claim)) != digest:
            return (f"made under claim {claim}'s protocol {recorded.get(str(claim), 'none')}, "
                    f"now {digest}")
    data = provenance.get("data")
    if data and theirs.get("data") and theirs["data"] != data:
        return f"made on other data ({theirs['data']}, now {data})"
    return None


def clock(seconds):
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class StepLogger(keras.callbacks.Callback):
    """Writes the optimizer's step count into each epoch's logs (`step`), for learning
    curves against steps; it reaches `History` and the history CSV."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            iterations = self.model.optimizer.iterations
            logs["step"] = int(keras.ops.convert_to_numpy(iterations))


def data_key(spec):
    return (spec.dataset, spec.source, tuple(spec.subset) if spec.subset else None)


class DataCache:
    """Loads each (dataset, source, subset) once per process; remembers failures."""

    def __init__(self, data_dir=None):
        self.data_dir = data_dir
        self._cache = {}
        self._prints = {}

    def get(self, spec):
        key = data_key(spec)
        if key not in self._cache:
            try:
                from actkeras.data import load_dataset

                data = load_dataset(spec.dataset, data_dir=self.data_dir, source=spec.source)
                if spec.subset:
                    data = data.subset(*spec.subset)
                self._cache[key] = data
            except Exception as error:  # every run on it fails the same way, quickly
                self._cache[key] = error
        value = self._cache[key]
        if isinstance(value, Exception):
            raise value
        return value

    def fingerprint(self, spec):
        """The data's fingerprint (`None` for generated data or data that failed to load)."""
        if spec.source == "generated":
            return None
        key = data_key(spec)
        if key not in self._prints:
            try:
                self._prints[key] = fingerprint(self.get(spec))
            except Exception:
                self._prints[key] = None
        return self._prints[key]


def _monitors(spec, data):
    if not spec.monitors:
        return {}
    from actkeras.callbacks import ActivationStats, DeadReLUMonitor, GradientNormLogger

    n = min(spec.probe_size, len(data.x_valid))
    probe = (data.x_valid[:n], data.y_valid[:n])
    every = spec.monitor_every

    def dead():
        monitor = DeadReLUMonitor(probe_data=probe, probe_size=n, every=every)
        monitor.record_units = True  # which units died during training, not only how many
        return monitor

    make = {
        "dead": dead,
        "gradients": lambda: GradientNormLogger(probe_data=probe, probe_size=n, every=every),
        "stats": lambda: ActivationStats(probe_data=probe, probe_size=n, every=every),
        "histograms": lambda: ActivationStats(probe_data=probe, probe_size=n, every=every,
                                              histograms=True),
    }
    monitors = {"stats" if name == "histograms" else name: make[name]() for name in spec.monitors}
    for monitor in monitors.values():
        monitor.at_start = True  # the state at step 0, before the first update
    return monitors


def _budgets(spec, data, config):
    """A `BudgetEvaluator` for the spec's step (and epoch) budgets, or `None`."""
    from actkeras.experiments.measures import BudgetEvaluator, epochs_to_steps

    if not spec.eval_steps and not spec.eval_epochs:
        return None
    group = config.steps_per_execution or 1
    steps = list(spec.eval_steps) + epochs_to_steps(spec.eval_epochs, len(data.x_train),
                                                    config.batch_size, group)
    train_until = None
    if spec.eval_train_epochs is not None:
        train_until = epochs_to_steps([spec.eval_train_epochs], len(data.x_train),
                                      config.batch_size, group)[0]
        steps.append(train_until)
    total = config.steps or config.epochs * math.ceil(len(data.x_train) / config.batch_size)
    steps = [s for s in steps if s <= total] + [total]
    n = len(data.x_train) if spec.eval_train < 0 else min(spec.eval_train, len(data.x_train))
    if spec.minibatch and not config.steps:
        raise ValueError(f"`minibatch` reads whole batches, which a by-step preset's stream "
                         f"gives; {config.preset!r} trains by epochs.")
    return BudgetEvaluator(data.x_valid, data.y_valid, steps,
                           data.x_train[:n] if n else None, data.y_train[:n] if n else None,
                           train_until=train_until, train_every=spec.eval_train_every,
                           minibatch_size=config.batch_size if spec.minibatch else None)


def _data_record(data):
    counts = np.bincount(np.asarray(data.y_valid), minlength=10)
    return {"name": data.name, "n_train": len(data.x_train), "n_valid": len(data.x_valid),
            "n_test": len(data.x_test), "info": getattr(data, "info", None),
            "valid_majority": float(counts.max() / counts.sum()) if counts.sum() else None}


def _train(spec, data, verbose):
    from actkeras.models import build_model
    from actkeras.training import SPLITS, evaluate, fit, history_records

    overrides = dict(spec.overrides)
    overrides.setdefault("seed", spec.seed)
    model = build_model(spec.activation, preset=spec.preset,
                        activation_kwargs=spec.activation_kwargs, **overrides)
    monitors = _monitors(spec, data)
    budgets = _budgets(spec, data, model.actkeras_config)
    callbacks = [StepLogger(), *([budgets] if budgets else []), *monitors.values()]
    with warnings.catch_warnings():
        # The dead fractions are in the result and the report; no warning per layer.
        warnings.filterwarnings("ignore", category=DeadUnitWarning)
        warnings.filterwarnings("ignore", category=NothingToWatchWarning)
        warnings.filterwarnings("ignore", message="Training diverged")  # recorded as such
        warnings.filterwarnings("ignore", category=NonFiniteWarning)  # its NaN, ditto
        # The step a run diverged at is part of its result: checked after every batch (a
        # group of steps). A batch hook turns Keras's asynchronous callbacks off: about 8 %
        # of a claim-2 run under `--jobs 2` (36 s against 33 s for 4 epochs).
        history = fit(model, data, callbacks=callbacks, verbose=verbose, log_every=spec.log_every,
                      check_every=1)
    records = history_records(history)
    splits = SPLITS if spec.final_train else tuple(s for s in SPLITS if s != "train")
    metrics = plain(evaluate(model, data, history=history, splits=splits))
    # A loss that is not a number (None once plain) on the first split scored: diverged.
    first = next((f"{s}_loss" for s in splits if f"{s}_loss" in metrics), None)
    diverged = (any(row.get("loss") is None for row in records)
                or first is None or metrics[first] is None
                or getattr(history, "diverged_at_step", None) is not None)
    measured = {}
    if not diverged:
        from actkeras.experiments.measures import MEASURES

        measured = {name: MEASURES[name](model, data, spec) for name in spec.measures}
    return model, {
        "status": "diverged" if diverged else "ok",
        "config": model.actkeras_config.to_dict(),
        "data": _data_record(data),
        "metrics": metrics,
        "history": records,
        "monitors": {name: monitor.records for name, monitor in monitors.items()},
        "budgets": budgets.records if budgets else [],
        "diverged_at_step": getattr(history, "diverged_at_step", None),
        "measures": measured,
    }


def _regression(spec, verbose):
    from actkeras.experiments.regression import fit_sine

    settings = dict(spec.overrides)
    model, history, measurements = fit_sine(
        spec.activation, spec.activation_kwargs, seed=spec.seed,
        verbose=verbose, callbacks=[DivergenceGuard(every=1)], **settings)
    records = [{"epoch": i + 1, "loss": v} for i, v in enumerate(history.history["loss"])]
    diverged = measurements["mse"] is None or any(r["loss"] is None or not math.isfinite(r["loss"])
                                                  for r in records)
    return model, {
        "status": "diverged" if diverged else "ok",
        "config": {"activation": spec.activation, "activation_kwargs": spec.activation_kwargs,
                   **settings},
        "metrics": {"mse": measurements["mse"]},
        "history": records,
        "measurements": measurements,
    }


def _cost(spec, data):
    """Claim 8's timings: paired, shuffled rounds (`bench.activation_cost`, and in the first
    invocation `bench.mlp_epoch_time`), every round's raw times kept."""
    from actkeras import bench

    o = spec.overrides
    op = bench.activation_cost(list(o["activations"]), elements=o["elements"], inner=o["inner"],
                               rounds=o["rounds"], seed=spec.seed)
    measurements = {"backend": keras.backend.backend(), "op": op}
    if o.get("step_activations"):
        measurements["step"] = bench.mlp_epoch_time(data, list(o["step_activations"]),
                                                    rounds=o["step_rounds"], seed=spec.seed)
    return None, {"status": "ok", "config": dict(o), "measurements": measurements}


def _probe(spec, data):
    """Step-0 profiles (`experiments.probes.step0`) of every depth and seed of the spec."""
    from actkeras.experiments.probes import step0
    from actkeras.models import build_model
    from actkeras.registry import get_entry
    from actkeras.seeding import seed_everything

    overrides = {k: v for k, v in spec.overrides.items() if k not in ("depths", "seeds")}
    n = min(spec.probe_size, len(data.x_valid))
    x, y = data.x_valid[:n], data.y_valid[:n]
    family = get_entry(spec.activation).family
    profiles = {}
    for depth in spec.overrides["depths"]:
        profiles[str(depth)] = {}
        for seed in spec.overrides["seeds"]:
            # A short loop of small models: no garbage collection each time (Keras's own
            # advice; it took a third of a 30-model profile): the next run's `execute` does.
            keras.backend.clear_session(free_memory=False)
            seed_everything(seed)
            model = build_model(spec.activation, preset=spec.preset,
                                activation_kwargs=spec.activation_kwargs,
                                hidden_units=(100,) * depth, seed=seed, **overrides)
            profiles[str(depth)][str(seed)] = step0(model, x, y, family)
    return None, {"status": "ok", "data": _data_record(data), "probe": profiles,
                  "config": {"family": family, "probe_size": n, **overrides}}


def _earlier_seconds(spec, out):
    """The time earlier invocations spent on a search that is now resumed: the last
    attempt's own time and what it had recorded before it."""
    try:
        earlier = json.loads(result_path(out, spec).read_text())
    except (OSError, ValueError):
        return 0.0
    if not isinstance(earlier, dict) or earlier.get("run_id") != spec.run_id:
        return 0.0
    return (float((earlier.get("timing") or {}).get("seconds") or 0)
            + float((earlier.get("search") or {}).get("earlier_seconds") or 0))


def _tune(spec, data, out):
    """A Keras Tuner grid search over `spec.grid` (learning rates) for the spec's arm; each
    trial is scored by its final validation accuracy."""
    from actkeras.experiments.search import search_learning_rate

    folder = Path(out) / "tuning" / spec.run_id
    earlier = _earlier_seconds(spec, out) if folder.exists() else 0.0
    found = search_learning_rate(spec, data, folder)
    if earlier:  # a resumed search: its reused trials were trained by earlier invocations
        found["earlier_seconds"] = earlier
    return None, {"status": "ok", "data": _data_record(data), "search": found,
                  "config": {"grid": list(spec.grid), **spec.overrides}}


def _baseline(spec, data):
    """Claim 9's best linear classifier: logistic regression with its L2 penalty chosen on
    the validation split (`experiments.baseline`)."""
    from actkeras.experiments.baseline import logistic_regression

    fit = logistic_regression(data, spec.overrides["c_grid"])
    return None, {"status": "ok", "data": _data_record(data), "baseline": fit,
                  "metrics": {"valid_accuracy": fit["valid_accuracy"],
                              "test_accuracy": fit["test_accuracy"],
                              "train_accuracy": fit["train_accuracy"]},
                  "config": dict(spec.overrides)}


def _population(spec, cache):
    """Claim 11's random networks at initialisation (`experiments.population`); the images
    are loaded only for a probe of images."""
    from actkeras.experiments.population import born_dead

    data = None if spec.source == "generated" else cache.get(spec)
    result = born_dead(spec, data)
    if data is not None:
        result["data"] = _data_record(data)
    return None, result


def execute(spec, data=None, verbose=0, out=None):
    """Runs one spec in a fresh, seeded session; returns `(model, partial result)`."""
    from actkeras.seeding import seed_everything

    keras.backend.clear_session()
    seed_everything(spec.seed)
    if spec.kind == "regression":
        return _regression(spec, verbose)
    if spec.kind == "population":
        return _population(spec, data or DataCache())
    data = (data or DataCache()).get(spec)
    if spec.kind == "cost":
        return _cost(spec, data)
    if spec.kind == "probe":
        return _probe(spec, data)
    if spec.kind == "tune":
        return _tune(spec, data, out or ".")
    if spec.kind == "baseline":
        return _baseline(spec, data)
    return _train(spec, data, verbose)


def estimated_work(spec):
    """A rough cost of a run in floating-point operations, for the ETA only.

    Per training step: the multiply-adds of forward and backward passes plus a fixed
    cost per layer (on a CPU a deep narrow network is bound by per-layer overhead, not
    by arithmetic); per run: start-up and tracing, growing with depth.
    """
    if spec.kind == "cost":
        return 1.5e12
    if spec.kind == "regression":
        return 8e10 + 1e7 * spec.overrides.get("steps", 1000)
    if spec.kind == "baseline":
        return 2e12
    if spec.kind == "probe":
        depths = spec.overrides.get("depths", (20,))
        return 2e10 * len(spec.overrides.get("seeds", (0,))) * sum(depths) / 20
    if spec.kind == "population":  # memory-bound forward passes: probe x networks x units
        o = spec.overrides
        units = sum(o.get("widths", (1,))) * max(o.get("depths", (1,)))  # drawn at the deepest
        return 4e4 * o.get("probe", 1) * o.get("networks", 1) * len(o.get("seeds", (0,))) * units / 1e3 + 2e10
    from actkeras.models import resolve_config

    overrides = {k: v for k, v in spec.overrides.items() if k != "seed"}
    try:
        config = resolve_config(spec.preset, spec.activation, spec.activation_kwargs, **overrides)
    except ValueError:
        return 1e11
    sizes = (int(np.prod(config.input_shape)),) + config.hidden_units + (config.num_classes,)
    flops = 6 * config.batch_size * sum(a * b for a, b in zip(sizes, sizes[1:]))
    layers = len(sizes) - 1 + (len(config.hidden_units) if config.batch_norm else 0)
    embedded = spec.source == "embedded"
    n_train = spec.subset[0] if spec.subset else {
        "notmnist": 4000 if embedded else 15000}.get(spec.dataset, 2750 if embedded else 55000)
    steps = config.steps or config.epochs * math.ceil(n_train / config.batch_size)
    work = steps * (flops + 1.2e7 * layers) + 8e10 + 3e9 * layers
    return work * (len(spec.grid) if spec.kind == "tune" else 1)


def forget(spec, out):
    """Removes what a run kept between attempts (a search's trials), so that running it
    again (forced, or stale) computes it afresh instead of resuming."""
    import shutil

    if spec.kind == "tune":
        shutil.rmtree(Path(out) / "tuning" / spec.run_id, ignore_errors=True)


def run_specs(specs, out, *, force=False, verbose=2, data_dir=None, export=False,
              progress=print, executed=None, provenance=None, stale="refuse", isolate=False):
    """Runs every spec not finished before; returns `{run_id: result}` for all of them.

    Args:
        specs: `RunSpec`s; duplicates (same `run_id`) run once.
        out: the reproduction folder; results go to `out/runs/`.
        force: run again even the runs that finished before: `True`, `False`, or a
            predicate on a spec (run again those it accepts). Defaults to `False`.
        verbose: Keras's `verbose` for training (0 quiet, 2 one line per epoch).
        data_dir: passed to `load_dataset`. Defaults to `None`.
        export: also export each trained model to `out/models/<run_id>/`.
        progress: where progress lines go. Defaults to `print`.
        executed: a set that receives the ids of the runs this call ran.
        provenance: `fn(spec) -> provenance dict` recorded in each result and checked
            against the finished ones (see `stale_reason`). Defaults to none.
        stale: what to do with a finished run whose provenance differs: `"refuse"`
            (raise `StaleRuns` before running anything), `"reuse"` or `"rerun"`.
        isolate: run each spec in a fresh process of its own (claim 8's timings).
    """
    unique = {}
    for spec in specs:
        unique.setdefault(spec.run_id, spec)
    forced = force if callable(force) else (lambda spec: force)
    results, todo, stale_found = {}, [], []
    for run_id, spec in unique.items():
        if forced(spec):
            todo.append((spec, "forced"))
            continue
        result, why = read_result(result_path(out, spec), spec)
        if result is not None and provenance is not None:
            reason = stale_reason(result, provenance(spec))
            if reason is not None:
                stale_found.append((spec, reason))
                if stale == "rerun":
                    todo.append((spec, f"stale: {reason}"))
                    continue
                result["stale"] = reason
        if result is None:
            todo.append((spec, why))
        else:
            results[run_id] = result
    if stale_found and stale == "refuse":
        raise StaleRuns(stale_found)
    ran_here = executed or set()
    workers = sum(1 for run_id in results if run_id in ran_here)
    reused = len(results) - workers
    n_stale = sum(1 for r in results.values() if r.get("stale"))
    progress(f"{len(unique)} runs: " + (f"{workers} run by this invocation's workers, "
                                         if workers else "")
             + f"{reused} reused from earlier invocations"
             + (f" ({n_stale} of them stale, reused as asked)" if n_stale else "")
             + f", {len(todo)} to run -> {Path(out) / 'runs'}")
    data = DataCache(data_dir)
    total_work = sum(estimated_work(spec) for spec, _ in todo)
    done_work, spent, start = 0.0, 0.0, time.perf_counter()
    for index, (spec, why) in enumerate(todo, 1):
        elapsed = time.perf_counter() - start
        eta = "?" if not done_work else clock(spent / done_work * (total_work - done_work))
        note = "" if why in ("not run yet", "forced") else f" ({why}: running again)"
        progress(f"[run {index}/{len(todo)}] {spec.title} — elapsed {clock(elapsed)}, "
                 f"ETA {eta}{note}")
        began = time.perf_counter()
        if why == "forced" or why.startswith("stale"):
            forget(spec, out)
        mark = provenance(spec) if provenance else None
        if isolate:
            results[spec.run_id] = run_isolated(spec, out, data_dir=data_dir, provenance=mark)
        else:
            results[spec.run_id] = run_one(spec, out, data=data, verbose=verbose, export=export,
                                           provenance=mark)
        if executed is not None:
            executed.add(spec.run_id)
        seconds = time.perf_counter() - began
        spent += seconds
        done_work += estimated_work(spec)
        status = results[spec.run_id]["status"]
        if status != "ok":
            progress(f"  {status}: {results[spec.run_id].get('error') or 'loss became NaN'}")
    if todo:
        progress(f"{len(todo)} runs in {clock(time.perf_counter() - start)}")
    return {run_id: results[run_id] for run_id in unique}


class StaleRuns(UserError):
    """Finished runs made under another protocol, actkeras version or data set."""

    def __init__(self, found):
        self.found = found
        first, why = found[0]
        super().__init__(
            f"{len(found)} finished run(s) were made under another protocol, actkeras version "
            f"or data set (e.g. {first.run_id}: {why}): add --rerun-stale to run them again, "
            f"or --reuse-stale to reuse them (the report counts and names them).")


def run_one(spec, out, *, data=None, verbose=0, export=False, provenance=None):
    """Runs one spec and writes its files; returns the result that was written."""
    path = result_path(out, spec)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    began, cpu_began = time.perf_counter(), time.process_time()
    model = None
    data = data or DataCache()
    try:
        model, result = execute(spec, data, verbose, out=out)
        error = None
    except Exception as exc:  # recorded, and the reproduction goes on
        result = {"status": "failed"}
        lines = traceback.format_exception(exc)
        error = f"{type(exc).__name__}: {exc}"
        result["traceback"] = "".join(lines[-6:])
    provenance = dict(provenance or {"actkeras": _version(), "protocol": {}})
    provenance["code"] = code_digest()  # the code this process runs, whoever asked
    provenance["backend"] = keras.backend.backend()  # the one it ran on, whatever was asked
    if spec.source != "generated" and provenance.get("data") is None:
        provenance["data"] = data.fingerprint(spec)
    result = plain({
        "format": RESULT_FORMAT,
        "run_id": spec.run_id,
        "content": spec.content(),
        "spec": spec.to_dict(),
        "error": error,
        **result,
        "provenance": provenance,
        # CPU seconds of this process (all its threads): what the run costs, whatever the
        # machine's load did to its wall time.
        "timing": {"started": started, "seconds": time.perf_counter() - began,
                   "cpu_seconds": time.process_time() - cpu_began,
                   "backend": keras.backend.backend(), "invocation": uuid.uuid4().hex},
    })
    with writing(out, note=RESUME_NOTE):
        if result.get("history"):
            _write_text(path.with_name(f"{spec.run_id}.history.csv"),
                        history_csv(result["history"]))
        write_json(path.with_name(f"{spec.run_id}.config.json"),
                   {"spec": result["spec"], "config": result.get("config"),
                    "data": result.get("data")})
        if export and model is not None and spec.kind == "train" and result["status"] == "ok":
            from actkeras.export import export_model

            export_model(model, spec.run_id, root=Path(out) / "models", overwrite=True,
                         metadata={"spec": result["spec"], "metrics": result.get("metrics")})
        write_json(path, result)  # last: the commit mark
    return result


def run_isolated(spec, out, *, data_dir=None, provenance=None):
    """Runs one spec in a fresh interpreter (spawned) that uses every CPU core, and returns
    the result it wrote; a process that dies is recorded as a failed run."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from actkeras.experiments import parallel

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, initializer=parallel.start_worker,
                             initargs=(None, data_dir, os.getpid())) as pool:
        try:
            pool.submit(parallel.run_in_worker, spec, str(out), 0, False, provenance).result()
        except BrokenProcessPool as error:
            return run_failed(spec, out, f"the process running it died ({error})")
        except KeyboardInterrupt:  # the worker leaves Ctrl-C to this process
            parallel.stop_workers()
            raise
    result, why = read_result(result_path(out, spec), spec)
    if result is None:
        result = json.loads(result_path(out, spec).read_text()) if result_path(out, spec).exists() \
            else run_failed(spec, out, why)
    return result


def run_failed(spec, out, error):
    """Records `spec` as failed with `error` (a run whose process could not report)."""
    result = plain({"format": RESULT_FORMAT, "run_id": spec.run_id, "content": spec.content(),
                    "spec": spec.to_dict(), "status": "failed", "error": error,
                    "timing": {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                               "seconds": 0.0, "invocation": uuid.uuid4().hex}})
    with writing(out, note=RESUME_NOTE):
        write_json(result_path(out, spec), result)
    return result
