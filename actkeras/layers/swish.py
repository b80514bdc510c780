import keras
from keras import ops

from actkeras import checks
from actkeras.layers._base import BaseActivation


@keras.saving.register_keras_serializable(package="actkeras")
class Swish(BaseActivation):
    """Swish `x * sigmoid(beta * x)` (Ramachandran et al. 2017); SiLU at beta = 1.

    Args:
        beta: the slope inside the sigmoid, finite and > 0. Defaults to `1.0`.
    """

    family = "smooth"

    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = checks.number("beta", beta, low=0.0, strict_low=True)

    def call(self, inputs):
        return inputs * ops.sigmoid(self.beta * inputs)

    def get_config(self):
        config = super().get_config()
        config.update({"beta": self.beta})
        return config
