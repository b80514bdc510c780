"""The `actkeras` command: a thin argparse shell over the public API.

Each sub-command is a module with `add_arguments(parser)` and `run(args) -> int`;
errors a user can fix are printed as one line (a traceback only with `--debug`).
"""

import argparse
import importlib
import os
import sys

from actkeras.errors import UserError

# name -> (module, one-line help). Modules are imported only when their command runs,
# so `actkeras --help` stays fast.
COMMANDS = {
    "train": ("actkeras.commands.train", "train one preset with one activation"),
    "activations": ("actkeras.commands.listing", "list the activation registry and presets"),
    "export": ("actkeras.commands.export", "export a trained run: .keras, SavedModel, metadata"),
    "tune": ("actkeras.commands.tune", "Keras Tuner search over activations, also distributed"),
    "bench": ("actkeras.commands.bench", "time training against the TF1 loop and plain Keras"),
    "reproduce": ("actkeras.commands.reproduce", "reproduce the seeds' claims: runs, verdicts, report"),
}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="actkeras",
        description="Reproduce and measure why ReLU-family activations train better "
        "than sigmoid and softmax hidden units.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(module=module_name)
        importlib.import_module(module_name).add_arguments(command)
    return parser


def main(argv=None):
    """Runs the CLI; returns the exit code (0 success, 1 failed runs, 2 bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--debug" not in argv:
        # TensorFlow's C++ chatter (CUDA probes, oneDNN, tf.data attribute notices)
        # says nothing a user can act on; `--debug` keeps it. This process imported
        # TensorFlow with the package already, so this quiets the processes it starts
        # (the reproduction's workers), which repeat it for every run.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help (0) or a usage error (2), already printed
        return stop.code if isinstance(stop.code, int) else 2
    args.argv = argv  # the command line, for reports that record how they were made
    if not args.command:
        parser.print_help()
        return 2
    try:
        return int(importlib.import_module(args.module).run(args) or 0)
    except KeyboardInterrupt:
        print("actkeras: interrupted", file=sys.stderr)
        return 130
    except (UserError, ValueError, OSError) as error:
        if args.debug:
            raise
        print(f"actkeras {args.command}: error: {error}", file=sys.stderr)
        return 2
