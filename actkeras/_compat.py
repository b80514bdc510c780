"""The Keras and keras-tuner internals actkeras relies on, and the versions they were tested on.

Five features reach past the public APIs, each behind a check made here (and the
JAX gradient monitor keys its compiled function on `model._compile_loss`, the
object Keras makes in each `compile`, so that a recompiled model is traced anew;
where the attribute is missing the key holds `None` and only a new optimizer or
variable list tells):

- `stepping.graph_steps` installs its own `train_function` on a model (Keras's
  `make_train_function`, `train_step`, `steps_per_execution`, and `fit` calling
  `model.train_function(iterator)`). On an untested Keras it is not used: `fit`
  falls back to Keras's own loop with one warning.
  Before it traces the step it makes the optimizer's and metrics' variables with
  `Trainer._symbolic_build` (`build_training_state`), so that the step is traced
  once; without that internal the step is traced twice, as in Keras.
- `stepping.jax_steps` does the same on JAX (Keras's stateless
  `train_step(state, data)`, and `fit` calling `model.train_function(state,
  iterator)` with the state from `_get_jax_state`, handed back by
  `jax_state_sync`); `jax_steps_supported` checks it, with the same fallback.
- `training.fit` (by epochs, and its validation), `training.evaluate` and claim 9's
  sine fits (`experiments.regression`, through `training.fit_arrays`) on TensorFlow, through
  `training.input_pipeline`, hand Keras the input pipeline Keras would build for the arrays
  (`ArrayDataAdapter.get_tf_dataset`, the same batches in the same order) with
  tf.data's autotuning off (`tf_epoch_dataset`); on an untested Keras they hand Keras
  the arrays, as before.
- `callbacks._units` reads which layer produced a standalone activation's input in a
  Functional graph (`producer`, `call_inputs`: `KerasTensor._keras_history`,
  `Operation._inbound_nodes`), to know whether its units are channels-first; where
  Keras keeps these otherwise, the model's layers' common `data_format` is used.
- `tuning.distributed` subclasses keras-tuner's gRPC servicer and client
  (`keras_tuner.src`). It is imported only when distributed tuning starts; an
  untested keras-tuner gets one warning, and missing internals a clear error.

`pyproject.toml` pins both packages to the ranges below, and
`tests/test_compat.py` fails on any installed version outside them.
"""

import importlib.metadata
import re
import warnings

# (lowest, highest) major.minor tested; the pins in pyproject.toml say the same.
KERAS_TESTED = ((3, 15), (3, 15))
KERAS_TUNER_TESTED = ((1, 4), (1, 4))

_warned = set()


