"""The monitors on models nobody here wrote: subclassed, nested, shared layers, callable
activations, BatchNorm in training and inference mode, every `keras.applications` family.

Every number is checked against a count made by hand from intermediate outputs in the
same mode (NumPy formulas, or Keras models that return the intermediate tensors), never
against the monitors' own machinery. The `keras.applications` tests are `slow`.
"""

import csv
import re
import time
import warnings

import keras
import numpy as np
import pytest
from keras import ops

import actkeras
from actkeras.callbacks import (
    ActivationStats,
    DeadReLUMonitor,
    GradientNormLogger,
    find_activation_layers,
)

NUM_SAMPLES = 64
RNG = np.random.default_rng(1)
X = RNG.uniform(0, 1, size=(NUM_SAMPLES, 6)).astype("float32")
Y = (np.arange(NUM_SAMPLES) % 3).astype("int32")


def _compile(model, learning_rate=0.0, **kwargs):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(), **kwargs)  # fmt: skip
    return model


def _force(layer, dead, live_bias=5.0, capped=0):
    """Tiny kernel; bias -100 on the first `dead` units, +100 on the next `capped`, +5 elsewhere."""
    kernel = RNG.uniform(-0.01, 0.01, size=layer.kernel.shape)
    bias = np.full(layer.bias.shape, live_bias)
    bias[:dead] = -100.0
    bias[dead : dead + capped] = 100.0
    layer.kernel.assign(kernel.astype(layer.kernel.dtype))
    layer.bias.assign(bias.astype(layer.bias.dtype))


def _dead(pre, threshold=0.0):
    """Units (last axis) whose pre-activation is <= threshold for every sample, by hand."""
    pre = np.asarray(pre).reshape(-1, np.shape(pre)[-1])
    return int((pre.max(axis=0) <= threshold).sum()), pre.shape[1]


def _fit(model, monitors, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, Y, epochs=1, batch_size=32, verbose=0, callbacks=monitors, **kwargs)


def _numpy_batchnorm(z, bn, training):
    gamma, beta, moving_mean, moving_var = (np.asarray(w) for w in bn.get_weights())
    mean, var = (z.mean(axis=0), z.var(axis=0)) if training else (moving_mean, moving_var)
    return (z - mean) / np.sqrt(var + bn.epsilon) * gamma + beta


# Subclassed models.


class _Net(keras.Model):
    """Dense -> BatchNorm -> Dropout -> ReLU layer, then Dense with keras.ops.relu in call()."""

    def __init__(self):
        super().__init__(name="net")
        self.d1 = keras.layers.Dense(12, name="d1")
        self.bn = keras.layers.BatchNormalization(name="bn")
        self.drop = keras.layers.Dropout(0.5, name="drop")
        self.act = keras.layers.ReLU(name="act")
        self.d2 = keras.layers.Dense(8, name="d2")
        self.out = keras.layers.Dense(3, activation="softmax", name="out")

    def call(self, x, training=None):
        h = self.act(self.drop(self.bn(self.d1(x), training=training), training=training))
        return self.out(ops.relu(self.d2(h)))


def _net():
    model = _compile(_Net(), learning_rate=0.0)
    model(X[:2])
    # BatchNorm: beta -100 kills units 0-1 in both modes; moving mean +50 on units 2-5
    # kills them in inference mode only (the batch mean is near 0.5 * kernel sums).
    gamma, beta, mean, var = (np.asarray(w) for w in model.bn.get_weights())
    beta[:2] = -100.0
    mean[2:6] = 50.0
    model.bn.set_weights([gamma, beta, mean, var])
    model.bn.momentum = 1.0  # fit leaves the moving statistics where they are
    return model


