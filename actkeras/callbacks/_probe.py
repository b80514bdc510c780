"""Probe data: a small, fixed sample the monitors measure on, taken once.

Whatever the user passes (arrays, an `(x, y)` tuple, a `tf.data.Dataset`, a
`PyDataset` or any iterable of batches), the monitors keep only a NumPy sample
of at most `probe_size` samples. Memory is bounded by the probe, never by the
data set, and the callback stays deep-copyable (a `tf.data.Dataset` is not).
"""

from dataclasses import dataclass

import keras
import numpy as np

from actkeras.callbacks._backend import to_numpy

_SEED = 0  # which samples of a large array form the probe: fixed, so runs compare


@dataclass(frozen=True)
class Probe:
    """A bounded sample: `x` (an array, or a list/dict of arrays), `y` and weights."""

    x: object
    y: object = None
    sample_weight: object = None

    def __len__(self):
        return len(keras.tree.flatten(self.x)[0])

    def chunks(self, size):
        """Yields `(x, y, sample_weight)` slices of at most `size` samples, as even as can be
        (1,025 samples in chunks of at most 1,024 are 513 and 512: in training mode each
        chunk is one BatchNorm batch, which a chunk of one sample would not represent)."""
        n = len(self)
        step = -(-n // -(-n // size))  # ceil(n / number of chunks)
        for start in range(0, n, step):
            yield tuple(
                None if part is None
                else keras.tree.map_structure(lambda a: a[start : start + step], part)
                for part in (self.x, self.y, self.sample_weight)
            )


def _is_array(value):
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _to_numpy(structure, name="probe_data", data=None):
    if structure is None:
        return None
    try:
        arrays = keras.tree.map_structure(to_numpy, structure)
    except (TypeError, ValueError) as error:
        raise ValueError(f"`{name}` holds something that is not an array ({error}). "
                         f"Received: {name}={describe(data)}") from None
    for array in keras.tree.flatten(arrays):
        if array.dtype.kind == "O":  # ragged lists, dicts in lists, None values...
            raise ValueError(f"`{name}` holds something that is not an array of one shape. "
                             f"Received: {name}={describe(data)} giving an object array")
    return arrays


def _split(batch):
    """`x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` -> `(x, y, sample_weight)`."""
    if isinstance(batch, tuple):
        if not 1 <= len(batch) <= 3:
            raise ValueError(
                "A probe tuple is (x,), (x, y) or (x, y, sample_weight). "
                f"Received: probe_data=tuple of length {len(batch)}"
            )
        return tuple(batch) + (None,) * (3 - len(batch))
    return batch, None, None


def describe(data):
    """A short description of `data` for error messages (never a whole array)."""
    if _is_array(data):
        return f"{type(data).__name__} of shape {tuple(data.shape)}"
    if isinstance(data, (tuple, list)):
        return f"{type(data).__name__}({', '.join(describe(d) for d in data)})"
    if isinstance(data, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in data.items()) + "}"
    spec = getattr(data, "element_spec", None)  # tf.data, without importing TensorFlow
    if spec is not None:
        return f"{type(data).__name__} with elements {spec}"
    return type(data).__name__


def take_probe(data, probe_size, name="probe_data"):
    """Returns a `Probe` of at most `probe_size` samples of `data`, as NumPy.

    Arrays larger than the probe give a fixed random subset (in order); a stream
    gives its first `probe_size` samples and is read no further, so an endless
    one is fine.

    Args:
        data: `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` (arrays, or lists
            and dicts of arrays for several inputs); a `tf.data.Dataset`, batched
            or not; a `keras.utils.PyDataset`; or any iterable of batches.
        probe_size: the most samples to keep.
        name: the argument named in errors. Defaults to `"probe_data"`.

    Raises:
        ValueError: no samples, parts of different lengths, or something that
            is not data; the message says what was received.
    """
    if _is_array(data) or isinstance(data, (tuple, list, dict)):
        x, y, weights = _split(data)
        x, y, weights = (_to_numpy(part, name, data) for part in (x, y, weights))
        n = _length(x, name, data)
        if n > probe_size:
            rng = np.random.default_rng(_SEED)
            keep = np.sort(rng.choice(n, probe_size, replace=False))
            x, y, weights = (
                None if part is None else keras.tree.map_structure(lambda a: a[keep], part)
                for part in (x, y, weights)
            )
    elif isinstance(data, (str, bytes)) or not (
        hasattr(data, "__iter__") or hasattr(data, "__getitem__")
    ):
        raise ValueError(
            f"`{name}` must be arrays, an (x, y) tuple, a tf.data.Dataset, a PyDataset or an "
            f"iterable of batches. Received: {name}={describe(data)}"
        )
    else:
        x, y, weights = _take_stream(data, probe_size, name)
    probe = Probe(x, y, weights)
    for part in (y, weights):
        if part is not None and len(keras.tree.flatten(part)[0]) != len(probe):
            raise ValueError(
                f"`{name}` has {len(probe)} inputs but {len(keras.tree.flatten(part)[0])} "
                f"targets or weights. Received: {name}={describe(data)}"
            )
    return probe


def _length(x, name, data):
    leaves = keras.tree.flatten(x) if x is not None else []
    if not leaves or not leaves[0].ndim or len(leaves[0]) == 0:
        raise ValueError(f"`{name}` holds no samples. Received: {name}={describe(data)}")
    return len(leaves[0])


def _elements(data):
    """The elements of a stream: a PyDataset by index (it may not stop by itself)."""
    if isinstance(data, keras.utils.PyDataset):
        count = data.num_batches
        index = 0
        while count is None or index < count:
            yield data[index]
            index += 1
    else:
        yield from data


def _is_sample(parts):
    """True for one unbatched sample, such as an element of `from_tensor_slices((x, y))`:
    a part without a leading axis, or parts whose leading lengths differ."""
    leaves = [leaf for part in parts if part is not None for leaf in keras.tree.flatten(part)]
    if any(leaf.ndim == 0 for leaf in leaves):
        return True
    return len({leaf.shape[0] for leaf in leaves}) > 1


def _take_stream(data, probe_size, name):
    parts, total, unbatched = [], 0, None
    for element in _elements(data):
        element = tuple(_to_numpy(p, name, data) for p in _split(element))
        if not keras.tree.flatten(element[0]):
            raise ValueError(
                f"`{name}` yields elements without inputs. Received: {name}={describe(data)}"
            )
        if unbatched is None:
            unbatched = _is_sample(element)
        if unbatched:  # one sample: give it a batch axis
            element = tuple(None if p is None else keras.tree.map_structure(lambda a: a[None], p)
                            for p in element)  # fmt: skip
        elif _is_sample(element):
            raise ValueError(
                f"`{name}` yields batches whose inputs and targets differ in length. "
                f"Received: a batch {describe(element)} from {name}={describe(data)}"
            )
        parts.append(element)
        total += len(keras.tree.flatten(element[0])[0])
        if total >= probe_size:
            break
    if total == 0:
        raise ValueError(f"`{name}` holds no samples. Received: {name}={describe(data)}")

    def join(*arrays):
        return np.concatenate(arrays)[:probe_size]

    try:
        return tuple(
            None if parts[0][i] is None
            else keras.tree.map_structure(join, *[p[i] for p in parts])
            for i in range(3)
        )
    except ValueError as error:  # batches of different structures or sample shapes
        raise ValueError(
            f"`{name}` yields batches that do not stack ({error}). "
            f"Received: {name}={describe(data)}"
        ) from None


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
            f"Received: {name}={describe(probe.x)}"
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
