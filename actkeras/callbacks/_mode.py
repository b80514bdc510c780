"""How the monitors run a model: in a mode, with nothing of the model changed.

Modes:
- `"training"` (the default of the monitors): `training=True`, so BatchNorm
  normalises with the probe batch's statistics, as it does while the units learn;
  randomness is switched off (`random_layers`), and the pass runs in a
  `keras.StatelessScope`, so no variable changes (BatchNorm's moving statistics
  stay as they were).
- `"inference"`: `training=False` (BatchNorm's moving statistics), as `predict`.

What "randomness off" does, layer by layer:
- Keras's random layers (Dropout and its kind, noise and augmentation layers,
  `Attention(dropout=...)`: a layer of Keras's own that holds a `SeedGenerator`)
  are called with `training=False`, which switches off their randomness and
  nothing else.
- A recurrent cell's dropout (`LSTM(dropout=..., recurrent_dropout=...)`, GRU,
  SimpleRNN, ConvLSTM, a cell in `keras.layers.RNN` or `Bidirectional`) is set to
  0 for the pass, so the layer still runs with `training=True`.
- Any other layer holding a `SeedGenerator` and taking `training` (a custom
  layer that draws random numbers in its own `call`) can only be told apart
  from its other training behaviour by its own code: it is called with
  `training=False`, and the layers below it that take `training` (BatchNorm, an
  RNN) with `training=True`, so that only what its own `call` does differently
  when training runs as in inference. `inference_layers` lists such layers (the
  monitors warn about each and record them under `"inference_layers"`).

Everything the monitors set on a layer for a pass (`patched`) is an instance
attribute, set for the pass (or its trace) and removed after it, so the model,
its compiled functions and its saved form never see it.
"""

import contextlib
import inspect
import re
from typing import NamedTuple

import keras

from actkeras import checks
from actkeras.callbacks._tree import _children, is_recurrent, stable_names, tree

MODES = ("training", "inference")
_MISSING = object()
_KERAS_RANDOM = (keras.layers.Dropout, keras.layers.GaussianNoise, keras.layers.GaussianDropout,
                 keras.layers.AlphaDropout)  # fmt: skip
RATES = ("dropout", "recurrent_dropout")  # a recurrent cell's dropout rates (DropoutRNNCell)


def check_mode(mode):
    return checks.choice("mode", mode, MODES)


def _takes_training(layer):
    try:
        return "training" in inspect.signature(layer.call).parameters
    except (TypeError, ValueError):
        return False


def is_random(layer):
    """True for a layer that draws random numbers when training (Dropout, noise, augmentation)."""
    if isinstance(layer, _KERAS_RANDOM):
        return True
    seeded = any(isinstance(v, keras.random.SeedGenerator) for v in vars(layer).values())
    return seeded and _takes_training(layer) and not isinstance(layer, keras.Model)


def is_keras_own(layer):
    """A layer of Keras's own random classes (or a subclass), whose `training=False` only
    switches its randomness off."""
    return isinstance(layer, _KERAS_RANDOM) or type(layer).__module__.startswith("keras.")


def dropout_rates(layer):
    """The names of `layer`'s dropout rates above 0 (`"dropout"`, `"recurrent_dropout"`)."""
    found = []
    for name in RATES:
        value = vars(layer).get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            found.append(name)
    return found


def _is_cell(layer):
    """A recurrent cell with dropout rates (Keras's `DropoutRNNCell`s, or a cell like them)."""
    rates = [vars(layer).get(name) for name in RATES]
    return hasattr(layer, "state_size") and any(
        isinstance(r, (int, float)) and not isinstance(r, bool) for r in rates)


class Switch(NamedTuple):
    """What a training-mode pass changes on one layer: `how` is `"quiet"` (called with
    `training=False`), `"train"` (called with `training=True`) or a dropout rate's
    attribute name (set to 0)."""

    path: str
    layer: object
    how: str


def _below(layer, prefix, seen):
    """`(path, layer)` for everything below `layer`, recurrent cells included."""
    children = [c for c in _children(layer)
                if id(c) not in seen and not isinstance(c, keras.layers.InputLayer)]
    for child, name in zip(children, stable_names(children)):
        if id(child) in seen or not isinstance(child, keras.layers.Layer):
            continue
        seen.add(id(child))
        yield f"{prefix}{name}", child
        yield from _below(child, f"{prefix}{name}/", seen)


def _everything(model):
    """`(path, layer)` for every layer below `model`, the insides of recurrent layers too."""
    nodes = [(n.path, n.layer) for n in tree(model) if isinstance(n.layer, keras.layers.Layer)]
    seen = {id(layer) for _, layer in nodes} | {id(model)}
    found = []
    for path, layer in nodes:
        found.append((path, layer))
        if is_recurrent(layer):
            found.extend(_below(layer, f"{path}/", seen))
    return found


def random_layers(model):
    """The `Switch`es that turn `model`'s randomness off for a training-mode pass (see the
    module), for `measuring`."""
    layers = _everything(model)
    switches, quiet = [], []
    for path, layer in layers:
        if _is_cell(layer):
            switches += [Switch(path, layer, name) for name in dropout_rates(layer)]
        elif is_random(layer):
            switches.append(Switch(path, layer, "quiet"))
            if not is_keras_own(layer):
                quiet.append(path)
    for path, layer in layers:  # training back on below a layer called with training=False
        below = [q for q in quiet if path.startswith(f"{q}/")]
        if below and not is_random(layer) and _takes_training(layer):
            switches.append(Switch(path, layer, "train"))
    return switches


def inference_layers(model):
    """`(path, layer, [paths of the layers below it called with training=True])` for each
    layer that a training-mode pass calls with `training=False` although its own `call`
    may do more than draw random numbers (a custom layer holding a `SeedGenerator`)."""
    switches = random_layers(model)
    quiet = [s for s in switches if s.how == "quiet" and not is_keras_own(s.layer)]
    return [(q.path, q.layer, [s.path for s in switches
                               if s.how == "train" and s.path.startswith(f"{q.path}/")])
            for q in quiet]  # fmt: skip


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


def _called_with(layer, training):
    call = layer.call

    def call_in_mode(*args, **kwargs):
        kwargs["training"] = training
        return call(*args, **kwargs)

    return (layer, "call", call_in_mode)


def _patch(switch):
    if switch.how in ("quiet", "train"):
        return _called_with(switch.layer, switch.how == "train")
    return (switch.layer, switch.how, 0.0)


@contextlib.contextmanager
def measuring(model, mode, random=None):
    """The mode's context for a pass over `model`; yields the `training` flag to call it with.

    In `"training"` mode the randomness is switched off for the duration, as
    `random` (the `Switch`es of `random_layers`, found if `None`) says.
    """
    if check_mode(mode) == "inference":
        yield False
        return
    with patched([_patch(s) for s in (random_layers(model) if random is None else random)]):
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
