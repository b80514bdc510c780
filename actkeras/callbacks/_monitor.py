"""What the three monitors share: arguments, probe data, scheduling, records, TensorBoard.

A subclass implements `_setup()` (called at `on_train_begin`; returns False to
stay idle, after warning why) and `_measure()` (returns the record's fields, the
scalars for `logs`, and optional histograms). Everything here follows the Keras
callback conventions: `__init__` only checks and stores arguments (plus a NumPy
sample of `probe_data`), state is reset in `on_train_begin`, and backend
objects (tap models, compiled functions, writers) are made lazily and dropped in
`on_train_end`, so that a monitor can be deep-copied before training (as
keras-tuner does for every trial) and reused across `fit` calls.

At `on_train_begin` the base class also checks the probe against the model,
builds a model that was never built (by calling it on two probe samples, as
its first training step would), warns when a logging callback precedes the
monitors, and (`_activation_calls`) finds the call sites the activation
monitors measure, warning about activations it cannot see.
"""

import math
import sys
import warnings

import keras

from actkeras.callbacks._gradients import sync_state
from actkeras.callbacks._probe import check_probe, take_probe, to_numpy
from actkeras.callbacks._sites import HOW_TO_SHOW, find_activation_layers, unseen_activations
from actkeras.callbacks._tap import Recorder, check_mode, ensure_built
from actkeras.callbacks._tensorboard import EventWriter

# Callbacks that read the epoch's `logs` when their turn comes: placed before a
# monitor, they miss its keys.
LOGGERS = ("CSVLogger", "TensorBoard", "RemoteMonitor", "ProgbarLogger")
KEY_PREFIXES = ("dead_fraction", "inactive_fraction", "capped_fraction", "grad_norm/",
                "gradient_ratio", "act_")  # fmt: skip
DISCOVERY_SAMPLES = 2  # the first pass, which finds the call sites, runs on this many


def check_every(every):
    if every is not None and (isinstance(every, bool) or not isinstance(every, int) or every <= 0):
        raise ValueError(
            f"`every` must be None (each epoch end) or a positive number of batches. "
            f"Received: every={every!r}"
        )


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def plain(value):
    """A JSON-able float: NaN and infinities become None."""
    value = float(value)
    return value if math.isfinite(value) else None


