import keras
from keras import ops

from actkeras import checks
from actkeras.layers._base import BaseActivation


@keras.saving.register_keras_serializable(package="actkeras")
class Softmax(BaseActivation):
    """Softmax over the units, used as a HIDDEN activation (seed 003's experiment).

    Unlike the other entries it is not element-wise: every unit's output
    depends on the whole layer, and the outputs sum to 1.

    Args:
        axis: the axis normalised over. Defaults to `-1`.
    """

    family = "softmax"

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(checks.integer("axis", axis))

    def call(self, inputs):
        return ops.softmax(inputs, axis=self.axis)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis})
        return config
