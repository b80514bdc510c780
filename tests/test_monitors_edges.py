"""The monitors at the edges: TimeDistributed and recurrent layers, smooth activations with
a floor, activations held by attributes or applied as graph ops, bare ops, identity
activations, stable keys, output layers (keras-contrib's DeadReluDetector cases), small
probes, choosing the layers, bad labels, and a user's model left bitwise as it would be.

Every count is checked against a count made by hand from the layers' pre-activations
(NumPy), never against the monitors' own machinery. Runs on TensorFlow and on JAX.
"""

import warnings

import keras
import numpy as np
import pytest
from keras import ops

import actkeras
from actkeras.callbacks import (
    ActivationStats,
    DeadReLUMonitor,
    DeadUnitWarning,
    GradientNormLogger,
    NonFiniteWarning,
    NothingToWatchWarning,
    find_activation_layers,
)
from monitoring import measure_once

BACKEND = keras.backend.backend()
NUM_SAMPLES = 32
RNG = np.random.default_rng(7)
X = RNG.uniform(0, 1, size=(NUM_SAMPLES, 6)).astype("float32")
Y = (np.arange(NUM_SAMPLES) % 3).astype("int32")


def _compile(model, learning_rate=0.0, loss=None, **kwargs):
    model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                  loss=loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  **kwargs)  # fmt: skip
    return model


def _force(layer, off, bias=-100.0, live=2.0):
    """Kernel of ones / in-features; bias `bias` on the first `off` units, `live` elsewhere."""
    kernel = np.full(layer.kernel.shape, 1.0 / layer.kernel.shape[0])
    values = np.full(layer.bias.shape, live)
    values[:off] = bias
    layer.kernel.assign(kernel.astype(layer.kernel.dtype))
    layer.bias.assign(values.astype(layer.bias.dtype))


def _off(pre, threshold=0.0):
    """Units (last axis) whose pre-activation is <= threshold for every sample, by hand."""
    pre = np.asarray(pre).reshape(-1, np.shape(pre)[-1])
    return int((pre.max(axis=0) <= threshold).sum())


def _dense_pre(layer, x):
    return np.asarray(x) @ np.asarray(layer.kernel) + np.asarray(layer.bias)


def _quiet_fit(model, monitors, x=X, y=Y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(x, y, epochs=kwargs.pop("epochs", 1), batch_size=16, verbose=0,
                         callbacks=monitors, **kwargs)  # fmt: skip


def _caught_fit(model, monitors, x=X, y=Y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=monitors)
    return [str(w.message) for w in caught]


# TimeDistributed and recurrent layers.


def test_time_distributed_is_one_site_pooled_over_every_frame():
    """A 4-frame clip whose first frame is blank: every unit is off on that frame, but
    only the unit forced off is off in every frame of every sample."""
    clip = RNG.uniform(0.2, 1, size=(NUM_SAMPLES, 4, 5)).astype("float32")
    clip[:, 0] = 0.0
    inputs = keras.Input((4, 5))
    frames = keras.layers.TimeDistributed(keras.layers.Dense(6, activation="relu"))
    h = keras.layers.TimeDistributed(keras.layers.ReLU())(frames(inputs))
    model = _compile(keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Flatten()(h))))
    dense = frames.layer
    _force(dense, 1, bias=-5.0, live=-0.1)  # live units: off on the blank frame only
    dead = DeadReLUMonitor(probe_data=clip, threshold=0.2)
    stats = ActivationStats(probe_data=clip)
    messages = _caught_fit(model, [dead, stats], x=clip)
    pre = _dense_pre(dense, clip)  # (samples, frames, units)
    assert _off(pre[:, 0]) == 6 and _off(pre) == 1  # by frame: all off on frame 0
    layers = dead.records[-1]["layers"]
    assert list(layers) == ["time_distributed/dense", "time_distributed_1/re_lu"]
    assert layers["time_distributed/dense"]["inactive_units"] == 1
    assert layers["time_distributed/dense"]["units"] == 6
    assert layers["time_distributed_1/re_lu"]["inactive_units"] == _off(np.maximum(pre, 0)) == 1
    assert not [m for m in messages if "DeadUnitWarning" in m or "are dead" in m]  # 1/6 < 0.2
    zero = stats.records[-1]["layers"]["time_distributed/dense"]["zero_fraction"]
    assert zero == pytest.approx(np.mean(pre <= 0))  # over every frame


def test_recurrent_layers_are_named_once_and_not_measured():
    inputs = keras.Input((5, 3))
    h = keras.layers.LSTM(4, name="encoder")(inputs)
    h = keras.layers.Dense(4, activation="relu", name="head")(h)
    model = _compile(keras.Model(inputs, keras.layers.Dense(3)(h)))
    x = RNG.normal(size=(NUM_SAMPLES, 5, 3)).astype("float32")
    stats, dead = ActivationStats(probe_data=x), DeadReLUMonitor(probe_data=x, threshold=1.0)
    messages = _caught_fit(model, [stats, dead], x=x)
    named = [m for m in messages if "'encoder'" in m]
    assert len(named) == 1 and named[0].startswith("ActivationStats: LSTM 'encoder' applies "
                                                   "tanh, sigmoid inside its recurrent cell")
    assert list(stats.records[-1]["layers"]) == list(dead.records[-1]["layers"]) == ["head"]
    relu_cell = _compile(keras.Sequential([keras.Input((5, 3)),
                                           keras.layers.LSTM(4, activation="relu"),
                                           keras.layers.Dense(3)]))  # fmt: skip
    messages = _caught_fit(relu_cell, [DeadReLUMonitor(probe_data=x)], x=x)
    assert any("LSTM 'lstm' applies relu inside its recurrent cell" in m for m in messages)
    assert any("will log nothing" in m for m in messages)


