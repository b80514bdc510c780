"""`actkeras tune`: a Keras Tuner search over the activation choice, local or distributed.

On one machine (or on the chief) it prints the results table best first, writes
`results.csv` and `results.json` to DIRECTORY/PROJECT, and exports the best model
to `saved_models/`. Distributed, one command per process, the same arguments
everywhere and a directory every process can reach:

    KERASTUNER_TUNER_ID=chief  KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
        actkeras tune --preset mlp --tuner random --max-trials 12 --directory /shared/tuning
    KERASTUNER_TUNER_ID=tuner0 KERASTUNER_ORACLE_IP=10.0.0.1 KERASTUNER_ORACLE_PORT=8000 \\
        actkeras tune --preset mlp --tuner random --max-trials 12 --directory /shared/tuning

(and `tuner1`, `tuner2`, ... the same way). The chief only serves trials and
writes the results; workers train.
"""

import os
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from actkeras import checks, ownership
from actkeras.commands.common import (
    COUNT,
    DATASET_OF_PRESET,
    INITIALIZERS,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    PRESET,
    activation_name,
    add_data_arguments,
    add_quiet_argument,
    arguments,
    UsageError,
    checked,
    comma_list,
    key_values,
    load_data,
    positive,
    training_images,
)
from actkeras.errors import check_writable, writing

TUNERS = ("random", "grid", "hyperband", "bayesian")  # `actkeras.tuning.TUNERS`, without Keras
# Every metric a trial can log (`ActivationHyperModel.logged_metrics` says which this one does).
OBJECTIVES = ("loss", "accuracy", "val_loss", "val_accuracy", "gradient_ratio", "dead_fraction",
              "inactive_fraction")

TABLE_COLUMNS = ("rank", "trial_id", "status", "score", "activation", "learning_rate",
                 "initializer", "units", "depth", "epochs", "dead_fraction", "inactive_fraction",
                 "gradient_ratio", "val_loss")


def add_arguments(parser):
    parser.add_argument("--preset", default="udacity", type=PRESET,
                        help="udacity, fashion_mlp or mlp")
    parser.add_argument("--tuner", default="random",
                        type=checked(str, lambda t: checks.choice("tuner", t, TUNERS), "a tuner"),
                        help="random, grid, hyperband or bayesian (default random)")
    parser.add_argument("--activations", type=comma_list(str, activation_name),
                        help="comma-separated registry names (default: all of them)")
    parser.add_argument("--learning-rates", type=comma_list(float, positive), metavar="LR,LR,...",
                        help="tune the learning rate over these values")
    parser.add_argument("--initializers",
                        type=comma_list(str, lambda t: checks.choice("initializer", t,
                                                                     INITIALIZERS)), metavar="NAME,...",
                        help="tune the kernel initializer over these names")
    parser.add_argument("--widths", type=comma_list(int, positive), metavar="N,N,...",
                        help="tune the hidden width (units per layer)")
    parser.add_argument("--depths", type=comma_list(int, positive), metavar="N,N,...",
                        help="tune the number of hidden layers")
    parser.add_argument("--max-trials", type=COUNT, default=10,
                        help="trials at most; 0: no limit (the whole grid); Hyperband sets "
                        "its own budget (default 10)")
    parser.add_argument("--executions-per-trial", type=POSITIVE_INT, default=1,
                        help="trainings averaged per trial (default 1)")
    parser.add_argument("--directory", default="tuning",
                        help="where the search lives; shared by every process (default tuning)")
    parser.add_argument("--project-name", default="actkeras",
                        help="the search's folder inside DIRECTORY (default actkeras)")
    parser.add_argument("--overwrite", action="store_true",
                        help="discard a search already in DIRECTORY/PROJECT, its files only "
                        "(not on workers), and replace the export it makes")
    parser.add_argument("--objective", default="val_accuracy",
                        help="metric to optimise, checked before any trial; minimised if it "
                        "names a loss (default val_accuracy)")
    parser.add_argument("--seed", type=COUNT, default=0, help="seed for everything (default 0)")
    parser.add_argument("--epochs", type=POSITIVE_INT,
                        help="train each trial for this many epochs")
    parser.add_argument("--steps", type=POSITIVE_INT, help="train each trial for this many steps")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="a fixed build_model override, e.g. --set units=64")
    parser.add_argument("--dataset", choices=["notmnist", "fashion_mnist"],
                        help="default: the preset's own data set")
    add_data_arguments(parser)
    parser.add_argument("--train-samples", type=COUNT, help="use only this many training images")
    parser.add_argument("--valid-samples", type=COUNT,
                        help="use only this many validation images")
    parser.add_argument("--synthetic", type=POSITIVE_INT, metavar="N",
                        help="smoke test: N random learnable 28x28 images instead of a data set")
    parser.add_argument("--max-retries", type=COUNT, default=1,
                        help="retries of a crashed trial or a lost worker's trial (default 1)")
    parser.add_argument("--worker-timeout", type=POSITIVE_FLOAT, default=60.0,
                        help="chief: seconds before a silent worker's trial is retried")
    parser.add_argument("--oracle-timeout", type=POSITIVE_FLOAT, default=120.0,
                        help="worker: seconds before it gives up on a silent chief")
    parser.add_argument("--export-root", default="saved_models", metavar="ROOT",
                        help="where the best model is exported (default saved_models)")
    parser.add_argument("--no-export", action="store_true", help="do not export the best model")
    parser.add_argument("--export-overwrite", action="store_true",
                        help="replace an existing tune-PRESET-ACTIVATION export (its files "
                        "only), keeping the search")
    add_quiet_argument(parser, "no per-epoch Keras progress output in the trials")


