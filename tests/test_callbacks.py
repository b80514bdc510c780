"""The activation monitors: exact dead fractions, gradients against finite differences,
statistics against NumPy, TensorBoard read back by TensorBoard's reader, deep copies,
reuse, bad input and plots. Tiny models and data; runs on TensorFlow and on JAX
(`KERAS_BACKEND=jax`), where TensorFlow-only tests skip."""

import copy
import csv
import importlib.util
from types import SimpleNamespace

import keras
import numpy as np
import pytest

import actkeras
from actkeras.callbacks import (
    ActivationStats,
    DeadReLUMonitor,
    DeadUnitWarning,
    GradientNormLogger,
    find_activation_layers,
)
from actkeras.callbacks._probe import take_probe

BACKEND = keras.backend.backend()
NUM_SAMPLES = 64
RNG = np.random.default_rng(0)
X = RNG.uniform(0, 1, size=(NUM_SAMPLES, 6)).astype("float32")
Y = (np.arange(NUM_SAMPLES) % 3).astype("int32")

needs_tf = pytest.mark.skipif(
    BACKEND != "tensorflow" or importlib.util.find_spec("tensorflow") is None,
    reason="needs the TensorFlow backend",
)
needs_jax = pytest.mark.skipif(
    BACKEND != "jax" or importlib.util.find_spec("jax") is None,
    reason="JAX-only: run with KERAS_BACKEND=jax where jax is installed",
)


def _compile(model, learning_rate=0.0):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))  # fmt: skip
    return model


def _force(layer, dead, live_bias=5.0):
    """Tiny kernel; bias -100 on the first `dead` units (off for every input), +5 elsewhere."""
    kernel = RNG.uniform(-0.01, 0.01, size=layer.kernel.shape)
    bias = np.full(layer.bias.shape, live_bias)
    bias[:dead] = -100.0
    layer.kernel.assign(kernel.astype(layer.kernel.dtype))
    layer.bias.assign(bias.astype(layer.bias.dtype))


def _every_kind_model():
    """One rectifier site of each kind, with a known number of units forced off."""
    inputs = keras.Input((6,))
    x = keras.layers.Dense(10, activation="relu", name="fused")(inputs)  # 3 of 10 dead
    x = keras.layers.Dense(8, name="d1")(x)
    x = keras.layers.ReLU(name="keras_relu")(x)  # 2 of 8
    x = keras.layers.Dense(5, name="d2")(x)
    x = keras.layers.Activation("relu", name="act_relu")(x)  # 1 of 5
    x = keras.layers.Dense(4, name="d3")(x)
    x = keras.layers.LeakyReLU(name="leaky")(x)  # 1 of 4 inactive
    x = keras.layers.Dense(4, name="d4")(x)
    x = actkeras.ReLU(name="ak_relu")(x)  # 0 of 4
    x = keras.layers.Dense(4, name="d5")(x)
    x = keras.layers.ELU(name="elu")(x)  # 2 of 4 inactive
    outputs = keras.layers.Dense(3, name="out")(x)
    model = _compile(keras.Model(inputs, outputs))
    for name, dead in [("fused", 3), ("d1", 2), ("d2", 1), ("d3", 1), ("d4", 0), ("d5", 2)]:
        _force(model.get_layer(name), dead)
    return model


EXPECTED = {"fused": 3 / 10, "keras_relu": 2 / 8, "act_relu": 1 / 5, "ak_relu": 0.0,
            "leaky": 1 / 4, "elu": 2 / 4}  # fmt: skip


# Finding the layers.


def test_find_activation_layers_recognises_every_kind():
    sites = {s.name: (s.family, s.fused) for s in find_activation_layers(_every_kind_model())}
    assert sites == {
        "fused": ("rectifier", True), "keras_relu": ("rectifier", False),
        "act_relu": ("rectifier", False), "leaky": ("leaky", False),
        "ak_relu": ("rectifier", False), "elu": ("exponential", False),
    }  # fmt: skip
    model = actkeras.build_model("sigmoid", preset="fashion_mlp", hidden_units=(4, 4),
                                 input_shape=(6,))  # fmt: skip
    assert [s.name for s in find_activation_layers(model)] == ["activation_0", "activation_1"]
    assert [s.name for s in find_activation_layers(model, include_outputs=True)][-1] == "output"
    assert find_activation_layers(model, families=("rectifier",)) == []
    with pytest.raises(ValueError, match="families"):
        find_activation_layers(model, families=("relu",))


