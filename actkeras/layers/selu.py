import keras
from keras import ops

from actkeras.layers._base import BaseActivation


@keras.saving.register_keras_serializable(package="actkeras")
class SELU(BaseActivation):
    """Scaled exponential linear unit (Klambauer et al. 2017), fixed constants.

    `scale * x` for `x > 0`, `scale * alpha * (exp(x) - 1)` otherwise, with
    alpha ~ 1.6733 and scale ~ 1.0507.
    """

    family = "exponential"

    def call(self, inputs):
        return ops.selu(inputs)

    def get_config(self):
        return super().get_config()
