"""`actkeras reproduce`: the seeds' claims as experiments, with measured verdicts and a report.

Resumable: each run's result is written atomically as soon as it finishes, and a
second invocation skips the finished runs (`--force` runs them again).
"""

import shlex

from actkeras.commands.common import POSITIVE_INT, add_data_arguments, add_quiet_argument


def _claim_ids(text):
    import argparse

    from actkeras.experiments.claims import MODULES

    try:
        ids = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"--claims takes numbers separated by commas, e.g. "
                                         f"1,3,9. Received: --claims {text}") from None
    unknown = [i for i in ids if i not in MODULES]
    if not ids:
        raise argparse.ArgumentTypeError(f"--claims takes numbers separated by commas, e.g. "
                                         f"1,3,9. Received: --claims {text}")
    if unknown:
        raise argparse.ArgumentTypeError(
            f"Unknown claim. Valid claims: {', '.join(map(str, MODULES))}. "
            f"Received: claims={','.join(map(str, unknown))}")
    return ids


def add_arguments(parser):
    parser.add_argument("--preset", default="quick", choices=["quick", "full", "tiny"],
                        help="quick: the embedded samples, about 8 minutes with --jobs 2 on "
                             "2 CPU cores (default); full: the real data sets, 5 seeds per "
                             "arm, about 65 minutes with --jobs 2 on 2 CPU cores (half of it "
                             "claim 2's 50-layer network); tiny: every claim at toy size, a "
                             "smoke test (verdicts meaningless)")
    parser.add_argument("--out", help="output folder (default: reproduction/PRESET)")
    parser.add_argument("--claims", type=_claim_ids, metavar="1,3,9",
                        help="only these claims (default: all ten)")
    parser.add_argument("--seeds", type=POSITIVE_INT, metavar="N",
                        help="seeds per arm instead of the preset's")
    parser.add_argument("--force", action="store_true", help="run again the runs finished before")
    add_quiet_argument(parser)
    add_data_arguments(parser, source=False)
    parser.add_argument("--export", action="store_true",
                        help="also export every trained model to OUT/models/")
    parser.add_argument("--jobs", type=POSITIVE_INT, default=1, metavar="N",
                        help="run the training runs in N processes at once (the cost runs "
                             "are timed afterwards, alone); default 1")
    parser.add_argument("--readme", metavar="PATH",
                        help="write the summary table between the markers of this README")


def run(args):
    from actkeras.experiments import reproduce

    argv = getattr(args, "argv", None) or []  # the parsed command line; never sys.argv
    command = ("actkeras " + " ".join(shlex.quote(a) for a in argv)) if argv else None
    return reproduce(
        args.preset, args.out, claim_ids=args.claims, seeds=args.seeds, force=args.force,
        verbose=0 if args.quiet else 2, data_dir=args.data_dir, export=args.export,
        readme=args.readme, progress=lambda line: print(line, flush=True), command=command,
        jobs=args.jobs,
    )