@pytest.mark.parametrize("mode", ["training", "inference"])
def test_subclassed_model_matches_a_hand_count_in_each_mode(mode):
    model = _net()
    monitors = [DeadReLUMonitor(probe_data=(X, Y), threshold=1.0, mode=mode),
                ActivationStats(probe_data=X, mode=mode)]  # fmt: skip
    with pytest.warns(UserWarning, match=r"Net 'net' calls relu inside call\(\)"):
        history = model.fit(X, Y, epochs=1, verbose=0, callbacks=monitors)
    # By hand: the BatchNorm formula in the same mode, Dropout off, on the whole probe.
    z = X @ np.asarray(model.d1.kernel) + np.asarray(model.d1.bias)
    pre = _numpy_batchnorm(z, model.bn, training=mode == "training")
    dead, units = _dead(pre)
    # Units 0-1 dead in both modes, 2-5 in inference mode only (and any the kernel kills).
    assert units == 12 and (dead == 2 if mode == "training" else dead >= 6)
    record = monitors[0].records[-1]
    assert record["mode"] == mode and record["layers"]["act"]["inactive_units"] == dead
    assert history.history["dead_fraction/act"] == [dead / units]
    stats = monitors[1].records[-1]["layers"]["act"]
    relu = np.maximum(pre, 0)
    assert stats["zero_fraction"] == pytest.approx(np.mean(relu == 0), abs=1e-12)
    assert stats["mean"] == pytest.approx(relu.mean(), rel=1e-4)  # Dropout was off
    assert list(monitors[1].records[-1]["layers"]) == ["act"]  # the softmax output is not hidden


