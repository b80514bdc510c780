"""TensorFlow's start-up chatter kept off the console, in every process actkeras starts.

- **Import chatter** ("All log messages before absl::InitializeLog() is called ...",
  oneDNN's notice, the CUDA probes, `E0000 ... cuInit`): TensorFlow's C++ libraries
  write it to file descriptor 2 as they load, before any log level applies
  (`TF_CPP_MIN_LOG_LEVEL` does not reach it). Once `actkeras` is imported, the imports
  of `tensorflow` and `keras` run inside `quietly`: whatever they write to descriptor
  2 is held, then written back without those lines (all of it, if the import
  fails). So nothing else is lost, a user's own output included, and it applies in
  every process: the CLI, the reproduction's workers, bench's children, a Python
  user's session (when `import actkeras` comes before TensorFlow).
- **Later C++ logging**: the CLI sets `TF_CPP_MIN_LOG_LEVEL=3` (where unset) for
  itself and, through the environment, the processes it starts.
- **TensorFlow's Python logging** (such as retracing warnings in short runs): errors
  only, in the CLI's processes (`ACTKERAS_QUIET=1`, set by the CLI and inherited).

`--debug` sets `ACTKERAS_QUIET=0`, and `TF_CPP_MIN_LOG_LEVEL=0` is a user asking
TensorFlow for everything: either shows it all. The library alone never changes a
log level or the environment.
"""

import importlib
import logging
import os
import re
import sys
import tempfile

QUIET_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "3", "ACTKERAS_QUIET": "1"}

# Lines written by TensorFlow's C++ code before absl's logging starts: the banner,
# any message in absl's pre-start format ("I0000 00:00:<time> <thread> <file>:<line>]",
# which is where "cuInit" failures appear) and the CPU-feature notice's second line.
CHATTER = re.compile(
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IWE]0000 00:00:\S+ +\d+ \S+:\d+\] .*"
    rb"|To enable the following instructions: .* rebuild TensorFlow with the appropriate "
    rb"compiler flags\."
)


def start_quietly():
    """What the CLI does without `--debug`: sets `QUIET_ENVIRONMENT` (the log level
    only where unset), quiets TensorFlow's Python logger, and imports Keras quietly."""
    os.environ["ACTKERAS_QUIET"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    after_import()
    import_keras_quietly()
    # In an interactive interpreter (a Jupyter kernel) TensorFlow sets its logger to INFO
    # when it first configures it, during the import: set it again.
    after_import()


def show_everything():
    """What `--debug` does: no filtering here or in the processes started from here."""
    os.environ["ACTKERAS_QUIET"] = "0"


def is_quiet():
    """Whether this process was started by a quiet CLI (the environment says so)."""
    return os.environ.get("ACTKERAS_QUIET") == "1"


def filtering():
    """Whether `quietly` drops the import chatter here."""
    return os.environ.get("ACTKERAS_QUIET") != "0" and os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "0"


def after_import():
    """In a quiet CLI process, TensorFlow's Python logger shows errors only; setting the
    level before TensorFlow loads is enough (it keeps it)."""
    if is_quiet():
        logging.getLogger("tensorflow").setLevel(logging.ERROR)


def load_quietly(exec_module, module):
    """Runs an import (`exec_module(module)`, from a module's loader) through `quietly`.

    TensorFlow is also asked for its physical devices there: it probes for GPUs on
    first use, and on a machine without one that probe says "failed call to cuInit"
    in the same pre-start format. Listing the physical devices leaves them
    configurable (`tf.config.set_visible_devices`, memory growth).
    """
    after_import()

    def load():
        exec_module(module)
        if module.__name__ == "tensorflow":
            module.config.list_physical_devices()

    quietly(load)


def import_keras_quietly():
    """Imports Keras (and its backend) through `quietly`."""
    if "keras" not in sys.modules:
        quietly(importlib.import_module, "keras")


def quietly(load, *args):
    """Returns `load(*args)`, with what it writes to file descriptor 2 held and written
    back without the `CHATTER` lines (everything, if `load` raises)."""
    if not filtering():
        return load(*args)
    sys.stderr.flush()
    saved = os.dup(2)
    failed = True
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            result = load(*args)
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            held = sink.read()
            kept = held if failed else drop_chatter(held)
            while kept:
                kept = kept[os.write(2, kept):]
    return result


def drop_chatter(data):
    """`data` (bytes) without its `CHATTER` lines."""
    lines = data.splitlines(keepends=True)
    return b"".join(line for line in lines if not CHATTER.fullmatch(line.rstrip(b"\r\n")))
