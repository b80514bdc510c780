"""The monitors where Keras is used beyond one float32 model and one loss: 16-bit weights
and mixed precision's loss scaling, a `train_step` of the model's own (a GAN's, with
optimizers of its own), a model with nothing to train, a layer named `global`, a
generator as probe, hard_silu's dead units, two monitors of one class, and `Tap` at a
layer the model never calls.

Each case was found by an outside reading (the QA report of 8 December 2026) and fails
without its mend. Gradients are checked against the gradient `fit` applies, computed
here with the backend's own autodiff (TensorFlow `GradientTape`, `jax.grad`), normed in
float64. Runs on TensorFlow and on JAX, but for the two cases whose `train_step` is
written for TensorFlow.
"""

import warnings

import keras
import numpy as np
import pytest

from actkeras.callbacks import (
    ActivationStats,
    DeadReLUMonitor,
    GradientNormLogger,
    Tap,
    find_activation_layers,
)

RNG = np.random.default_rng(15)
X16 = RNG.normal(size=(64, 16)).astype("float32")
TENSORFLOW = keras.backend.backend() == "tensorflow"


def _fit_gradients(model, x, y, scaled=False):
    """`{variable path: norm}` of the gradient `fit` applies: of the loss (times the loss
    scale, then divided by it, with `scaled`), in training mode, normed in float64."""
    optimizer = model.optimizer
    if keras.backend.backend() == "jax":
        import jax

        values = [v.value for v in model.trainable_variables]
        rest = ([v.value for v in model.non_trainable_variables],
                [v.value for v in model.metrics_variables])  # fmt: skip
        opt = [v.value for v in optimizer.variables]
        pick = 0 if scaled else 1  # the scaled loss, or aux's unscaled one

        def loss(values):
            out = model.compute_loss_and_updates(values, *rest, x, y, None, training=True,
                                                 optimizer_variables=opt)  # fmt: skip
            return out[0] if pick == 0 else out[1][0]

        grads = jax.grad(loss)(values)
    else:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
            if scaled:
                loss = optimizer.scale_loss(loss)
        grads = tape.gradient(loss, model.trainable_variables)
    scale = float(keras.ops.convert_to_numpy(optimizer.dynamic_scale)) if scaled else 1.0
    return {v.path: float(np.linalg.norm(np.asarray(g, "float64") / scale))
            for v, g in zip(model.trainable_variables, grads)}  # fmt: skip


def _fit(model, x, y, callbacks, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(x, y, verbose=0, callbacks=callbacks, **kwargs)


# 16-bit weights and loss scaling.


@pytest.mark.parametrize("targets", ["near_fitted", "large"])
def test_a_float16_weights_gradient_is_normed_in_float32(targets):
    # A float16 square rounded small gradients to 0 and overflowed large ones to inf.
    keras.utils.set_random_seed(15)
    inputs = keras.Input((16,))
    h = keras.layers.Dense(64, activation="relu", dtype="float16", name="h")(inputs)
    out = keras.layers.Dense(1, name="o")(keras.layers.Activation("linear", dtype="float32")(h))
    model = keras.Model(inputs, out)
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
    if targets == "near_fitted":
        y = np.asarray(model(X16)) + 1e-3 * RNG.normal(size=(64, 1)).astype("float32")
    else:
        y = 3000 * RNG.normal(size=(64, 1)).astype("float32")
    logger = GradientNormLogger(probe_data=(X16, y), probe_size=64)
    _fit(model, X16, y, [logger], epochs=1, batch_size=64)
    want = _fit_gradients(model, X16, y)
    got = logger.records[-1]["weights"]
    for path in ("h/kernel", "h/bias"):
        assert np.isfinite(got[path]) and got[path] > 0
        assert got[path] == pytest.approx(want[path], rel=1e-3), path


def test_under_mixed_float16_the_gradient_is_the_one_fit_applies():
    # The logger differentiated the unscaled loss in float16: on a nearly fitted model
    # the first layer's norm was 20-24 % high and gradient_ratio on the wrong side of 1.
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        keras.utils.set_random_seed(9)
        x = RNG.normal(size=(256, 16)).astype("float32")
        model = keras.Sequential([
            keras.Input((16,)), keras.layers.Dense(32, activation="relu", name="h1"),
            keras.layers.Dense(32, activation="relu", name="h2"),
            keras.layers.Dense(1, dtype="float32", name="o")])  # fmt: skip
        model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        y = np.asarray(model(x)) + 1e-5 * RNG.normal(size=(256, 1)).astype("float32")
        logger = GradientNormLogger(probe_data=(x, y), probe_size=256)
        _fit(model, x, y, [logger], epochs=1, batch_size=256)
        want = _fit_gradients(model, x, y, scaled=True)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    got = logger.records[-1]["weights"]
    assert set(got) == set(want)
    for path, norm in want.items():
        assert got[path] == pytest.approx(norm, rel=1e-4), path


# A train_step of the model's own.


class _OwnLoss(keras.Model):
    """Minimises mse + 10 * mean(|y_pred|), not its compiled loss (TensorFlow)."""

    def train_step(self, data):
        import tensorflow as tf

        x, y = data
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = keras.ops.mean((y - y_pred) ** 2) + 10.0 * keras.ops.mean(keras.ops.abs(y_pred))
        self.optimizer.apply(tape.gradient(loss, self.trainable_variables),
                             self.trainable_variables)  # fmt: skip
        return {"loss": loss}


class _GAN(keras.Model):
    """The Keras DCGAN example's shape: two optimizers of its own, `call` on noise,
    `fit` on real samples (TensorFlow)."""

    def __init__(self):
        super().__init__()
        self.gen = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="relu"),
                                     keras.layers.Dense(6)])  # fmt: skip
        self.disc = keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
                                      keras.layers.Dense(1)])  # fmt: skip

    def compile(self, d_opt, g_opt):
        super().compile()
        self.d_opt, self.g_opt = d_opt, g_opt

    def call(self, z):
        return self.disc(self.gen(z))

    def train_step(self, real):
        import tensorflow as tf

        noise = keras.random.normal((tf.shape(real)[0], 2))
        with tf.GradientTape() as tape:
            d_loss = (tf.reduce_mean(tf.nn.softplus(self.disc(self.gen(noise))))
                      + tf.reduce_mean(tf.nn.softplus(-self.disc(real))))  # fmt: skip
        self.d_opt.apply(tape.gradient(d_loss, self.disc.trainable_variables),
                         self.disc.trainable_variables)  # fmt: skip
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(tf.nn.softplus(-self.disc(self.gen(noise))))
        self.g_opt.apply(tape.gradient(g_loss, self.gen.trainable_variables),
                         self.gen.trainable_variables)  # fmt: skip
        return {"d_loss": d_loss, "g_loss": g_loss}