# DeadReLUMonitor.


@pytest.mark.parametrize("api", ["functional", "sequential"])
def test_forced_dead_units_are_reported_exactly(api, tmp_path):
    model = _every_kind_model()
    if api == "sequential":  # the same layers, in a Sequential without an Input
        names = ["fused", "d1", "keras_relu", "d2", "act_relu", "d3", "leaky", "d4", "ak_relu",
                 "d5", "elu", "out"]  # fmt: skip
        model = _compile(keras.Sequential([model.get_layer(n) for n in names]))
    monitor = DeadReLUMonitor(probe_data=(X, Y), threshold=1.0)
    csv_path = tmp_path / "log.csv"
    history = model.fit(X, Y, epochs=2, batch_size=16, verbose=0,
                        callbacks=[monitor, keras.callbacks.CSVLogger(str(csv_path))])  # fmt: skip
    layers = monitor.records[-1]["layers"]
    assert {name: info["fraction"] for name, info in layers.items()} == EXPECTED
    assert layers["leaky"]["kind"] == "inactive" and layers["fused"]["kind"] == "dead"
    assert monitor.records[-1]["dead_fraction"] == 6 / 27
    assert monitor.records[-1]["inactive_fraction"] == 3 / 8
    assert history.history["dead_fraction/fused"] == [0.3, 0.3]
    assert history.history["inactive_fraction/elu"] == [0.5, 0.5]
    assert [r["epoch"] for r in monitor.records] == [1, 2]
    with open(csv_path) as handle:
        rows = list(csv.DictReader(handle))
    assert float(rows[-1]["dead_fraction/keras_relu"]) == 0.25


def test_build_model_network_with_biases_forced_to_minus_100():
    model = actkeras.build_model("relu", preset="mlp", units=12, depth=2, input_shape=(6,),
                                 num_classes=3, learning_rate=1e-12, seed=0)  # fmt: skip
    _force(model.get_layer("dense_0"), 4)
    _force(model.get_layer("dense_1"), 9)
    monitor = DeadReLUMonitor(probe_data=X, threshold=1.0)
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0, callbacks=[monitor])
    record = monitor.records[-1]
    assert record["layers"]["activation_0"]["fraction"] == 4 / 12
    assert record["layers"]["activation_1"]["fraction"] == 9 / 12
    assert record["dead_fraction"] == 13 / 24


def test_warns_once_per_layer_and_stops_above():
    model = _every_kind_model()
    monitor = DeadReLUMonitor(probe_data=X, threshold=0.2)
    with pytest.warns(DeadUnitWarning) as caught:
        model.fit(X, Y, epochs=3, batch_size=32, verbose=0, callbacks=[monitor])
    warned = sorted(str(w.message).split("layer ")[1].split()[0] for w in caught
                    if issubclass(w.category, DeadUnitWarning))  # fmt: skip
    assert warned == ["'elu'", "'fused'", "'keras_relu'", "'leaky'"]  # above 20 %, once each
    stopper = DeadReLUMonitor(probe_data=X, threshold=1.0, stop_above=0.4)
    with pytest.warns(DeadUnitWarning, match="Stopping training"):
        history = model.fit(X, Y, epochs=5, verbose=0, callbacks=[stopper])
    assert len(history.epoch) == 1 and stopper.records[-1]["stopped"]


def test_model_without_rectifiers_warns_and_logs_nothing():
    model = actkeras.build_model("sigmoid", preset="mlp", units=4, depth=1, input_shape=(6,),
                                 num_classes=3)  # fmt: skip
    monitor = DeadReLUMonitor(probe_data=X)
    with pytest.warns(UserWarning, match="no rectifier"):
        history = model.fit(X, Y, epochs=1, verbose=0, callbacks=[monitor])
    assert monitor.records == [] and "dead_fraction" not in history.history


