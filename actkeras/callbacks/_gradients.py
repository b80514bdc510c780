"""The monitors' loss gradients, one implementation per backend, and state sync.

`squared_gradient_norms(model)` returns a function `(x, y, sample_weight) ->
array`: for each of `model.trainable_variables`, the squared L2 norm of the
gradient of the loss `fit` minimises (the compiled loss plus every
regularisation loss, `model.losses`), summed on the device so that only the
norms are fetched. In `"training"` mode the model is called with
`training=True` and its random layers (Dropout, noise) switched off, so that
the norms do not change from one measurement to the next by chance alone; in
`"inference"` mode with `training=False`. On TensorFlow calls run eagerly; on JAX
the gradient is one `jax.jit` function, made once per model, mode, loss and
optimizer and reused by every logger on that model (`_tap.compiled_once`): eager
JAX would compile each operation on its first use in a process and dispatch them
one by one. Measuring never changes the model: under JAX the computation is
stateless; under TensorFlow the non-trainable and metric variables (BatchNorm
statistics, dropout seeds, loss trackers) are restored afterwards.
`sync_state(model)` makes a JAX model's variables current in the middle of an epoch.
"""

import weakref

import keras
import numpy as np

BACKENDS = ("tensorflow", "jax")


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
        return _jax_squared_norms(model, mode, context)
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


def _jax_squared_norms(model, mode, context):
    from actkeras.callbacks._tap import compiled_once, traceable, variables_key

    optimizer = getattr(model, "optimizer", None)
    # What the traced loss depends on besides the arguments: a recompiled model
    # (new loss or optimizer) or a changed variable list gets a new function.
    key = ("gradient", mode, id(getattr(model, "_compile_loss", None)), id(optimizer),
           *(variables_key(v) for v in (model.trainable_variables,
                                        model.non_trainable_variables,
                                        model.metrics_variables)))  # fmt: skip
    if traceable(model):
        compiled = compiled_once(model, key, lambda: _jit_squares(weakref.ref(model)))
    else:  # the user runs this model eagerly: so does the gradient (nothing to keep)
        compiled = _jit_squares(weakref.ref(model)).__wrapped__

    def norms(x, y, sample_weight=None):
        with context() as training:  # random layers off should it trace
            return np.asarray(compiled(
                [v.value for v in model.trainable_variables],
                [v.value for v in model.non_trainable_variables],
                [v.value for v in model.metrics_variables],
                [v.value for v in optimizer.variables] if optimizer is not None else None,
                x, y, sample_weight, training=training,
            ), dtype="float64")  # fmt: skip

    return norms


def _jit_squares(model_ref):
    """`jax.jit` of the squared gradient norms; holds the model weakly (see `compiled_once`)."""
    import jax

    def loss(trainable, non_trainable, metrics, optimizer, x, y, sample_weight, training):
        # The unscaled loss (aux[0]): a loss-scaling optimizer must not scale it.
        _, aux = model_ref().compute_loss_and_updates(
            trainable, non_trainable, metrics, x, y, sample_weight,
            training=training, optimizer_variables=optimizer,
        )  # fmt: skip
        return aux[0]

    def squares(*args, training):
        jnp = jax.numpy
        squares.traces += 1
        grads = jax.grad(loss)(*args, training)
        return jnp.stack([jnp.sum(jnp.square(g)).astype(jnp.result_type(float)) for g in grads])

    squares.traces = 0  # Python runs, one per trace: `compiled.__wrapped__.traces`
    return jax.jit(squares, static_argnames="training")


def _unique(variables):
    seen, result = set(), []
    for variable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            result.append(variable)
    return result
