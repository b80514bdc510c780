"""Which Keras backend will load, and one clear line when actkeras cannot run on it.

actkeras runs on Keras's TensorFlow and JAX backends. Keras picks its backend as it
imports (`KERAS_BACKEND`, else `keras.json` in `KERAS_HOME` or `~/.keras`, else
TensorFlow); a backend that is not installed then fails deep inside Keras with
`No module named 'tensorflow'`, and one actkeras does not support (`torch`) would fail
later and less clearly. `check()` reads the same settings without importing Keras, so
the CLI (exit 2) and `import keras` after `import actkeras` (ImportError) say what to
install instead.
"""

import importlib.util
import json
import os

SUPPORTED = ("tensorflow", "jax")
_INSTALL = 'pip install "actkeras[tensorflow]" or pip install "actkeras[jax]"'


def requested():
    """The backend Keras will load, read as Keras reads it, without importing Keras."""
    return _requested()[0]


def _requested():
    name = os.environ.get("KERAS_BACKEND")
    if name:
        return name, "KERAS_BACKEND"
    if "KERAS_HOME" in os.environ:
        home = os.environ["KERAS_HOME"]
    else:
        base = os.path.expanduser("~")
        home = os.path.join(base if os.access(base, os.W_OK) else "/tmp", ".keras")
    try:
        with open(os.path.expanduser(os.path.join(home, "keras.json"))) as file:
            name = json.load(file).get("backend")
    except (OSError, ValueError, AttributeError):
        name = None
    return (name, "keras.json") if name else ("tensorflow", "Keras's default")


def problem(name=None):
    """Why actkeras cannot run on the backend Keras will load (or on `name`, asked
    for by an option), in one line; or `None`."""
    name, source = _requested() if name is None else (name, "--backend")
    supported = " or ".join(SUPPORTED)
    if name not in SUPPORTED:
        return (f"actkeras runs on Keras's {supported} backend, not {name!r}: set "
                f"KERAS_BACKEND=tensorflow or KERAS_BACKEND=jax, with that backend installed "
                f"({_INSTALL}). Received: backend={name!r} from {source}")
    if importlib.util.find_spec(name) is None:
        others = [other for other in SUPPORTED
                  if other != name and importlib.util.find_spec(other) is not None]
        instead = (f", or set KERAS_BACKEND={others[0]} (installed here)" if others else "")
        return (f"Keras's {name} backend is selected, but {name} is not installed: "
                f'pip install "actkeras[{name}]"{instead}; actkeras runs on {supported}. '
                f"Received: backend={name!r} from {source}")
    return None


def check():
    """Raises `ImportError` with `problem()`'s line when there is one."""
    message = problem()
    if message:
        raise ImportError(message)
