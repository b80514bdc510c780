import keras
from keras import ops

from actkeras.layers._base import Activation


@keras.saving.register_keras_serializable(package="actkeras")
class GELU(Activation):
    """Gaussian error linear unit `x * Phi(x)`.

    Args:
        approximate: use the tanh approximation instead of the exact erf form.
            Defaults to `False`.
    """

    family = "smooth"

    def __init__(self, approximate=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(approximate, bool):
            raise ValueError(
                f"`approximate` must be True or False. Received: approximate={approximate!r}"
            )
        self.approximate = approximate

    def call(self, inputs):
        return ops.gelu(inputs, approximate=self.approximate)

    def get_config(self):
        config = super().get_config()
        config.update({"approximate": self.approximate})
        return config
