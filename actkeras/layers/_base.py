"""Shared plumbing for the activation layers: argument checks and shape pass-through."""

import math

import keras


def check_number(name, value, *, minimum=None, strictly_positive=False):
    """Returns `value` as a float after checking it is a finite number in range.

    Raises `ValueError` ending in `Received: name=value`, as Keras does.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"`{name}` must be a number. Received: {name}={value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be finite. Received: {name}={value}")
    if strictly_positive and value <= 0:
        raise ValueError(f"`{name}` must be > 0. Received: {name}={value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}. Received: {name}={value}")
    return value


class Activation(keras.layers.Layer):
    """Base class of actkeras activation layers: element-wise, shape-preserving.

    Subclasses set the class attribute `family` (used by the monitors to decide
    what "inactive" and "saturated" mean) and implement `call`.
    """

    family = "other"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_output_shape(self, input_shape):
        return input_shape
