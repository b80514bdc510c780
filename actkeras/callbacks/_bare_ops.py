"""Catching activation functions applied as bare ops while a model's pass is traced.

An activation applied as a bare op from user code (`keras.ops.relu(x)` inside a
custom `call()`, or a Python function given as `activation=`) has no layer or
attribute the monitors can wrap. Instead of guessing from a function's code
(which names ops it may never call), the monitors note the calls that actually
happen while their first pass runs or is traced: `bare_ops` swaps the
activation functions of `keras.ops`, `keras.activations`, `tf.nn`/`tf.math`
and `jax.nn` for wrappers that note who called them, for the duration of the
pass. Calls made by Keras, TensorFlow, JAX or actkeras themselves (a site's own
function, a backend's implementation) are not the user's and are not noted.
"""

import sys

import keras

from actkeras.callbacks._mode import patched
from actkeras.callbacks._sites import FUNCTIONS

# Modules whose calls of an activation function are the framework's own business
# (the sites call them, and backends call each other), not a user's bare op.
_FRAMEWORK = ("keras", "tensorflow", "jax", "jaxlib", "numpy", "optree", "tf_keras",
              "actkeras.layers", "actkeras.callbacks")  # fmt: skip


def bare_ops(noted):
    """A context in which activation functions called through `keras.ops`,
    `keras.activations`, `tf.nn`/`tf.math` or `jax.nn` from user code are noted in
    `noted` as `(layer or None, function name, code name)`, the layer being the
    innermost one whose method made the call."""
    targets = [keras.ops, keras.activations]
    for module, parts in (("tensorflow", ("nn", "math")), ("jax", ("nn",))):
        if module in sys.modules:
            targets += [getattr(sys.modules[module], p, None) for p in parts]
    patches = []
    for target in filter(None, targets):
        for name in FUNCTIONS:
            function = getattr(target, name, None)
            if callable(function) and not isinstance(function, type):
                patches.append((target, name, _noting(function, name, noted)))
    return patched(patches)


def _noting(function, name, noted):
    def noting(*args, **kwargs):
        frame = sys._getframe(1)
        module = frame.f_globals.get("__name__", "")
        if not any(module == p or module.startswith(p + ".") for p in _FRAMEWORK):
            noted.append((_calling_layer(frame), name, frame.f_code.co_name))
        return function(*args, **kwargs)

    return noting


def _calling_layer(frame):
    for _ in range(40):
        if frame is None:
            return None
        owner = frame.f_locals.get("self")
        if isinstance(owner, keras.layers.Layer):
            return owner
        frame = frame.f_back
    return None
