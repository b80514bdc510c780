"""`FinishedEpochs`: what a `fit` had finished when it was interrupted."""

import contextlib
import signal
import threading

import keras


class FinishedEpochs(keras.callbacks.Callback):
    """Keeps what a `fit` has finished, for when it is interrupted (Ctrl-C).

    At each epoch end it records the logs, as `History` does (`history` and `epoch`,
    so that `history_records(kept)` reads it), and copies the model's and its
    optimizer's variables; `restore()` puts them back: the model as it was at the
    end of the last finished epoch, not part-way through the next one.

    Within `catching_interrupt()`, Ctrl-C stops the fit at the end of the step it is in
    (`interrupted` becomes `True`) instead of raising inside the backend's own code.
    """

    def __init__(self):
        super().__init__()
        self.history, self.epoch = {}, []
        self.step = None  # the optimizer's step count at the last finished epoch end
        self._state = None
        self.interrupted = False  # Ctrl-C came within `catching_interrupt()`

    def on_train_begin(self, logs=None):
        self.history, self.epoch, self.step, self._state = {}, [], None, None
        if self.interrupted:  # before the fit began: stop after its first step
            self.model.stop_training = True

    def _variables(self):
        optimizer = getattr(self.model, "optimizer", None)
        return list(self.model.variables) + list(getattr(optimizer, "variables", []))

    def on_epoch_end(self, epoch, logs=None):
        if self.interrupted:
            return  # the epoch Ctrl-C cut short is not a finished one
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

    @contextlib.contextmanager
    def catching_interrupt(self, announce=None):
        """Within it, a first Ctrl-C (SIGINT) sets `interrupted` and asks the fit to stop at
        the end of the step it is in (`model.stop_training`), and calls `announce()`; a
        second one raises `KeyboardInterrupt` at once. A `KeyboardInterrupt` raised inside
        TensorFlow's own code could leave the process to abort on a corrupted heap
        before the finished epochs were written. Outside the main thread, where Python
        cannot catch signals, nothing changes."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.getsignal(signal.SIGINT)

        def stop(signum, frame):
            self.interrupted = True
            if self.model is not None:
                self.model.stop_training = True
            signal.signal(signal.SIGINT, signal.default_int_handler)  # again: at once
            if announce is not None:
                announce()

        signal.signal(signal.SIGINT, stop)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)