# Families: smooth activations with a floor, identity, held by attributes, graph ops.


SMOOTH = {"elu": keras.layers.ELU(), "selu": keras.layers.Activation("selu"),
          "swish": actkeras.Swish(), "gelu": keras.layers.Activation("gelu"),
          "softplus": keras.layers.Activation("softplus")}  # fmt: skip


@pytest.mark.parametrize("name", list(SMOOTH))
def test_smooth_activations_with_a_floor_share_one_inactive_rule(name):
    inputs = keras.Input((6,))
    pre_layer = keras.layers.Dense(8, name="pre")
    layer = SMOOTH[name].__class__.from_config(SMOOTH[name].get_config())
    model = _compile(keras.Model(inputs, keras.layers.Dense(3)(layer(pre_layer(inputs)))))
    _force(pre_layer, 3, bias=-100.0, live=0.5)
    bias = np.asarray(pre_layer.bias).copy()
    bias[3] = -1.01  # just below 0 for every sample (inputs in [0, 1], kernel 1/6 each)
    pre_layer.bias.assign(bias)
    monitor = DeadReLUMonitor(probe_data=X, threshold=1.0)
    _quiet_fit(model, [monitor])
    pre = _dense_pre(pre_layer, X)
    (site,) = find_activation_layers(model)
    info = monitor.records[-1]["layers"][site.name]
    assert info["kind"] == "inactive" and info["threshold"] == 0.0
    assert info["inactive_units"] == _off(pre) == 4
    assert monitor.records[-1]["inactive_fraction"] == 4 / 8
    assert monitor.records[-1]["dead_fraction"] is None


def test_identity_activations_are_not_sites():
    inputs = keras.Input((6,))
    h = keras.layers.Activation("linear", name="identity")(keras.layers.Dense(4)(inputs))
    h = actkeras.layers.Linear(name="also_identity")(h)
    h = keras.layers.Dense(4, activation="linear", name="plain")(h)
    h = keras.layers.Activation("relu", name="act")(h)
    model = _compile(keras.Model(inputs, keras.layers.Dense(3)(h)))
    assert [s.name for s in find_activation_layers(model)] == ["act"]
    stats = ActivationStats(probe_data=X)
    _quiet_fit(model, [stats])
    assert list(stats.records[-1]["layers"]) == ["act"]


class Holds(keras.layers.Layer):
    """Applies an activation held under another attribute name."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(8)
        self.act_fn = keras.activations.relu

    def call(self, x):
        return self.act_fn(self.dense(x))


class OnlyHolds(keras.layers.Layer):
    """Holds a function only to give it to an inner layer (keras-hub blocks do)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.activation = keras.activations.gelu
        self.inner = keras.layers.Dense(5, activation=self.activation)

    def call(self, x):
        return self.inner(x)


class Maybe(keras.layers.Layer):
    """A rectifier applied as a bare op, or not, by a flag."""

    def __init__(self, extra=False, **kwargs):
        super().__init__(**kwargs)
        self.extra = extra
        self.dense = keras.layers.Dense(4)

    def call(self, x):
        h = self.dense(x)
        if self.extra:
            h = ops.relu(h)
        return h


def test_attribute_held_activations_are_measured_and_holders_not_warned_about():
    holds, only = Holds(), OnlyHolds()
    inputs = keras.Input((6,))
    model = _compile(keras.Model(inputs, keras.layers.Dense(3)(only(holds(inputs)))))
    _force(holds.dense, 3)
    monitor, stats = DeadReLUMonitor(probe_data=X, threshold=1.0), ActivationStats(probe_data=X)
    messages = _caught_fit(model, [monitor, stats])
    assert monitor.records[-1]["layers"]["holds/act_fn"]["inactive_units"] == \
        _off(_dense_pre(holds.dense, X)) == 3  # fmt: skip
    assert list(stats.records[-1]["layers"]) == ["holds/act_fn", "only_holds/dense"]
    assert stats.records[-1]["layers"]["only_holds/dense"]["family"] == "smooth"
    assert not [m for m in messages if "only_holds" in m and "bare op" in m], messages


@pytest.mark.parametrize("extra", [False, True])
def test_bare_op_warnings_come_only_from_ops_called(extra):
    inputs = keras.Input((6,))
    h = Maybe(extra=extra, name="maybe")(inputs)
    model = _compile(keras.Model(inputs, keras.layers.Dense(3)(keras.layers.ReLU()(h))))
    messages = _caught_fit(model, [DeadReLUMonitor(probe_data=X, threshold=1.0)])
    bare = [m for m in messages if "bare op" in m]
    if extra:
        assert len(bare) == 1 and "Maybe 'maybe' calls relu inside call() as a bare op" in bare[0]
    else:
        assert bare == []


