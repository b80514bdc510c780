import keras
from keras import ops

from actkeras.layers._base import BaseActivation


@keras.saving.register_keras_serializable(package="actkeras")
class Softsign(BaseActivation):
    """Softsign, x / (1 + |x|): tanh's range with polynomial tails (Glorot and Bengio 2010).

    It approaches -1 and 1 much more slowly than tanh, so its units saturate less.
    """

    # Not "tanh": the monitors read a tanh unit's derivative off its output as 1 - a^2,
    # which softsign's, (1 - |a|)^2, is not. Not "smooth" either: those have a floor
    # (swish, GELU, softplus), below which a unit counts as inactive; softsign is odd.
    family = "bounded"

    def call(self, inputs):
        return ops.softsign(inputs)

    def get_config(self):
        return super().get_config()