def test_every_n_batches_and_tf_data_input():
    model = actkeras.build_model("relu", preset="mlp", units=8, depth=2, input_shape=(6,),
                                 num_classes=3, steps_per_execution=1)  # fmt: skip
    monitors = [DeadReLUMonitor(probe_data=(X, Y), every=3, threshold=1.0),
                GradientNormLogger(probe_data=(X, Y), every=3)]  # fmt: skip
    if importlib.util.find_spec("tensorflow") is not None:
        import tensorflow as tf

        model.fit(tf.data.Dataset.from_tensor_slices((X, Y)).batch(8), epochs=2, verbose=0,
                  callbacks=monitors)  # fmt: skip
    else:
        model.fit(X, Y, batch_size=8, epochs=2, verbose=0, callbacks=monitors)
    for monitor in monitors:  # 8 batches an epoch: steps 3, 6 | 9, 12, 15, then epoch ends 8, 16
        steps = [(r["trigger"], r["step"]) for r in monitor.records]
        assert steps == [("batch_end", 3), ("batch_end", 6), ("epoch_end", 8), ("batch_end", 9),
                         ("batch_end", 12), ("batch_end", 15), ("epoch_end", 16)]  # fmt: skip
    # An epoch ending on a multiple of `every`: both schedules' records at its last step, with
    # the same numbers (the documented doubling).
    monitor = GradientNormLogger(probe_data=(X, Y), every=4)
    model.fit(X, Y, batch_size=8, epochs=1, verbose=0, callbacks=[monitor])
    assert [(r["trigger"], r["step"]) for r in monitor.records] == [
        ("batch_end", 20), ("batch_end", 24), ("epoch_end", 24)]
    last, end = monitor.records[-2:]
    assert {k: v for k, v in last.items() if k != "trigger"} == \
        {k: v for k, v in end.items() if k != "trigger"}
    # Without `every` the batch hook stays Keras's default (async dispatch kept).
    assert getattr(DeadReLUMonitor().on_train_batch_end, "_is_default", False)
    assert not getattr(monitors[0].on_train_batch_end, "_is_default", False)


# Probe data and bad input.


def test_probe_is_bounded_whatever_the_source():
    big = np.zeros((10_000, 6), "float32")
    assert len(take_probe(big, 100)) == 100

    def endless():
        while True:
            yield np.ones((7, 6), "float32"), np.zeros(7)

    probe = take_probe(endless(), 20)
    assert len(probe) == 20 and probe.y.shape == (20,)
    if importlib.util.find_spec("tensorflow") is not None:
        import tensorflow as tf

        dataset = tf.data.Dataset.from_tensor_slices((big, np.zeros(10_000))).batch(64).repeat()
        monitor = DeadReLUMonitor(probe_data=dataset, probe_size=100)
        assert len(monitor.probe) == 100
        copy.deepcopy(monitor)  # a tf.data.Dataset cannot be deep-copied: only the sample is kept


def test_bad_arguments_name_the_argument():
    for kwargs, name in [({"every": 0}, "every"), ({"every": -2}, "every"),
                         ({"every": 1.5}, "every"), ({"probe_size": 0}, "probe_size"),
                         ({"threshold": 1.5}, "threshold"), ({"stop_above": -1}, "stop_above"),
                         ({"probe_data": np.zeros((0, 6))}, "probe_data"),
                         ({"probe_data": iter([])}, "probe_data")]:  # fmt: skip
        with pytest.raises(ValueError, match=f"Received: {name}"):
            DeadReLUMonitor(**kwargs)
    for layers in ([], [3], 3.5):
        with pytest.raises(ValueError, match="Received: layers"):
            GradientNormLogger(layers=layers)
    with pytest.raises(ValueError, match="Received: include_outputs"):
        DeadReLUMonitor(include_outputs="no")
    with pytest.raises(ValueError, match="Received: histograms"):
        ActivationStats(histograms="yes")


