"""TensorFlow's start-up chatter kept off the console, for the CLI and its worker processes.

The CLI sets TensorFlow's C++ log level before TensorFlow loads (its children, such
as the reproduction's workers, inherit it) and imports Keras with file descriptor 2
set aside: a few lines ("All log messages before absl::InitializeLog() ...", oneDNN,
CUDA) are written as the libraries load, before any log level applies. `--debug`
skips both. The library itself never silences anything.
"""

import importlib
import os
import sys
import tempfile

QUIET_ENVIRONMENT = {"TF_CPP_MIN_LOG_LEVEL": "3"}


def start_quietly():
    """Sets `QUIET_ENVIRONMENT` (where unset) and imports Keras quietly."""
    for key, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    import_keras_quietly()


def is_quiet():
    """Whether this process was started by a quiet CLI (the environment says so)."""
    return all(os.environ.get(k) == v for k, v in QUIET_ENVIRONMENT.items())


def import_keras_quietly():
    """Imports Keras (and its TensorFlow backend) with file descriptor 2 set aside.

    A few lines ("All log messages before absl::InitializeLog() ...", oneDNN, CUDA)
    are written by the C++ libraries as they load, before any log level applies.
    They are dropped; if the import fails, everything it wrote is shown.
    """
    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            importlib.import_module("keras")
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
