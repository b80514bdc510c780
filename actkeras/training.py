"""Training a built model the way its preset says: by epochs, or by steps as the course did."""

import contextlib
import csv
import io
import math
import warnings

import keras
import numpy as np

from actkeras import _compat, checks

# Images per batch when a model is only evaluated (validation in `fit`, `evaluate`):
# training's small batches cost the course network about 4 % of its speed in
# validation alone (one in-process comparison on 2 CPU cores), and the batch size of
# an evaluation changes its numbers only by float rounding.
EVAL_BATCH = 1024


class StepBatches(keras.utils.PyDataset):
    """The course assignment's minibatch stream: `offset = (step * b) % (n - b)`.

    The assignment shuffles once when it splits the data, then walks through it
    in order, wrapping around; this reproduces that sequence exactly.
    """

    def __init__(self, x, y, batch_size, steps):
        super().__init__()
        if len(x) <= batch_size:
            raise ValueError(
                f"Training by steps needs more samples than one batch of {batch_size}. "
                f"Received: {len(x)} samples"
            )
        self.x, self.y, self.batch_size, self.steps = x, y, batch_size, steps

    def __len__(self):
        return self.steps

    def __getitem__(self, step):
        offset = (step * self.batch_size) % (len(self.x) - self.batch_size)
        return (
            self.x[offset : offset + self.batch_size],
            self.y[offset : offset + self.batch_size],
        )


def course_offsets(n, batch_size, steps):
    """The first sample of each of `steps` course minibatches over `n` samples."""
    return (np.arange(steps, dtype=np.int64) * batch_size) % (n - batch_size)


def step_batches(x, y, batch_size, steps):
    """The course's minibatch stream in the fastest form the backend takes.

    On TensorFlow it is a `tf.data` pipeline that slices the arrays in the graph:
    Keras feeds a `PyDataset` through a Python generator, one call per batch, which
    cost about a quarter of the course network's training speed on 2 CPU cores
    (`actkeras bench`). Elsewhere (JAX, where TensorFlow may not be installed) it
    is the `StepBatches` `PyDataset`. Both give the same batches in the same order.
    """
    stream = StepBatches(x, y, batch_size, steps)  # validates the sizes
    if keras.backend.backend() != "tensorflow":
        return stream
    import tensorflow as tf

    xs, ys = tf.constant(x), tf.constant(y)
    offsets = tf.data.Dataset.from_tensor_slices(course_offsets(len(x), batch_size, steps))
    batches = offsets.map(lambda o: (xs[o : o + batch_size], ys[o : o + batch_size]))
    return batches.prefetch(2).with_options(_no_autotune())


