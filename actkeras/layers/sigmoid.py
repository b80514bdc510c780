import keras
from keras import ops

from actkeras.layers._base import BaseActivation


@keras.saving.register_keras_serializable(package="actkeras")
class Sigmoid(BaseActivation):
    """Logistic sigmoid `1 / (1 + exp(-x))`; its derivative is at most 0.25."""

    family = "sigmoid"

    def call(self, inputs):
        return ops.sigmoid(inputs)

    def get_config(self):
        return super().get_config()
