import keras
from keras import ops

from actkeras.layers._base import BaseActivation


@keras.saving.register_keras_serializable(package="actkeras")
class Tanh(BaseActivation):
    """Hyperbolic tangent; zero-centred, derivative at most 1."""

    family = "tanh"

    def call(self, inputs):
        return ops.tanh(inputs)

    def get_config(self):
        return super().get_config()