def _no_autotune():
    """`tf.data` options for the course's streams: slicing needs no tuning, and with
    autotuning on, freeing the iterator at the end of `fit` blocked for about 4 s in
    most runs (TF 2.21, 2 CPU cores)."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return options


def graph_steps(model, x, y, batch_size, steps):
    """The course's minibatch stream run as Keras's `train_function` on TensorFlow.

    Returns a `tf.data` stream of the first samples (offsets) of each group of
    `model.steps_per_execution` course batches, and a train function that runs one
    group in one graph call: it slices each batch from the training arrays, passed
    in whole, and applies `model.train_step` to it, as Keras's own train function
    does. Keras's loop instead takes each batch from a `tf.data` iterator, through
    an optional, inside its loop over the group: on 2 CPU cores that left the
    course network at about the TensorFlow 1 loop's speed (`actkeras bench`), and
    this is about a tenth faster. The updates are the same, in the same order
    (`tests/test_training.py` compares the weights bitwise).
    """
    import tensorflow as tf

    StepBatches(x, y, batch_size, steps)  # validates the sizes
    xs, ys = tf.constant(x), tf.constant(y)
    group = max(1, model.steps_per_execution or 1)
    offsets = tf.data.Dataset.from_tensor_slices(course_offsets(len(x), batch_size, steps))
    # Keras counts a stream's elements as steps, and these are groups of steps: with
    # the length left unknown, Keras runs groups until the stream ends.
    stream = offsets.batch(group).filter(lambda _: True).with_options(_no_autotune())
    run_group = _group_function(model, xs, ys, batch_size)

    def train_function(iterator):
        return run_group(next(iterator), xs, ys)  # StopIteration ends the data, as in Keras

    return stream, train_function


def _group_function(model, xs, ys, batch_size):
    """The traced group of steps, kept on the model while Keras's own train function
    stands (`compile` and a new execution group drop it) and the data keep their
    shapes: a new `tf.function` for each `fit` would trace the step again."""
    import tensorflow as tf

    model.make_train_function()
    signature = (tf.TensorSpec([None], tf.int64),
                 tf.TensorSpec([None, *xs.shape[1:]], xs.dtype),
                 tf.TensorSpec([None, *ys.shape[1:]], ys.dtype))
    key = (model.train_function, signature, batch_size)
    cached = getattr(model, "_actkeras_group_steps", None)
    if cached is not None and cached[0] == key:
        return cached[1]

    def one_step(offset, xs, ys):
        return model.train_step((xs[offset : offset + batch_size], ys[offset : offset + batch_size]))

    @tf.function(input_signature=signature, autograph=False)
    def run_group(offsets, xs, ys):
        logs = one_step(offsets[0], xs, ys)  # the loop's values take a first step's structure
        _, logs = tf.while_loop(
            lambda i, _: i < tf.shape(offsets, out_type=tf.int64)[0],
            lambda i, _: (i + 1, one_step(offsets[i], xs, ys)),
            (tf.constant(1, tf.int64), logs),
        )
        return logs

    model._actkeras_group_steps = (key, run_group)
    return run_group


def _graph_steps_apply(model):
    """Whether `graph_steps` may stand in for Keras's train function: TensorFlow,
    graph mode without XLA, no distribution strategy (which Keras's own function
    runs the step through), and a Keras whose internals it was tested on
    (`actkeras._compat`; otherwise Keras's own loop, with one warning)."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return (not model.run_eagerly and not model.jit_compile
            and getattr(model, "_distribute_strategy", None) is None
            and not tf.distribute.has_strategy()
            and _compat.graph_steps_supported(model))


# --- JAX: step groups compiled in one call -------------------------------------------


def jax_steps(model, x, y, batch_size, steps):
    """The course's minibatch stream run as Keras's `train_function` on JAX.

    Returns the stream Keras's loop walks (the `StepBatches` the plain path
    passes, so that Keras counts steps, epochs and the short last group as it
    does there) and a train function that runs each group of
    `model.steps_per_execution` course steps in one compiled call: a
    `jax.lax.fori_loop` that slices each batch from the training arrays, put on
    the device once per `fit`, at the course offsets (`jax.lax.dynamic_slice`) and
    applies Keras's own stateless `model.train_step(state, data)` to it, as Keras's
    train function does batch by batch. Keras's loop instead takes each batch from
    the `PyDataset` (one Python call and one host-to-device copy a step) and calls
    its compiled step once per batch. The updates are the same, in the same order
    (`tests/test_training.py` compares weights and `History`).

    The train function keeps its own count of the steps it has run: it takes
    nothing from Keras's iterator, which would slice each batch on the host.
    """
    import jax

    StepBatches(x, y, batch_size, steps)  # validates the sizes
    group = max(1, model.steps_per_execution or 1)
    run_group = _jax_group_function(model, x, y, batch_size)
    xs, ys = jax.device_put(x), jax.device_put(y)
    offsets = course_offsets(len(x), batch_size, steps).astype(np.int32)
    # Padded to whole groups, so that every call passes the same shape and the
    # loop compiles once; a short last group runs only its own steps.
    padded = np.pad(offsets, (0, -steps % group))
    done = 0

    def train_function(state, iterator):
        nonlocal done
        if done >= steps:
            raise StopIteration  # the data have ended, as Keras's iterator says it
        count = min(group, steps - done)
        logs, state = run_group(state, padded[done : done + group], np.int32(count), xs, ys)
        done += count
        model._actkeras_jax_groups_run = getattr(model, "_actkeras_jax_groups_run", 0) + 1
        return logs, state

    return StepBatches(x, y, batch_size, steps), train_function


