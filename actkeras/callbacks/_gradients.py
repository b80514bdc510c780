"""The only backend-specific code of the monitors: loss gradients and state sync.

`squared_gradient_norms(model)` returns a function `(x, y, sample_weight) ->
array`: for each of `model.trainable_variables`, the squared L2 norm of the
gradient of the loss `fit` minimises (the compiled loss plus every
regularisation loss, `model.losses`), summed on the device so that only the
norms are fetched. In `"training"` mode the model is called with
`training=True` and its random layers (Dropout, noise) switched off, so that
the norms do not change from one measurement to the next by chance alone; in
`"inference"` mode with `training=False`. Calls run eagerly; under JAX they are compiled
once eager calls have cost `COMPILE_AFTER` seconds. Measuring never changes the
model: under JAX the computation is stateless; under TensorFlow the
non-trainable and metric variables (BatchNorm statistics, dropout seeds, loss
trackers) are restored afterwards. `sync_state(model)` makes a JAX model's
variables current in the middle of an epoch.
"""

import time

import keras
import numpy as np

BACKENDS = ("tensorflow", "jax")
COMPILE_AFTER = 0.5  # seconds of eager JAX calls before compiling them


def check_backend():
    """Raises `ValueError` unless the gradient code supports the current backend."""
    backend = keras.backend.backend()
    if backend not in BACKENDS:
        raise ValueError(
            f"GradientNormLogger supports the {' and '.join(BACKENDS)} backends. "
            f"Received: backend={backend!r}"
        )


def sync_state(model):
    """Puts the training state back into `model`'s variables (JAX holds it apart
    during an epoch and only syncs at its end); a no-op elsewhere."""
    if keras.backend.backend() == "jax" and hasattr(model, "jax_state_sync"):
        model.jax_state_sync()


def squared_gradient_norms(model, mode="training"):
    """Returns `norms(x, y, sample_weight=None)` for `model` on this backend."""
    from actkeras.callbacks._tap import check_mode, measuring, random_layers

    check_backend()
    random = random_layers(model) if check_mode(mode) == "training" else []

    def context():
        return measuring(model, mode, random)

    if keras.backend.backend() == "jax":
        return _jax_squared_norms(model, context)
    return _tf_squared_norms(model, context)


def _tf_squared_norms(model, context):
    import tensorflow as tf

    def norms(x, y, sample_weight=None):
        state = _unique(model.non_trainable_variables + model.metrics_variables)
        saved = [keras.ops.copy(v.value) for v in state]
        try:
            with context() as training, tf.GradientTape() as tape:
                y_pred = model(x, training=training)
                loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
            grads = tape.gradient(loss, model.trainable_variables)
        finally:
            for variable, value in zip(state, saved):
                variable.assign(value)
        squares = [
            tf.zeros((), tf.float64) if g is None
            else tf.cast(tf.reduce_sum(tf.square(tf.convert_to_tensor(g))), tf.float64)
            for g in grads
        ]  # fmt: skip
        return tf.stack(squares).numpy()

    return norms


def _jax_squared_norms(model, context):
    import jax

    def loss(trainable, non_trainable, metrics, optimizer, x, y, sample_weight, training):
        # The unscaled loss (aux[0]): a loss-scaling optimizer must not scale it.
        _, aux = model.compute_loss_and_updates(
            trainable, non_trainable, metrics, x, y, sample_weight,
            training=training, optimizer_variables=optimizer,
        )  # fmt: skip
        return aux[0]

    def squares(*args, training):
        jnp = jax.numpy
        grads = jax.grad(loss)(*args, training)
        return jnp.stack([jnp.sum(jnp.square(g)).astype(jnp.result_type(float)) for g in grads])

    # Compiling (jax.jit) takes 0.5 s for a small MLP and a few seconds for a deep
    # one; an eager call costs a few percent of that. So: eager calls until they
    # have cost COMPILE_AFTER seconds, then compile (rent, then buy; never more
    # than about twice the best choice in hindsight).
    state = {"function": squares, "eager_seconds": 0.0}

    def norms(x, y, sample_weight=None):
        optimizer = getattr(model, "optimizer", None)
        start = time.perf_counter()
        with context() as training:  # random layers off while (possibly) tracing
            squared = np.asarray(state["function"](
                [v.value for v in model.trainable_variables],
                [v.value for v in model.non_trainable_variables],
                [v.value for v in model.metrics_variables],
                [v.value for v in optimizer.variables] if optimizer is not None else None,
                x, y, sample_weight, training=training,
            ), dtype="float64")  # fmt: skip
        if state["function"] is squares:
            state["eager_seconds"] += time.perf_counter() - start
            if state["eager_seconds"] > COMPILE_AFTER:
                state["function"] = jax.jit(squares, static_argnames="training")
        return squared

    return norms


def _unique(variables):
    seen, result = set(), []
    for variable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            result.append(variable)
    return result
