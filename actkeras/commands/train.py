"""`actkeras train`: one preset, one activation, with Keras's progress output and the monitors.

Writes `config.json`, `history.csv`, `history.json`, `metrics.json` and the trained
`model.keras` (for `actkeras export --from`) to `--out`; a folder that already holds a
run is refused unless `--overwrite`. Interrupted (Ctrl-C), it keeps the finished
epochs' history and the model at the last finished epoch, and exits with code 130.

With `--overwrite`, the new run is written in a hidden folder inside `--out` and moved
over the earlier run's files only when it has a model to keep (at its end, or at a
Ctrl-C after its first epoch): a run that diverges, fails or is stopped before its
first epoch ends leaves the earlier run as it was (a diverged run's history goes to
`diverged-run/` beside it).
"""

import re
import sys
import time
import warnings
from pathlib import Path

from actkeras.atomic import leftovers, remove, replace_folder, staging_folder, temporary_path
from actkeras.atomic import write_json, write_text
from actkeras.commands.common import (
    ACTIVATION_SPEC,
    COUNT,
    DATASET_OF_PRESET,
    INITIALIZER,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    PRESET,
    UsageError,
    add_data_arguments,
    add_quiet_argument,
    arguments,
    key_values,
    load_data,
)
from actkeras.errors import UserError, nearest_existing, writing

# What a run writes to --out: an existing one is replaced only with --overwrite.
RUN_FILES = ("config.json", "history.json", "history.csv", "metrics.json", "model.keras")
# Where a new run that diverged leaves its history when --out held an earlier run
# (`diverged-run-2`, ... where a folder of that name holds something else).
DIVERGED = "diverged-run"


def add_arguments(parser):
    parser.add_argument("--preset", default="udacity", type=PRESET,
                        help="udacity, fashion_mlp or mlp")
    parser.add_argument(
        "--activation",
        default="relu", type=ACTIVATION_SPEC,
        help="registry name, optionally with arguments: leaky_relu:negative_slope=0.1",
    )
    parser.add_argument("--dataset", choices=["notmnist", "fashion_mnist"],
                        help="default: the preset's own data set")
    add_data_arguments(parser)
    parser.add_argument("--out", help="output folder (default: runs/train-PRESET-ACTIVATION)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the run already in --out")
    parser.add_argument("--epochs", type=POSITIVE_INT, help="train for this many epochs")
    parser.add_argument("--steps", type=POSITIVE_INT,
                        help="train for this many steps (udacity: 3001)")
    parser.add_argument("--learning-rate", type=POSITIVE_FLOAT)
    parser.add_argument("--initializer", type=INITIALIZER)
    parser.add_argument("--batch-size", type=POSITIVE_INT)
    parser.add_argument("--seed", type=COUNT, default=0, help="seed for everything (default 0)")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="any other build_model override, e.g. --set batch_norm=True")
    parser.add_argument("--no-monitors", action="store_true",
                        help="train without the dead-unit monitor and the gradient-norm logger "
                        "(their summaries are in the progress output and the history)")
    add_quiet_argument(parser)


def _out(args):
    name = args.activation.partition(":")[0].strip()
    return Path(args.out or f"runs/train-{args.preset}-{name}")


def check(args):
    """Before Keras loads: `--set`'s keys, and a folder holding a run is replaced only
    with `--overwrite`."""
    key_values(args.set)  # KEY=VALUE, with a known key
    if args.epochs is not None and args.steps is not None:
        raise UsageError(f"--epochs and --steps both set the training's length: give one. "
                         f"Received: --epochs {args.epochs} --steps {args.steps}")
    out = _out(args)
    above = nearest_existing(out)
    if not above.is_dir():
        raise UsageError(f"--out must be a folder, and {above} is a file: choose another "
                         f"folder. Received: --out {out}")
    found = [name for name in RUN_FILES if (out / name).exists()]
    if found and not args.overwrite:
        raise UsageError(
            f"{out} already holds a training run ({', '.join(found)}): add --overwrite to "
            f"replace it, or choose another folder with --out. Received: --out {out}")