def _jax_group_function(model, x, y, batch_size):
    """The compiled group of steps, kept on the model while Keras's own train
    function stands (`compile` and a new execution group drop it) and the data
    keep their shapes and dtypes: `jax.jit` compiles once per such function."""
    import jax

    model.make_train_function()
    key = (model.train_function, np.shape(x)[1:], np.asarray(x).dtype.str,
           np.shape(y)[1:], np.asarray(y).dtype.str, batch_size)
    cached = getattr(model, "_actkeras_jax_group_steps", None)
    if cached is not None and cached[0] == key:
        return cached[1]

    train_step = model.train_step

    def batch_at(offset, xs, ys):
        return (jax.lax.dynamic_slice_in_dim(xs, offset, batch_size, axis=0),
                jax.lax.dynamic_slice_in_dim(ys, offset, batch_size, axis=0))

    def run_group(state, offsets, count, xs, ys):
        # The loop carries the logs with the structure of one step's logs.
        logs_shape, _ = jax.eval_shape(train_step, state, batch_at(offsets[0], xs, ys))
        logs = jax.tree_util.tree_map(lambda s: jax.numpy.zeros(s.shape, s.dtype), logs_shape)

        def body(i, carry):
            state, _ = carry
            logs, state = train_step(state, batch_at(offsets[i], xs, ys))
            return state, logs

        state, logs = jax.lax.fori_loop(0, count, body, (state, logs))
        return logs, state

    compiled = jax.jit(run_group, donate_argnums=0)
    model._actkeras_jax_group_steps = (key, compiled)
    return compiled


def _jax_steps_apply(model):
    """Whether `jax_steps` may stand in for Keras's train function: JAX, compiled
    (`jit_compile`, not `run_eagerly`), no distribution and no Flax NNX (Keras's
    own function runs the step differently there), and a Keras whose internals it
    was tested on (`actkeras._compat`; otherwise Keras's own loop, one warning)."""
    if keras.backend.backend() != "jax":
        return False
    return (not model.run_eagerly and bool(model.jit_compile)
            and keras.distribution.distribution() is None
            and not keras.config.is_nnx_enabled()
            and _compat.jax_steps_supported(model))


@contextlib.contextmanager
def _train_function(model, function):
    """Installs `function` as the model's train function for one `fit` (none: as is)."""
    if function is None:
        yield
        return
    saved = model.train_function
    model.train_function = function
    try:
        yield
    finally:
        model.train_function = saved


def fit(model, data, config=None, *, callbacks=(), verbose="auto", log_every=500,
        validation=True, epochs=None, steps=None, check_every=None):
    """Trains `model` on a `Dataset` as its `ModelConfig` says; returns the `History`.

    By-step presets (`config.steps`) run exactly that many updates, reported as
    "epochs" of `log_every` steps (the last one shorter), so that `History`,
    `CSVLogger` and the monitors see a learning curve.

    Args:
        model: a compiled model (from `build_model`, or any model with a config).
        data: an `actkeras.data.Dataset`.
        config: the `ModelConfig`. Defaults to `model.actkeras_config`.
        callbacks: Keras callbacks.
        verbose: Keras's `verbose`. Defaults to `"auto"`.
        log_every: steps per reported epoch for by-step training. Defaults to `500`.
        validation: evaluate on the validation split at each epoch end.
        epochs, steps: override the config's training length.
        check_every: also look for a NaN loss after every `check_every` batches
            (`DivergenceGuard`'s `every`); `None` looks at epoch ends only, which
            leaves Keras's asynchronous dispatch on. Defaults to `None`.
    """
    config = config or getattr(model, "actkeras_config", None)
    if config is None:
        raise ValueError(
            "fit() needs a ModelConfig: pass config=, or build the model with build_model()."
        )
    steps = steps if steps is not None else (config.steps if epochs is None else None)
    check_data(model, data)
    valid = (data.x_valid, data.y_valid) if validation and len(data.x_valid) else None
    guard = DivergenceGuard(every=check_every)
    callbacks = [*_monitors_first(callbacks), guard]
    _offer_probe_data(callbacks, data)
    callbacks = _with_summary_progbar(callbacks, verbose)
    history = _fit(model, data, config, callbacks, verbose, log_every, valid, epochs, steps)
    history.diverged_at_step = guard.step
    if guard.step is not None:
        warnings.warn(divergence_message(guard.step, config.learning_rate), RuntimeWarning,
                      stacklevel=2)
    return history


