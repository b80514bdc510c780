"""What the three monitors share: arguments, probe data, scheduling, records, TensorBoard.

A subclass implements `_setup()` (called once the model is built; returns False
to stay idle, after warning why) and `_measure()` (returns the record's fields,
the scalars for `logs`, and optional histograms). Everything here follows the
Keras callback conventions: `__init__` only checks and stores arguments (plus a
NumPy sample of `probe_data`), state is reset in `on_train_begin`, and backend
objects (the `Recorder`, compiled functions, writers) are made lazily and
dropped in `on_train_end` by this class alone (`_dropped`), so that a monitor
can be deep-copied before training (as keras-tuner does for every trial) and
reused across `fit` calls.

Nothing is done to the user's model before the probe is checked. At
`on_train_begin` the probe is checked against the training data `fit` was given
(when the callbacks can see it) and against the model's inputs; a model that is
not built yet (a `Sequential` without `Input`, a subclassed model never called)
is left for `fit` to build from its own data, and the monitor sets itself up at
the first measurement instead. The base class also warns when a logging callback
precedes the monitors, and when the probe is too small for training-mode
BatchNorm. What the two activation monitors share besides (their sites, their
`Recorder`) is in `_activation_monitor.py`.
"""

import math
import sys
import warnings

import keras

from actkeras import checks
from actkeras.callbacks._backend import sync_state, to_numpy
from actkeras.callbacks._mode import check_mode, inference_layers, run_model
from actkeras.callbacks._probe import take_probe
from actkeras.callbacks._probe_checks import check_against_data, check_probe, custom_train_step
from actkeras.callbacks._tensorboard import EventWriter, check_log_dir
from actkeras.callbacks._tree import check_selection, tree

# Callbacks that read the epoch's `logs` when their turn comes: placed before a
# monitor, they miss its keys.
LOGGERS = ("CSVLogger", "TensorBoard", "RemoteMonitor", "ProgbarLogger")
KEY_PREFIXES = ("dead_fraction", "inactive_fraction", "capped_fraction", "grad_norm/",
                "gradient_ratio", "act_")  # fmt: skip
DISCOVERY_SAMPLES = 2  # an eager first pass, which finds the call sites, runs on this many
SMALL_PROBE = 8  # fewer samples than this per pass: BatchNorm's batch statistics mislead


def plain(value):
    """A JSON-able float: NaN and infinities become None."""
    value = float(value)
    return value if math.isfinite(value) else None


class NonFiniteWarning(UserWarning):
    """A monitor met NaN or infinite values in what it measures (training has diverged):
    it measures on, and its records say how many (`nan_units`, a histogram's
    `nonfinite`)."""


