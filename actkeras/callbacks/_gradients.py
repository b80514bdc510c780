"""The monitors' loss gradients, compiled once per model on TensorFlow and on JAX.

`squared_gradient_norms(model, mode, x, y, sample_weight)` returns a function
`(x, y, sample_weight) -> array`: for each of `model.trainable_variables`, the
squared L2 norm of the gradient of the loss `fit` minimises (the compiled loss
plus every loss in `model.losses`: the weights' regularisers and the losses
layers add while they run, `activity_regularizer` and `add_loss`), summed on
the device so that only the norms are fetched. In `"training"` mode the model
is called with `training=True` and its random layers (Dropout, noise) switched
off, so that the norms do not change from one measurement to the next by
chance alone; in `"inference"` mode with `training=False`. Under a
`LossScaleOptimizer` (mixed precision) the loss is multiplied by its scale and the
gradient divided by it, as `fit` does (unscaled, a float16 gradient underflows), in
either mode; a float16 or bfloat16 weight's gradient is squared and summed in float32.

The gradient is one compiled function (`tf.function` of every batch size, or of
each batch size for a model whose code reads it, see `_backend.BatchTraced`;
or `jax.jit`), made once per model, mode, loss, optimizer and input signature and
reused by every logger on that model (`_backend.compiled_once`); a model its
user runs eagerly is measured eagerly. Measuring never changes the model: the
computation runs in a `keras.StatelessScope` (TensorFlow) or statelessly (JAX),
so BatchNorm statistics, seeds and loss trackers stay as they were.

Making the function traces it on the probe's shapes (nothing computed), so that
labels the loss cannot take fail there, before training, and `output_shapes`
gives the model's output shapes for the label checks. While it traces, the
layers of subclassed models (and of subclassed models nested in any model) note
their first calls (`call_order`): a subclassed model's `layers` are in attribute
order, which need not be the order its `call()` applies them in.
"""

import weakref

import keras
import numpy as np

from actkeras.callbacks._backend import (
    BatchTraced,
    arrays_key,
    backend,
    compiled_once,
    traceable,
    variables_key,
)
from actkeras.callbacks._mode import check_mode, measuring, patched, random_layers
from actkeras.callbacks._probe_checks import custom_train_step

BACKENDS = ("tensorflow", "jax")


def check_backend():
    """Raises `ValueError` unless the gradient code supports the current backend."""
    if backend() not in BACKENDS:
        raise ValueError(
            f"GradientNormLogger supports the {' and '.join(BACKENDS)} backends. "
            f"Received: backend={backend()!r}"
        )


def check_compiled(model, x):
    """Raises `ValueError` unless `model` was compiled (the gradient is of its loss) with a
    `loss`, or adds losses of its own (`add_loss`) on the probe's inputs `x`, as a model
    compiled without one (an autoencoder's reconstruction loss) trains on."""
    if not getattr(model, "compiled", False):
        raise ValueError(
            f"GradientNormLogger measures the gradient of the model's training loss, and "
            f"model {model.name!r} has none: call model.compile(optimizer=..., loss=...) "
            "first. Received: an uncompiled model"
        )
    if compiled_loss(model):
        return
    with keras.StatelessScope(collect_losses=True) as scope:
        model(x, training=False)
    if not scope.losses:
        own = (f" Its train_step ({type(model).__name__}.train_step) may minimise losses of "
               "its own, which the logger cannot see (a GAN's)." if custom_train_step(model)
               else "")  # fmt: skip
        raise ValueError(
            f"GradientNormLogger measures the gradient of the model's training loss, and "
            f"model {model.name!r} has none: it was compiled without `loss` and adds no loss "
            f"of its own (add_loss) on the probe.{own} Call model.compile(optimizer=..., "
            "loss=...). Received: a model compiled without a loss"
        )


def compiled_loss(model):
    """Whether `model` was compiled with a `loss` (whose targets a probe must hold)."""
    return getattr(model, "_compile_loss", None) is not None