def test_numpy_numbers_are_numbers_to_every_check():
    """One family of checks (`actkeras.checks`): the monitors, the registry's activation
    arguments and `build_model` take NumPy's integers and floats like Python's."""
    monitor = DeadReLUMonitor(probe_data=X, probe_size=np.int64(8), every=np.int32(2),
                              threshold=np.float32(0.5))  # fmt: skip
    assert len(monitor.probe) == 8 and monitor.every == 2
    layer = actkeras.get_activation("leaky_relu", {"negative_slope": np.float32(0.2)})
    assert layer.negative_slope == pytest.approx(0.2)
    model = actkeras.build_model("relu", preset="mlp", units=np.int64(4), depth=np.int64(1),
                                 input_shape=(6,), num_classes=3, seed=np.int64(1))  # fmt: skip
    assert model.get_layer("dense_0").units == 4
    for call, name in [(lambda: actkeras.build_model("relu", seed=np.float64(1.5)), "seed"),
                       (lambda: actkeras.get_activation("leaky_relu", {"negative_slope": "x"}),
                        "negative_slope"),
                       (lambda: DeadReLUMonitor(probe_size=np.float64(8.0)), "probe_size")]:
        with pytest.raises(ValueError, match=f"Received: {name}="):
            call()


@pytest.mark.parametrize("monitor", [DeadReLUMonitor, GradientNormLogger, ActivationStats])
def test_bad_data_fails_at_train_begin_naming_probe_data(monitor):
    model = actkeras.build_model("relu", preset="mlp", units=4, depth=1, input_shape=(6,),
                                 num_classes=3)  # fmt: skip
    with pytest.raises(ValueError, match="probe_data"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[monitor()])  # no probe data at all
    with pytest.raises(ValueError, match="probe_data"):
        model.fit(X, Y, epochs=1, verbose=0,
                  callbacks=[monitor(probe_data=(np.zeros((5, 7)), Y[:5]))])  # fmt: skip
    if monitor is GradientNormLogger:
        with pytest.raises(ValueError, match="probe_data"):  # no targets
            model.fit(X, Y, epochs=1, verbose=0, callbacks=[monitor(probe_data=X)])
        with pytest.raises(ValueError, match="Received: layers"):
            model.fit(X, Y, epochs=1, verbose=0,
                      callbacks=[monitor(probe_data=(X, Y), layers=["nope"])])  # fmt: skip


def test_subclassed_model_is_measured_like_a_functional_one():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = keras.layers.Dense(10, activation="relu", name="hidden")
            self.out = keras.layers.Dense(3, name="out")

        def call(self, x):
            return self.out(self.hidden(x))

    model = _compile(Net())
    model(X[:1])
    _force(model.hidden, 3)
    monitors = [DeadReLUMonitor(probe_data=X, threshold=1.0), ActivationStats(probe_data=X),
                GradientNormLogger(probe_data=(X, Y))]  # fmt: skip
    model.fit(X, Y, epochs=1, verbose=0, callbacks=monitors)
    assert monitors[0].records[-1]["layers"]["hidden"]["fraction"] == 3 / 10
    assert monitors[1].records[-1]["layers"]["hidden"]["zero_fraction"] == pytest.approx(0.3)
    assert list(monitors[2].records[-1]["layers"]) == ["hidden", "out"]


# GradientNormLogger.


@pytest.fixture
def float64():
    previous = keras.config.floatx(), keras.config.dtype_policy()
    if BACKEND == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_floatx(previous[0])
    keras.config.set_dtype_policy(previous[1])
    if BACKEND == "jax":
        import jax

        jax.config.update("jax_enable_x64", False)


def _numpy_loss(w1, b1, w2, b2, x, y, l2):
    logits = np.tanh(x @ w1 + b1) @ w2 + b2
    top = logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    return np.mean(log_norm - logits[np.arange(len(y)), y]) + l2 * np.sum(w1 * w1)