def _fit(model, data, config, callbacks, verbose, log_every, valid, epochs, steps):
    if steps:
        period = min(log_every, steps)
        _fit_execution_group(model, period)
        x, y, batch = data.x_train, data.y_train, config.batch_size
        if _graph_steps_apply(model):
            stream, steps_function = graph_steps(model, x, y, batch, steps)
        elif _jax_steps_apply(model):
            stream, steps_function = jax_steps(model, x, y, batch, steps)
        else:
            stream, steps_function = step_batches(x, y, batch, steps), None
        with warnings.catch_warnings(), _train_function(model, steps_function):
            # The last reported epoch is shorter by design: Keras warns about it.
            warnings.filterwarnings("ignore", message="Your input ran out of data")
            return model.fit(
                stream,
                epochs=math.ceil(steps / period),
                steps_per_epoch=period,
                validation_data=valid,
                validation_batch_size=EVAL_BATCH,
                callbacks=list(callbacks),
                verbose=verbose,
                shuffle=False,  # the course's order; a PyDataset is shuffled otherwise
            )
    return model.fit(
        data.x_train,
        data.y_train,
        batch_size=config.batch_size,
        epochs=epochs or config.epochs,
        validation_data=valid,
        validation_batch_size=EVAL_BATCH,
        callbacks=list(callbacks),
        verbose=verbose,
        shuffle=True,
    )


def _fit_execution_group(model, period):
    """Lowers `model.steps_per_execution` to a divisor of the reported epoch.

    Keras runs whole groups of `steps_per_execution` steps, so an epoch that is not
    a multiple of it would run past its length. The reporting period is the
    caller's choice and the group only a speed setting, so the group gives way:
    it becomes the greatest common divisor of the two, and Keras's compiled
    functions are dropped to be traced again with it.
    """
    group = getattr(model, "steps_per_execution", 1) or 1
    fitted = math.gcd(group, period)
    if fitted != group:
        model.steps_per_execution = fitted
        model.train_function = model.test_function = model.predict_function = None


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training at a non-finite loss and remembers the step (`step`).

    By default it looks at the loss Keras reports at each epoch end, so Keras keeps
    dispatching steps asynchronously (any callback with a batch hook turns that
    off); `step` is then the step count at that epoch end. With `every=N` it also
    looks after every `N`-th batch (a group of `steps_per_execution` steps) and
    stops there, the way `keras.callbacks.TerminateOnNaN` does with `every=1`.

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


def divergence_message(step, learning_rate):
    """What `fit` warns (and `actkeras train` prints) when the loss becomes NaN."""
    return (f"Training diverged: the loss became NaN or infinite by step {step}, and training "
            f"stopped there. Lower the learning rate (it is {learning_rate:g}), or use an "
            f"initializer with a smaller scale.")