def _gan():
    keras.utils.set_random_seed(3)
    gan = _GAN()
    gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam())
    return gan


REAL = RNG.normal(size=(32, 6)).astype("float32")
NOISE = RNG.normal(size=(32, 2)).astype("float32")
tensorflow_only = pytest.mark.skipif(not TENSORFLOW, reason="the train_step is TensorFlow code")


@tensorflow_only
def test_a_train_step_of_its_own_is_warned_about():
    # The logger measured the compiled loss's gradient, without a word.
    keras.utils.set_random_seed(0)
    x, y = RNG.normal(size=(64, 5)).astype("float32"), RNG.normal(size=(64, 1)).astype("float32")
    inputs = keras.Input((5,))
    model = _OwnLoss(inputs, keras.layers.Dense(1)(keras.layers.Dense(4, activation="relu")(inputs)))
    model.compile("sgd", "mse")
    with pytest.warns(UserWarning, match=r"train_step of its own \(_OwnLoss.train_step\)"):
        model.fit(x, y, epochs=1, batch_size=64, verbose=0,
                  callbacks=[GradientNormLogger(probe_data=(x, y))])  # fmt: skip


@tensorflow_only
def test_a_gan_without_a_compiled_loss_is_told_why():
    gan = _gan()
    gan(NOISE[:2])
    with pytest.raises(ValueError, match=r"has none.*train_step \(_GAN.train_step\) may "
                                         r"minimise losses of its own"):
        _fit(gan, REAL, None, [GradientNormLogger(probe_data=NOISE)], epochs=1, batch_size=8)


@tensorflow_only
def test_a_gan_s_records_count_its_batches():
    # Its model.optimizer never moves: every record was step 0, and `every=2` fired at
    # almost every batch.
    gan = _gan()
    gan(NOISE[:2])
    stats = ActivationStats(probe_data=NOISE, every=2)
    _fit(gan, REAL, None, [stats], epochs=2, batch_size=8)  # 4 steps an epoch
    assert [(r["trigger"], r["epoch"], r["step"]) for r in stats.records] == [
        ("batch_end", 1, 2), ("batch_end", 1, 4), ("epoch_end", 1, 4),
        ("batch_end", 2, 6), ("batch_end", 2, 8), ("epoch_end", 2, 8)]  # fmt: skip


@tensorflow_only
def test_an_unbuilt_gan_takes_a_probe_shaped_like_its_call():
    # The probe (noise, what `call` takes) was refused as "not shaped like the training
    # data" (real samples, what `train_step` takes): no probe could pass.
    gan = _gan()
    stats = ActivationStats(probe_data=NOISE)
    _fit(gan, REAL, None, [stats], epochs=1, batch_size=8)
    assert [r["step"] for r in stats.records] == [4]
    assert stats.records[-1]["layers"]


