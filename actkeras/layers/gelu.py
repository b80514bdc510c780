import math

import keras
from keras import ops

from actkeras import checks
from actkeras.layers._base import BaseActivation


@keras.saving.register_keras_serializable(package="actkeras")
class GELU(BaseActivation):
    """Gaussian error linear unit `x * Phi(x)`.

    Args:
        approximate: use the tanh approximation instead of the exact erf form.
            Defaults to `False`.
    """

    family = "smooth"

    def __init__(self, approximate=False, **kwargs):
        super().__init__(**kwargs)
        self.approximate = checks.boolean("approximate", approximate)

    def call(self, inputs):
        # Written out rather than ops.gelu, whose constants are float32 on some
        # backends: the layer must be exact in float64 too.
        if self.approximate:
            inner = math.sqrt(2.0 / math.pi) * (inputs + 0.044715 * inputs**3)
            return 0.5 * inputs * (1.0 + ops.tanh(inner))
        return 0.5 * inputs * (1.0 + ops.erf(inputs / math.sqrt(2.0)))

    def get_config(self):
        config = super().get_config()
        config.update({"approximate": self.approximate})
        return config
