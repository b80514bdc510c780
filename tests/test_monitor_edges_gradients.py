"""GradientNormLogger at the edges: losses added in `call()`, subclassed models' layer order,
and (all three monitors) models whose code reads their batch size as a number.

Every gradient is checked against the step `fit` itself takes: one `train_on_batch` with
plain SGD at learning rate 1 moves each weight by minus its gradient, so the change is the
gradient of the loss `fit` minimises, read without the logger's machinery. Activation
numbers are checked against NumPy. Runs on TensorFlow and on JAX.
"""

import warnings

import keras
import numpy as np
import pytest

from actkeras.callbacks import ActivationStats, DeadReLUMonitor, GradientNormLogger
from monitoring import measure_once

RNG = np.random.default_rng(11)
X = RNG.normal(size=(48, 4)).astype("float32")
Y = RNG.normal(size=(48, 1)).astype("float32")


def _compile(model, **kwargs):
    """Compiled to train with a learning rate of 0 (training leaves the weights as they are)."""
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse", **kwargs)
    return model


def _measure(monitor, model):
    """One measurement outside `fit`, on the model as it is, warnings ignored."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return measure_once(monitor, model, end=True)


def _numpy(variable):
    return keras.ops.convert_to_numpy(keras.ops.convert_to_tensor(variable)).astype("float64")


def _fit_step_gradients(model, x, y):
    """`{variable path: norm}` of the gradient `fit` follows, from one SGD step of size 1."""
    model.optimizer.learning_rate.assign(1.0)
    before = [_numpy(v) for v in model.trainable_variables]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Gradients do not exist" for a layer never called
        model.train_on_batch(x, y)
    after = [_numpy(v) for v in model.trainable_variables]
    return {v.path: float(np.linalg.norm(b - a))
            for v, b, a in zip(model.trainable_variables, before, after)}  # fmt: skip


def _layer_norms(model, step):
    """Per layer (by name, in the order given), the norm over its trainable weights."""
    return {layer.name: float(np.sqrt(sum(step[v.path] ** 2 for v in layer.trainable_variables)))
            for layer in model.layers if layer.trainable_variables}  # fmt: skip


# Losses added while the model runs.


class AddsLoss(keras.layers.Layer):
    """Passes `x` through and adds `mean(x**2)` as a loss from `call()`."""

    def call(self, x):
        self.add_loss(3.0 * keras.ops.mean(keras.ops.square(x)))
        return x


def _with_losses(kind):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    extra = {"activity": {"activity_regularizer": keras.regularizers.L2(1.0)},
             "kernel": {"kernel_regularizer": keras.regularizers.L2(0.5)}}.get(kind, {})
    h = keras.layers.Dense(6, activation="relu", name="h", **extra)(inputs)
    if kind == "add_loss":
        h = AddsLoss(name="adds")(h)
    return _compile(keras.Model(inputs, keras.layers.Dense(1, name="o")(h)))


@pytest.mark.parametrize("kind", ["activity", "add_loss", "kernel"])
def test_the_gradient_is_that_of_the_loss_fit_minimises_with_every_added_loss(kind):
    model = _with_losses(kind)
    record = _measure(GradientNormLogger(probe_data=(X, Y)), model)
    step = _fit_step_gradients(model, X, Y)
    assert list(record["weights"]) == list(step)
    for path, norm in step.items():
        # Before the fix, TensorFlow left out losses added in call(): h/kernel 0.54 against 1.40.
        assert record["weights"][path] == pytest.approx(norm, rel=1e-4), path
    assert record["global"] == pytest.approx(np.sqrt(sum(n * n for n in step.values())), rel=1e-4)


# Layer order: input to output.


class HeadFirstNet(keras.Model):
    """Holds its head before its hidden layer; calls the hidden layer first."""

    def __init__(self, spare=False, **kwargs):
        super().__init__(**kwargs)
        if spare:  # a built layer the model never calls
            self.spare = keras.layers.Dense(2, name="spare")
            self.spare.build((None, 4))
        self.head = keras.layers.Dense(1, name="head")
        self.hidden = keras.layers.Dense(8, activation="sigmoid", name="hidden")

    def call(self, x):
        return self.head(self.hidden(x))


@pytest.mark.parametrize("run_eagerly", [False, True])
def test_a_subclassed_models_layers_come_in_call_order_and_the_ratio_is_first_over_last(
    run_eagerly,
):
    keras.utils.set_random_seed(0)
    model = HeadFirstNet()
    model(X[:2])
    _compile(model, run_eagerly=run_eagerly)
    assert [layer.name for layer in model.layers] == ["head", "hidden"]  # attribute order
    record = _measure(GradientNormLogger(probe_data=(X, Y)), model)
    norms = _layer_norms(model, _fit_step_gradients(model, X, Y))
    # Before the fix: ['head', 'hidden'] and a ratio of head/hidden (1.3 for 0.77).
    assert list(record["layers"]) == ["hidden", "head"]
    assert record["layers"] == pytest.approx(norms, rel=1e-4)
    assert record["first_last_ratio"] == pytest.approx(norms["hidden"] / norms["head"], rel=1e-4)


def test_a_subclassed_model_nested_in_a_functional_one_is_ordered_inside_its_path():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    net = HeadFirstNet(spare=True, name="net")
    model = _compile(keras.Model(inputs, keras.layers.Dense(1, name="top")(net(inputs))))
    record = _measure(GradientNormLogger(probe_data=(X, Y)), model)
    step = _fit_step_gradients(model, X, Y)
    inner = _layer_norms(net, step)
    # The layer it never calls comes last (no gradient reaches it).
    assert list(record["layers"]) == ["net/hidden", "net/head", "net/spare", "top"]
    assert record["layers"]["net/spare"] == 0.0
    for name in ("hidden", "head"):
        assert record["layers"][f"net/{name}"] == pytest.approx(inner[name], rel=1e-4)


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_functional_and_sequential_models_keep_their_layers_order(kind):
    keras.utils.set_random_seed(0)
    layers = [keras.layers.Dense(8, activation="sigmoid", name="a"),
              keras.layers.Dense(8, activation="sigmoid", name="b"),
              keras.layers.Dense(1, name="c")]  # fmt: skip
    if kind == "sequential":
        model = keras.Sequential([keras.Input((4,)), *layers])
    else:
        inputs = keras.Input((4,))
        model = keras.Model(inputs, layers[2](layers[1](layers[0](inputs))))
    _compile(model)
    record = _measure(GradientNormLogger(probe_data=(X, Y)), model)
    norms = _layer_norms(model, _fit_step_gradients(model, X, Y))
    assert list(record["layers"]) == ["a", "b", "c"]
    assert record["layers"] == pytest.approx(norms, rel=1e-4)
    assert record["first_last_ratio"] == pytest.approx(norms["a"] / norms["c"], rel=1e-4)


# A model that reads its batch size.


class StaticBatchNet(keras.Model):
    """Flattens with its static batch size, as `fit` lets it (`x.shape[0]` is a number)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = keras.layers.Conv2D(2, 3, activation="relu", name="conv")
        self.out = keras.layers.Dense(1, name="out")

    def call(self, x):
        return self.out(keras.ops.reshape(self.conv(x), (x.shape[0], -1)))