def test_activation_ops_in_a_functional_graph_are_sites():
    inputs = keras.Input((6,))
    first = keras.layers.Dense(8, name="first")
    h = ops.relu(first(inputs))  # an operation in the graph, not a layer
    model = _compile(keras.Model(inputs, keras.layers.Dense(3)(ops.gelu(h))))
    _force(first, 5)
    monitor = DeadReLUMonitor(probe_data=X, threshold=1.0)
    _quiet_fit(model, [monitor])
    layers = monitor.records[-1]["layers"]
    assert layers["relu"]["inactive_units"] == _off(_dense_pre(first, X)) == 5
    assert layers["gelu"]["kind"] == "inactive"


def test_a_layer_found_but_never_called_is_named():
    inputs = keras.Input((4, 8))
    attention = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4, name="attention")
    model = _compile(keras.Model(inputs, keras.layers.Dense(3)(
        keras.layers.GlobalAveragePooling1D()(attention(inputs, inputs)))))  # fmt: skip
    x = RNG.normal(size=(NUM_SAMPLES, 4, 8)).astype("float32")
    stats = ActivationStats(probe_data=x)
    messages = _caught_fit(model, [stats], x=x)
    if stats.records:  # this Keras calls the softmax layer: it is measured like any other
        assert list(stats.records[-1]["layers"]) == ["attention/softmax"]
    else:
        assert any("found Softmax 'attention/softmax', but the model did not call it" in m
                   and "MultiHeadAttention 'attention'" in m for m in messages), messages
        assert any("it found 1 activation site(s), but the model did not call any" in m
                   for m in messages), messages


class FusedPath(keras.layers.Layer):
    """Holds a softmax layer it does not call (as MultiHeadAttention's fused path does)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.softmax = keras.layers.Softmax()
        self.dense = keras.layers.Dense(4)

    def call(self, x):
        return self.dense(x)


def test_a_held_layer_the_model_never_calls_is_named_whatever_keras_does():
    """The message of the test above, on a layer that never calls its softmax in any Keras."""
    inputs = keras.Input((6,))
    model = _compile(keras.Model(inputs, keras.layers.Dense(3)(FusedPath(name="fused")(inputs))))
    stats = ActivationStats(probe_data=X)
    messages = _caught_fit(model, [stats])
    assert stats.records == []
    assert any("found Softmax 'fused/softmax', but the model did not call it on the probe pass "
               "(its parent FusedPath 'fused' may compute it with a fused op instead)" in m
               for m in messages), messages  # fmt: skip
    assert any("ActivationStats will log nothing for model" in m and "it found 1 activation "
               "site(s), but the model did not call any of them" in m for m in messages)


# Stable keys.


class Block(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(6)
        self.act = keras.layers.ReLU()

    def call(self, x):
        return self.act(self.dense(x))


def _auto_named():
    """Layers without names: Keras numbers them across the process."""
    inputs = keras.Input((6,))
    h = keras.layers.ReLU()(keras.layers.Dense(6)(inputs))
    h = Block()(keras.layers.ReLU()(keras.layers.Dense(6)(h)))
    inner = keras.Sequential([keras.layers.Dense(6), keras.layers.ReLU()])
    return _compile(keras.Model(inputs, keras.layers.Dense(3)(inner(h))))


def test_keys_are_the_same_however_many_times_a_model_is_built():
    first, second = _auto_named(), _auto_named()
    assert first.layers[1].name != second.layers[1].name  # Keras's own names differ
    names = [s.name for s in find_activation_layers(first)]
    assert names == [s.name for s in find_activation_layers(second)]
    assert names == ["re_lu", "re_lu_1", "block/re_lu", "sequential/re_lu"]
    keys = []
    for model in (first, second):
        monitors = [DeadReLUMonitor(probe_data=(X, Y), threshold=1.0),
                    GradientNormLogger(probe_data=(X, Y))]  # fmt: skip
        history = _quiet_fit(model, monitors)
        keys.append(sorted(k for k in history.history if "/" in k))
    assert keys[0] == keys[1] and {"grad_norm/block", "grad_norm/sequential/dense"} <= set(keys[0])
    # The weights' own paths stay Keras's (the reproduction reads `dense_<i>/kernel`).
    assert set(monitors[1].records[-1]["weights"]) == {v.path for v in second.trainable_variables}


def test_layers_their_user_numbered_from_0_keep_their_names():
    """`dense_0`, `dense_1`, ... (as `build_model` names them) look like Keras's names from
    `dense_1` on; Keras never makes `dense_0`, so they are the user's and stay."""
    for _ in range(2):  # built twice: Keras's own numbers move on, these names do not
        model = actkeras.build_model("relu", preset="mlp", units=6, depth=3, input_shape=(6,),
                                     num_classes=3)  # fmt: skip
        logger = GradientNormLogger(probe_data=(X, Y))
        _quiet_fit(model, [logger])
        assert list(logger.records[-1]["layers"]) == ["dense_0", "dense_1", "dense_2", "output"]
    inputs = keras.Input((6,))
    h = keras.layers.Dense(4, name="dense_1")(inputs)  # numbered from 1: read as Keras's
    model = _compile(keras.Model(inputs, keras.layers.Dense(3, name="dense_2")(h)))
    logger = GradientNormLogger(probe_data=(X, Y))
    _quiet_fit(model, [logger])
    assert list(logger.records[-1]["layers"]) == ["dense", "dense_1"]