def test_measuring_changes_no_variable_of_the_model():
    model = _net()
    model.bn.momentum = 0.5  # a training-mode pass that updated would move them a lot
    before = [np.array(w) for w in model.get_weights()]
    for monitor in (DeadReLUMonitor(probe_data=X * 10, threshold=1.0),
                    ActivationStats(probe_data=X * 10),
                    GradientNormLogger(probe_data=(X * 10, Y))):  # fmt: skip
        monitor.set_model(model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            monitor.on_train_begin()
        monitor.on_epoch_end(0, {})
        monitor.on_train_end()
        assert monitor.records
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_never_built_subclassed_model_is_built_from_the_probe_or_says_why():
    # Outside `fit`, nothing builds the model at on_train_begin: the monitor waits for
    # its first measurement and only then builds it from the probe, the only data there is.
    model = _compile(_Net())
    assert not model.built
    monitor = DeadReLUMonitor(probe_data=X, threshold=1.0)
    monitor.set_model(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        monitor.on_train_begin()
        assert not model.built and not monitor._active
        monitor.on_epoch_end(0, {})
    assert model.built and monitor._active and monitor.records[-1]["layers"]["act"]["units"] == 12
    wrong = DeadReLUMonitor(probe_data=np.zeros((4, 5), "float32"))
    wrong.set_model(_net())  # built for 6 features
    with pytest.raises(ValueError, match=r"Could not run the model 'net' on the probe data"
                                         r".*expected axis -1 of input shape to have value 6"
                                         r".*Received: probe_data with samples of shape \(5,\)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wrong.on_train_begin()


@pytest.mark.parametrize("kind", ["sequential", "subclassed"])
@pytest.mark.parametrize("monitor", [DeadReLUMonitor, ActivationStats, GradientNormLogger])
def test_a_wrong_probe_never_touches_a_model_fit_has_yet_to_build(kind, monitor):
    """A probe shaped unlike the training data fails at on_train_begin, naming `probe_data`,
    before anything is built: the same model then trains without the monitor."""
    if kind == "sequential":  # no Input: built from the first batch it sees
        model = _compile(keras.Sequential([keras.layers.Dense(8, activation="relu"),
                                           keras.layers.Dense(3)]))  # fmt: skip
    else:
        model = _compile(_Net())
    x, y = X[:, :4], Y  # trained on 4 features
    expected = (r"`probe_data` is not shaped like the training data: each training sample's "
                r"inputs have shape \(4,\), the probe's \(6,\).*Received: probe_data inputs of "
                r"shape \(64, 6\)")
    if keras.backend.backend() == "jax":  # `fit` built the model from its data: its inputs say
        expected = (r"(`probe_data` does not fit the model's input: each sample should have "
                    r"shape \(4,\)|(Could not run the model 'net' on the probe data|Gradient"
                    r"NormLogger could not compute model 'net''s training loss on `probe_data`) "
                    r".*have value 4.*Received: probe_data with (samples|inputs) of shape \(6,\))")
    with pytest.raises(ValueError, match=expected):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[monitor(probe_data=(X, Y))])
    # Nothing was done to it (on JAX `fit` builds a model from its data before the callbacks).
    assert not model.built or keras.backend.backend() == "jax"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, y, epochs=1, verbose=0)  # and it trains on its own data
        right = monitor(probe_data=(x, y))
        model.fit(x, y, epochs=1, verbose=0, callbacks=[right])
    assert model.layers[0].kernel.shape[0] == 4 and right.records


# Nested models and shared layers.


def _nested():
    layers = keras.layers
    innermost = keras.Sequential([layers.Dense(5, name="d_in"), layers.ReLU(name="r_in")],
                                 name="innermost")  # fmt: skip
    inputs = keras.Input((7,))
    h = layers.Dense(7, activation="relu", name="d_mid")(inputs)
    middle = keras.Model(inputs, innermost(h), name="middle")
    outer_in = keras.Input((6,))
    h = middle(layers.Dense(7, activation="relu", name="d_top")(outer_in))
    model = _compile(keras.Model(outer_in, layers.Dense(3, activation="softmax", name="out")(h)))
    _force(model.get_layer("d_top"), 1)
    _force(middle.get_layer("d_mid"), 2)
    _force(innermost.get_layer("d_in"), 4)
    return model, middle, innermost


def test_nested_models_are_measured_at_every_depth():
    model, middle, innermost = _nested()
    monitors = [DeadReLUMonitor(probe_data=(X, Y), threshold=1.0), ActivationStats(probe_data=X),
                GradientNormLogger(probe_data=(X, Y))]  # fmt: skip
    history = _fit(model, monitors)
    # By hand: the intermediate tensors, read through the nested graphs.
    top = keras.Model(model.input, model.get_layer("d_top").output)(X)
    mid = keras.Model(middle.input, middle.get_layer("d_mid").output)(top)
    inner = keras.Model(innermost.inputs, innermost.get_layer("d_in").output)(mid)
    expected = {"d_top": _dead(top), "middle/d_mid": _dead(mid),
                "middle/innermost/r_in": _dead(inner)}  # fmt: skip
    assert expected == {"d_top": (1, 7), "middle/d_mid": (2, 7), "middle/innermost/r_in": (4, 5)}
    layers = monitors[0].records[-1]["layers"]
    assert {n: (i["inactive_units"], i["units"]) for n, i in layers.items()} == expected
    assert history.history["dead_fraction"] == [7 / 19]
    assert set(monitors[1].records[-1]["layers"]) == set(expected)
    assert list(monitors[2].records[-1]["layers"]) == [
        "d_top", "middle/d_mid", "middle/innermost/d_in", "out"]  # fmt: skip


def test_a_shared_layer_is_measured_at_each_call():
    shared = keras.layers.ReLU(name="shared")
    inputs = keras.Input((6,))
    first = keras.layers.Dense(8, name="first")(inputs)
    second = keras.layers.Dense(12, name="second")(shared(first))
    model = _compile(keras.Model(inputs, keras.layers.Dense(3, name="out")(shared(second))))
    _force(model.get_layer("first"), 2)
    _force(model.get_layer("second"), 5, live_bias=-0.02)  # 5 dead, the rest fire on some inputs
    monitor = DeadReLUMonitor(probe_data=X, threshold=1.0)
    stats = ActivationStats(probe_data=X)
    history = _fit(model, [monitor, stats])
    a, b = keras.Model(inputs, [first, second])(X)  # pre-activations of the two calls, by hand
    layers = monitor.records[-1]["layers"]
    assert (layers["shared.call1"]["inactive_units"], layers["shared.call1"]["units"]) == _dead(a)
    assert (layers["shared.call2"]["inactive_units"], layers["shared.call2"]["units"]) == _dead(b)
    assert _dead(a) == (2, 8) and _dead(b)[1] == 12 and _dead(b)[0] >= 5
    assert "dead_fraction/shared.call2" in history.history
    zero = stats.records[-1]["layers"]["shared.call2"]["zero_fraction"]
    assert zero == pytest.approx(np.mean(np.asarray(b) <= 0))


# Activations given as callables, Lambda layers, ReLU6.


def test_callable_activations_lambda_and_relu6_cap():
    inputs = keras.Input((6,))
    layer_act = keras.layers.Dense(6, activation=keras.layers.ReLU(), name="layer_act")
    fn_act = keras.layers.Dense(6, activation=keras.ops.relu, name="fn_act")
    capped = keras.layers.Dense(8, activation="relu6", name="capped")
    lam_pre = keras.layers.Dense(5, name="lam_pre")
    opaque = keras.layers.Dense(4, activation=lambda t: ops.relu(t), name="opaque")
    h = capped(fn_act(layer_act(inputs)))
    h = keras.layers.Lambda(keras.ops.relu, name="lam")(lam_pre(h))
    model = _compile(keras.Model(inputs, keras.layers.Dense(3, name="out")(opaque(h))))
    _force(layer_act, 1)
    _force(fn_act, 2)
    _force(capped, 3, capped=2)  # 3 dead, 2 stuck at the cap of 6
    _force(lam_pre, 4)
    monitor = DeadReLUMonitor(probe_data=X, threshold=1.0)
    with pytest.warns(UserWarning) as caught:
        history = _fit_raw(model, [monitor])
    messages = " | ".join(str(w.message) for w in caught)
    assert "Lambda layer 'lam'" in messages and "Dense 'opaque' calls relu" in messages
    # By hand: the pre-activations of every site.
    names = ["layer_act", "fn_act", "capped", "lam_pre"]
    outs = keras.Model(inputs, [model.get_layer(n).output for n in names])(X)
    pres = []
    previous = X
    for name, out in zip(names, outs):
        layer = model.get_layer(name)
        pres.append(previous @ np.asarray(layer.kernel) + np.asarray(layer.bias))
        previous = np.asarray(out)
    layers = monitor.records[-1]["layers"]
    keys = ["layer_act/re_lu", "fn_act", "capped", "lam"]  # the ReLU's stable name
    assert {k: layers[k]["inactive_units"] for k in keys} == {
        k: _dead(p)[0] for k, p in zip(keys, pres)} == dict(zip(keys, [1, 2, 3, 4]))  # fmt: skip
    stuck = int((pres[2].min(axis=0) >= 6).sum())
    assert layers["capped"]["capped_units"] == stuck == 2
    assert history.history["capped_fraction/capped"] == [2 / 8]
    assert "opaque" not in layers


def _fit_raw(model, monitors):
    return model.fit(X, Y, epochs=1, batch_size=32, verbose=0, callbacks=monitors)


# Probe data of any form, and bad input.


class _Batches(keras.utils.PyDataset):
    def __init__(self):
        super().__init__()

    def __len__(self):
        return 4

    def __getitem__(self, index):
        if index >= 4:
            raise IndexError(index)
        return X[index * 16 : (index + 1) * 16], Y[index * 16 : (index + 1) * 16]


def _probes():
    probes = {"arrays": (X, Y), "x only": X, "PyDataset": _Batches()}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        probes["tf.data batched"] = tf.data.Dataset.from_tensor_slices((X, Y)).batch(16)
        probes["tf.data unbatched"] = tf.data.Dataset.from_tensor_slices((X, Y))
    return probes


@pytest.mark.parametrize("name", list(_probes()))
def test_probe_data_of_any_form_gives_the_same_numbers(name):
    model, _, _ = _nested()
    reference = DeadReLUMonitor(probe_data=(X, Y), threshold=1.0)
    monitor = DeadReLUMonitor(probe_data=_probes()[name], threshold=1.0)
    logger = GradientNormLogger(probe_data=_probes()[name])
    if name == "x only":
        with pytest.raises(ValueError, match="needs targets.*Received: probe_data="):
            _fit_raw(model, [logger])
        logger = GradientNormLogger(probe_data=(X, Y))
    _fit(model, [reference, monitor, logger])
    assert monitor.records[-1]["layers"] == reference.records[-1]["layers"]
    assert logger.records[-1]["global"] > 0


def test_bad_probe_data_and_models_say_what_was_received():
    with pytest.raises(ValueError, match="Received: probe_data=str"):
        DeadReLUMonitor(probe_data="images/")
    with pytest.raises(ValueError, match="Received: probe_data=.*object array"):
        DeadReLUMonitor(probe_data=np.array([[1.0], [1.0, 2.0]], dtype=object))
    model, _, _ = _nested()
    with pytest.raises(ValueError, match=r"unbatched.*Received: probe_data x of shape \(6,\)"):
        _fit_raw(model, [DeadReLUMonitor(probe_data=[X[0]])])
    linear = _compile(keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)]))
    with pytest.warns(UserWarning, match="found no rectifier"):
        _fit_raw(linear, [DeadReLUMonitor(probe_data=X)])
    with pytest.raises(ValueError, match="Unknown mode. Valid choices: training, inference. "
                                         "Received: mode='train'"):
        ActivationStats(mode="train")


