"""The stepping engine: the course's training steps in groups run in one backend call.

`actkeras.fit` trains a by-step preset (the course's `udacity`, `StepBatches`) by
leaving epochs, callbacks, validation and `History` to Keras's own `fit` loop and
giving it a train function of its own for the model's execution group
(`model.steps_per_execution` steps a call): on TensorFlow one graph call
(`graph_steps`), on JAX one compiled call (`jax_steps`), that slices each batch from
the training arrays, held by the backend once per `fit`, and applies Keras's own
`model.train_step` to it. Keras's loop instead takes every batch from its data
pipeline (a `tf.data` iterator on TensorFlow, a host-side slice and copy on JAX), and
on JAX calls its compiled step once a batch. The updates are the same, in the same
order (`tests/test_training.py`).

By-epoch presets (`fashion_mlp`, `mlp`) train in Keras's own loop: the same groups
over Keras's shuffled epochs (the whole epoch gathered once, then sliced) were built,
matched Keras's loop bitwise on TensorFlow, and ran at 0.77 to 0.89 of its speed on the
deep networks on 2 CPU cores (both backends, medians of paired rounds), so they were
not kept.

Where a model cannot take the groups (eager, XLA on TensorFlow, a distribution, Flax
NNX, a Keras they were not tested on: `actkeras._compat`), Keras's own loop runs.
"""

import contextlib

import keras
import numpy as np

from actkeras import _compat


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


def by_steps(model, x, y, batch_size, steps):
    """`(stream, train_function)` for `steps` course steps: the stream Keras's `fit`
    walks, and the train function to install (`installed`), `None` for Keras's own."""
    if _graph_steps_apply(model):
        return graph_steps(model, x, y, batch_size, steps)
    if _jax_steps_apply(model):
        return jax_steps(model, x, y, batch_size, steps)
    return step_batches(x, y, batch_size, steps), None


@contextlib.contextmanager
def installed(model, function):
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


# --- TensorFlow: step groups in one graph call ---------------------------------------


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
    shapes: a new `tf.function` for each `fit` would trace the step again.

    It takes `(offsets, xs, ys)` and slices a batch at each offset. The step is traced
    once: the optimizer's and the compiled metrics' variables are made before the
    trace (`_compat.build_training_state`; a first trace that makes variables is
    traced again by TensorFlow), and the loop starts from the metrics' current
    results, the structure Keras's `train_step` returns, instead of from a first step
    outside the loop. A model whose `train_step` returns another structure gets that
    first step outside the loop (the step traced twice)."""
    import tensorflow as tf

    model.make_train_function()
    signature = (tf.TensorSpec([None], tf.int64),
                 tf.TensorSpec([None, *xs.shape[1:]], xs.dtype),
                 tf.TensorSpec([None, *ys.shape[1:]], ys.dtype))
    key = (model.train_function, signature, batch_size)
    cached = getattr(model, "_actkeras_group_steps", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    _compat.build_training_state(model, (xs[:batch_size], ys[:batch_size]))

    def one_step(offset, xs, ys):
        return model.train_step((xs[offset : offset + batch_size], ys[offset : offset + batch_size]))

    def steps(first, start):
        """A group function whose loop starts at the `start`-th offset, its logs at
        `first(offsets, xs, ys)`."""

        @tf.function(input_signature=signature, autograph=False)
        def run_group(offsets, xs, ys):
            _, logs = tf.while_loop(
                lambda i, _: i < tf.shape(offsets, out_type=tf.int64)[0],
                lambda i, _: (i + 1, one_step(offsets[i], xs, ys)),
                (tf.constant(start, tf.int64), first(offsets, xs, ys)),
            )
            return logs

        return run_group

    run_group = steps(lambda *_: model.get_metrics_result(), 0)
    try:
        run_group.get_concrete_function()
    except (TypeError, ValueError):  # the step's logs are not the metrics' structure
        run_group = steps(lambda offsets, xs, ys: one_step(offsets[0], xs, ys), 1)
    model._actkeras_group_steps = (key, run_group)
    return run_group


def _graph_steps_apply(model):
    """Whether the graph step groups may stand in for Keras's train function:
    TensorFlow, graph mode without XLA, no distribution strategy (which Keras's own
    function runs the step through), and a Keras whose internals they were tested
    on (`actkeras._compat`; otherwise Keras's own loop, with one warning)."""
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
    keep their shapes and dtypes: `jax.jit` compiles once per such function.

    It takes `(state, offsets, count, xs, ys)` and runs `count` steps on the
    batches that start at the first `count` offsets."""
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
    """Whether the compiled step groups may stand in for Keras's train function:
    JAX, compiled (`jit_compile`, not `run_eagerly`), no distribution and no Flax
    NNX (Keras's own function runs the step differently there), and a Keras whose
    internals they were tested on (`actkeras._compat`; otherwise Keras's own loop,
    one warning)."""
    if keras.backend.backend() != "jax":
        return False
    return (not model.run_eagerly and bool(model.jit_compile)
            and keras.distribution.distribution() is None
            and not keras.config.is_nnx_enabled()
            and _compat.jax_steps_supported(model))