def check(args):
    """Before Keras loads: every argument that can be checked without it, the search's
    folder and the export's place (or the search would be lost at the end)."""
    if args.objective not in OBJECTIVES:
        raise UsageError(f"Unknown objective: a trial logs at most {', '.join(OBJECTIVES)} "
                         f"(the objective is minimised if it names a loss, else maximised). "
                         f"Received: --objective {args.objective}")
    with arguments():  # before Keras loads: a worker's or chief's variables
        checks.tuner_role(os.environ)
    if not args.project_name:
        raise UsageError("--project-name names the search's folder inside --directory: give "
                         "a name. Received: --project-name ''")
    if args.synthetic is not None:
        given = [(option, value) for option, value in (
            ("--dataset", args.dataset), ("--train-samples", args.train_samples),
            ("--valid-samples", args.valid_samples)) if value is not None]
        if given:
            raise UsageError(f"--synthetic N makes the data (N training and N/2 validation "
                             f"images), so {', '.join(o for o, _ in given)} would be left "
                             f"unused: give one or the other. Received: --synthetic "
                             f"{args.synthetic} {' '.join(f'{o} {v}' for o, v in given)}")
    overrides = key_values(args.set)
    if "seed" in overrides:
        raise UsageError(f"--set seed is --seed here (the search's seed, its trials' too): "
                         f"use --seed {overrides['seed']}. Received: --set "
                         f"seed={overrides['seed']}")
    if args.synthetic is not None:
        training_images(args.synthetic, "--synthetic", args.preset, args, overrides)
    elif args.train_samples is not None:
        training_images(args.train_samples, "--train-samples", args.preset, args, overrides)
    if not args.no_export:
        _check_exports(args)
    _check_folder(args)


def _check_folder(args):
    directory = Path(args.directory)
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"--directory {directory} is a file, not a folder. "
                         f"Received: --directory {directory}")
    project = directory / args.project_name
    problem = ownership.search_problem(project, "another --directory or --project-name",
                                       "--overwrite")
    if problem:
        raise UsageError(f"{problem} Received: --project-name {args.project_name}")
    check_writable(project, option="--directory")


def _check_exports(args):
    """The best model's export, `tune-PRESET-ACTIVATION`, for every searched activation."""
    from actkeras.commands.export import check_destination
    from actkeras.registry import activation_names

    root = Path(args.export_root)
    if root.exists() and not root.is_dir():
        raise UsageError(f"--export-root {root} is a file, not a folder. "
                         f"Received: --export-root {root}")
    option = "--export-overwrite (or --overwrite, which also discards the search)"
    export = SimpleNamespace(export_root=root, export=True,
                             export_overwrite=args.export_overwrite or args.overwrite)
    for activation in args.activations or activation_names():
        name = f"tune-{args.preset}-{activation}"
        try:
            check_destination(name, export)
        except UsageError as error:
            if ownership.export_state(root / name) != "ours":
                # The search names its export: the fix is another root, not a name.
                problem = ownership.export_problem(
                    root / name, fix="the search would export its best model there, so "
                    "choose another --export-root, or --no-export")
                if problem:
                    raise UsageError(f"{problem} Received: --export-root {root}") from error
                raise
            raise UsageError(
                f"The search would export its best model as {root / name}, which holds an "
                f"earlier export: add {option} to replace its files, or --no-export, or "
                f"choose another --export-root. Received: --export-root {root}") from error