# Callback order.


def test_a_logger_before_the_monitors_is_warned_about_and_actkeras_fit_orders_them(tmp_path):
    model = actkeras.build_model("relu", preset="mlp", units=8, depth=2, input_shape=(6,),
                                 num_classes=3, epochs=1)  # fmt: skip
    logger = keras.callbacks.CSVLogger(str(tmp_path / "plain.csv"))
    with pytest.warns(UserWarning, match=r"CSVLogger comes before an activation monitor.*"
                                         r"Received: callbacks=\[CSVLogger, DeadReLUMonitor"):
        _fit_raw(model, [logger, DeadReLUMonitor(probe_data=X, threshold=1.0)])
    data = type("Data", (), dict(x_train=X, y_train=Y, x_valid=X[:20], y_valid=Y[:20],
                                 x_test=X[:0], y_test=Y[:0]))  # fmt: skip
    path = tmp_path / "ordered.csv"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        actkeras.fit(model, data, verbose=0,
                     callbacks=[keras.callbacks.CSVLogger(str(path)),
                                DeadReLUMonitor(threshold=1.0), GradientNormLogger()])  # fmt: skip
    assert not [w for w in caught if "comes before" in str(w.message)]  # fit put them first
    with open(path) as handle:
        columns = next(csv.reader(handle))
    assert {"dead_fraction", "dead_fraction/activation_0", "grad_norm/global"} <= set(columns)


