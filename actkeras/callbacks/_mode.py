"""How the monitors run a model: in a mode, with nothing of the model changed.

Modes:
- `"training"` (the default of the monitors): `training=True`, so BatchNorm
  normalises with the probe batch's statistics, as it does while the units learn;
  random layers (Dropout and its kind, noise layers, anything holding a Keras
  `SeedGenerator`) are called with `training=False`; and the pass runs in a
  `keras.StatelessScope`, so no variable changes (BatchNorm's moving statistics
  stay as they were).
- `"inference"`: `training=False` (BatchNorm's moving statistics), as `predict`.

Everything the monitors set on a layer for a pass (`patched`) is an instance
attribute, set for the pass (or its trace) and removed after it, so the model,
its compiled functions and its saved form never see it.
"""

import contextlib
import inspect
import re

import keras

from actkeras import checks
from actkeras.callbacks._tree import walk

MODES = ("training", "inference")
_MISSING = object()


def check_mode(mode):
    return checks.choice("mode", mode, MODES)


def _takes_training(layer):
    try:
        return "training" in inspect.signature(layer.call).parameters
    except (TypeError, ValueError):
        return False


def is_random(layer):
    """True for a layer that draws random numbers when training (Dropout, noise, augmentation)."""
    random = (keras.layers.Dropout, keras.layers.GaussianNoise, keras.layers.GaussianDropout,
              keras.layers.AlphaDropout)  # fmt: skip
    if isinstance(layer, random):
        return True
    seeded = any(isinstance(v, keras.random.SeedGenerator) for v in vars(layer).values())
    return seeded and _takes_training(layer) and not isinstance(layer, keras.Model)


def random_layers(model):
    return [layer for _, layer in walk(model) if is_random(layer)]


@contextlib.contextmanager
def patched(patches):
    """Sets `(object, attribute, value)` instance attributes, and restores them after."""
    saved = []
    try:
        for obj, name, value in patches:
            saved.append((obj, name, obj.__dict__.get(name, _MISSING)))
            obj.__dict__[name] = value
        yield
    finally:
        for obj, name, old in reversed(saved):
            if old is _MISSING:
                obj.__dict__.pop(name, None)
            else:
                obj.__dict__[name] = old


def _quiet(layer):
    call = layer.call

    def call_without_randomness(*args, **kwargs):
        kwargs["training"] = False
        return call(*args, **kwargs)

    return (layer, "call", call_without_randomness)


@contextlib.contextmanager
def measuring(model, mode, random=None):
    """The mode's context for a pass over `model`; yields the `training` flag to call it with.

    In `"training"` mode the random layers (`random`, found if `None`) are
    switched off for the duration.
    """
    if check_mode(mode) == "inference":
        yield False
        return
    with patched([_quiet(layer) for layer in (random_layers(model) if random is None else random)]):
        yield True


def run_model(model, x, training, what="the model"):
    """`model(x, training=training)`, or a `ValueError` that says what was received."""
    try:
        return model(x, training=training)
    except Exception as error:  # a deep Keras traceback helps no one here: say what failed
        raise ValueError(
            f"Could not run {what} {model.name!r} on the probe data ({type(error).__name__}: "
            f"{gist(error)}). Either the probe's samples are not what the model takes, or "
            f"the model's call() fails when the monitor runs it (with training={training}). "
            f"Received: probe_data with samples of {sample_shapes(x)}"
        ) from None


def gist(error):
    """The informative line of an error (Keras wraps the cause in a few lines of its own)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [line for line in lines
              if not line.startswith(("Exception encountered", "Arguments received", "•"))]
    return (useful or lines or [""])[0][:300]


def sample_shapes(x):
    """`"shape (6,)"`, `"shape (6,), shape (3,)"` or `"7 inputs"`: what one sample holds."""
    shapes = [f"shape {tuple(leaf.shape[1:])}" for leaf in keras.tree.flatten(x)]
    return ", ".join(shapes) if len(shapes) < 5 else f"{len(shapes)} inputs"