def minor_version(text):
    """`(major, minor)` of a version string such as `"3.15.1"`, `"1.4.8.dev0"` or `"3.16rc1"`."""
    match = re.match(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def installed(package):
    """The installed version string of `package`, or `None`."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def is_tested(version, tested):
    low, high = tested
    return version is not None and low <= minor_version(version) <= high


def _range(tested):
    (a, b), (c, d) = tested
    return f"{a}.{b}" if (a, b) == (c, d) else f"{a}.{b} to {c}.{d}"


def warn_once(key, message):
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


_TRAINER_ATTRIBUTES = ("make_train_function", "train_step", "train_function",
                       "steps_per_execution")


def _trainer_supported(model, key, extra, what, cost, missing=()):
    """Whether a tested Keras whose model has `_TRAINER_ATTRIBUTES` and `extra`
    (and nothing in `missing`, found by the caller) may run `what`; warns once
    (per process, per `key`) naming the reason when it may not."""
    import keras

    version = keras.version()
    missing = list(missing) or [name for name in (*_TRAINER_ATTRIBUTES, *extra)
                                if not hasattr(model, name)]
    if missing or not is_tested(version, KERAS_TESTED):
        reason = (f"the model has no {', '.join(missing)}" if missing
                  else f"it was tested with Keras {_range(KERAS_TESTED)} only")
        warn_once(key, f"Keras {version}: {what} because {reason}. The results are the same; "
                  f"{cost}.")
        return False
    return True


def graph_steps_supported(model):
    """Whether `graph_steps` may replace `model`'s train function: a tested Keras
    with the attributes it uses. Warns once (per process) when it may not."""
    return _trainer_supported(
        model, "graph_steps", (), "training by steps uses Keras's own loop instead of "
        "actkeras's in-graph step groups,", "the course network trains about a tenth slower")


def build_training_state(model, batch):
    """Makes the optimizer's and the compiled metrics' variables of `model` from one
    batch `(x, y)`, as Keras does before its loop on JAX (`Trainer._symbolic_build`,
    shapes only: no step, no random draw). On TensorFlow Keras leaves them to the
    first trace of the step, and a trace that makes variables is traced again; made
    before, the step is traced once. Where the internal is missing or cannot build
    the model, nothing is done: the first trace makes them, as in Keras."""
    build = getattr(model, "_symbolic_build", None)
    if build is None:
        return
    try:
        build(data_batch=batch)
    except Exception:  # the step's own trace will build, or raise the real error
        pass


def tf_epoch_dataset(x, y, batch_size, shuffle=True):
    """Keras's own input pipeline for `fit(x, y, batch_size=batch_size, shuffle=shuffle)`
    (or `evaluate(x, y, batch_size=batch_size)` with `shuffle=False`) on TensorFlow
    (`ArrayDataAdapter.get_tf_dataset`: the same batches in the same order, from the same
    random shuffle), with tf.data's autotuning off and its number of batches declared.
    `None` on an untested Keras or where the internal is missing: the caller then hands
    Keras the arrays, as before.

    Keras slices each batch in a `map` whose parallelism tf.data autotunes, and the
    autotuner's waits leave a core idle when the pipeline shares it with the training
    thread (a reproduction worker, one of two on two cores): an epoch of the 50-layer
    MLP took 9 to 12 s instead of 5 to 6 s (`taskset` to one core, 2 CPU cores,
    TensorFlow 2.21), and an `evaluate` of the 70,000 images 1.9 s instead of 1.3 s.
    With the autotuner off the map keeps its default parallelism."""
    import keras

    if not is_tested(keras.version(), KERAS_TESTED):
        return None
    try:
        import tensorflow as tf
        from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
    except ImportError:
        return None
    adapter = ArrayDataAdapter(x, y, batch_size=batch_size, shuffle=shuffle)
    options = tf.data.Options()
    options.autotune.enabled = False
    dataset = adapter.get_tf_dataset().apply(
        tf.data.experimental.assert_cardinality(adapter.num_batches))
    return dataset.with_options(options)


def jax_steps_supported(model):
    """Whether `stepping.jax_steps` may replace `model`'s train function on JAX: a
    tested Keras whose JAX trainer has the stateless `train_step(state, data)`,
    `make_train_function`, `train_function`, `steps_per_execution` and the state
    hand-over (`_get_jax_state`, `jax_state_sync`) its `fit` loop uses. Warns once
    (per process) when it may not."""
    import inspect

    extra = ("_get_jax_state", "jax_state_sync")
    missing = []
    if all(hasattr(model, name) for name in (*_TRAINER_ATTRIBUTES, *extra)):
        try:
            parameters = list(inspect.signature(model.train_step).parameters)
        except (TypeError, ValueError):
            parameters = []
        if parameters != ["state", "data"]:
            missing = ["train_step(state, data)"]
    return _trainer_supported(
        model, "jax_steps", extra, "training by steps on JAX uses Keras's own loop instead "
        "of actkeras's compiled step groups,", "training is slower", missing)


def keras_tuner_internals():
    """The private keras-tuner modules `tuning.distributed` builds on, checked.

    Returns:
        `(protos, oracle_chief, oracle_client, trial)`.

    Raises:
        RuntimeError: keras-tuner lacks one of them, naming the versions that work.
    """
    version = installed("keras-tuner")
    fix = (f"install a tested keras-tuner: pip install 'keras-tuner>={_range(KERAS_TUNER_TESTED)}"
           f",<{KERAS_TUNER_TESTED[1][0]}.{KERAS_TUNER_TESTED[1][1] + 1}'")
    try:
        from keras_tuner.src import protos
        from keras_tuner.src.distribute import oracle_chief, oracle_client
        from keras_tuner.src.engine import trial
        for owner, name in ((protos, "get_service"), (protos, "get_service_grpc"),
                            (oracle_chief, "OracleServicer"), (oracle_client, "OracleClient"),
                            (trial, "TrialStatus")):
            getattr(owner, name)
    except (ImportError, AttributeError) as error:
        raise RuntimeError(f"Distributed tuning needs keras-tuner's internal gRPC oracle, which "
                           f"keras-tuner {version} does not have as expected ({error}); {fix}.") \
            from error
    if not is_tested(version, KERAS_TUNER_TESTED):
        warn_once("keras_tuner", f"keras-tuner {version}: distributed tuning was tested with "
                  f"keras-tuner {_range(KERAS_TUNER_TESTED)} only; if workers misbehave, {fix}.")
    return protos, oracle_chief, oracle_client, trial


def call_inputs(operation):
    """The input tensors of each symbolic call of `operation` (a layer or a Functional
    graph's op), one list per call (Keras's `_inbound_nodes` and `Node.input_tensors`);
    `[]` where Keras keeps none or keeps them otherwise."""
    nodes = getattr(operation, "_inbound_nodes", None)
    if not isinstance(nodes, list):
        return []
    calls = [getattr(node, "input_tensors", None) for node in nodes]
    return [list(c) for c in calls if isinstance(c, (list, tuple))]


def producer(tensor):
    """`(operation, its input tensors, which of its outputs)` of the call that made a
    symbolic tensor of a Functional graph (Keras's `KerasTensor._keras_history`), or
    `None` where Keras does not say (a concrete tensor, an unknown Keras)."""
    history = getattr(tensor, "_keras_history", None)
    operation = getattr(history, "operation", None)
    node, index = getattr(history, "node_index", None), getattr(history, "tensor_index", None)
    if operation is None or not isinstance(node, int) or not isinstance(index, int):
        return None
    calls = call_inputs(operation)
    if node >= len(calls) and calls:
        return None
    return operation, calls[node] if calls else [], index
