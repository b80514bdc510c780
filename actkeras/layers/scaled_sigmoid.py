import keras
from keras import ops

from actkeras import checks
from actkeras.layers._base import BaseActivation


@keras.saving.register_keras_serializable(package="actkeras")
class ScaledSigmoid(BaseActivation):
    """Rescaled sigmoid `1 / (1 + exp(-slope * x))`.

    With the default slope of 4 its derivative peaks at exactly 1 (at x = 0),
    the variant asked about in seed 002; the price is a non-saturated region
    four times narrower than the plain sigmoid's.

    Args:
        slope: the factor `a` in `sigmoid(a * x)`, finite and > 0.
            Defaults to `4.0`.
    """

    family = "sigmoid"

    def __init__(self, slope=4.0, **kwargs):
        super().__init__(**kwargs)
        self.slope = checks.number("slope", slope, low=0.0, strict_low=True)

    def call(self, inputs):
        return ops.sigmoid(self.slope * inputs)

    def get_config(self):
        config = super().get_config()
        config.update({"slope": self.slope})
        return config