# keras.applications: MobileNetV2 in both modes, and every family.


def _hand_dead(model, sites, x, mode):
    """Dead units per site from intermediate outputs, computed by a separate Keras model:
    each site's pre-activation (an activation layer's input) or output (a fused
    rectifier: out <= 0 exactly where pre <= 0). In training mode BatchNorm uses the
    batch's statistics and Dropout is switched off by setting its rate to 0 for the
    call; the model's variables are restored after."""
    tensors = [s.layer.output if s.fused else s.layer.input for s in sites]
    reader = keras.Model(model.input, tensors)
    saved = [np.array(w) for w in model.get_weights()]
    dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    rates = [layer.rate for layer in dropouts]
    try:
        for layer in dropouts:
            layer.rate = 0.0
        values = reader(x, training=mode == "training")
    finally:
        for layer, rate in zip(dropouts, rates):
            layer.rate = rate
        model.set_weights(saved)
    values = values if isinstance(values, (list, tuple)) else [values]
    return {s.name: _dead(v, s.threshold) for s, v in zip(sites, values)}


def _images(size, n=8):
    return np.random.default_rng(0).uniform(0, 255, (n, size, size, 3)).astype("float32")


@pytest.mark.slow
def test_mobilenet_v2_dead_fraction_in_both_modes_matches_hand_counts():
    keras.utils.set_random_seed(0)
    model = keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), classes=10)
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy",
                  run_eagerly=True)  # fmt: skip
    x, y = _images(32, 16) / 127.5 - 1, np.arange(16) % 10
    monitors = {mode: DeadReLUMonitor(probe_data=(x, y), threshold=1.0, mode=mode)
                for mode in ("training", "inference")}  # fmt: skip
    model.fit(x, y, batch_size=8, epochs=3, verbose=0, callbacks=list(monitors.values()))
    sites = find_activation_layers(model, families=("rectifier",))
    assert len(sites) == 35 and all(s.cap == 6.0 for s in sites)
    fractions = {}
    for mode, monitor in monitors.items():
        record = monitor.records[-1]
        hand = _hand_dead(model, sites, x, mode)
        assert {n: (i["inactive_units"], i["units"]) for n, i in record["layers"].items()} == hand
        dead, units = (sum(v[k] for v in hand.values()) for k in (0, 1))
        assert units == 15_552 and record["dead_fraction"] == dead / units
        fractions[mode] = record["dead_fraction"]
    print(f"\nMobileNetV2 (32x32, 3 epochs of 2 steps): dead_fraction training "
          f"{fractions['training']:.4f}, inference {fractions['inference']:.4f}")
    # Early in training the moving statistics lag the batch statistics: units look dead
    # in inference mode that fire on every training batch.
    assert fractions["inference"] > 5 * fractions["training"] + 0.05


