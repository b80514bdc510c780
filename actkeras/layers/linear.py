import keras

from actkeras.layers._base import BaseActivation


@keras.saving.register_keras_serializable(package="actkeras")
class Linear(BaseActivation):
    """Identity: the baseline that collapses a stack of layers to one linear map."""

    family = "linear"

    def call(self, inputs):
        return inputs

    def get_config(self):
        return super().get_config()