def test_keys_line_up_across_keras_tuner_trials(tmp_path):
    keras_tuner = pytest.importorskip("keras_tuner")

    def build(hp):
        hp.Int("units", 4, 8, step=4)
        return _auto_named()

    tuner = keras_tuner.RandomSearch(build, objective="loss", max_trials=2, seed=0,
                                     directory=str(tmp_path), project_name="keys")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tuner.search(X, Y, epochs=1, verbose=0,
                     callbacks=[DeadReLUMonitor(probe_data=X, threshold=1.0)])
    trials = list(tuner.oracle.trials.values())
    names = [sorted(k for k in t.metrics.metrics if k.startswith("dead_fraction/")) for t in trials]
    assert len(trials) == 2 and names[0] == names[1]
    assert "dead_fraction/block/re_lu" in names[0]


# The output layer: keras-contrib's DeadReluDetector cases, ported.

N_OUT = 11  # one dead unit of 11 is just below the 10 % threshold


# The outputs are ReLU's, all 0 when every unit is dead: read as probabilities they sum to
# 0 and give a NaN loss, whose step turns every weight NaN (then neither dead nor alive).
_CONTRIB_LOSS = keras.losses.CategoricalCrossentropy(from_logits=True)


def _contrib_dense(weights, bias=None):
    shape = (9, 3, 4) if bias is None else (9, 4)
    model = keras.Sequential([keras.Input(shape[1:]),
                              keras.layers.Dense(N_OUT, activation="relu", name="dense",
                                                 use_bias=bias is not None)])  # fmt: skip
    model.set_weights([weights] if bias is None else [weights, bias])
    model.compile(optimizer="sgd", loss=_CONTRIB_LOSS)
    return model, np.ones(shape, "float32"), np.ones((*shape[:-1], N_OUT), "float32")


def _contrib_conv(weights):
    model = keras.Sequential([keras.Input((5, 5, 4)),
                              keras.layers.Conv2D(N_OUT, (5, 5), activation="relu", name="conv"),
                              keras.layers.Flatten()])  # fmt: skip
    model.set_weights([weights, np.zeros(N_OUT)])
    model.compile(optimizer="sgd", loss=_CONTRIB_LOSS)
    return model, np.ones((9, 5, 5, 4), "float32"), np.ones((9, N_OUT), "float32")


def _zeroed(shape, dead):
    weights = np.ones(shape, "float32")
    weights[..., :dead] = 0
    return weights


CONTRIB = {  # case: (model, data, labels), dead units, threshold, warnings expected
    "dense 1 dead, verbose": (lambda: _contrib_dense(_zeroed((4, N_OUT), 1)), 1, 0.0, 1),
    "dense 1 dead": (lambda: _contrib_dense(_zeroed((4, N_OUT), 1)), 1, 0.1, 0),
    "dense 2 dead": (lambda: _contrib_dense(_zeroed((4, N_OUT), 2)), 2, 0.0, 1),
    "dense bias 1 dead, verbose":
        (lambda: _contrib_dense(_zeroed((4, N_OUT), 1), np.zeros(N_OUT)), 1, 0.0, 1),
    "dense bias 1 dead": (lambda: _contrib_dense(_zeroed((4, N_OUT), 1), np.zeros(N_OUT)), 1, 0.1, 0),
    "dense bias 2 dead": (lambda: _contrib_dense(_zeroed((4, N_OUT), 2), np.zeros(N_OUT)), 2, 0.0, 1),
    "conv 1 dead, verbose": (lambda: _contrib_conv(_zeroed((5, 5, 4, N_OUT), 1)), 1, 0.0, 1),
    "conv 1 dead": (lambda: _contrib_conv(_zeroed((5, 5, 4, N_OUT), 1)), 1, 0.1, 0),
    "conv 2 dead": (lambda: _contrib_conv(_zeroed((5, 5, 4, N_OUT), 2)), 2, 0.0, 1),
    "conv all dead": (lambda: _contrib_conv(_zeroed((5, 5, 4, N_OUT), N_OUT)), N_OUT, 0.0, 1),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CONTRIB))
def test_keras_contrib_dead_relu_detector_cases(case):
    make, dead, threshold, expected = CONTRIB[case]
    model, data, labels = make()
    monitor = DeadReLUMonitor(probe_data=data, threshold=threshold)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(data, labels, epochs=1, verbose=0, callbacks=[monitor])
    name = model.layers[0].name
    found = [str(w.message) for w in caught if issubclass(w.category, DeadUnitWarning)]
    assert len(found) == expected, found
    info = monitor.records[-1]["layers"][name]
    assert (info["inactive_units"], info["units"]) == (dead, N_OUT)
    if expected:
        assert f"{dead / N_OUT:.1%} of the {N_OUT} units of layer '{name}' are dead" in found[0]