def _data(args):
    from actkeras.data import synthetic_dataset

    if args.synthetic:
        return synthetic_dataset(args.synthetic, args.seed)
    data = load_data(args.dataset or DATASET_OF_PRESET[args.preset], args)
    for option, asked, split, name in (
            ("--train-samples", args.train_samples, data.x_train, "training"),
            ("--valid-samples", args.valid_samples, data.x_valid, "validation")):
        if asked is not None and asked > len(split):  # not the whole split without a word
            raise UsageError(f"{option} asks for more images than {data.name}'s {name} split "
                             f"has ({len(split):,}): ask for at most that, or leave {option} "
                             f"out for all. Received: {option} {asked}")
    with arguments():
        return data.subset(args.train_samples, args.valid_samples, None)


def run(args):
    from actkeras.tuning import (
        ActivationHyperModel,
        distributed,
        export_best,
        format_table,
        make_tuner,
        run_search,
    )
    from actkeras.tuning.search import check_validation

    mode = distributed.role()
    overrides = key_values(args.set)
    if args.epochs is not None:
        overrides.update(epochs=args.epochs, steps=None)
    if args.steps is not None:
        overrides["steps"] = args.steps
    with arguments(), _cli_spelling():
        hypermodel = ActivationHyperModel(
            args.preset, activations=args.activations, learning_rates=args.learning_rates,
            initializers=args.initializers, widths=args.widths, depths=args.depths,
            seed=args.seed, **overrides)
        tuner = make_tuner(
            args.tuner, hypermodel, args.directory, project_name=args.project_name,
            max_trials=args.max_trials or None, executions_per_trial=args.executions_per_trial,
            objective=args.objective, overwrite=args.overwrite,
            max_retries_per_trial=args.max_retries, worker_timeout=args.worker_timeout,
            oracle_timeout=args.oracle_timeout)
    data = None if mode == "chief" else _data(args)  # the chief trains nothing
    with arguments():  # `--valid-samples 0` with a val_ objective
        check_validation(tuner, data)
    who = tuner.tuner_id if mode else "search"
    print(f"{who}: {args.tuner} search over {', '.join(hypermodel.activations)} "
          f"({args.preset}) in {tuner.project_dir}", flush=True)
    start = time.perf_counter()
    try:
        rows = run_search(tuner, data, verbose=0 if args.quiet else 2)
    except distributed.ChiefLost as error:
        print(f"actkeras tune: {tuner.tuner_id}: {error}; the search goes on when the chief "
              "is restarted with the same arguments", file=sys.stderr)
        return 3
    if mode == "worker":
        print(f"{tuner.tuner_id}: no trials left; done in {time.perf_counter() - start:.1f} s")
        return 0
    print(format_table(rows, [c for c in TABLE_COLUMNS if any(c in row for row in rows)]))
    print(f"results: {tuner.project_dir}/results.csv, results.json "
          f"({time.perf_counter() - start:.1f} s)")
    if not args.no_export:
        with writing(args.export_root, option="--export-root",
                     note=f"The search's results are in {tuner.project_dir}."):
            where = export_best(tuner, rows, args.preset, args.export_root,
                                overwrite=args.export_overwrite or args.overwrite)
        if where is not None:
            print(f"best model exported to {where}")
    return 0 if any(row["status"] == "COMPLETED" for row in rows) else 1


class _cli_spelling:
    """The library names its arguments (`overwrite=True`); a CLI user reads the options."""

    WORDS = {"`directory`": "--directory", "`project_name`": "--project-name",
             "`overwrite=True`": "--overwrite"}

    def __enter__(self):
        return self

    def __exit__(self, kind, error, trace):
        if isinstance(error, ValueError) and not isinstance(error, UsageError):
            text = str(error)
            for word, option in self.WORDS.items():
                text = text.replace(word, option)
            raise UsageError(text) from error
        return False