class NothingToWatchWarning(UserWarning):
    """A monitor found nothing it measures in the model (no unit `DeadReLUMonitor`
    watches, no activation for `ActivationStats`, no trainable weight for
    `GradientNormLogger`): it will log nothing."""


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
            then comes at the first call past each multiple of `N`). Steps are
            counted from the optimizer's count when `fit` begins, then by the batches
            run (under mixed precision, the updates a `LossScaleOptimizer` skips
            included; where that count does not move, as under a GAN's `train_step`
            with optimizers of its own, from the batches run in this `fit`). Setting it
            overrides `on_train_batch_end`, which switches off Keras's asynchronous batch
            dispatch.
        log_dir: a directory for this monitor's own TensorBoard event file (every
            measurement at its step, histograms included). Defaults to `None`.
        mode: `"training"` to measure as the model trains (BatchNorm with the
            probe batch's statistics, Dropout and noise off, recurrent layers'
            `dropout` and `recurrent_dropout` too, nothing updated) or
            `"inference"` (BatchNorm's moving statistics, as `predict`). Every
            record says which (`"mode"`). A custom layer holding its own
            `keras.random.SeedGenerator` can only have its randomness switched
            off by being called with `training=False` (the layers below it that
            take `training` keep `training=True`): it is named in a warning, and
            every training-mode record lists it under `"inference_layers"`
            (absent when there is none). Defaults to `"training"`.
        layers: which layers to watch: names or paths (`"block_1/re_lu"`),
            `fnmatch` patterns (`"stage_2*"`), or layer classes
            (`keras.layers.Conv2D` selects the convolutions' activations), or a
            list of them. An item that matches nothing is an error at
            `on_train_begin`. Defaults to `None` (all).

    Attributes:
        records: the measurements of the `fit` running or last run: a new `fit`
            starts them afresh (keep `list(monitor.records)` between calls to
            gather several), its steps continuing from the optimizer's count.
            Each record's `"trigger"` says which schedule made it: `"train_begin"`,
            `"batch_end"` (`every`) or `"epoch_end"`. With `every=N`, an epoch that
            ends on a multiple of `N` gives two records at its last step, its
            `"batch_end"` then its `"epoch_end"` (the one whose numbers go into the
            epoch's `logs`): select by `"trigger"` for one schedule alone.
    """

    suffix = ".monitor"  # event file suffix
    chunk_size = 1024  # samples per forward pass on the probe (bounds device memory)
    # Set to True on an instance to also measure once before the first step
    # (trigger "train_begin", epoch 0): the state training started from (a model
    # that `fit` has yet to build is measured from its first epoch end on).
    at_start = False
    # Backend objects made during training, dropped at its end (by this class only).
    _dropped = ("_recorder",)

    def __init__(self, probe_data=None, probe_size=256, every=None, log_dir=None,
                 mode="training", layers=None):  # fmt: skip
        super().__init__()
        self.probe_size = checks.positive_int("probe_size", probe_size)
        self.every = checks.optional(checks.positive_int, "every", every)
        self.mode = check_mode(mode)
        self.layers = check_selection(layers)
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
        self._pending = False  # set up at the first measurement (a model fit builds)
        self._writer = None
        self._probe_in_use = None
        self._epoch = 0
        self._class_weight = None  # `fit`'s, where it can be seen
        self._base = 0  # training steps before the current epoch
        self._last_step = 0
        self._count = 0  # the optimizer's count at the last epoch end (or train begin)
        self._notes = {}  # caveats every record carries (see `_record`)
        for name in self._dropped:
            setattr(self, name, None)

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
        if self.log_dir is not None:
            check_log_dir(self.log_dir)
        callbacks, data, self._class_weight = _fit_context()
        self._check_order(callbacks)
        built = self.model.built
        # Nothing else to check it against before a step; a model with a train_step of its
        # own may call itself on something else than `fit`'s data (a GAN, on noise).
        if not built and data is not None and not custom_train_step(self.model):
            check_against_data(probe, *data, labels=self._needs_labels)
        self._probe_in_use = probe
        self._base = self._last_step = self._count = self._step()
        if not built:  # `fit` builds it from its own data at the first step
            self._pending = True
            return
        self._begin(probe)
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
        if self._pending:
            self._begin_late()
        if self._active and step // self.every > self._last_step // self.every:
            self._record("batch_end", step)

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch
        if self._pending:
            self._begin_late()
        count = self._step()
        self._base = self._steps_done(count)  # against the count at the last epoch end
        self._count = count
        if not self._active:
            return
        scalars = self._record("epoch_end", self._base)
        if logs is not None:
            logs.update(scalars)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
        self._writer = None
        self._probe_in_use = None
        for name in self._dropped:
            setattr(self, name, None)

    # Set-up.

    def _begin(self, probe):
        check_probe(probe, self.model)
        self._warn_small_probe(probe)
        self._active = bool(self._setup(probe))
        if self._active and self.mode == "training":
            self._note_inference_layers()
        if self._active and self.log_dir is not None:
            self._writer = EventWriter(self.log_dir, self.suffix)

    def _begin_late(self):
        """Sets up at the first measurement, once `fit` has built the model."""
        self._pending = False
        if not self.model.built:  # called outside `fit`: the probe is all there is
            run_model(self.model, self._sample(self._probe_in_use), training=False,
                      what="the never-built model")  # fmt: skip
        self._begin(self._probe_in_use)

    def _note_inference_layers(self):
        """Warns about (and records) the layers a training-mode pass calls with
        `training=False` although their own `call` may do more than draw random numbers."""
        found = inference_layers(self.model)
        for path, layer, trained in found:
            below = (f" (its sublayers that take `training` still run with training=True: "
                     f"{', '.join(repr(p) for p in trained)})" if trained else "")
            self._warn(("inference_layer", path),
                       f"{type(layer).__name__} {path!r} holds a keras.random.SeedGenerator, "
                       "so its own call() may draw random numbers, which mode='training' can "
                       "only switch off by calling the layer with training=False"
                       f"{below}. Whatever else its own call() does only when training runs "
                       "as in inference, so every record lists it under 'inference_layers'. "
                       "Randomness drawn by a sublayer (keras.layers.Dropout) instead is "
                       "switched off alone. Received: a layer holding a SeedGenerator, "
                       "mode='training'")  # fmt: skip
        if found:
            self._notes["inference_layers"] = [path for path, _, _ in found]

    @property
    def _needs_labels(self):
        return False

    def _warn_small_probe(self, probe):
        size = min(len(probe), self.chunk_size)
        if self.mode != "training" or size >= SMALL_PROBE or "small" in self._told:
            return
        norms = [path for path, layer in ((n.path, n.layer) for n in tree(self.model))
                 if isinstance(layer, keras.layers.BatchNormalization)]
        if norms:
            self._told.add("small")
            warnings.warn(
                f"{type(self).__name__}: a probe of {size} sample{'s' * (size != 1)} is too "
                f"small for training mode: BatchNormalization ({len(norms)} layer"
                f"{'s' * (len(norms) != 1)}, such as {norms[0]!r}) normalises over the probe "
                "batch, so with few samples a unit's output is close to its bias and can read "
                f"as dead or saturated when it is not. Give at least {SMALL_PROBE} samples, or "
                f"use mode='inference'. Received: probe_data with {len(probe)} samples",
                stacklevel=3,
            )

    # Helpers.

    def _step(self):
        """Training steps so far: the optimizer's count (across `fit` calls)."""
        iterations = getattr(getattr(self.model, "optimizer", None), "iterations", None)
        if iterations is None:  # no optimizer: count epochs of `params["steps"]`
            return self._base + ((self.params or {}).get("steps") or 0)
        return int(to_numpy(iterations))

    def _steps_done(self, count=None):
        """The steps run so far: the optimizer's count, but the steps before this epoch plus
        its length, where known, when that count does not follow the batches: under a
        `LossScaleOptimizer`, which leaves out the updates it skipped (their gradients
        overflowed), and when the count has not moved since the last epoch end (a
        `train_step` of the model's own that updates through optimizers of its own, as a
        GAN's, or a model with nothing to train)."""
        steps = (self.params or {}).get("steps")
        optimizer = getattr(self.model, "optimizer", None)
        count = self._step() if count is None else count
        if steps and (isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
                      or count == self._count):  # fmt: skip
            return self._base + steps
        return count

    def _record(self, trigger, step):
        sync_state(self.model)
        # Keras reports an epoch's short last group of `steps_per_execution` steps as a
        # whole one (36 steps, groups of 10: "batch 39"): the label is never more than the
        # steps done, read once the state is in the model's variables.
        step = min(step, self._steps_done())
        measured = self._measure(self._probe_in_use)
        if measured is None:  # the subclass found nothing to measure after all
            return {}
        fields, scalars, histograms = measured
        self._last_step = step
        record = {"epoch": self._epoch + 1, "step": step, "trigger": trigger, "mode": self.mode,
                  **self._notes, **fields}  # fmt: skip
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

    def _check_order(self, callbacks):
        """Warns when a logging callback comes before the monitors in `fit`'s callbacks,
        and when two monitors of one class would write the same keys into `logs`."""
        if not callbacks:
            return
        twins = [c for c in callbacks if type(c) is type(self)]
        if len(twins) > 1 and twins[0] is self:
            modes = ", ".join(f"mode={c.mode!r}" for c in twins)
            warnings.warn(
                f"{len(twins)} {type(self).__name__} callbacks in one fit write the same keys "
                "into `logs`, so History (and CSVLogger, TensorBoard, EarlyStopping) keep "
                "only the last one's numbers: read each one's `records`, or give each its "
                f"own `log_dir`. Received: callbacks with {len(twins)} {type(self).__name__} "
                f"({modes})",
                stacklevel=4,
            )
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
                stacklevel=4,
            )

    def _warn(self, key, message, category=UserWarning):
        if key not in self._told:
            self._told.add(key)
            warnings.warn(f"{type(self).__name__}: {message}", category, stacklevel=4)

    # For subclasses.

    def _setup(self, probe):
        raise NotImplementedError

    def _measure(self, probe):
        """Returns `(record fields, scalars for logs, {tag: values} or None)`, or None."""
        raise NotImplementedError

    def _after(self, record, scalars):
        """Called after each measurement (warnings, early stop)."""


def _fit_context():
    """`(callbacks of the running fit in order, (training x, y) or None, its class_weight)`,
    or `(None, None, None)` when they cannot be seen (the monitor was called outside `fit`).

    Keras hands callbacks neither the list of the others nor the data; the
    `CallbackList` calling `on_train_begin` is the caller a few frames up, and
    `fit`, which holds the training data, is its caller.
    """
    frame = sys._getframe(1)
    for _ in range(8):
        if frame is None:
            return None, None, None
        owner = frame.f_locals.get("self")
        if isinstance(owner, keras.callbacks.CallbackList):
            fit = frame.f_back
            data = class_weight = None
            if fit is not None and fit.f_code.co_name == "fit" and "x" in fit.f_locals:
                data = (fit.f_locals.get("x"), fit.f_locals.get("y"))
                class_weight = fit.f_locals.get("class_weight")
            return list(owner.callbacks), data, class_weight
        frame = frame.f_back
    return None, None, None


def _reads_logs(callback):
    if type(callback).__name__ in LOGGERS and type(callback).__module__.startswith("keras"):
        return True
    watched = getattr(callback, "monitor", None)  # EarlyStopping, ModelCheckpoint, ...
    return isinstance(watched, str) and watched.removeprefix("val_").startswith(KEY_PREFIXES)