def test_a_relu_output_is_watched_or_named_when_left_out():
    inputs = keras.Input((6,))
    head = keras.layers.Dense(2, activation="relu", name="head")  # a regression head
    model = _compile(keras.Model(inputs, head(inputs)), loss="mse")
    _force(head, 1)
    y = np.ones((NUM_SAMPLES, 2), "float32")
    watched = DeadReLUMonitor(probe_data=X, threshold=1.0)
    _quiet_fit(model, [watched], y=y)
    assert watched.records[-1]["layers"]["head"]["inactive_units"] == _off(_dense_pre(head, X))
    left_out = DeadReLUMonitor(probe_data=X, include_outputs=False)
    messages = _caught_fit(model, [left_out], y=y)
    assert left_out.records == []
    assert any("its only rectifier is the model's output ('head'), left out because it is the "
               "prediction" in m and "include_outputs=True" in m for m in messages), messages


# Probes too small, layers chosen, bad labels.


def _batchnorm_model():
    inputs = keras.Input((6,))
    h = keras.layers.BatchNormalization(name="bn")(keras.layers.Dense(8)(inputs))
    return _compile(keras.Model(inputs, keras.layers.Dense(3)(keras.layers.ReLU(name="act")(h))))


def test_a_probe_too_small_for_training_mode_is_warned_about():
    model = _batchnorm_model()
    messages = _caught_fit(model, [DeadReLUMonitor(probe_data=X[:1], threshold=1.0)])
    assert any("a probe of 1 sample is too small for training mode: BatchNormalization" in m
               and "'bn'" in m for m in messages), messages
    for monitor in (DeadReLUMonitor(probe_data=X[:1], mode="inference"),
                    DeadReLUMonitor(probe_data=X[:8])):  # fmt: skip
        assert not [m for m in _caught_fit(model, [monitor]) if "too small" in m]


def _every_kind():
    inputs = keras.Input((6,))
    h = keras.layers.Dense(6, activation="relu", name="fused")(inputs)
    h = keras.layers.ReLU(name="keras_relu")(keras.layers.Dense(6, name="d1")(h))
    h = keras.layers.LeakyReLU(name="leaky")(keras.layers.Dense(6, name="d2")(h))
    h = keras.layers.Activation("relu", name="act_relu")(keras.layers.Dense(6, name="d3")(h))
    return _compile(keras.Model(inputs, keras.layers.Dense(3, name="out")(h)))


def test_the_layers_to_watch_by_name_pattern_or_class():
    model = _every_kind()
    cases = {"fused": ["fused"], "*relu": ["keras_relu", "act_relu"],
             keras.layers.LeakyReLU: ["leaky"], keras.layers.Dense: ["fused"]}  # fmt: skip
    for layers, expected in cases.items():
        monitor = DeadReLUMonitor(probe_data=X, threshold=1.0, layers=layers)
        history = _quiet_fit(model, [monitor])
        assert list(monitor.records[-1]["layers"]) == expected
        assert sorted(k for k in history.history if "/" in k) == sorted(
            f"{'inactive' if n == 'leaky' else 'dead'}_fraction/{n}" for n in expected)
    logger = GradientNormLogger(probe_data=(X, Y), layers=["d*", "out"])
    _quiet_fit(model, [logger])
    assert list(logger.records[-1]["layers"]) == ["d1", "d2", "d3", "out"]
    before = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    for monitor in (DeadReLUMonitor(probe_data=X, layers=["nope*"]),
                    GradientNormLogger(probe_data=(X, Y), layers=[keras.layers.Conv2D])):
        with pytest.raises(ValueError, match=r"`layers` item '(nope\*|Conv2D)' matches no layer "
                                             r"the monitor can watch. Valid choices: "):
            model.fit(X, Y, epochs=1, verbose=0, callbacks=[monitor])
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == before


@pytest.mark.parametrize("labels, message", [
    (np.zeros((NUM_SAMPLES, 5), "float32"), "could not compute model .*'s training loss on "
     r"`probe_data` .*Received: probe_data with inputs of shape \(6,\) and labels of shape \(5,\)"),
    (Y + 1, r"labels outside the model's 3 classes: the loss takes class indices, integers in "
     r"\[0, 3\)\. Received: probe_data labels from 1 to 3"),
    (-Y, r"labels outside the model's 3 classes.*from -2 to 0"),
])  # fmt: skip
def test_bad_probe_labels_fail_before_any_step_naming_probe_data(labels, message):
    model = _batchnorm_model()
    before = [np.array(w) for w in model.get_weights()]
    with pytest.raises(ValueError, match=message):
        model.fit(X, Y, epochs=1, verbose=0,
                  callbacks=[GradientNormLogger(probe_data=(X, labels))])  # fmt: skip
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_labels_the_loss_cannot_take_fail_at_train_begin_outside_fit_too():
    model = _batchnorm_model()  # no training data to compare with: the loss is traced
    logger = GradientNormLogger(probe_data=(X, np.zeros((NUM_SAMPLES, 5), "float32")))
    logger.set_model(model)
    with pytest.raises(ValueError, match=r"could not compute model .*'s training loss on "
                                         r"`probe_data` \(.*\)\. The model's output has shape "
                                         r"\(3,\) per sample\. Received: probe_data with inputs "
                                         r"of shape \(6,\) and labels of shape \(5,\)"):
        logger.on_train_begin()


