"""Backend helpers the monitors share: state sync, NumPy conversion, compiled-function cache.

A leaf module: it imports nothing of actkeras, so every other module of the
callbacks may import it.

The monitors compile their passes (`tf.function` on TensorFlow, `jax.jit` on JAX)
once per model and keep them while the model lives (`compiled_once`), so that
new monitors on the same model, in later `fit` calls, reuse them. A model its
user runs eagerly (`run_eagerly=True`, or on JAX `jit_compile=False`) is run
eagerly by the monitors too (`traceable` is False): its code may read concrete
values.
"""

import weakref

import keras
import numpy as np

# model -> {key: function}: what `compiled_once` made, dropped with the model.
_COMPILED = weakref.WeakKeyDictionary()


def backend():
    return keras.backend.backend()


def on_jax():
    return backend() == "jax"


def traceable(model):
    """True for a model whose code the monitors may compile: on TensorFlow or JAX, not
    one its user compiled with `run_eagerly=True` (or, on JAX, `jit_compile=False`),
    which Keras itself runs without tracing."""
    if backend() not in ("tensorflow", "jax") or getattr(model, "run_eagerly", False):
        return False
    return not (on_jax() and getattr(model, "jit_compile", True) is False)


def compiled_once(model, key, build):
    """The function `build()` makes for `model` under `key`: made once, kept while
    `model` lives. `build` must not hold `model` strongly (take a `weakref`), or the
    model would never be freed."""
    functions = _COMPILED.setdefault(model, {})
    if key not in functions:
        functions[key] = build()
    return functions[key]


def variables_key(variables):
    """Identifies a list of variables, in order (a changed list means a new trace)."""
    return tuple(id(v) for v in variables)


def sync_state(model):
    """Puts the training state back into `model`'s variables (JAX holds it apart
    during an epoch and only syncs at its end); a no-op elsewhere."""
    if on_jax() and hasattr(model, "jax_state_sync"):
        model.jax_state_sync()


def to_numpy(value):
    """A NumPy array from an array, a backend tensor or a Keras variable."""
    if isinstance(value, keras.Variable):
        value = value.value
    numpy = getattr(value, "numpy", None)  # TensorFlow: avoids NumPy 2's copy warning
    return np.asarray(numpy() if callable(numpy) else value)


def tensor_specs(x, batch=None):
    """`tf.TensorSpec`s for the arrays of `x` (any structure), the batch axis `batch`."""
    import tensorflow as tf

    return keras.tree.map_structure(
        lambda a: tf.TensorSpec((batch, *np.shape(a)[1:]), tf.as_dtype(np.asarray(a).dtype)), x)