def check_data(model, data):
    """Clear errors for training data that does not fit the model, before Keras sees it."""
    expected = tuple(model.input_shape[1:])
    for split in ("train", "valid", "test"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        x, y = np.asarray(x), np.asarray(y)
        if split == "train" and not len(x):
            raise ValueError("The training split is empty: give fit() at least one batch of images.")
        if x.dtype.kind not in "fiu":
            raise ValueError(f"The {split} images must be numbers (float32 scaled to [0, 1]). "
                             f"Received: dtype {x.dtype}")
        if len(x) and tuple(x.shape[1:]) != expected:
            raise ValueError(
                f"The {split} images have shape {tuple(x.shape[1:])} but the model expects "
                f"{expected}: resize the images, or build the model with "
                f"input_shape={tuple(x.shape[1:])}.")
        if len(x) != len(y):
            raise ValueError(f"The {split} split has {len(x)} images but {len(y)} labels.")
        if len(y) and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= model.output_shape[-1]):
            raise ValueError(
                f"The {split} labels must be integer class indices from 0 to "
                f"{model.output_shape[-1] - 1}. Received: dtype {y.dtype}, "
                f"values {y.min()} to {y.max()}")


def _monitors_first(callbacks):
    """The activation monitors first, the rest in their order: Keras calls callbacks in
    list order, and `CSVLogger`, `TensorBoard` and the like see only the keys that the
    monitors wrote into `logs` before their turn."""
    monitors = [c for c in callbacks if hasattr(c, "set_probe_data")]
    return [*monitors, *(c for c in callbacks if not hasattr(c, "set_probe_data"))]


def _offer_probe_data(callbacks, data):
    """Keras callbacks never see the validation data: the activation monitors
    (`actkeras.callbacks`) take a bounded sample of it through `set_probe_data`,
    used only where no `probe_data` was given (the training split if empty)."""
    x, y = (data.x_valid, data.y_valid) if len(data.x_valid) else (data.x_train, data.y_train)
    for callback in callbacks:
        if hasattr(callback, "set_probe_data"):
            callback.set_probe_data(x, y)


def evaluate(model, data, batch_size=EVAL_BATCH):
    """Loss and accuracy on every non-empty split of `data`, as plain floats."""
    results = {}
    for split in ("train", "valid", "test"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if len(x):
            loss, accuracy = model.evaluate(x, y, batch_size=batch_size, verbose=0)[:2]
            results[f"{split}_loss"] = float(loss)
            results[f"{split}_accuracy"] = float(accuracy)
    return results


def history_csv(records):
    """`history_records` rows as CSV text (columns in order of first appearance)."""
    keys = []
    for row in records:
        keys += [k for k in row if k not in keys]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=keys or ["epoch"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def history_records(history):
    """`History.history` as a list of per-epoch dicts of floats (NaN kept as None)."""
    keys = list(history.history)
    rows = []
    for epoch in range(len(history.epoch)):
        row = {"epoch": epoch + 1}
        for key in keys:
            value = float(history.history[key][epoch])
            row[key] = value if np.isfinite(value) else None
        rows.append(row)
    return rows


class SummaryProgbarLogger(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, showing the summary values only.

    The monitors (`actkeras.callbacks`) write their per-layer values into `logs` as
    `name/<layer>` (`dead_fraction/dense_3`, `act_std/activation_0`, also
    `grad_norm/global`): dozens of keys for a deep network, meant for `History`,
    `CSVLogger` and `TensorBoard`, which still get them all. The bar leaves out
    every key holding a `/`, and shows the loss, the metrics and the summaries
    (`dead_fraction`, `inactive_fraction`, `gradient_ratio`).
    """

    async_safe = True  # as Keras's own bar, which Keras may call asynchronously

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, summary_logs(logs))

    def on_test_batch_end(self, batch, logs=None):
        super().on_test_batch_end(batch, summary_logs(logs))

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, summary_logs(logs))

    def on_test_end(self, logs=None):
        super().on_test_end(summary_logs(logs))


def summary_logs(logs):
    """`logs` without the per-layer keys (those holding a `/`), as a new dict."""
    return None if logs is None else {k: v for k, v in logs.items() if "/" not in k}


def _with_summary_progbar(callbacks, verbose):
    """`callbacks` plus a `SummaryProgbarLogger`, last (after the monitors, so that it
    sees their summaries), unless quiet or the caller brought a progress bar."""
    if not verbose or any(isinstance(c, keras.callbacks.ProgbarLogger) for c in callbacks):
        return callbacks
    return [*callbacks, SummaryProgbarLogger()]