def test_an_uncompiled_model_gets_a_clear_message():
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    logger = GradientNormLogger(probe_data=(X, Y))
    logger.set_model(model)
    with pytest.raises(ValueError, match=r"model .* has none: call model.compile\(optimizer=..., "
                                         r"loss=...\) first. Received: an uncompiled model"):
        logger.on_train_begin()


# The bar this package keeps: a user's model trains exactly as it would without them.


def _regular_model():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((6,))
    h = keras.layers.Dense(16, activation="relu")(inputs)
    h = keras.layers.Dropout(0.3, seed=5)(keras.layers.BatchNormalization()(h))
    h = keras.layers.Dense(8, activation="gelu")(h)
    model = keras.Model(inputs, keras.layers.Dense(3)(h))
    model.compile(optimizer=keras.optimizers.Adam(0.01), metrics=["accuracy"],
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))  # fmt: skip
    return model


def test_fits_with_and_without_the_monitors_end_bitwise_identical():
    plain, watched = _regular_model(), _regular_model()
    for a, b in zip(plain.get_weights(), watched.get_weights()):
        np.testing.assert_array_equal(a, b)
    keras.utils.set_random_seed(11)
    plain.fit(X, Y, epochs=3, batch_size=16, verbose=0)
    keras.utils.set_random_seed(11)
    monitors = [DeadReLUMonitor(probe_data=(X, Y), every=2), GradientNormLogger(probe_data=(X, Y)),
                ActivationStats(probe_data=X, histograms=True)]  # fmt: skip
    _quiet_fit(watched, monitors, epochs=3)
    assert all(m.records for m in monitors)
    for a, b in zip(plain.variables + plain.optimizer.variables,
                    watched.variables + watched.optimizer.variables):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


# The histogram of each layer over training (fastai's "colorful dimension").


def test_histograms_over_training_plot_from_the_records():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from actkeras import plots

    model = _every_kind()
    _force(model.get_layer("d1"), 2)
    stats = ActivationStats(probe_data=X, histograms=True, every=1)
    _quiet_fit(model, [stats], epochs=2)
    assert len(stats.records) == 6  # two batches and the epoch end, twice
    fig, ax = plt.subplots()
    assert plots.plot_histograms_over_training(stats.records, "keras_relu", ax=ax, bins=20) is ax
    (image,) = ax.get_images()
    shares = np.expm1(np.asarray(image.get_array()))
    assert shares.shape == (20, 6)
    np.testing.assert_allclose(shares.sum(axis=0), 100.0, rtol=1e-9)  # every value kept
    zero_bin = np.searchsorted(np.linspace(*image.get_extent()[2:], 21), 0.0, side="right") - 1
    fraction = stats.records[-1]["layers"]["keras_relu"]["zero_fraction"]
    assert shares[zero_bin, -1] >= 100 * fraction - 1e-9  # the ReLU's zeros sit in 0's bin
    assert ax.get_title().startswith("keras_relu (rectifier)") and ax.get_xlabel()
    with pytest.raises(ValueError, match=r"Unknown layer. Valid choices: fused, keras_relu.*"
                                         r"Received: layer='nope'"):
        plots.plot_histograms_over_training(stats.records, "nope")
    with pytest.raises(ValueError, match="histograms=True"):
        plots.plot_histograms_over_training([{"epoch": 1, "layers": {"a": {}}}])
    plt.close("all")


def test_rebinning_keeps_every_count():
    from actkeras.plots import _rebin

    histogram = {"counts": [4, 0, 6], "edges": [0.0, 1.0, 2.0, 3.0]}
    edges = np.linspace(-1.0, 4.0, 11)
    counts = _rebin(histogram, edges)
    assert counts.sum() == pytest.approx(10.0)
    assert counts[2] == pytest.approx(2.0) and counts[7] == pytest.approx(3.0)  # halves of bins
    assert _rebin({"counts": [5], "edges": [1.0, 1.0]}, edges).sum() == 5  # one point mass


def test_labels_unlike_the_training_labels_fail_before_a_model_fit_has_yet_to_build():
    model = _compile(keras.Sequential([keras.layers.Dense(8, activation="relu"),
                                       keras.layers.Dense(3)]))  # fmt: skip
    one_hot = np.eye(3, dtype="float32")[Y]
    # (On JAX `fit` has built the model from its data: the loss, traced, says it.)
    expected = (r"`probe_data` is not shaped like the training data: each training sample's "
                r"labels have shape \(\), the probe's \(3,\)" if BACKEND != "jax"
                else r"`probe_data`.*labels of shape \(3,\)")
    with pytest.raises(ValueError, match=expected):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[GradientNormLogger(probe_data=(X, one_hot))])
    assert not model.built or BACKEND == "jax"