class GradientFunction:
    """The squared gradient norms of `model`'s loss, compiled for the probe's shapes.

    Args:
        model: a built, compiled Keras model.
        mode: `"training"` or `"inference"`.
        x, y, sample_weight: a probe batch (NumPy); its shapes are traced at once.
    """

    def __init__(self, model, mode, x, y, sample_weight=None):
        check_backend()
        self.model = model
        self.mode = check_mode(mode)
        self._random = random_layers(model) if self.mode == "training" else []
        self.compiled = traceable(model)
        self.info = {"outputs": None, "order": None, "traces": 0}
        if backend() == "jax":
            self._function = self._jax(x, y, sample_weight)
        else:
            self._function = self._tf(x, y, sample_weight)

    @property
    def output_shapes(self):
        """Per-sample shapes of the model's outputs, as the traced loss saw them."""
        return self.info["outputs"]

    @property
    def call_order(self):
        """`{id(layer): rank}` of the layers of subclassed models (see `nested_models`)
        by their first call in the traced pass; `None` before the pass first ran (a
        model its user runs eagerly on TensorFlow is first run at the first measurement)."""
        order = self.info.get("order")
        return None if order is None else {key: rank for rank, key in enumerate(order)}

    def __call__(self, x, y, sample_weight=None):
        with measuring(self.model, self.mode, self._random):  # in force should it trace
            return np.asarray(self._function(x, y, sample_weight), dtype="float64")

    def _key(self, kind, x, y, sample_weight):
        model = self.model
        signature = arrays_key((x, y, sample_weight))
        # What the traced loss depends on besides the arguments: a recompiled model
        # (new loss or optimizer) or a changed variable list gets a new function. (On
        # TensorFlow the variables are captured, not passed: the metrics' may come later.)
        variables = [model.trainable_variables, model.non_trainable_variables]
        if backend() == "jax":
            variables.append(model.metrics_variables)
        return (kind, self.mode, signature, id(getattr(model, "_compile_loss", None)),
                id(getattr(model, "optimizer", None)), *map(variables_key, variables))

    def _tf(self, x, y, sample_weight):
        import tensorflow as tf

        model_ref, info, training = weakref.ref(self.model), self.info, self.mode == "training"

        def squares(x, y, sample_weight):
            model = model_ref()
            # Trainable values mapped: the regularisers read them from the scope. Losses
            # added in `call()` (activity regularisers, `add_loss`) are collected by the
            # scope, where `model.losses` finds them; without `collect_losses` they are lost.
            mapping = [(v, v.value) for v in model.trainable_variables]
            order = []
            with tf.GradientTape() as tape, keras.StatelessScope(state_mapping=mapping,
                                                                 collect_losses=True):
                with patched(first_calls(model, order)):
                    y_pred = model(x, training=training)
                loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                          training=training)  # fmt: skip
                scale = loss_scale(model)
                if scale is not None:  # as `fit` scales it (float16 would underflow)
                    loss = keras.ops.multiply(loss, scale)
            info["outputs"] = [tuple(t.shape[1:]) for t in keras.tree.flatten(y_pred)]
            info["order"] = order
            grads = tape.gradient(loss, model.trainable_variables)
            info["traces"] += 1
            return tf.stack([
                tf.zeros((), tf.float64) if g is None
                else tf.cast(tf.reduce_sum(tf.square(unscaled(tf.convert_to_tensor(g), scale))),
                             tf.float64)
                for g in grads
            ])  # fmt: skip

        parts = [p for p in (x, y, sample_weight) if p is not None]
        if not self.compiled:  # the user runs this model eagerly: so does the gradient
            run = squares
        else:
            def build():
                # No spec for an absent part: `None` is not a tensor.
                present = [p is not None for p in (x, y, sample_weight)]

                def partial(*given):
                    given = iter(given)
                    return squares(*(next(given) if p else None for p in present))

                return BatchTraced(partial, parts, info)

            run = compiled_once(self.model, self._key("gradient", x, y, sample_weight), build)
            self.info = info = run.info
            with measuring(self.model, self.mode, self._random):
                run.get_concrete_function()  # traced now: bad labels fail before training
        convert = keras.ops.convert_to_tensor
        if not self.compiled:
            return lambda *p: run(*(None if v is None else keras.tree.map_structure(convert, v)
                                    for v in p))  # fmt: skip
        return lambda *p: run(*(keras.tree.map_structure(convert, v) for v in p if v is not None))

    def _jax(self, x, y, sample_weight):
        import jax

        model = self.model
        key = self._key("gradient", x, y, sample_weight)
        if self.compiled:
            compiled = compiled_once(model, key, lambda: _jit_squares(weakref.ref(model)))
        else:  # the user runs this model eagerly: so does the gradient (nothing to keep)
            compiled = _jit_squares(weakref.ref(model)).__wrapped__
        self.info = compiled.info if self.compiled else self.info

        def run(x, y, sample_weight, abstract=False):
            optimizer = getattr(model, "optimizer", None)
            training = self.mode == "training"
            args = ([v.value for v in model.trainable_variables],
                    [v.value for v in model.non_trainable_variables],
                    [v.value for v in model.metrics_variables],
                    [v.value for v in optimizer.variables] if optimizer is not None else None,
                    x, y, sample_weight)  # fmt: skip
            if abstract:
                return jax.eval_shape(lambda *a: compiled(*a, training=training), *args)
            return compiled(*args, training=training)

        with measuring(model, self.mode, self._random):
            run(x, y, sample_weight, abstract=True)  # traced now: bad labels fail before training
        if not self.compiled:
            self.info = compiled.info
        return run