class Monitor(keras.callbacks.Callback):
    """Base class of the activation monitors (not used directly).

    Args:
        probe_data: what to measure on; see `take_probe`. Defaults to `None`:
            `actkeras.fit` then passes a sample of the validation split through
            `set_probe_data`; with plain `model.fit`, pass it here.
        probe_size: the most samples kept from `probe_data`.
        every: `None` to measure at each epoch end only, or `N` to also measure
            every `N` training steps, into `records` and `log_dir` (Keras calls
            batch hooks once per `steps_per_execution` steps: a measurement
            then comes at the first call past each multiple of `N`). Setting it
            overrides `on_train_batch_end`, which switches off Keras's
            asynchronous batch dispatch.
        log_dir: a directory for this monitor's own TensorBoard event file (every
            measurement at its step, histograms included). Defaults to `None`.
        mode: `"training"` to measure as the model trains (BatchNorm with the
            probe batch's statistics, Dropout and noise off, nothing updated) or
            `"inference"` (BatchNorm's moving statistics, as `predict`). Every
            record says which (`"mode"`). Defaults to `"training"`.
    """

    suffix = ".monitor"  # event file suffix
    chunk_size = 1024  # samples per forward pass on the probe (bounds device memory)
    # Set to True on an instance to also measure once before the first step
    # (trigger "train_begin", epoch 0): the state training started from.
    at_start = False

    def __init__(self, probe_data=None, probe_size=256, every=None, log_dir=None,
                 mode="training"):  # fmt: skip
        super().__init__()
        check_positive_int("probe_size", probe_size)
        check_every(every)
        self.mode = check_mode(mode)
        self.probe_size = probe_size
        self.every = every
        self.log_dir = None if log_dir is None else str(log_dir)
        self.probe = None if probe_data is None else take_probe(probe_data, probe_size)
        self._fallback_probe = None
        self._told = set()  # what was warned about, once per instance
        self.records = []
        if every is not None:
            # Only when asked: a batch hook switches off async dispatch (see Keras).
            self.on_train_batch_end = self._on_train_batch_end
        self._reset()

    def set_probe_data(self, x, y=None, sample_weight=None):
        """Offers probe data, used only when none was given to the constructor.

        `actkeras.fit` calls it with the validation split; only a sample of at
        most `probe_size` samples is kept.
        """
        self._fallback_probe = take_probe((x, y, sample_weight), self.probe_size)

    def _reset(self):
        self._active = False
        self._writer = None
        self._probe_in_use = None
        self._epoch = 0
        self._base = 0  # training steps before the current epoch
        self._last_step = 0

    # Keras hooks.

    def on_train_begin(self, logs=None):
        self._reset()
        self.records = []
        probe = self.probe if self.probe is not None else self._fallback_probe
        if probe is None:
            raise ValueError(
                f"{type(self).__name__} has no data to measure on: pass "
                "`probe_data=(x, y)` (or train with `actkeras.fit`, which passes a "
                "sample of the validation split). Received: probe_data=None"
            )
        check_probe(probe, self.model)
        self._check_order()
        ensure_built(self.model, self._sample(probe))
        self._probe_in_use = probe
        self._base = self._last_step = self._step()
        self._active = bool(self._setup(probe))
        if self._active and self.log_dir is not None:
            self._writer = EventWriter(self.log_dir, self.suffix)
        if self._active and self.at_start:
            self._epoch = -1
            self._record("train_begin", self._base)
            self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _on_train_batch_end(self, batch, logs=None):
        # The step from the batch index: reading the model here would force a
        # JAX state sync on every batch, measured or not.
        step = self._base + batch + 1
        if self._active and step // self.every > self._last_step // self.every:
            self._record("batch_end", step)

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch
        self._base = self._step()
        if not self._active:
            return
        scalars = self._record("epoch_end", self._base)
        if logs is not None:
            logs.update(scalars)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
        self._teardown()
        self._writer = None
        self._probe_in_use = None

    # Helpers.

    def _step(self):
        """Training steps so far: the optimizer's count (across `fit` calls)."""
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        if iterations is None:  # no optimizer: count epochs of `params["steps"]`
            return self._base + ((self.params or {}).get("steps") or 0)
        return int(to_numpy(iterations))

    def _record(self, trigger, step):
        sync_state(self.model)
        measured = self._measure(self._probe_in_use)
        if measured is None:  # the subclass found nothing to measure after all
            return {}
        fields, scalars, histograms = measured
        self._last_step = step
        record = {"epoch": self._epoch + 1, "step": step, "trigger": trigger, "mode": self.mode,
                  **fields}  # fmt: skip
        self.records.append(record)
        if self._writer is not None:
            self._writer.scalars(scalars, step)
            for tag, values in (histograms or {}).items():
                self._writer.histogram(tag, values, step)
        self._after(record, scalars)
        return scalars

    @staticmethod
    def _sample(probe):
        return next(probe.chunks(DISCOVERY_SAMPLES))[0]

    def _check_order(self):
        """Warns when a logging callback comes before the monitors in `fit`'s callbacks."""
        callbacks = _fit_callbacks()
        if not callbacks:
            return
        monitors = [c for c in callbacks if isinstance(c, Monitor)]
        if not monitors or monitors[0] is not self:
            return  # the first monitor speaks for all
        last = max(i for i, c in enumerate(callbacks) if isinstance(c, Monitor))
        early = [c for c in callbacks[:last] if not isinstance(c, Monitor) and _reads_logs(c)]
        if early:
            names = ", ".join(type(c).__name__ for c in early)
            order = ", ".join(type(c).__name__ for c in callbacks)
            warnings.warn(
                f"{names} comes before an activation monitor in `callbacks`, so it will not "
                "see the monitor's numbers: Keras calls callbacks in list order and the "
                "monitors write their keys into `logs` at each epoch end. Put the monitors "
                "first, or train with actkeras.fit, which does. "
                f"Received: callbacks=[{order}]",
                stacklevel=3,
            )

    def _activation_calls(self, families):
        """The call sites to measure (`CallSite`s), after warning about what cannot be."""
        model, name = self.model, type(self).__name__
        told = self._told
        for path, message in unseen_activations(model, families):
            if (path, message) not in told:
                told.add((path, message))
                warnings.warn(f"{name}: {message}. {HOW_TO_SHOW}", stacklevel=3)
        sites = find_activation_layers(model, families=families)
        for site in sites:
            if site.via_lambda and site.name not in told:
                told.add(site.name)
                warnings.warn(
                    f"{name} measures Lambda layer {site.name!r} as a {site.family} activation "
                    f"because its function is {site.layer.function.__name__!r}; a Lambda may "
                    "do more than its function's name says. Prefer keras.layers.Activation.",
                    stacklevel=3,
                )
        self._tap = Recorder(model, sites, self.mode, compiled=True)
        if not sites:
            return []
        try:
            calls = self._tap.discover(self._sample(self._probe_in_use))
        except ValueError:  # a model that takes whole batches only: try one full chunk
            calls = self._tap.discover(next(self._probe_in_use.chunks(self.chunk_size))[0])
        return [call for call in calls if not call.is_output]

    # For subclasses.

    def _setup(self, probe):
        raise NotImplementedError

    def _measure(self, probe):
        """Returns `(record fields, scalars for logs, {tag: values} or None)`, or None."""
        raise NotImplementedError

    def _after(self, record, scalars):
        """Called after each measurement (warnings, early stop)."""

    def _teardown(self):
        """Drops lazily made backend objects."""


def _fit_callbacks():
    """The callbacks of the running `fit`, in order, or `None` if they cannot be seen.

    Keras hands callbacks no list of the others; the `CallbackList` calling
    `on_train_begin` is the caller a few frames up.
    """
    frame = sys._getframe(1)
    for _ in range(6):
        if frame is None:
            return None
        owner = frame.f_locals.get("self")
        if isinstance(owner, keras.callbacks.CallbackList):
            return list(owner.callbacks)
        frame = frame.f_back
    return None


def _reads_logs(callback):
    if type(callback).__name__ in LOGGERS and type(callback).__module__.startswith("keras"):
        return True
    watched = getattr(callback, "monitor", None)  # EarlyStopping, ModelCheckpoint, ...
    return isinstance(watched, str) and watched.removeprefix("val_").startswith(KEY_PREFIXES)
