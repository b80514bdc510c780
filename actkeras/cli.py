"""The `actkeras` command: a thin argparse shell over the public API.

Each sub-command is a module of `actkeras.commands` with `add_arguments(parser)`,
`run(args) -> int` and, optionally, `check(args)`: the checks of its arguments that
need no backend, run before Keras loads. Those modules import the library (and so
TensorFlow) only inside `run`, so `actkeras --help` and `actkeras COMMAND --help`
never load it, and a bad argument is refused at once.

Exit codes: 0 success; 1 a failure (a failed run, missing or corrupt data, an
unwritable folder, a diverged training), with one line saying what and how to fix it;
2 a usage error (a bad argument), as argparse has it; 130 interrupted. `--debug`
adds the traceback (the exit code stays) and shows TensorFlow's own start-up logging.
"""

import argparse
import contextlib
import importlib
import os
import re
import sys
import traceback

from actkeras import backends, quiet
from actkeras.commands.common import UsageError
from actkeras.errors import UserError

# name -> (module, one-line help)
COMMANDS = {
    "train": ("actkeras.commands.train", "train one preset with one activation"),
    "activations": ("actkeras.commands.listing", "list the activation registry and presets"),
    "export": ("actkeras.commands.export", "export a trained run: .keras, SavedModel, metadata"),
    "tune": ("actkeras.commands.tune", "Keras Tuner search over activations, also distributed"),
    "bench": ("actkeras.commands.bench", "time training against the TF1 loop and plain Keras"),
    "reproduce": ("actkeras.commands.reproduce", "reproduce the seeds' claims: runs, verdicts, report"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line, as every other error of the command; the usage is one --help away.
        self.exit(2, f"{self.prog}: error: {message} (`{self.prog} --help` lists the options)\n")


def build_parser():
    debug = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: `actkeras --debug train` is not undone by the sub-command's default.
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks on errors and TensorFlow's start-up logging")
    parser = _Parser(
        prog="actkeras", parents=[debug],
        description="Reproduce and measure why ReLU-family activations train better "
        "than sigmoid and softmax hidden units.",
    )
    parser.commands = {}  # name -> its parser, which reports its own unknown options
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text, parents=[debug])
        parser.commands[name] = command
        command.set_defaults(module=module_name)
        importlib.import_module(module_name).add_arguments(command)
    return parser


def main(argv=None):
    """Runs the CLI; returns the exit code (0 success, 1 failure, 2 usage error)."""
    argv = _join_negative_lists(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # `actkeras train --activaton`: train's error, naming train's --help
            parser.commands.get(args.command, parser).error(
                f"unrecognized arguments: {' '.join(unknown)}")
    except SystemExit as stop:  # --help (0) or a usage error (2), already printed
        return stop.code if isinstance(stop.code, int) else 2
    args.debug = getattr(args, "debug", False)
    args.argv = argv  # the command line, for reports that record how they were made
    if not args.command:
        parser.print_help()
        return 2
    chosen = getattr(args, "backend", None) or []  # a command's own --backend (bench, reproduce)
    chosen = [chosen] if isinstance(chosen, str) else chosen
    if len(chosen) == 1 and "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = chosen[0]
    for name in chosen or [None]:
        backend_problem = backends.problem(name)  # before Keras loads: one line, not a traceback
        if backend_problem:
            print(f"actkeras {args.command}: error: {backend_problem}", file=sys.stderr)
            return 2
    # TensorFlow's start-up logging (oneDNN notices, CUDA probes) says nothing a user
    # can act on: quiet here and in every process the command starts (`actkeras.quiet`).
    if args.debug:
        quiet.show_everything()
    from actkeras.data.locate import fix_terms

    module = importlib.import_module(args.module)
    try:
        with fix_terms("cli"):
            _check_env_data_dir(args)
            if hasattr(module, "check"):
                module.check(args)  # before the backend loads: a bad argument costs nothing
            # The command's settings for the processes it runs, this one included: before
            # Keras loads here.
            environment = getattr(module, "environment", lambda args: contextlib.nullcontext())
            with environment(args):
                if not args.debug and len(chosen) < 2:  # several backends: each in its own process
                    quiet.start_quietly()
                return int(module.run(args) or 0)
    except KeyboardInterrupt:
        if args.debug:
            traceback.print_exc()
        print("actkeras: interrupted", file=sys.stderr)
        return 130
    except (UserError, ValueError, OSError) as error:
        if args.debug:  # more detail, the same outcome
            traceback.print_exc()
        print(f"actkeras {args.command}: error: {error}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1


# A value that starts with a minus, and is a list of numbers (`-0.1,0.1`): argparse takes it
# for an option (only a single number passes as a value), and says "expected one argument".
_NEGATIVE_LIST = re.compile(r"-\.?\d[^=]*,")


def _join_negative_lists(argv):
    """`--learning-rates -0.1,0.1` becomes `--learning-rates=-0.1,0.1`, so that the option's
    own check answers (it refuses the negative rate, naming it)."""
    joined = []
    for token in argv:
        if (_NEGATIVE_LIST.match(token) and joined and joined[-1].startswith("--")
                and "=" not in joined[-1]):
            joined[-1] = f"{joined[-1]}={token}"
        else:
            joined.append(token)
    return joined


def _check_env_data_dir(args):
    """`$ACTKERAS_DATA_DIR` naming a file or a missing folder, refused at once (as a bad
    `--data-dir` is) by a command that would read the data files: one with `--data-dir`
    left out, not reading the embedded samples or synthetic images."""
    if not hasattr(args, "data_dir") or args.data_dir is not None:
        return
    if getattr(args, "source", "auto") == "embedded" or getattr(args, "synthetic", None):
        return
    if args.command == "reproduce":  # its own check knows which presets read the files
        return
    from actkeras.data.locate import env_data_dir

    try:
        env_data_dir()
    except ValueError as error:
        raise UsageError(str(error)) from None