def _jit_squares(model_ref):
    """`jax.jit` of the squared gradient norms; holds the model weakly (see `compiled_once`)."""
    import jax

    info = {"outputs": None, "order": None, "traces": 0}

    def scale_of(optimizer_values):
        # A LossScaleOptimizer's scale as `fit` reads it: its variable's value, passed in.
        scale = loss_scale(model_ref())
        if scale is None or optimizer_values is None or not isinstance(scale, keras.Variable):
            return scale
        variables = model_ref().optimizer.variables
        return optimizer_values[next(i for i, v in enumerate(variables) if v is scale)]

    def loss(trainable, non_trainable, metrics, optimizer, x, y, sample_weight, training):
        model, order = model_ref(), []
        # The unscaled loss (aux[0]), scaled here as `fit` scales it in training, in
        # either mode: a loss-scaling optimizer's float16 gradient would underflow.
        with patched(first_calls(model, order)):
            _, aux = model.compute_loss_and_updates(
                trainable, non_trainable, metrics, x, y, sample_weight,
                training=training, optimizer_variables=optimizer,
            )  # fmt: skip
        info["outputs"] = [tuple(t.shape[1:]) for t in keras.tree.flatten(aux[1])]  # y_pred
        info["order"] = order
        scale = scale_of(optimizer)
        return aux[0] if scale is None else keras.ops.multiply(aux[0], scale)

    def squares(*args, training):
        jnp = jax.numpy
        grads = jax.grad(loss)(*args, training)
        info["traces"] += 1
        scale = scale_of(args[3])
        return jnp.stack([jnp.sum(jnp.square(unscaled(g, scale))).astype(jnp.result_type(float))
                          for g in grads])  # fmt: skip

    compiled = jax.jit(squares, static_argnames="training")
    squares.info = compiled.info = info  # `info["traces"]`: Python runs, one per trace
    return compiled


def loss_scale(model):
    """The scale `fit` multiplies the loss by, or `None`: a `LossScaleOptimizer`'s (mixed
    precision) current scale variable, or its initial scale before it is built."""
    optimizer = getattr(model, "optimizer", None)
    if not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return None
    return optimizer.dynamic_scale if optimizer.built else optimizer.initial_scale


def unscaled(gradient, scale):
    """A gradient ready to be squared and summed: divided by the loss scale as the
    `LossScaleOptimizer` divides it (in float32), and a 16-bit one (a float16 or
    bfloat16 weight's) in float32, where its square neither underflows nor overflows.
    A 32- or 64-bit gradient without a scale is returned as it is."""
    if scale is None and keras.backend.standardize_dtype(gradient.dtype) not in (
            "float16", "bfloat16"):
        return gradient
    gradient = keras.ops.cast(gradient, "float32")
    return gradient if scale is None else keras.ops.divide(gradient, scale)


def is_subclassed(model):
    """True for a subclassed model: its `layers` are in attribute order, not call order
    (a Functional model's are in graph order, a Sequential model's in stack order)."""
    return not isinstance(model, keras.Sequential) and getattr(model, "operations", None) is None


def nested_models(model):
    """`model` and the models nested in it (through `layers`), at any depth."""
    found = [model]
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(nested_models(layer))
    return found


def first_calls(model, order):
    """Patches (see `_mode.patched`) that append to `order` the id of each layer of a
    subclassed model in `model` (`nested_models`) at its first call."""
    noted, patches = set(), []
    for parent in nested_models(model):
        if not is_subclassed(parent):
            continue
        for layer in parent.layers:
            if id(layer) in noted:
                continue
            noted.add(id(layer))

            def call(*args, _call=layer.call, _key=id(layer), **kwargs):
                if _key not in order:
                    order.append(_key)
                return _call(*args, **kwargs)

            patches.append((layer, "call", call))
    return patches