def test_gradient_norms_match_finite_differences(float64):
    l2 = 0.01
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(4, activation="tanh", name="hidden",
                                kernel_regularizer=keras.regularizers.L2(l2))(inputs)  # fmt: skip
    model = _compile(keras.Model(inputs, keras.layers.Dense(3, name="out")(hidden)))
    x, y = RNG.normal(size=(16, 3)), np.arange(16) % 3
    logger = GradientNormLogger(probe_data=(x, y))
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[logger])  # learning rate 0
    weights = [np.asarray(w, "float64") for w in model.get_weights()]
    norms = {}
    eps = 1e-6
    for k, path in enumerate(["hidden/kernel", "hidden/bias", "out/kernel", "out/bias"]):
        grad = np.zeros_like(weights[k])
        for index in np.ndindex(grad.shape):
            plus, minus = [w.copy() for w in weights], [w.copy() for w in weights]
            plus[k][index] += eps
            minus[k][index] -= eps
            grad[index] = (_numpy_loss(*plus, x, y, l2) - _numpy_loss(*minus, x, y, l2)) / (2 * eps)
        norms[path] = np.linalg.norm(grad)
    record = logger.records[-1]
    for path, norm in norms.items():
        assert record["weights"][path] == pytest.approx(norm, rel=1e-6)
    assert record["global"] == pytest.approx(np.sqrt(sum(n**2 for n in norms.values())), rel=1e-6)
    hidden = np.hypot(norms["hidden/kernel"], norms["hidden/bias"])
    assert record["layers"]["hidden"] == pytest.approx(hidden, rel=1e-6)
    assert record["first_last_ratio"] == pytest.approx(
        record["layers"]["hidden"] / record["layers"]["out"], rel=1e-12
    )


def test_measuring_gradients_does_not_change_the_model():
    inputs = keras.Input((6,))
    x = keras.layers.Dense(8, name="d")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Dropout(0.5, seed=1)(keras.layers.ReLU()(x))
    model = _compile(keras.Model(inputs, keras.layers.Dense(3, name="out")(x)))
    logger = GradientNormLogger(probe_data=(X * 10 + 3, Y), layers=["d", "out"])
    before = [np.array(v) for v in model.get_weights()]
    logger.set_model(model)
    logger.on_train_begin()
    logs = {}
    logger.on_epoch_end(0, logs)
    logger.on_train_end()
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert set(logs) == {"grad_norm/global", "grad_norm/d", "grad_norm/out", "gradient_ratio"}
    assert list(logger.records[-1]["layers"]) == ["d", "out"]


def _ratio(activation):
    model = actkeras.build_model(activation, preset="mlp", units=16, depth=10, input_shape=(6,),
                                 num_classes=3, initializer="he_normal", seed=3,
                                 learning_rate=1e-12)  # fmt: skip
    logger = GradientNormLogger(probe_data=(X, Y))
    model.fit(X, Y, epochs=1, batch_size=64, verbose=0, callbacks=[logger])
    return logger.records[-1]["first_last_ratio"], logger.records


def test_sigmoid_gradient_vanishes_orders_of_magnitude_more_than_relu():
    relu, relu_records = _ratio("relu")
    sigmoid, sigmoid_records = _ratio("sigmoid")
    assert sigmoid < relu / 100, (sigmoid, relu)
    assert len(relu_records[-1]["layers"]) == 11  # 10 hidden layers + the output
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from actkeras.plots import plot_gradient_norms

    ax = plot_gradient_norms({"relu": relu_records, "sigmoid": sigmoid_records})
    assert ax.get_yscale() == "log" and len(ax.get_lines()) == 2
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend()