IMAGES = RNG.normal(size=(50, 6, 6, 1)).astype("float32")
TARGETS = RNG.normal(size=(50, 1)).astype("float32")


def _static_batch_model():
    keras.utils.set_random_seed(0)
    model = _compile(StaticBatchNet())
    model(IMAGES[:2])
    model.conv.bias.assign(np.array([-100.0, 0.5], "float32"))  # channel 0 dead
    return model


def _conv_pre(model, x):
    """The convolution's pre-activations by hand: valid 3x3, one input channel."""
    kernel, bias = (_numpy(w) for w in model.conv.weights)
    windows = np.lib.stride_tricks.sliding_window_view(x[..., 0].astype("float64"), (3, 3),
                                                       axis=(1, 2))  # fmt: skip
    return np.einsum("nhwij,ijo->nhwo", windows, kernel[:, :, 0, :]) + bias


def test_a_model_that_reads_its_batch_size_trains_with_every_monitor():
    model = _static_batch_model()
    dead, stats = DeadReLUMonitor(probe_data=IMAGES), ActivationStats(probe_data=IMAGES)
    dead.chunk_size = stats.chunk_size = 24  # chunks of 17, 17 and 16: two batch sizes
    gradients = GradientNormLogger(probe_data=(IMAGES, TARGETS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Before the fix, on TensorFlow: "Could not run the model ... (TypeError: Failed to
        # convert elements of (None, -1) to Tensor ...)", blaming the probe.
        model.fit(IMAGES[:48], TARGETS[:48], epochs=1, batch_size=16, verbose=0,
                  callbacks=[dead, stats, gradients])  # fmt: skip
    assert dead.records and stats.records and gradients.records
    pre = _conv_pre(model, IMAGES)
    out = np.maximum(pre, 0.0)
    conv = dead.records[-1]["layers"]["conv"]
    by_hand = int((pre.max(axis=(0, 1, 2)) <= 0).sum())
    assert (conv["units"], conv["inactive_units"]) == (2, by_hand) and by_hand == 1
    moments = stats.records[-1]["layers"]["conv"]
    assert moments["mean"] == pytest.approx(out.mean(), rel=1e-5)
    assert moments["std"] == pytest.approx(out.std(), rel=1e-4)
    assert moments["zero_fraction"] == pytest.approx((out == 0).mean())
    record = gradients.records[-1]
    step = _fit_step_gradients(model, IMAGES, TARGETS)
    for path, norm in step.items():
        assert record["weights"][path] == pytest.approx(norm, rel=1e-4, abs=1e-7), path


class EagerOnlyNet(keras.Model):
    """Runs eagerly only: it reads a value (`float(x[0, 0])`), which no trace has."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(3, activation="relu", name="dense")

    def call(self, x):
        return self.dense(x) * float(keras.ops.convert_to_numpy(x[0, 0]) > -10)


def test_a_model_that_fails_as_the_monitor_runs_it_is_not_said_to_be_given_a_bad_probe():
    model = _compile(EagerOnlyNet(name="net"))
    model(X[:2])  # eagerly: fine
    monitor = DeadReLUMonitor(probe_data=X)
    monitor.set_model(model)
    with pytest.raises(ValueError, match=r"Could not run the model 'net' on the probe data .*"
                                         r"Either the probe's samples are not what the model "
                                         r"takes, or the model's call\(\) fails when the monitor "
                                         r"runs it \(with training=True\)\. Received: probe_data "
                                         r"with samples of shape \(4,\)"):  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            monitor.on_train_begin()
