import keras
from keras import ops

from actkeras import checks
from actkeras.layers._base import BaseActivation


@keras.saving.register_keras_serializable(package="actkeras")
class PReLU(BaseActivation):
    """Parametric rectifier (He et al. 2015): a leaky ReLU whose slope is learned.

    One slope per unit of the last axis, made in `build()`.

    Args:
        initial_slope: starting value of every slope, finite and >= 0.
            Defaults to `0.25` (as in the paper).
    """

    family = "leaky"

    def __init__(self, initial_slope=0.25, **kwargs):
        super().__init__(**kwargs)
        self.initial_slope = checks.number("initial_slope", initial_slope, low=0.0)

    def build(self, input_shape):
        self.slope = self.add_weight(
            name="slope",
            shape=(input_shape[-1],),
            # A callable, not initializers.Constant, which rounds through float32.
            initializer=lambda shape, dtype: ops.full(shape, self.initial_slope, dtype=dtype),
        )
        self.built = True

    def call(self, inputs):
        return ops.maximum(inputs, 0.0) + self.slope * ops.minimum(inputs, 0.0)

    def get_config(self):
        config = super().get_config()
        config.update({"initial_slope": self.initial_slope})
        return config
