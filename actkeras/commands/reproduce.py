"""`actkeras reproduce`: the seeds' claims as experiments, with measured verdicts and a report.

Resumable: each run's result is written atomically as soon as it finishes, and a
second invocation skips the finished runs (`--force` runs them again).

`--backend jax` runs the reproduction on Keras's JAX backend in processes of its own
(this one, where Keras has not loaded yet, else a fresh one), into a folder of its own;
`--compare-with` adds the other backend's verdicts to the sensitivity tables;
`--scheduler` sends the runs to a Dask cluster (`experiments.cluster`). On JAX, the
command's processes keep compiled programs in JAX's persistent compilation cache
(`experiments.compile_cache`).
"""

import contextlib
import shlex
import sys

from actkeras.commands.common import (
    POSITIVE_INT,
    UsageError,
    add_data_arguments,
    add_quiet_argument,
    in_backend_process,
)


def _claim_ids(text):
    import argparse

    from actkeras.experiments.claims import check_ids

    try:
        ids = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--claims takes numbers separated by commas, e.g. "
                                         f"1,3,9. Received: --claims {text}") from None
    if not ids:
        raise argparse.ArgumentTypeError(f"--claims takes numbers separated by commas, e.g. "
                                         f"1,3,9. Received: --claims {text}")
    try:
        return check_ids(ids)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_arguments(parser):
    parser.add_argument("--preset", default="quick", choices=["quick", "full", "tiny"],
                        help="quick: the embedded samples, a few seeds (default; see the "
                             "README for its time on which machine); full: the real data sets "
                             "and the protocol's seeds (hours on 2 CPU cores: see the README "
                             "for the measured time and its machine); tiny: every claim at toy size, a smoke "
                             "test (verdicts meaningless)")
    parser.add_argument("--out", help="output folder (default: reproduction/PRESET, or a "
                                      "folder of its own for --claims or --seeds)")
    parser.add_argument("--claims", type=_claim_ids, metavar="1,3,9",
                        help="only these claims (default: all thirteen: the seeds' ten and "
                             "the cited papers' three)")
    parser.add_argument("--seeds", type=POSITIVE_INT, metavar="N",
                        help="seeds per arm instead of the preset's")
    parser.add_argument("--force", action="store_true", help="run again the runs finished before")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a report in --out that covers other claims or seeds "
                             "(its finished runs are reused)")
    stale = parser.add_mutually_exclusive_group()
    stale.add_argument("--reuse-stale", action="store_const", const="reuse", dest="stale",
                       help="reuse finished runs made under another protocol or actkeras "
                            "version (the report counts and names them)")
    stale.add_argument("--rerun-stale", action="store_const", const="rerun", dest="stale",
                       help="run those again")
    add_quiet_argument(parser)
    add_data_arguments(parser, source=False)
    parser.add_argument("--export", action="store_true",
                        help="also export every model it trains to OUT/models/ (a run "
                             "finished before keeps no model: add --force to train it again)")
    parser.add_argument("--jobs", type=POSITIVE_INT, default=1, metavar="N",
                        help="run the training runs in N processes at once (the cost runs "
                             "are timed afterwards, alone); default 1")
    parser.add_argument("--backend", choices=["tensorflow", "jax"],
                        help="the Keras backend the runs use, each run in a process of that "
                             "backend; its results go to a folder of their own (default: "
                             "the backend Keras loads, from KERAS_BACKEND; JAX's default "
                             "folder is reproduction/PRESET-jax)")
    parser.add_argument("--compare-with", metavar="FOLDER",
                        help="the same preset's reproduction on the other backend: its "
                             "verdicts join every claim's sensitivity table, and a part whose "
                             "outcome differs between the backends marks the claim fragile")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the training runs on a Dask cluster: a scheduler's address "
                             "(tcp://host:8786, tls://...), or 'local' for a cluster of "
                             "--jobs worker processes on this machine (needs actkeras[dask])")
    parser.add_argument("--readme", metavar="PATH",
                        help="write the summary table between the markers of this README "
                             "(checked before any run)")
    parser.add_argument("--readme-replace", action="store_true",
                        help="let --readme replace a table of another preset or selection "
                             "of claims and seeds")


def check(args):
    """The arguments that need no backend: a folder that is no reproduction, the README,
    the data folder named by $ACTKERAS_DATA_DIR, the other backend's folder, the
    scheduler."""
    from actkeras import backends
    from actkeras.experiments.folder import default_out, manifest_of

    manifest_of(args.out or default_out(args.preset, args.claims, args.seeds,
                                        args.backend or backends.requested()))

    if args.readme_replace and not args.readme:
        raise UsageError("--readme-replace needs --readme PATH. Received: --readme-replace "
                         "without --readme")
    if args.readme is not None:
        from actkeras.experiments.readme import check_readme

        selection = {"claims": args.claims or "all", "seeds": args.seeds}
        try:
            check_readme(args.readme, args.preset, selection, replace=args.readme_replace,
                         cli=True)
        except ValueError as error:
            raise UsageError(str(error)) from None
    from actkeras.experiments.claims import PRESETS

    if args.data_dir is None and PRESETS[args.preset].source != "embedded":
        from actkeras.data.locate import env_data_dir

        try:
            env_data_dir()
        except ValueError as error:
            raise UsageError(str(error)) from None
    if args.compare_with is not None:
        from actkeras.experiments.compare import other_backend

        try:
            other_backend(args.compare_with, args.preset, args.backend or backends.requested(),
                          args.seeds)
        except ValueError as error:  # in the command line's terms
            api = f"Received: compare_with={str(args.compare_with)!r}"
            raise UsageError(str(error).replace(api, f"Received: --compare-with "
                                                     f"{args.compare_with}")) from None
    if args.scheduler is not None:
        from actkeras.experiments.cluster import check_scheduler

        try:
            check_scheduler(args.scheduler, args.jobs)
        except ValueError as error:
            raise UsageError(str(error)) from None


def run(args):
    from actkeras.experiments import reproduce

    argv = getattr(args, "argv", None) or []  # the parsed command line; never sys.argv
    keras = sys.modules.get("keras")
    if args.backend and keras is not None and keras.backend.backend() != args.backend:
        return in_backend_process(argv, args.backend)[0]  # Keras has loaded another one here
    command = ("actkeras " + " ".join(shlex.quote(a) for a in argv)) if argv else None
    return reproduce(
        args.preset, args.out, claim_ids=args.claims, seeds=args.seeds, force=args.force,
        verbose=0 if args.quiet else 2, data_dir=args.data_dir, export=args.export,
        readme=args.readme, progress=progress, command=command,
        jobs=args.jobs, overwrite=args.overwrite, stale=args.stale or "refuse",
        backend=args.backend, compare_with=args.compare_with, scheduler=args.scheduler,
        replace_readme=args.readme_replace,
    )


def progress(line):
    print(line, flush=True)


def environment(args):
    """The command's processes on JAX, this one from before Keras loads, keep compiled
    programs in JAX's persistent compilation cache (`experiments.compile_cache`); nothing
    for TensorFlow, or for a remote cluster's workers, which keep their own settings."""
    from actkeras import backends

    backend = args.backend or backends.requested()
    if backend != "jax" or args.scheduler not in (None, "local"):
        return contextlib.nullcontext()
    from actkeras.experiments.compile_cache import for_reproduction

    return for_reproduction(progress)