def run(args):
    from actkeras.models import build_model
    from actkeras.registry import parse_activation_spec
    from actkeras.seeding import seed_everything
    from actkeras.training import check_data

    overrides = key_values(args.set)
    for key in ("learning_rate", "initializer", "batch_size", "seed"):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if args.epochs is not None:
        overrides.update(epochs=args.epochs, steps=None)
    if args.steps is not None:
        overrides["steps"] = args.steps
    with arguments():
        name, kwargs = parse_activation_spec(args.activation)
        seed_everything(args.seed)
        model = build_model(name, preset=args.preset, activation_kwargs=kwargs, **overrides)
    dataset = args.dataset or DATASET_OF_PRESET[args.preset]
    data = load_data(dataset, args)
    with arguments():  # e.g. `--set input_shape=...` against the data's images
        check_data(model, data)
    out = _out(args)
    earlier = [name for name in RUN_FILES if (out / name).exists()]  # only with --overwrite
    with writing(out):
        out.mkdir(parents=True, exist_ok=True)
        for leftover in leftovers(out):  # a killed run's staging folder (only ours are so named)
            remove(leftover)
        # The earlier run stays in place until this one has a model to replace it with.
        target = staging_folder(out, "run") if earlier else out
        write_json(target / "config.json",
                   {"model": model.actkeras_config.to_dict(), "dataset": data.info})
    try:
        return _train(args, model, data, dataset, out, target)
    finally:
        if target != out:
            remove(target)  # not moved into place: failed, or stopped before a model was kept


def _train(args, model, data, dataset, out, target):
    """Trains `model` and writes the run to `target`: `out` itself, or a staging folder
    moved over `out`'s earlier run when this one keeps a model (`_replace`)."""
    from actkeras.callbacks import DeadUnitWarning, NonFiniteWarning, NothingToWatchWarning
    from actkeras.training import (
        FinishedEpochs,
        divergence_message,
        evaluate,
        fit,
        history_records,
    )

    config = model.actkeras_config
    print(f"Training {model.name}: {model.count_params():,} parameters on {dataset} "
          f"({len(data.x_train):,} train images) -> {out}")
    kept = FinishedEpochs()
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(), kept.catching_interrupt(_stopping):
            warnings.filterwarnings("ignore", message="Training diverged")  # raised below
            # A net without rectifiers has no dead units to count: the column is left out.
            warnings.filterwarnings("ignore", category=NothingToWatchWarning)
            # The dead fraction is in the progress output and the history: a warning per
            # layer and epoch repeats it (the README: train silences them by category).
            warnings.filterwarnings("ignore", category=DeadUnitWarning)
            # NaN in the monitors' measurements: the divergence, which the error line says.
            warnings.filterwarnings("ignore", category=NonFiniteWarning)
            history = fit(model, data, callbacks=[*_monitors(args), kept],
                          verbose=0 if args.quiet else "auto")
    except KeyboardInterrupt:  # the second Ctrl-C, or one from a callback
        kept.interrupted = True
    if kept.interrupted:
        if not args.quiet:
            print(flush=True)  # past Keras's progress bar, which the interruption cut short
        return _interrupted(model, kept, out, target, time.perf_counter() - start)
    seconds = time.perf_counter() - start
    records = history_records(history)
    # Training has ended: a Ctrl-C now lets the evaluation and the files finish first (it
    # escaped to the top before, and the finished run kept config.json only).
    with kept.catching_interrupt(_finishing):
        metrics = {**evaluate(model, data), "train_seconds": seconds}
        with writing(out):
            _write_records(target, records, metrics)
            if history.diverged_at_step is not None:
                # The history is kept for a look; a diverged model is not worth saving, nor
                # worth an earlier run's place.
                where = out
                if target != out:
                    where = _diverged_folder(out)
                    replace_folder(target, where, overwrite=True)
                raise UserError(divergence_message(history.diverged_at_step,
                                                   config.learning_rate)
                                + f" The history up to there is in {where}"
                                + (f"; the earlier run in {out} is kept." if where != out
                                   else "."))
            _save_model(model, target)
            _replace(target, out)
    print("  ".join(f"{k}={v:.4f}" for k, v in metrics.items()))
    if kept.interrupted:
        print(f"actkeras train: interrupted after training ended; the run is whole in {out}",
              file=sys.stderr)
        return 130
    return 0


