"""What several sub-commands share: argument types, the data options, usage errors.

Nothing here imports Keras or TensorFlow: `actkeras COMMAND --help` builds every
parser without them.
"""

import argparse
import contextlib
import math
import os
import subprocess
import sys
from pathlib import Path

from actkeras import checks
from actkeras.errors import UserError

DATASET_OF_PRESET = {"udacity": "notmnist", "fashion_mlp": "fashion_mnist", "mlp": "notmnist"}


class UsageError(UserError):
    """A bad command-line argument found after parsing: exit code 2, like argparse's own."""


@contextlib.contextmanager
def arguments():
    """Turns a `ValueError` raised while arguments become library objects (a config, a
    tuner) into a `UsageError`; failures after that keep their own exit code."""
    try:
        yield
    except ValueError as error:
        raise UsageError(str(error)) from error


def checked(kind, rule=None, what=None):
    """The one argument check: an argparse `type` that converts with `kind(text)`, then
    applies `rule(value)` (raises `ValueError`); either failure is argparse's usage
    error (exit 2) saying what was expected and what was received.

    Example: `parser.add_argument("--steps", type=checked(int, positive))`.
    """
    what = what or _KINDS.get(kind, getattr(kind, "__name__", "a value"))

    def convert(text):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected {what}. Received: {text}") from None
        try:
            return value if rule is None else rule(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert


_KINDS = {int: "an integer", float: "a number", str: "text"}


def positive(value):
    if isinstance(value, float) and not math.isfinite(value):  # nan and inf pass `<= 0`
        raise ValueError(f"must be a finite positive number. Received: {value!r}")
    if value <= 0:
        raise ValueError(f"must be positive. Received: {value!r}")
    return value


def non_negative(value):
    if value < 0:
        raise ValueError(f"must be 0 or more. Received: {value!r}")
    return value


POSITIVE_INT = checked(int, positive, "a positive integer")
COUNT = checked(int, non_negative, "an integer >= 0")
POSITIVE_FLOAT = checked(float, positive, "a positive number")


def comma_list(kind=str, rule=None):
    """An argparse `type` for `a,b,c`: a list of `kind`, each checked by `rule`."""
    item = checked(kind, rule)

    def convert(text):
        values = [item(part.strip()) for part in text.split(",") if part.strip()]
        if not values:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list. Received: {text}")
        return values

    return convert


def existing_folder(text):
    """An argparse `type`: a folder that exists (an explicit data folder is the only place
    looked in, so a missing one is a typo)."""
    if Path(text).exists() and not Path(text).is_dir():
        raise argparse.ArgumentTypeError(
            f"{text} is a file, not a folder: give the folder that holds the data files. "
            f"Received: {text}")
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"the folder {text} does not exist. Received: {text}")
    return text


def _activation_spec(text):
    from actkeras.registry import parse_activation_spec  # no Keras: names checked at once

    parse_activation_spec(text)
    return text


def activation_name(text):
    """A rule for `checked`/`comma_list`: a registry name (checked without Keras)."""
    from actkeras.registry import get_entry

    get_entry(text)
    return text


def _preset(text):
    return checks.choice("preset", text, list(DATASET_OF_PRESET))


# What `actkeras.models` accepts, known here without Keras (tests/test_user_files_commands.py
# checks that they agree): a typo is refused before TensorFlow starts.
INITIALIZERS = ("truncated_normal", "glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
                "lecun_normal", "lecun_uniform", "random_normal")
OVERRIDES = ("input_shape", "hidden_units", "num_classes", "output", "initializer", "init_stddev",
             "init_gain", "bias_init", "batch_norm", "dropout", "optimizer", "learning_rate",
             "lr_pulse", "batch_size", "epochs", "steps", "steps_per_execution", "seed", "units",
             "depth")
# Each preset's batch size, and whether it trains by steps (as `models.PRESETS` has them).
PRESET_BATCH = {"udacity": 128, "fashion_mlp": 32, "mlp": 64}
BY_STEPS = {"udacity": True, "fashion_mlp": False, "mlp": False}


def _initializer(text):
    return checks.choice("initializer", text, INITIALIZERS)


# argparse `type`s checked before Keras loads: a typo costs no TensorFlow start-up.
ACTIVATION_SPEC = checked(str, _activation_spec, "an activation")
PRESET = checked(str, _preset, "a preset")
INITIALIZER = checked(str, _initializer, "an initializer")


def key_values(items, option="--set"):
    """`KEY=VALUE` strings to a dict, values read as Python literals where they parse."""
    values = {}
    for item in items or ():
        pair = checks.key_value(item)
        if pair is None:
            raise UsageError(f"{option} takes KEY=VALUE. Received: {option} {item}")
        if pair[0] not in OVERRIDES:
            raise UsageError(f"Unknown build_model override {pair[0]!r}. Valid overrides: "
                             f"{', '.join(OVERRIDES)}. Received: {option} {item}")
        values[pair[0]] = pair[1]
    return values


def training_images(count, option, preset, args, overrides):
    """Before Keras loads: `count` training images (`option` gave them) can train one
    `preset` net as `args` and `overrides` ask: at least one image, and more than one
    batch when it trains by steps."""
    if count == 0:
        raise UsageError(f"{option} must leave at least one training image. Received: "
                         f"{option} 0")
    by_steps = args.steps is not None or overrides.get("steps") or (
        BY_STEPS[preset] and args.epochs is None and "epochs" not in overrides)
    batch = overrides.get("batch_size", PRESET_BATCH[preset])
    if count is not None and by_steps and isinstance(batch, int) and count <= batch:
        raise UsageError(f"Training by steps needs more images than one batch of {batch}. "
                         f"Received: {option} {count}")


def add_data_arguments(parser, source=True):
    parser.add_argument(
        "--data-dir", type=existing_folder, metavar="FOLDER",
        help="the folder holding the data files, and the only place looked in "
        "(default: $ACTKERAS_DATA_DIR, then the Keras cache, then a download)",
    )
    if source:
        parser.add_argument(
            "--source", default="auto", choices=["auto", "embedded", "small", "large"],
            help="'embedded' uses the small real samples shipped with the package",
        )


def add_quiet_argument(parser, what="no per-epoch Keras progress output"):
    parser.add_argument("--quiet", action="store_true", help=what)


def load_data(name, args):
    from actkeras.data import load_dataset

    return load_dataset(name, data_dir=args.data_dir, source=getattr(args, "source", "auto"))


def in_backend_process(argv, backend):
    """Runs `actkeras ARGV` in a fresh process on Keras's `backend` (Keras loads one backend
    per process), its output passed through line by line, prefixed with the backend's
    name; returns `(exit code, its last line)`."""
    print(f"[{backend}] running in a new process ...", flush=True)
    child = subprocess.Popen([sys.executable, "-m", "actkeras", *argv], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True,
                             env={**os.environ, "KERAS_BACKEND": backend})
    last = ""
    try:
        for line in child.stdout:
            last = line.rstrip() or last
            print(f"[{backend}] {line.rstrip()}", flush=True)
    except BaseException:  # Ctrl-C (to this process alone, too): the child stops with it
        child.terminate()
        child.wait()
        raise
    return child.wait(), last