def test_a_model_with_nothing_to_train_counts_its_batches():
    # Its optimizer's count never moves either (Keras applies no update).
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])  # fmt: skip
    for layer in model.layers:
        layer.trainable = False
    model.compile("sgd", "mse")
    stats = ActivationStats(probe_data=X16[:16], every=3)
    _fit(model, X16[:48], np.zeros((48, 1), "float32"), [stats], epochs=2, batch_size=8)
    assert [(r["trigger"], r["step"]) for r in stats.records] == [
        ("batch_end", 3), ("batch_end", 6), ("epoch_end", 6),
        ("batch_end", 9), ("batch_end", 12), ("epoch_end", 12)]  # fmt: skip


# Keys and probes.


def test_a_layer_named_global_does_not_replace_the_global_norm():
    keras.utils.set_random_seed(10)
    x, y = RNG.normal(size=(32, 4)).astype("float32"), RNG.normal(size=(32, 1)).astype("float32")
    inputs = keras.Input((4,))
    a = keras.layers.Dense(3, activation="relu", name="global")(inputs)
    b = keras.layers.Dense(3, activation="relu", name="local")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, name="head")(keras.layers.Concatenate()([a, b])))
    model.compile("sgd", "mse")
    logger = GradientNormLogger(probe_data=(x, y))
    with pytest.warns(UserWarning, match="'grad_norm/global_layer'"):
        history = model.fit(x, y, epochs=1, verbose=0, callbacks=[logger])
    record = logger.records[-1]
    assert history.history["grad_norm/global"] == [record["global"]]
    assert history.history["grad_norm/global_layer"] == [record["layers"]["global"]]
    assert record["global"] > record["layers"]["global"]


def test_a_generator_given_as_probe_is_left_open_for_fit():
    x = RNG.normal(size=(40, 4)).astype("float32")
    y = RNG.integers(0, 3, 40)

    def batches():
        while True:
            for i in range(0, 40, 8):
                yield x[i:i + 8], y[i:i + 8]

    stream = batches()
    stats = ActivationStats(probe_data=stream, probe_size=16)  # takes two batches
    assert next(stream)[0].shape == (8, 4)  # was StopIteration: the generator was closed
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])  # fmt: skip
    model.compile("adam", "sparse_categorical_crossentropy")
    history = _fit(model, stream, None, [stats], steps_per_epoch=5, epochs=2)
    assert len(history.history["loss"]) == 2 and len(stats.records) == 2


@pytest.mark.parametrize("name", ["hard_silu", "hard_swish"])
def test_hard_silu_units_below_minus_3_are_dead(name):
    # They output exactly 0 with no gradient there; they were read as merely inactive.
    x = np.random.RandomState(0).normal(size=(64, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
        4, activation=name, name="h", kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant([-10.0, -10.0, -3.0, 1.0])),
        keras.layers.Dense(1)])  # fmt: skip
    model.compile("sgd", "mse")
    monitor = DeadReLUMonitor(probe_data=x)
    history = _fit(model, x, np.zeros((64, 1), "float32"), [monitor], epochs=1)
    layer = monitor.records[-1]["layers"]["h"]
    assert (layer["kind"], layer["threshold"], layer["fraction"]) == ("dead", -3.0, 0.75)
    assert history.history["dead_fraction"] == [0.75]


def test_two_monitors_of_one_class_are_warned_about():
    x = RNG.normal(size=(32, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1)])  # fmt: skip
    model.compile("sgd", "mse")
    a = DeadReLUMonitor(probe_data=x, mode="training")
    b = DeadReLUMonitor(probe_data=x, mode="inference")
    with pytest.warns(UserWarning, match=r"2 DeadReLUMonitor callbacks in one fit write the "
                                         r"same keys .*mode='training', mode='inference'"):
        model.fit(x, np.zeros((32, 1), "float32"), epochs=1, verbose=0, callbacks=[a, b])
    assert len(a.records) == len(b.records) == 1


class _Spare(keras.Model):
    def __init__(self):
        super().__init__()
        self.a = keras.layers.Dense(4, activation="relu")
        self.spare = keras.layers.Dense(4, activation="relu")
        self.o = keras.layers.Dense(1)

    def call(self, x):
        return self.o(self.a(x))


def test_tap_at_a_layer_never_called_says_so():
    model, x = _Spare(), RNG.normal(size=(8, 3)).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model(x)
    sites = find_activation_layers(model)
    assert len(sites) == 2
    with pytest.raises(ValueError, match=r"did not call '[^']+' when it ran on this batch"):
        Tap(model, [(site, "output") for site in sites])(x)
    (tensor,) = Tap(model, [(sites[0], "output")])(x)
    assert tuple(tensor.shape) == (8, 4)
