"""`FinishedEpochs`: what a `fit` had finished when it was interrupted."""

import keras


class FinishedEpochs(keras.callbacks.Callback):
    """Keeps what a `fit` has finished, for when it is interrupted (Ctrl-C).

    At each epoch end it records the logs, as `History` does (`history` and `epoch`,
    so that `history_records(kept)` reads it), and copies the model's and its
    optimizer's variables; `restore()` puts them back: the model as it was at the
    end of the last finished epoch, not part-way through the next one.
    """

    def __init__(self):
        super().__init__()
        self.history, self.epoch = {}, []
        self.step = None  # the optimizer's step count at the last finished epoch end
        self._state = None

    def on_train_begin(self, logs=None):
        self.history, self.epoch, self.step, self._state = {}, [], None, None

    def _variables(self):
        optimizer = getattr(self.model, "optimizer", None)
        return list(self.model.variables) + list(getattr(optimizer, "variables", []))

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self._state = [keras.ops.convert_to_numpy(v) for v in self._variables()]
        self.step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def restore(self):
        """Puts back the variables of the last finished epoch end; `False` if none ended."""
        if self._state is None:
            return False
        for variable, value in zip(self._variables(), self._state):
            variable.assign(value)
        return True