def test_gradients_compiled_agree_with_eager_and_are_stateless():
    from actkeras.callbacks import _gradients

    def model_(run_eagerly):
        keras.utils.set_random_seed(0)
        inputs = keras.Input((6,))
        h = keras.layers.BatchNormalization()(keras.layers.Dense(8, activation="relu")(inputs))
        model = keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dropout(0.5)(h)))
        model.compile(optimizer="sgd", run_eagerly=run_eagerly,
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    compiled_model, eager_model = model_(False), model_(True)
    before = [np.array(v) for v in compiled_model.get_weights()]
    norms = _gradients.GradientFunction(compiled_model, "training", X, Y)
    eager = _gradients.GradientFunction(eager_model, "training", X, Y)
    assert norms.compiled and not eager.compiled
    compiled, by_hand = norms(X, Y), eager(X, Y)
    assert by_hand.shape == (len(eager_model.trainable_variables),) and (by_hand > 0).all()
    np.testing.assert_allclose(compiled, by_hand, rtol=1e-5)
    np.testing.assert_array_equal(norms(X, Y), compiled)  # Dropout off, BatchNorm unchanged
    for old, new in zip(before, compiled_model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_monitors_compile_once_per_model_and_new_monitors_reuse_it():
    from actkeras.callbacks._backend import _COMPILED

    model = actkeras.build_model("relu", preset="mlp", units=8, depth=2, input_shape=(6,),
                                 num_classes=3)  # fmt: skip
    first = [DeadReLUMonitor(X), ActivationStats(X), GradientNormLogger((X, Y))]
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0, callbacks=first)
    functions = dict(_COMPILED[model])
    # One pass per reduction (dead units, statistics) and one gradient.
    assert len(functions) == 3
    assert [f.info["traces"] for f in functions.values()] == [1, 1, 1]
    again = [DeadReLUMonitor(X), ActivationStats(X), GradientNormLogger((X, Y))]
    model.fit(X, Y, epochs=2, batch_size=16, verbose=0, callbacks=again)
    assert _COMPILED[model] == functions  # the same functions, none traced again
    assert [f.info["traces"] for f in functions.values()] == [1, 1, 1]
    # The reused functions measure the model as it is now: the same numbers as new
    # monitors on a copy of the model that shares nothing with it.
    copy_ = keras.models.clone_model(model)
    copy_.set_weights(model.get_weights())
    _compile(copy_)
    fresh = [DeadReLUMonitor(X), ActivationStats(X), GradientNormLogger((X, Y))]
    copy_.fit(X, Y, epochs=1, verbose=0, callbacks=fresh)
    # (copy_ trained one epoch at learning rate 0, so its weights are model's.)
    assert fresh[0].records[0]["layers"] == again[0].records[-1]["layers"]
    for name, stats in again[1].records[-1]["layers"].items():
        assert stats["mean"] == pytest.approx(fresh[1].records[0]["layers"][name]["mean"],
                                              rel=1e-6)
    smaller = [DeadReLUMonitor(X[:50]), ActivationStats(X[:40])]
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0, callbacks=smaller)
    assert _COMPILED[model] == functions
    # On TensorFlow one trace serves every probe size; JAX traces each new shape.
    expected = [2, 2, 1] if BACKEND == "jax" else [1, 1, 1]
    assert [f.info["traces"] for f in functions.values()] == expected


class _ReadsValues(keras.layers.Layer):
    """Passes `x` through where it can read its values; traced (no values), it gives
    zeros. A layer of the kind only `run_eagerly=True` runs as written."""

    def call(self, x):
        try:
            float(keras.ops.max(x))
        except Exception:  # a tracer: jax.jit or Keras's symbolic build
            return x * 0.0
        return x

    def compute_output_shape(self, input_shape):
        return input_shape


def test_monitors_run_eagerly_on_a_model_its_user_runs_eagerly():
    from actkeras.callbacks._backend import _COMPILED

    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")
    model = keras.Model(inputs, keras.layers.Dense(3)(hidden(_ReadsValues()(inputs))))
    model.compile(optimizer=keras.optimizers.SGD(0.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  run_eagerly=True)  # fmt: skip
    monitors = [DeadReLUMonitor(X), GradientNormLogger((X, Y))]
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0, callbacks=monitors)
    kernel, bias = (np.asarray(w) for w in hidden.get_weights())
    dead = int(np.all(X @ kernel + bias <= 0, axis=0).sum())  # counted on the real values
    assert dead < 8
    assert monitors[0].records[-1]["layers"]["hidden"]["inactive_units"] == dead
    assert monitors[1].records[-1]["layers"]["hidden"] > 0  # zeros in would give no gradient
    assert not _COMPILED.get(model)


