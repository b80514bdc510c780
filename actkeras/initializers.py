"""`ScaledInitializer`: a Keras initializer's draws times a gain (`init_gain`).

Registered under `actkeras>` and imported with Keras (`actkeras/__init__.py`), so that
a saved model built with `init_gain` reloads after `import actkeras`.
"""

import keras

from actkeras import checks


@keras.saving.register_keras_serializable(package="actkeras")
class ScaledInitializer(keras.initializers.Initializer):
    """Another initializer's values multiplied by `gain` (a weight scale that travels
    with nothing else: the same draws, larger or smaller).

    Args:
        base: a Keras initializer (or its serialized config).
        gain: the factor, finite and > 0.
    """

    def __init__(self, base, gain):
        self.base = keras.initializers.get(base)
        self.gain = checks.finite("gain", gain, low=0, strict_low=True)

    def __call__(self, shape, dtype=None):
        return self.base(shape, dtype=dtype) * self.gain

    def get_config(self):
        return {"base": keras.initializers.serialize(self.base), "gain": self.gain}
