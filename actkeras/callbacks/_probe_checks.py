"""Checking a probe before anything is done with it: against the model, the data, the loss.

- `check_probe`: the probe's inputs against a built model's inputs;
- `check_against_data`: the probe against the training data `fit` was given, for a
  model `fit` has yet to build (nothing else to check it against before a step), unless
  the model's own `train_step` may feed it something else (`custom_train_step`);
- `check_labels`: class-index labels against the model's classes (some backends
  would compute a loss from labels out of range without a word).

Each raises `ValueError` naming the argument (`probe_data`) and what was received.
"""

import keras
import numpy as np

from actkeras.callbacks._probe import _FORMS, _is_array, _split, describe


def check_probe(probe, model, name="probe_data"):
    """Raises `ValueError` naming `name` if the probe's inputs cannot fit `model`."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return  # subclassed or not-yet-built models: the first measurement will tell
    arrays = keras.tree.flatten(probe.x)
    if len(arrays) != len(inputs):
        raise ValueError(
            f"`{name}` gives {len(arrays)} input arrays; the model takes {len(inputs)}. "
            f"{_FORMS} Received: {name}={describe(probe.x)}"
        )
    if len(inputs) > 1:
        return  # several inputs: their order in a dict may differ; the model will tell
    for array, tensor in zip(arrays, inputs):
        expected = tuple(tensor.shape[1:])
        got = tuple(array.shape[1:])
        fits = len(got) == len(expected) and all(
            e is None or e == g for e, g in zip(expected, got)
        )
        if not fits and len(got) == len(expected) - 1:
            raise ValueError(
                f"`{name}` looks unbatched: each sample should have shape {expected}, and "
                f"the probe's samples have one axis less. Batch it (`dataset.batch(32)`) or "
                f"add the batch axis. Received: {name} x of shape {tuple(array.shape)}"
            )
        if not fits:
            raise ValueError(
                f"`{name}` does not fit the model's input: each sample should have shape "
                f"{expected}. Received: {name} x of shape {tuple(array.shape)}"
            )


def _fits(expected, got):
    return len(got) == len(expected) and all(e is None or e == g for e, g in zip(expected, got))


def _data_shapes(data):
    """Per-sample shapes of `fit`'s `x` or `y` (arrays, or a `tf.data` element spec), as
    `(shapes, batched)`; `None` when they cannot be read without touching the data."""
    if data is None:
        return None
    spec = getattr(data, "element_spec", None)
    if spec is not None:
        leaves = keras.tree.flatten(spec)
        if not leaves or not all(hasattr(leaf, "shape") for leaf in leaves):
            return None
        return [tuple(leaf.shape) for leaf in leaves], None  # batched or not: unknown
    leaves = keras.tree.flatten(data)
    if not leaves or not all(_is_array(leaf) and len(leaf.shape) for leaf in leaves):
        return None
    return [tuple(leaf.shape[1:]) for leaf in leaves], True


def _matches_data(shapes, batched, array):
    got = tuple(array.shape[1:])
    if batched:
        return _fits(shapes, got)
    if len(shapes) not in (len(got), len(got) + 1):
        return True  # a dataset the model does not take as it is (a custom train step)
    return _fits(shapes[1:], got) or _fits(shapes, got)  # a dataset: batched or not


def custom_train_step(model):
    """True when `model`'s class overrides Keras's `train_step`: what it trains on need not
    be the model's input (a GAN's `fit` data are real images, its `call` takes noise), and
    what it minimises need not be the compiled loss."""
    step = getattr(type(model), "train_step", None)
    return step is not None and step is not keras.Model.train_step


def check_against_data(probe, x, y=None, labels=False, name="probe_data"):
    """Raises `ValueError` naming `name` when the probe is not shaped like the training data
    (`fit`'s `x`, and with `labels` its `y`, or a `tf.data.Dataset` of both): a model
    built from one would not take the other."""
    parts = [("inputs", x, probe.x)]
    found = _data_shapes(x)
    if found is not None and found[1] is None:  # a dataset: (x, y) come together
        spec = _split(x.element_spec)
        parts = [("inputs", _Spec(spec[0]), probe.x)]
        if labels and spec[1] is not None:
            parts.append(("labels", _Spec(spec[1]), probe.y))
    elif labels and y is not None:
        parts.append(("labels", y, probe.y))
    for what, data, mine in parts:
        found = _data_shapes(data)
        if found is None or mine is None:
            continue
        shapes, batched = found
        arrays = keras.tree.flatten(mine)
        if len(arrays) != len(shapes):
            raise ValueError(
                f"`{name}` gives {len(arrays)} {what} array(s); the training data has "
                f"{len(shapes)}. Received: {name} {what} {describe(mine)}"
            )
        for shape, array in zip(shapes, arrays):
            if not _matches_data(shape, batched, array):
                sample = shape if batched else f"{shape} (per batch)"
                if batched and len(array.shape) == len(shape):
                    raise ValueError(
                        f"`{name}` looks unbatched: each training sample's {what} have shape "
                        f"{shape}, and the probe's samples have one axis less. Batch it "
                        f"(`dataset.batch(32)`) or add the batch axis. Received: {name} "
                        f"{what} of shape {tuple(array.shape)}"
                    )
                raise ValueError(
                    f"`{name}` is not shaped like the training data: each training sample's "
                    f"{what} have shape {sample}, the probe's {tuple(array.shape[1:])}. The "
                    f"monitors measure the model on the probe, so it must be what the model "
                    f"trains on. Received: {name} {what} of shape {tuple(array.shape)}"
                )


class _Spec:
    """A `tf.data` element spec part, read like data by `_data_shapes`."""

    def __init__(self, spec):
        self.element_spec = spec


def loss_is_sparse(model):
    """True when the compiled loss takes class indices (`SparseCategoricalCrossentropy`)."""
    loss = getattr(model, "loss", None)
    names = [loss if isinstance(loss, str) else None, getattr(loss, "name", None),
             getattr(loss, "__name__", None), type(loss).__name__]  # fmt: skip
    return any(isinstance(n, str) and "sparse" in n.lower() for n in names)


def check_labels(probe, output_shapes, sparse, name="probe_data"):
    """Raises `ValueError` naming `name` when the probe's labels cannot be what a
    single-output model's loss takes: with `sparse` (class-index labels), values outside
    `[0, classes)`, which some backends would not report. `output_shapes` are the
    per-sample shapes of the model's outputs."""
    labels = keras.tree.flatten(probe.y) if probe.y is not None else []
    if len(output_shapes) != 1 or len(labels) != 1 or not sparse:
        return
    y, out = labels[0], tuple(output_shapes[0])
    classes = out[-1] if out else None
    if classes is None or classes < 2 or y.dtype.kind not in "iuf":
        return
    got = tuple(y.shape[1:])
    if got not in (out[:-1], out[:-1] + (1,)):
        raise ValueError(
            f"`{name}` holds labels of shape {got} per sample; the model's loss takes class "
            f"indices, one per output of shape {out}, so each sample's labels should have "
            f"shape {out[:-1]}. Received: {name} labels of shape {tuple(y.shape)}"
        )
    low, high = (float(v) for v in (y.min(), y.max()))
    if low < 0 or high >= classes or not np.all(np.floor(y) == y):
        raise ValueError(
            f"`{name}` holds labels outside the model's {classes} classes: the loss takes "
            f"class indices, integers in [0, {classes}). Received: {name} labels from "
            f"{low:g} to {high:g}"
        )