def test_compiled_pass_is_freed_with_its_model():
    import gc
    import weakref

    from actkeras.callbacks._backend import _COMPILED

    model = actkeras.build_model("relu", preset="mlp", units=8, depth=1, input_shape=(6,),
                                 num_classes=3)  # fmt: skip
    model.fit(X, Y, epochs=1, batch_size=16, verbose=0,
              callbacks=[DeadReLUMonitor(X), GradientNormLogger((X, Y))])
    assert model in _COMPILED
    ref = weakref.ref(model)
    count = len(_COMPILED)
    del model
    gc.collect()
    assert ref() is None and len(_COMPILED) <= count - 1  # (other tests' models may go too)


# ActivationStats.


def test_activation_stats_match_numpy():
    inputs = keras.Input((4,))
    identity = keras.layers.Dense(4, kernel_initializer="identity", name="identity")
    h = identity(inputs)
    r = keras.layers.ReLU(name="relu")(h)
    s = actkeras.Sigmoid(name="sigmoid")(keras.layers.Dense(4, kernel_initializer="identity")(r))
    t = keras.layers.Dense(4, kernel_initializer="identity")(h)
    t = keras.layers.Activation("tanh", name="tanh")(t)
    outputs = keras.layers.Dense(3)(keras.layers.Concatenate()([s, t]))
    model = _compile(keras.Model(inputs, outputs))
    x = np.array([[-10, 0, 10, 2], [3, -1, 0, 10], [0, 0, 0, 0]] * 4, "float32")
    stats = ActivationStats(probe_data=x, histograms=True)
    history = model.fit(x, Y[:12], epochs=1, verbose=0, callbacks=[stats])
    layers = stats.records[-1]["layers"]
    relu, sig, tanh = np.maximum(x, 0), 1 / (1 + np.exp(-np.maximum(x, 0))), np.tanh(x)
    assert layers["relu"]["mean"] == pytest.approx(relu.mean(), rel=1e-6)
    assert layers["relu"]["std"] == pytest.approx(relu.std(), rel=1e-5)
    assert layers["relu"]["zero_fraction"] == np.mean(relu == 0)
    assert layers["relu"]["saturated_fraction"] is None
    assert layers["sigmoid"]["saturated_fraction"] == np.mean(4 * sig * (1 - sig) < 0.01) == 1 / 6
    assert layers["tanh"]["saturated_fraction"] == np.mean(1 - tanh**2 < 0.01) == 1 / 3
    assert history.history["act_zero_fraction/relu"] == [layers["relu"]["zero_fraction"]]
    assert "act_saturated_fraction/tanh" in history.history
    assert sum(layers["tanh"]["histogram"]["counts"]) == x.size


# Common: TensorBoard, deep copies, reuse, actkeras.fit, plots.


def _event_values(folder, tag, kind):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    reader = EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0,
                                                         "tensors": 0})  # fmt: skip
    reader.Reload()
    if kind == "tensors":
        from tensorboard.util import tensor_util

        return [float(tensor_util.make_ndarray(e.tensor_proto)) for e in reader.Tensors(tag)]
    return getattr(reader, kind)(tag)


def test_own_tensorboard_events_read_back_by_tensorboard(tmp_path):
    pytest.importorskip("tensorboard")
    model = _every_kind_model()
    monitors = [DeadReLUMonitor(probe_data=(X, Y), threshold=1.0, log_dir=tmp_path),
                ActivationStats(probe_data=X, histograms=True, log_dir=tmp_path),
                GradientNormLogger(probe_data=(X, Y), log_dir=tmp_path)]  # fmt: skip
    model.fit(X, Y, epochs=2, batch_size=32, verbose=0, callbacks=monitors)
    scalars = _event_values(tmp_path, "dead_fraction/fused", "Scalars")
    assert [(e.step, round(e.value, 6)) for e in scalars] == [(2, 0.3), (4, 0.3)]
    assert len(_event_values(tmp_path, "grad_norm/global", "Scalars")) == 2
    histograms = _event_values(tmp_path, "activations/keras_relu", "Histograms")
    assert len(histograms) == 2 and histograms[-1].histogram_value.num == NUM_SAMPLES * 8