FAMILIES = {  # the smallest member of each family, at the smallest input it accepts
    "MobileNet": 32, "MobileNetV2": 32, "MobileNetV3Small": 32, "ResNet50": 32,
    "ResNet50V2": 32, "DenseNet121": 32, "EfficientNetB0": 32, "EfficientNetV2B0": 32,
    "ConvNeXtTiny": 32, "NASNetMobile": 32, "Xception": 71, "InceptionV3": 75,
    "InceptionResNetV2": 75, "VGG16": 32, "VGG19": 32,
}  # fmt: skip


def test_the_sweep_covers_every_family_in_the_installed_keras():
    import inspect

    modules = {getattr(keras.applications, n).__module__ for n in dir(keras.applications)
               if inspect.isfunction(getattr(keras.applications, n))}  # fmt: skip
    covered = {getattr(keras.applications, n).__module__ for n in FAMILIES}
    assert modules <= covered, modules - covered


def _independent_sites(model):
    """Hidden activations of an application, listed without `find_activation_layers`:
    activation layers, and layers given a non-linear activation (identities left out),
    as layer ids (the monitors' names replace Keras's automatic ones, `activation_102`)."""
    found = set()
    for layer in model.layers[:-1]:  # the output layer is not hidden
        activation = getattr(layer, "activation", None)
        if getattr(activation, "__name__", "") == "linear":
            continue  # `Activation("linear")` (ConvNeXt's identities), `Dense()`
        if isinstance(layer, (keras.layers.ReLU, keras.layers.Activation)) or activation:
            found.add(id(layer))
    return found


WATCHED = ("rectifier", "leaky", "exponential", "smooth")  # DeadReLUMonitor's families


