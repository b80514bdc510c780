"""`actkeras train`: one preset, one activation, with Keras's progress output and the monitors.

Writes `config.json`, `history.csv`, `history.json`, `metrics.json` and the trained
`model.keras` (for `actkeras export --from`) to `--out`; a folder that already holds a
run is refused unless `--overwrite`. Interrupted (Ctrl-C), it keeps the finished
epochs' history and the model at the last finished epoch, and exits with code 130.
"""

import sys
import time
import warnings
from pathlib import Path

from actkeras.atomic import temporary_path, write_json, write_text
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
    from actkeras.callbacks import DeadUnitWarning, NothingToWatchWarning
    from actkeras.models import build_model
    from actkeras.registry import parse_activation_spec
    from actkeras.seeding import seed_everything
    from actkeras.training import (
        FinishedEpochs,
        check_data,
        divergence_message,
        evaluate,
        fit,
        history_csv,
        history_records,
    )

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
    config = model.actkeras_config
    dataset = args.dataset or DATASET_OF_PRESET[args.preset]
    data = load_data(dataset, args)
    with arguments():  # e.g. `--set input_shape=...` against the data's images
        check_data(model, data)
    out = _out(args)
    with writing(out):
        out.mkdir(parents=True, exist_ok=True)
        for old in RUN_FILES:  # --overwrite: nothing of the earlier run mixes with this one
            (out / old).unlink(missing_ok=True)
        write_json(out / "config.json", {"model": config.to_dict(), "dataset": data.info})

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
            history = fit(model, data, callbacks=[*_monitors(args), kept],
                          verbose=0 if args.quiet else "auto")
    except KeyboardInterrupt:  # the second Ctrl-C, or one from a callback
        kept.interrupted = True
    if kept.interrupted:
        if not args.quiet:
            print(flush=True)  # past Keras's progress bar, which the interruption cut short
        return _interrupted(model, kept, out, time.perf_counter() - start)
    seconds = time.perf_counter() - start
    records = history_records(history)
    # Training has ended: a Ctrl-C now lets the evaluation and the files finish first (it
    # escaped to the top before, and the finished run kept config.json only).
    with kept.catching_interrupt(_finishing):
        metrics = {**evaluate(model, data), "train_seconds": seconds}
        with writing(out):
            write_json(out / "history.json", records)
            write_text(out / "history.csv", history_csv(records))
            write_json(out / "metrics.json", metrics)
            if history.diverged_at_step is not None:
                # The history is kept for a look; a diverged model is not worth saving.
                raise UserError(divergence_message(history.diverged_at_step,
                                                   config.learning_rate)
                                + f" The history up to there is in {out}.")
            with temporary_path(out / "model.keras", suffix=".keras") as tmp:  # never half written
                model.save(tmp)
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


def _interrupted(model, kept, out, seconds):
    """Ctrl-C: the finished epochs' history and the model at the last of them are
    written (each file whole, as always); exit code 130."""
    from actkeras.training import history_csv, history_records

    if not kept.restore():
        print(f"actkeras train: interrupted before the first epoch ended; nothing trained "
              f"to keep ({out} holds config.json only)", file=sys.stderr)
        return 130
    records = history_records(kept)
    finished = len(records)
    with writing(out):
        write_json(out / "history.json", records)
        write_text(out / "history.csv", history_csv(records))
        write_json(out / "metrics.json", {"interrupted_after_epoch": finished,
                                          "interrupted_after_step": kept.step,
                                          "train_seconds": seconds})
        with temporary_path(out / "model.keras", suffix=".keras") as tmp:
            model.save(tmp)
    epochs = f"{finished} finished epoch{'s' if finished != 1 else ''}"
    print(f"actkeras train: interrupted; kept the {epochs}: their history (history.json, "
          f"history.csv) and the model at the end of epoch {finished} (step {kept.step:,}, "
          f"model.keras) are in {out}", file=sys.stderr)
    return 130
