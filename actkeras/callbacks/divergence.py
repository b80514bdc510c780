"""`DivergenceGuard`: stop training at a non-finite loss, and say so."""

import keras
import numpy as np

from actkeras import checks


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training at a non-finite loss and remembers the step (`step`).

    By default it looks at the loss Keras reports at each epoch end, so Keras keeps
    dispatching steps asynchronously (any callback with a batch hook turns that
    off); `step` is then the step count at that epoch end. With `every=N` it also
    looks after every `N`-th batch (a group of `steps_per_execution` steps) and
    stops there, the way `keras.callbacks.TerminateOnNaN` does with `every=1`.

    Example:
    >>> guard = DivergenceGuard(every=1)
    >>> model.fit(x, y, callbacks=[guard])
    >>> guard.step  # None, or the step training stopped at

    Args:
        every: check after every `every` batches too; `None` for epoch ends only.
            Defaults to `None`.
    """

    def __init__(self, every=None):
        super().__init__()
        if every is not None:
            checks.positive_int("every", every)
            # An instance attribute, so that Keras sees a batch hook only when asked.
            self.on_train_batch_end = self._check_batch
        self.every = every
        self.step = None

    def _check(self, logs):
        loss = (logs or {}).get("loss")
        if self.step is None and loss is not None and not np.isfinite(
                float(keras.ops.convert_to_numpy(loss))):
            self.step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            self.model.stop_training = True

    def _check_batch(self, batch, logs=None):
        if (batch + 1) % self.every == 0:
            self._check(logs)

    def on_epoch_end(self, epoch, logs=None):
        self._check(logs)


def divergence_message(step, learning_rate):
    """What `fit` warns (and `actkeras train` prints) when the loss becomes NaN."""
    return (f"Training diverged: the loss became NaN or infinite by step {step}, and training "
            f"stopped there. Lower the learning rate (it is {learning_rate:g}), or use an "
            f"initializer with a smaller scale.")