def test_a_model_whose_only_rectifier_is_a_bare_op_is_told_so():
    inputs = keras.Input((6,))
    model = _compile(keras.Model(inputs, keras.layers.Dense(3)(Maybe(True, name="only")(inputs))))
    messages = _caught_fit(model, [DeadReLUMonitor(probe_data=X)])
    assert any("Maybe 'only' calls relu inside call() as a bare op" in m for m in messages)
    assert any("DeadReLUMonitor will log nothing" in m for m in messages)


def test_every_monitor_that_finds_nothing_says_so_once_as_a_nothing_to_watch_warning():
    # One category for the three, so that a caller silences them by what they are
    # (the reproduction's runner does), not by a copy of their wording.
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4), keras.layers.Dense(3)])
    model.trainable = False  # no weight for the gradient norms, no activation, no rectifier
    model = _compile(model)
    monitors = [ActivationStats(probe_data=X), DeadReLUMonitor(probe_data=X),
                GradientNormLogger(probe_data=(X, Y))]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, Y, epochs=1, batch_size=16, verbose=0, callbacks=monitors)
    nothing = [str(w.message) for w in caught if issubclass(w.category, NothingToWatchWarning)]
    assert len(nothing) == 3, [str(w.message) for w in caught]
    for name in ("ActivationStats", "DeadReLUMonitor", "GradientNormLogger"):
        assert sum(m.startswith(name) for m in nothing) == 1
    assert all(m.records == [] for m in monitors)


# The step a measurement is labelled with.