@pytest.mark.slow
@pytest.mark.parametrize("architecture", list(FAMILIES))
def test_keras_applications_every_activation_measured_and_dead_fraction_by_hand(architecture):
    """With the monitors' compiled passes (the default); MobileNetV2 above runs eagerly."""
    size = FAMILIES[architecture]
    keras.utils.set_random_seed(0)
    start = time.perf_counter()
    build = getattr(keras.applications, architecture)
    model = build(weights=None, input_shape=(size, size, 3), classes=10)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    x, y = _images(size, 4), np.arange(4) % 10
    dead = DeadReLUMonitor(probe_data=(x, y), threshold=1.0)
    stats = ActivationStats(probe_data=x)
    grads = GradientNormLogger(probe_data=(x, y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[dead, stats, grads])
    measured = set(stats.records[-1]["layers"])
    sites = find_activation_layers(model)
    assert measured == {s.name for s in sites}
    assert {id(s.layer) for s in sites} == _independent_sites(model) and len(sites) == len(measured)
    rectifiers = [s for s in sites if s.family in WATCHED]
    record = dead.records[-1] if dead.records else {"layers": {}, "dead_fraction": None}
    hand = _hand_dead(model, rectifiers, x, "training") if rectifiers else {}
    assert {n: (i["inactive_units"], i["units"]) for n, i in record["layers"].items()} == hand
    for kind, families in (("dead", ("rectifier",)), ("inactive", WATCHED[1:])):
        chosen = [hand[s.name] for s in rectifiers if s.family in families]
        off, units = sum(v[0] for v in chosen), sum(v[1] for v in chosen)
        assert record.get(f"{kind}_fraction") == (off / units if units else None), kind
    off, units = sum(v[0] for v in hand.values()), sum(v[1] for v in hand.values())
    with_weights = {f"{layer.name}/{inner.name}" if inner is not layer else layer.name
                    for layer in model.layers
                    for inner in (layer.layers if isinstance(layer, keras.Model) else [layer])
                    if inner.trainable_weights}  # ConvNeXt nests Sequential blocks  # fmt: skip
    logged = set(grads.records[-1]["layers"])
    automatic = re.compile(r".*_[0-9]+$")  # Keras's numbered names are made stable
    assert len(logged) == len(with_weights)
    assert {n for n in with_weights if not automatic.match(n)} <= logged
    families = sorted({s.family for s in sites})
    print(f"\n{architecture} {size}x{size}: {len(sites)} sites ({', '.join(families)}), "
          f"{len(rectifiers)} sites watched for dead or inactive units, {units} units, "
          f"{off} off by the monitor and by hand, "
          f"{time.perf_counter() - start:.0f} s")


@pytest.mark.slow
def test_a_hand_built_unet_with_a_shared_convolution_and_skips_matches_hand_counts():
    """A convolution shared by two depths (two calls of one fused site), a skip connection
    and a decoder: every call of every site equals a count from the intermediate tensors."""
    layers = keras.layers
    keras.utils.set_random_seed(0)
    shared = layers.Conv2D(8, 3, padding="same", activation="relu", name="shared")
    inputs = keras.Input((16, 16, 8))
    enc = layers.Conv2D(8, 3, padding="same", activation="relu", name="enc")(inputs)
    low = shared(layers.MaxPooling2D()(enc))
    merged = layers.Concatenate()([layers.UpSampling2D()(low), enc])
    dec_pre = layers.Conv2D(8, 3, padding="same", name="dec")(merged)
    dec = layers.ReLU(name="dec_act")(dec_pre)
    top = shared(dec)
    model = _compile(keras.Model(inputs, layers.Dense(3)(layers.GlobalAveragePooling2D()(top))))
    bias = np.asarray(model.get_layer("enc").bias).copy()
    bias[:3] = -100.0  # three channels of the encoder dead
    model.get_layer("enc").bias.assign(bias)
    x = np.random.default_rng(2).normal(size=(16, 16, 16, 8)).astype("float32")
    y = np.arange(16) % 3
    monitors = [DeadReLUMonitor(probe_data=(x, y), threshold=1.0), ActivationStats(probe_data=x)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=monitors)
    outs = keras.Model(inputs, [enc, low, dec_pre, top])(x)  # fused sites: out <= 0 iff pre <= 0
    hand = {name: _dead(v) for name, v in zip(["enc", "shared.call1", "dec_act", "shared.call2"],
                                              outs)}  # fmt: skip
    layers_ = monitors[0].records[-1]["layers"]
    assert {n: (i["inactive_units"], i["units"]) for n, i in layers_.items()} == hand
    assert hand["enc"][0] >= 3
    zero = monitors[1].records[-1]["layers"]["shared.call2"]["zero_fraction"]
    assert zero == pytest.approx(np.mean(np.asarray(outs[3]) == 0))
