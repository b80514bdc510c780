"""`PulseSchedule`: a constant learning rate with a pulse (`lr_pulse`).

Registered under `actkeras>` and imported with Keras (`actkeras/__init__.py`), so that
a saved model built with `lr_pulse` (its optimizer included) reloads after `import
actkeras`.
"""

import keras


@keras.saving.register_keras_serializable(package="actkeras")
class PulseSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A constant learning rate with a pulse: `peak` for `first_step <= step < end_step`."""

    def __init__(self, base, peak, first_step, end_step):
        self.base, self.peak = float(base), float(peak)
        self.first_step, self.end_step = int(first_step), int(end_step)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        inside = keras.ops.logical_and(step >= self.first_step, step < self.end_step)
        return keras.ops.where(inside, self.peak, self.base)

    def get_config(self):
        return {"base": self.base, "peak": self.peak, "first_step": self.first_step,
                "end_step": self.end_step}
