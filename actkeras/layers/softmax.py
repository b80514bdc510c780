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
        axis: the axis normalised over: not the batch axis (0), which would mix the
            samples of a batch, and within the inputs' rank (checked when the layer is
            built). Defaults to `-1`.
    """

    family = "softmax"

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(checks.integer("axis", axis))
        if self.axis == 0:
            raise ValueError("`axis` 0 is the batch axis: a softmax over it mixes the samples "
                             "of a batch. Received: axis=0")

    def build(self, input_shape):
        rank = len(input_shape)
        if not -rank < self.axis < rank:
            raise ValueError(f"`axis` must name one of the inputs' axes 1 to {rank - 1} (or -1 "
                             f"to -{rank - 1}); they have rank {rank}. Received: axis={self.axis}")
        super().build(input_shape)

    def call(self, inputs):
        return ops.softmax(inputs, axis=self.axis)

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis})
        return config
