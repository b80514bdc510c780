"""Backend helpers the monitors share: state sync, NumPy conversion, compiled-function cache.

A leaf module: it imports nothing of actkeras, so every other module of the
callbacks may import it.

The monitors compile their passes (`tf.function` on TensorFlow, `jax.jit` on JAX)
once per model and keep them while the model lives (`compiled_once`), so that
new monitors on the same model, in later `fit` calls, reuse them. On TensorFlow
a pass is traced once for every batch size (`BatchTraced`), or once per batch
size for a model whose code needs its batch size as a number. A model its
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


def arrays_key(x):
    """Identifies what a traced function of the arrays `x` depends on: their structure
    (a dict and a list of the same arrays trace apart) and each one's per-sample shape
    and dtype."""
    structure = repr(keras.tree.map_structure(lambda _: None, x))
    return structure, tuple((tuple(np.shape(a)[1:]), str(np.asarray(a).dtype))
                            for a in keras.tree.flatten(x))  # fmt: skip


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


def _batch_size(x):
    leaves = keras.tree.flatten(x)
    return int(np.shape(leaves[0])[0]) if leaves else None


class BatchTraced:
    """A `tf.function` of `fn` over arguments shaped like `examples` (array structures).

    `fn` is traced once for every batch size (the batch axis `None`), so that a
    probe's chunks of any size share one trace. Code that needs its batch size as
    a number (`keras.ops.reshape(h, (x.shape[0], -1))`) fails there, although
    Keras's `fit` runs it, since `fit` traces with the batch size it feeds: the
    function then traces each batch size apart, as `fit` does (a probe's chunks
    differ by one sample at most, so two traces at most). If that fails too, its
    error is raised: it is the one `fit` would meet.

    Args:
        fn: a function of tensors shaped like `examples`, one argument each.
        examples: the arguments' arrays (NumPy); only their shapes and dtypes are kept.
        info: a dict `fn` fills while it traces, kept as `info`.
    """

    def __init__(self, fn, examples, info):
        import tensorflow as tf

        self.info = info
        self.per_batch = False  # True once a trace for every batch size failed
        self._traced = False
        self._fn = fn
        self._specs = [tensor_specs(e, batch=_batch_size(e)) for e in examples]
        self._function = tf.function(fn, input_signature=[tensor_specs(e) for e in examples],
                                     autograph=False)  # fmt: skip

    def get_concrete_function(self, *_):
        """Traces now, on the examples' shapes (nothing computed), unless traced already.

        Arguments (`tf.TensorSpec`s, as `tf.function` takes) are accepted and not
        needed: the examples fix the per-sample shapes.
        """
        import tensorflow as tf

        if self.per_batch:
            return self._function.get_concrete_function(*self._specs)
        try:
            concrete = self._function.get_concrete_function()
            self._traced = True
            return concrete
        except Exception:  # noqa: BLE001 - any trace error: try as `fit` traces
            per_batch = tf.function(self._fn, autograph=False)
            try:
                concrete = per_batch.get_concrete_function(*self._specs)
            except Exception as error:  # noqa: BLE001 - what `fit` would meet
                raise error from None
            self._function, self.per_batch = per_batch, True
            return concrete

    def __call__(self, *args):
        if not (self._traced or self.per_batch):
            self.get_concrete_function()
        return self._function(*args)