def _monitors(args):
    if args.no_monitors:
        return []
    from actkeras.callbacks import DeadReLUMonitor, GradientNormLogger

    return [DeadReLUMonitor(), GradientNormLogger()]


def _stopping():
    print("\nactkeras train: Ctrl-C: stopping at the end of this step (Ctrl-C again: at once)",
          file=sys.stderr, flush=True)


def _finishing():
    print("\nactkeras train: Ctrl-C: training has ended; evaluating and writing the run first "
          "(Ctrl-C again: at once)", file=sys.stderr, flush=True)


def _write_records(target, records, metrics):
    from actkeras.training import history_csv

    write_json(target / "history.json", records)
    write_text(target / "history.csv", history_csv(records))
    write_json(target / "metrics.json", metrics)


def _save_model(model, target):
    with temporary_path(target / "model.keras", suffix=".keras") as tmp:  # never half written
        model.save(tmp)


def _replace(target, out):
    """Moves the new run's files from the staging folder `target` over the earlier run's
    in `out` (each file by one rename); the earlier run's other files, and the history of
    a new run that diverged in between, go."""
    if target == out:
        return
    for name in RUN_FILES:
        if (target / name).exists():
            (target / name).replace(out / name)
        else:
            (out / name).unlink(missing_ok=True)
    for folder in out.glob(f"{DIVERGED}*"):
        if _diverged_history(folder):
            remove(folder)


def _diverged_history(folder):
    """Whether `folder` is a diverged run's history this command put there: named so, and
    holding a run's files and nothing else (a user's folder of that name is left alone)."""
    if not re.fullmatch(rf"{DIVERGED}(-\d+)?", folder.name) or not folder.is_dir():
        return False
    names = {p.name for p in folder.iterdir()}
    return "config.json" in names and names <= set(RUN_FILES)


def _diverged_folder(out):
    """`out/diverged-run`, or the first `diverged-run-N` free or ours, for a new diverged
    history."""
    for n in range(1, 1000):
        folder = out / (DIVERGED if n == 1 else f"{DIVERGED}-{n}")
        if not folder.exists() or _diverged_history(folder):
            return folder
    raise UserError(f"{out} holds 999 folders named {DIVERGED}-N: remove some.")


def _interrupted(model, kept, out, target, seconds):
    """Ctrl-C: the finished epochs' history and the model at the last of them are
    written (each file whole, as always); exit code 130."""
    from actkeras.training import history_records

    if not kept.restore():
        kept_what = (f"the earlier run in {out} is kept" if target != out
                     else f"{out} holds config.json only")
        print(f"actkeras train: interrupted before the first epoch ended; nothing trained "
              f"to keep ({kept_what})", file=sys.stderr)
        return 130
    records = history_records(kept)
    finished = len(records)
    with writing(out):
        _write_records(target, records, {"interrupted_after_epoch": finished,
                                         "interrupted_after_step": kept.step,
                                         "train_seconds": seconds})
        _save_model(model, target)
        _replace(target, out)
    epochs = f"{finished} finished epoch{'s' if finished != 1 else ''}"
    print(f"actkeras train: interrupted; kept the {epochs}: their history (history.json, "
          f"history.csv) and the model at the end of epoch {finished} (step {kept.step:,}, "
          f"model.keras) are in {out}", file=sys.stderr)
    return 130
