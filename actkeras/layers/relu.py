import keras
from keras import ops

from actkeras.layers._base import BaseActivation


@keras.saving.register_keras_serializable(package="actkeras")
class ReLU(BaseActivation):
    """Rectified linear unit: `max(x, 0)`.

    Example:
    >>> ReLU()(np.array([-1.0, 0.0, 2.0]))  # [0, 0, 2]
    """

    family = "rectifier"

    def call(self, inputs):
        return ops.relu(inputs)

    def get_config(self):
        return super().get_config()
