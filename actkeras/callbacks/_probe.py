"""Probe data: a small, fixed sample the monitors measure on, taken once.

Whatever the user passes (arrays, an `(x, y)` tuple, a `tf.data.Dataset`, a
`PyDataset`, a list of `(x, y)` batches or any iterable of batches), the
monitors keep only a NumPy sample of at most `probe_size` samples. Memory is
bounded by the probe, never by the data set, and the callback stays
deep-copyable (a `tf.data.Dataset` is not).
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


_FORMS = ("Give one set of arrays as x, (x, y) or (x, y, sample_weight), several inputs or "
          "outputs as a list or dict of arrays ([x1, x2], {'name': x1}), and batches as a "
          "list of (x, y) tuples ([(x1, y1), (x2, y2)]), a tf.data.Dataset or a PyDataset.")


def _split(batch):
    """`x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` -> `(x, y, sample_weight)`."""
    if isinstance(batch, tuple):
        if not 1 <= len(batch) <= 3:
            raise ValueError(
                f"A probe tuple is (x,), (x, y) or (x, y, sample_weight). {_FORMS} "
                f"Received: probe_data=tuple of length {len(batch)}"
            )
        return tuple(batch) + (None,) * (3 - len(batch))
    return batch, None, None


def _batch_like(element):
    return isinstance(element, tuple) and 1 <= len(element) <= 3


def _is_batches(data, name):
    """True for a list of `(x,)`, `(x, y)` or `(x, y, sample_weight)` tuples, or a tuple
    of more than three of them: a sequence of batches. A tuple of at most three parts is
    Keras's own `(x, y, sample_weight)` whatever its parts are (`((x1, x2), (y1, y2))`:
    two inputs and two outputs), as `fit` reads it."""
    if not isinstance(data, (list, tuple)) or not data:
        return False
    if isinstance(data, tuple) and len(data) <= 3:
        return False
    return all(_batch_like(element) for element in data)


def describe(data):
    """A short description of `data` for error messages (never a whole array)."""
    if _is_array(data):
        return f"{type(data).__name__} of shape {tuple(data.shape)}"
    if isinstance(data, (tuple, list)):
        shown = [describe(d) for d in data[:3]]
        if len(data) > 3:  # a long list of batches: a few, and how many
            shown.append(f"... {len(data)} in all")
        return f"{type(data).__name__}({', '.join(shown)})"
    if isinstance(data, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in data.items()) + "}"
    spec = getattr(data, "element_spec", None)  # tf.data, without importing TensorFlow
    if spec is not None:
        return f"{type(data).__name__} with elements {spec}"
    return type(data).__name__


def take_probe(data, probe_size, name="probe_data"):
    """Returns a `Probe` of at most `probe_size` samples of `data`, as NumPy.

    Arrays larger than the probe give a fixed random subset (in order); batches
    give their first `probe_size` samples and are read no further, so an endless
    stream is fine.

    Args:
        data: `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` (arrays, or lists
            and dicts of arrays for several inputs or outputs); a list of such
            tuples (`[(x1, y1), (x2, y2)]`: batches, which must stack: the same
            structure and sample shape); a `tf.data.Dataset`, batched or not; a
            `keras.utils.PyDataset`; or any other iterable of batches. A list of
            arrays is several inputs, never batches; a tuple of at most three
            parts is `(x, y, sample_weight)` as Keras's `fit` reads it, also when its
            parts are tuples (`((x1, x2), (y1, y2))`: two inputs, two outputs).
        probe_size: the most samples to keep.
        name: the argument named in errors. Defaults to `"probe_data"`.

    Raises:
        ValueError: no samples, parts of different lengths, or something that
            is not data; the message says what was received.
    """
    if _is_batches(data, name):
        x, y, weights = _take_stream(data, probe_size, name)
    elif _is_array(data) or isinstance(data, (tuple, list, dict)):
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
    """The elements of a stream: a PyDataset by index (it may not stop by itself). A
    generator's elements are taken by `next` (`yield from` would close the user's
    generator when the probe stops taking: `fit` could not read it afterwards)."""
    if isinstance(data, keras.utils.PyDataset):
        count = data.num_batches
        index = 0
        while count is None or index < count:
            yield data[index]
            index += 1
    else:
        iterator = iter(data)
        while True:
            try:
                element = next(iterator)
            except StopIteration:
                return
            yield element


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
            f"`{name}` yields batches that do not stack ({error}): the probe is one array "
            f"per input, so every batch must have the same structure and sample shape. "
            f"Pad variable-length batches to one length (`keras.utils.pad_sequences`, or "
            f"`padded_batch` for a tf.data.Dataset), or give one batch (or batches of one "
            f"length) as the probe. Received: {name}={describe(data)}"
        ) from None