@needs_tf
def test_keras_tensorboard_callback_receives_the_scalars(tmp_path):
    pytest.importorskip("tensorboard")
    model = _every_kind_model()
    model.fit(X, Y, epochs=2, verbose=0,
              callbacks=[DeadReLUMonitor(probe_data=X, threshold=1.0),
                         keras.callbacks.TensorBoard(str(tmp_path))])  # fmt: skip
    values = _event_values(tmp_path / "train", "epoch_dead_fraction/fused", "tensors")
    assert values == pytest.approx([0.3, 0.3])


def test_deep_copy_and_reuse_across_fits():
    model = _every_kind_model()
    monitors = [DeadReLUMonitor(probe_data=(X, Y), threshold=1.0),
                GradientNormLogger(probe_data=(X, Y)),
                ActivationStats(probe_data=X, histograms=True, every=1)]  # fmt: skip
    copies = copy.deepcopy(monitors)  # as keras-tuner does for every trial
    model.fit(X, Y, epochs=1, batch_size=32, verbose=0, callbacks=copies)
    model.fit(X, Y, epochs=2, batch_size=32, verbose=0, callbacks=copies)  # reused
    assert [r["epoch"] for r in copies[0].records] == [1, 2]  # reset at on_train_begin
    assert copies[0].records[-1]["step"] == 6  # the optimizer's count, across fits
    assert all(m.records == [] for m in monitors)  # the originals were never used
    assert len(copies[2].records) == 2 * 3  # every=1: 2 batches + the epoch end, 2 epochs
    copy.deepcopy(copies)  # still copyable after training


def test_actkeras_fit_passes_a_validation_sample():
    model = actkeras.build_model("relu", preset="mlp", units=8, depth=2, input_shape=(6,),
                                 num_classes=3, epochs=1)  # fmt: skip
    data = SimpleNamespace(x_train=X, y_train=Y, x_valid=X[:20], y_valid=Y[:20],
                           x_test=X[:0], y_test=Y[:0])  # fmt: skip
    monitors = [DeadReLUMonitor(threshold=1.0), GradientNormLogger(), ActivationStats()]
    history = actkeras.fit(model, data, callbacks=monitors, verbose=0)
    assert all(len(m.records) == 1 for m in monitors)
    assert {"dead_fraction", "gradient_ratio", "act_mean/activation_0"} <= set(history.history)
    assert monitors[2].records[-1]["layers"]["activation_1"]["family"] == "rectifier"


def test_plots_take_records_and_an_axis():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from actkeras import plots

    model = _every_kind_model()
    dead = DeadReLUMonitor(probe_data=X, threshold=1.0)
    stats = ActivationStats(probe_data=X, histograms=True)
    history = model.fit(X, Y, epochs=2, verbose=0, validation_data=(X, Y), callbacks=[dead, stats])
    fig, axes = plt.subplots(1, 3)
    assert plots.plot_dead_fraction(dead.records, ax=axes[0]) is axes[0]
    assert len(axes[0].get_lines()) == 6 + 2  # six layers, overall dead and inactive
    plots.plot_activation_histograms(stats.records, ax=axes[1])
    plots.plot_history({"relu": history, "again": history.history}, "val_loss", ax=axes[2])
    for ax in axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel() and ax.get_legend()
    plt.close(fig)
    with pytest.raises(ValueError, match="records"):
        plots.plot_dead_fraction([])
    with pytest.raises(ValueError, match="histograms=True"):
        plots.plot_activation_histograms([{"epoch": 1, "layers": {"a": {}}}])
    with pytest.raises(ValueError, match="metric"):
        plots.plot_history({"relu": history}, "nope")
    plt.close("all")