@pytest.mark.parametrize("sized", [True, False], ids=["arrays", "unsized_generator"])
def test_a_measurement_in_a_short_last_group_is_labelled_with_the_steps_done(sized):
    """36 batches in groups of 10: Keras calls the last group's batch hook with batch
    index 39, but 36 steps ran (helper-12's finding); every monitor labels it 36, whether
    Keras knows the epoch's length (arrays) or not (a generator without a length)."""
    x = np.tile(X, (36 * 4 // len(X) + 1, 1))[:36 * 4]
    y = np.tile(Y, 36 * 4 // len(Y) + 1)[:36 * 4]
    monitors = [DeadReLUMonitor(probe_data=(X, Y), every=20), GradientNormLogger(probe_data=(X, Y), every=20),
                ActivationStats(probe_data=X, every=20)]  # fmt: skip
    model = _compile(_regular_model(), learning_rate=0.01, steps_per_execution=10)
    if sized:
        data = {"x": x, "y": y, "batch_size": 4}
    else:
        def batches():
            for start in range(0, len(x), 4):
                yield x[start:start + 4], y[start:start + 4]
        data = {"x": batches()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(**data, epochs=1, verbose=0, callbacks=monitors)
        assert int(ops.convert_to_numpy(model.optimizer.iterations.value)) == 36  # TF: NumPy 2's copy warning
    for monitor in monitors:
        steps = [(r["trigger"], r["step"]) for r in monitor.records]
        assert steps == [("batch_end", 20), ("batch_end", 36), ("epoch_end", 36)], type(monitor).__name__


def test_every_counts_the_batches_run_when_a_loss_scale_optimizer_skips_updates():
    """Under mixed precision a `LossScaleOptimizer` skips the updates whose scaled gradients
    overflow (the loss scale starts at 2**15), so its count falls behind the batches: the
    schedule read it and measured at almost every batch, with repeated labels."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype("float32")
    y = (rng.normal(size=(40, 1)) * 30).astype("float32")
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                                  keras.layers.Dense(1, dtype="float32")])
    finally:
        keras.config.set_dtype_policy(policy)
    model.compile("sgd", "mse")
    monitors = [ActivationStats(probe_data=x, every=5),
                GradientNormLogger(probe_data=(x, y), every=5)]
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=monitors)
    assert int(ops.convert_to_numpy(model.optimizer.iterations.value)) < 20  # updates skipped
    for monitor in monitors:
        steps = [(r["trigger"], r["step"]) for r in monitor.records]
        assert steps == [("batch_end", 5), ("batch_end", 10), ("epoch_end", 10),
                         ("batch_end", 15), ("batch_end", 20), ("epoch_end", 20)], steps


# A diverged model: NaN weights.


def test_a_diverged_model_is_measured_not_crashed_nor_called_dead():
    """NaN weights: `ActivationStats(histograms=True)` crashed `fit` (NumPy's histogram of
    NaN), and `DeadReLUMonitor` called every unit dead ('pre-activation <= 0') and stopped
    training on it, though no pre-activation was <= 0."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, name="pre"),
                              keras.layers.Activation("sigmoid", name="s"),
                              keras.layers.ReLU(name="r"), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.get_layer("pre").kernel.assign(np.full((4, 8), np.nan, "float32"))
    stats = ActivationStats(probe_data=x, histograms=True)
    dead = DeadReLUMonitor(probe_data=x, stop_above=0.5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, y, epochs=2, verbose=0, callbacks=[stats, dead])
    assert len(history.epoch) == 2 and not any(r.get("stopped") for r in dead.records)
    layer = dead.records[-1]["layers"]["r"]
    assert (layer["nan_units"], layer["inactive_units"], layer["fraction"]) == (8, 0, 0.0)
    # (A ReLU of NaN is NaN on JAX and 0 on TensorFlow; a sigmoid's is NaN on both.)
    histogram = stats.records[-1]["layers"]["s"]["histogram"]
    assert histogram["nonfinite"] == 8 * len(x) and sum(histogram["counts"]) == 0
    messages = [str(w.message) for w in caught]
    assert sum("NaN pre-activations" in m for m in messages) == 1, messages
    assert any("outputs of 's' are NaN or infinite" in m for m in messages), messages
    # Both of their own category, which `train`, `tune` and `reproduce` silence (a diverged
    # run says so in its own line).
    assert {w.category for w in caught if "NaN" in str(w.message)} == {NonFiniteWarning}
    assert not any("dead (pre-activation" in m for m in messages), messages


def test_gradient_norms_of_a_model_whose_whole_loss_is_added_in_call():
    """An autoencoder compiled without `loss` trains on what its layers `add_loss`: the
    logger refused it ("call model.compile(..., loss=...)") and asked for targets. Checked
    against the update of one SGD step at rate 1 on the same batch (minus the gradient)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype("float32")

    class Reconstruction(keras.layers.Layer):
        def call(self, inputs):
            original, rebuilt = inputs
            self.add_loss(ops.mean(ops.square(original - rebuilt)))
            return rebuilt

    inputs = keras.Input((4,))
    rebuilt = keras.layers.Dense(4)(keras.layers.Dense(2, activation="relu")(inputs))
    model = keras.Model(inputs, Reconstruction()([inputs, rebuilt]))
    model.compile(keras.optimizers.SGD(1.0))
    logger = GradientNormLogger(probe_data=x)
    record = measure_once(logger, model, end=True)
    before = [ops.convert_to_numpy(v).astype("float64") for v in model.trainable_variables]
    model.train_on_batch(x)
    after = [ops.convert_to_numpy(v).astype("float64") for v in model.trainable_variables]
    step = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(after, before)))
    assert record["global"] == pytest.approx(step, rel=1e-5)
    # Compiled without a loss and adding none: no gradient to measure, said before training.
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="relu")])
    plain.compile("sgd")
    with pytest.raises(ValueError, match="compiled without `loss` and adds no loss of its own"):
        measure_once(GradientNormLogger(probe_data=x), plain)


@pytest.mark.parametrize("one_hot", [False, True], ids=["class_indices", "one_hot"])
def test_gradient_norms_weigh_the_probe_by_fits_class_weight(one_hot):
    """`fit(class_weight=...)` minimises a class-weighted loss; the logger left the weights
    out without a word. Checked against the update of one SGD step at rate 1 of `fit`
    itself on the probe batch (minus the gradient), learning rate 0 for the measured fit."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = rng.integers(0, 3, size=(16,))
    if one_hot:
        y = np.eye(3, dtype="float32")[y]
    class_weight = {0: 5.0, 1: 1.0, 2: 0.1}
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")])
    loss = "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"
    model.compile(keras.optimizers.SGD(1.0), loss)
    before = [ops.convert_to_numpy(v).astype("float64") for v in model.trainable_variables]
    model.fit(x, y, class_weight=class_weight, batch_size=16, epochs=1, verbose=0)
    after = [ops.convert_to_numpy(v).astype("float64") for v in model.trainable_variables]
    step = np.sqrt(sum(np.sum((a - b) ** 2) for a, b in zip(after, before)))
    for variable, value in zip(model.trainable_variables, before):
        variable.assign(value.astype("float32"))
    model.optimizer.learning_rate.assign(0.0)  # the epoch-end record at the same weights
    logger = GradientNormLogger(probe_data=(x, y))
    model.fit(x, y, class_weight=class_weight, batch_size=16, epochs=1, verbose=0,
              callbacks=[logger])
    assert logger.records[0]["global"] == pytest.approx(step, rel=1e-5)


@pytest.mark.parametrize("below", [False, True], ids=["a_file", "below_a_file"])
def test_a_log_dir_that_cannot_hold_event_files_fails_before_any_step(below, tmp_path):
    """A file as `log_dir` was found at the first write, after the first epoch, by
    TensorBoard's own error, which did not name `log_dir`."""
    (tmp_path / "notes.txt").write_text("mine")
    log_dir = tmp_path / "notes.txt" / ("run1" if below else "")
    model = _compile(_regular_model())
    steps = []
    counter = keras.callbacks.LambdaCallback(on_train_batch_end=lambda *_: steps.append(1))
    for monitor in (DeadReLUMonitor, ActivationStats):
        with pytest.raises(ValueError, match=r"log_dir must be a folder .* is a file\. "
                                             r"Received: log_dir="):
            model.fit(X, Y, epochs=1, verbose=0,
                      callbacks=[monitor(probe_data=X, log_dir=log_dir), counter])
    assert steps == [] and (tmp_path / "notes.txt").read_text() == "mine"
