"""What the activation layers share: shape pass-through, masking and the monitors' family."""

import keras


class BaseActivation(keras.layers.Layer):
    """Base class of actkeras activation layers: element-wise, shape-preserving.

    Named apart from `keras.layers.Activation` (which applies a function by name),
    so that code reading both never has to ask which one is meant. Subclasses set
    the class attribute `family` (used by the monitors to decide what "dead",
    "inactive" and "saturated" mean) and implement `call`.
    """

    family = "other"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_output_shape(self, input_shape):
        return input_shape
