"""Two edges of the monitors: which axis holds a layer's units (channels-first layouts), and
probe data given as a list of batches.

A unit is a channel of a convolution: axis 1 under `data_format="channels_first"`, for the
activation a convolution holds and for a standalone activation its output feeds; a Dense
layer's units stay its last axis whatever `keras.config.image_data_format()` says.
keras-contrib's DeadReluDetector conv cases are ported in both data formats. Every count
is made by hand (NumPy) from the layers' own outputs. Runs on TensorFlow and on JAX.
"""


import keras
import numpy as np
import pytest

from actkeras.callbacks import DeadReLUMonitor, DeadUnitWarning, GradientNormLogger
from actkeras.callbacks._probe import take_probe
from monitoring import measure_with_warnings

BACKEND = keras.backend.backend()
CF = "channels_first"
RNG = np.random.default_rng(11)
X = RNG.standard_normal((48, 5)).astype("float32")
Y = (np.arange(48) % 2).astype("int32")


def _skip_tf_conv(data_format=CF):
    if BACKEND == "tensorflow" and data_format == CF:
        pytest.skip("TensorFlow's CPU kernels refuse channels_first convolutions (with oneDNN "
                    "on, eager ones run but may add the bias along the wrong axis)")


def _measure(monitor, model):
    """One measurement outside `fit` (no training step: TensorFlow's CPU kernels have no
    channels-first convolution gradient), and its dead-unit warnings."""
    record, caught = measure_with_warnings(monitor, model)
    return record, [w for w in caught if issubclass(w.category, DeadUnitWarning)]


def _dead_channels(values, axis):
    """Channels (along `axis`) whose value is <= 0 for every sample and position, by hand."""
    values = np.moveaxis(np.asarray(values), axis, -1)
    return int((values.reshape(-1, values.shape[-1]).max(axis=0) <= 0).sum())


def _conv_model(data_format, inp_shape):
    inp = keras.Input(inp_shape)
    conv = keras.layers.Conv2D(4, 3, padding="same", data_format=data_format,
                               activation="relu", name="conv")  # fmt: skip
    out = keras.layers.Dense(1)(keras.layers.Flatten()(conv(inp)))
    return keras.Model(inp, out), conv


@pytest.mark.parametrize("data_format", [CF, "channels_last"])
def test_a_conv_unit_is_a_channel_in_both_formats(data_format):
    _skip_tf_conv(data_format)
    keras.utils.set_random_seed(0)
    shape = (3, 8, 8) if data_format == CF else (8, 8, 3)
    model, conv = _conv_model(data_format, shape)
    conv.bias.assign(np.array([-100, 0, 0, 0], "float32"))  # channel 0 dead
    x = np.random.default_rng(0).standard_normal((32,) + shape).astype("float32")
    record, _ = _measure(DeadReLUMonitor(probe_data=x), model)
    info = record["layers"]["conv"]
    axis = 1 if data_format == CF else -1
    expected = _dead_channels(keras.Model(model.inputs[0], conv.output)(x), axis)
    assert expected == 1
    # Before: channels_first gave 8 units (the width) and 0.0 dead.
    assert (info["units"], info["inactive_units"], info["fraction"]) == (4, expected, 0.25)


@pytest.mark.parametrize("data_format", [CF, "channels_last"])
@pytest.mark.parametrize("dead", [1, 2, 11])
def test_keras_contrib_dead_relu_detector_conv_cases(data_format, dead):
    """keras-contrib's test_DeadDeadReluDetector_conv: 11 filters of (5, 5) on 4 input maps of
    ones, the first `dead` filters' weights zero (so their output is 0); 1 in 11 is below the
    10 % threshold (no warning), 2 in 11 and all are above it."""
    _skip_tf_conv(data_format)
    n_out, n_samples = 11, 9
    shape = (4, 5, 5) if data_format == CF else (5, 5, 4)
    weights = np.ones((5, 5, 4, n_out), "float32")
    weights[..., :dead] = 0
    model = keras.Sequential([
        keras.Input(shape),
        keras.layers.Conv2D(n_out, (5, 5), activation="relu", data_format=data_format,
                            name="conv"),
        keras.layers.Flatten(),
    ])  # fmt: skip
    model.get_layer("conv").set_weights([weights, np.zeros(n_out, "float32")])
    x = np.ones((n_samples,) + shape, "float32")
    record, caught = _measure(DeadReLUMonitor(probe_data=x), model)
    info = record["layers"]["conv"]
    axis = 1 if data_format == CF else -1
    by_hand = _dead_channels(model.get_layer("conv")(x), axis)
    assert by_hand == dead
    assert (info["units"], info["inactive_units"]) == (n_out, dead)
    assert info["fraction"] == pytest.approx(dead / n_out)
    assert len(caught) == (0 if dead == 1 else 1)


def test_a_standalone_activation_takes_the_format_of_the_layer_feeding_it():
    """MaxPooling2D (channels_first) -> BatchNorm(axis=1) -> ReLU layer, and a residual Add of
    that and a channels-first 1x1 conv -> keras.ops.relu: both read channels, through the
    graph (on TensorFlow, without the conv)."""
    inp = keras.Input((5, 8, 8))
    pooled = keras.layers.MaxPooling2D(data_format=CF)(inp)
    norm = keras.layers.BatchNormalization(axis=1, name="bn")
    pre = norm(pooled)
    relu = keras.layers.ReLU(name="re")(pre)
    if BACKEND == "tensorflow":
        side = keras.layers.UpSampling2D(1, data_format=CF)(relu)
    else:
        side = keras.layers.Conv2D(5, 1, data_format=CF, name="side")(relu)
    added = keras.layers.Add()([side, keras.layers.Dropout(0.5)(relu)])
    out = keras.ops.relu(added)
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.Flatten()(out)))
    norm.beta.assign(np.array([-100, -100, 0, 0, 0], "float32"))  # two channels dead
    x = np.random.default_rng(1).standard_normal((16, 5, 8, 8)).astype("float32")
    record, _ = _measure(DeadReLUMonitor(probe_data=x, mode="inference"), model)
    by_hand = keras.Model(inp, [pre, added])(x, training=False)
    layers = record["layers"]
    # Before: 4 units (the width) and none dead.
    assert layers["re"]["units"] == 5
    assert layers["re"]["inactive_units"] == _dead_channels(by_hand[0], 1) == 2
    assert layers["relu"]["units"] == 5  # the graph op
    assert layers["relu"]["inactive_units"] == _dead_channels(by_hand[1], 1)


def test_a_subclassed_model_takes_its_layers_common_format():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.pool = keras.layers.MaxPooling2D(data_format=CF)
            self.act = keras.layers.ReLU()
            self.head = keras.layers.Dense(1)

        def call(self, x):
            return self.head(keras.ops.reshape(self.act(self.pool(x) + self.shift), (-1, 48)))

    model = Net()
    model.shift = keras.ops.convert_to_tensor(np.array([0, -100, 0], "float32")[:, None, None])
    x = np.random.default_rng(2).standard_normal((16, 3, 8, 8)).astype("float32")
    model(x[:1])
    record, _ = _measure(DeadReLUMonitor(probe_data=x), model)
    info = record["layers"]["re_lu"]
    pre = np.asarray(model.pool(x)) + np.array([0, -100, 0], "float32")[:, None, None]
    # Before: 4 units (the width) and none dead.
    assert (info["units"], info["inactive_units"]) == (3, _dead_channels(pre, 1)) == (3, 1)


def test_time_distributed_channels_first_conv_counts_channels():
    _skip_tf_conv()
    inp = keras.Input((3, 2, 6, 6))  # (frames, channels, height, width)
    conv = keras.layers.Conv2D(4, 3, data_format=CF, activation="relu", name="conv")
    out = keras.layers.TimeDistributed(conv, name="td")(inp)
    model = keras.Model(inp, keras.layers.Dense(1)(keras.layers.Flatten()(out)))
    conv.bias.assign(np.array([0, 0, -100, 0], "float32"))
    x = np.random.default_rng(3).standard_normal((8, 3, 2, 6, 6)).astype("float32")
    record, _ = _measure(DeadReLUMonitor(probe_data=x), model)
    info = record["layers"]["td/conv"]
    frames = np.stack([np.asarray(conv(x[:, t])) for t in range(3)], axis=1)
    assert (info["units"], info["inactive_units"]) == (4, _dead_channels(frames, 2))
    assert info["inactive_units"] == 1


def test_dense_units_stay_last_whatever_the_image_data_format():
    """keras-contrib's test_DeadDeadReluDetector: Dense(11) on (samples, 3, 4), the first
    filter's weights zero, under a global channels_first (a guard: the last axis before too)."""
    before = keras.config.image_data_format()
    keras.config.set_image_data_format(CF)
    try:
        weights = np.ones((4, 11), "float32")
        weights[:, 0] = 0
        model = keras.Sequential([keras.Input((3, 4)),
                                  keras.layers.Dense(11, activation="relu", use_bias=False,
                                                     name="dense"),
                                  keras.layers.ReLU(name="relu")])  # fmt: skip
        model.get_layer("dense").set_weights([weights])
        x = np.ones((9, 3, 4), "float32")
        record, _ = _measure(DeadReLUMonitor(probe_data=x), model)
    finally:
        keras.config.set_image_data_format(before)
    by_hand = _dead_channels(x @ weights, -1)
    for name in ("dense", "relu"):
        info = record["layers"][name]
        assert (info["units"], info["inactive_units"]) == (11, by_hand) == (11, 1)


# Probe data as a list of batches.


def _mlp():
    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((5,)),
                              keras.layers.Dense(6, activation="relu", name="hidden"),
                              keras.layers.Dense(2, activation="softmax", name="out")])  # fmt: skip
    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    return model


def test_a_list_of_xy_batches_is_a_sequence_of_batches():
    batches = [(X[i : i + 16], Y[i : i + 16]) for i in range(0, 48, 16)]
    probe = take_probe(batches, 40)
    np.testing.assert_array_equal(probe.x, X[:40])  # the first probe_size samples, in order
    np.testing.assert_array_equal(probe.y, Y[:40])
    weighted = take_probe([(X[:16], Y[:16], np.full(16, 2.0)), (X[16:32], Y[16:32], np.ones(16))],
                          100)  # fmt: skip
    np.testing.assert_array_equal(weighted.sample_weight, [2.0] * 16 + [1.0] * 16)
    # A tuple of more than three batches can only be batches.
    assert len(take_probe(tuple((X[i : i + 8], Y[i : i + 8]) for i in range(0, 48, 8)), 100)) == 48


def test_both_monitors_train_on_a_list_of_batches():
    model = _mlp()
    hidden = model.get_layer("hidden")
    bias = np.full(6, 0.5, "float32")
    bias[:2] = -100.0
    hidden.bias.assign(bias)
    batches = [(X[i : i + 16], Y[i : i + 16]) for i in range(0, 48, 16)]
    dead = DeadReLUMonitor(probe_data=batches, threshold=1.0)
    grads = GradientNormLogger(probe_data=batches)
    # Before: "`probe_data` gives 6 input arrays; the model takes 1."
    model.fit(X, Y, epochs=1, batch_size=48, verbose=0, callbacks=[dead, grads])
    pre = X @ np.asarray(hidden.kernel) + np.asarray(hidden.bias)
    info = dead.records[-1]["layers"]["hidden"]
    assert (info["units"], info["inactive_units"]) == (6, int((pre.max(axis=0) <= 0).sum()))
    assert info["inactive_units"] == 2
    # The gradient norm of the loss on the probe (the labels come from the batches),
    # against a plain Keras gradient of the same loss on the whole probe.
    expected = _global_gradient_norm(model, X, Y)
    assert grads.records[-1]["global"] == pytest.approx(expected, rel=1e-4)


def _global_gradient_norm(model, x, y):
    loss = keras.losses.SparseCategoricalCrossentropy()
    if BACKEND == "jax":
        import jax

        values = [v.value for v in model.trainable_variables]

        def f(values):
            with keras.StatelessScope(state_mapping=list(zip(model.trainable_variables, values))):
                return loss(y, model(x, training=True))

        grads = jax.grad(f)(values)
    else:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True))
        grads = tape.gradient(value, model.trainable_variables)
    return float(np.sqrt(sum(float(np.sum(np.square(np.asarray(g)))) for g in grads)))


def test_a_list_of_arrays_stays_several_inputs():
    a, b = keras.Input((5,)), keras.Input((3,))
    h = keras.layers.Dense(4, activation="relu", name="hidden")(keras.layers.Concatenate()([a, b]))
    model = keras.Model([a, b], keras.layers.Dense(1)(h))
    xb = RNG.standard_normal((48, 3)).astype("float32")
    probe = take_probe([X, xb], 100)
    assert [p.shape for p in probe.x] == [(48, 5), (48, 3)] and probe.y is None
    record, _ = _measure(DeadReLUMonitor(probe_data=[X, xb]), model)
    assert record["layers"]["hidden"]["units"] == 4


def test_the_same_arrays_as_a_dict_and_as_a_list_measure_alike_on_one_model():
    """The compiled passes were cached by the arrays' shapes and dtypes only: on TensorFlow
    a second probe of the same arrays in another structure was bound to the first's
    signature and failed."""
    a, b = keras.Input((5,), name="a"), keras.Input((3,), name="b")
    h = keras.layers.Dense(4, activation="relu", name="hidden")(keras.layers.Concatenate()([a, b]))
    model = keras.Model([a, b], keras.layers.Dense(1)(h))
    model.compile("sgd", "mse")
    xb = RNG.standard_normal((48, 3)).astype("float32")
    y = RNG.standard_normal((48, 1)).astype("float32")
    dead, norms = [], []
    for probe in ({"a": X, "b": xb}, [X, xb], {"a": X, "b": xb}):
        dead.append(_measure(DeadReLUMonitor(probe_data=probe), model)[0]["layers"]["hidden"])
        norms.append(_measure(GradientNormLogger(probe_data=(probe, y)), model)[0]["global"])
    assert dead[0] == dead[1] == dead[2]
    assert norms[0] == pytest.approx(norms[1], rel=1e-6) and norms[0] == norms[2]


def test_a_tuple_of_up_to_three_parts_is_x_y_sample_weight_as_keras_reads_it():
    # Keras's `fit` reads ((x1, x2), (y1, y2)) as two inputs and two outputs: so does a probe.
    xb = RNG.standard_normal((48, 3)).astype("float32")
    probe = take_probe(((X, xb), (Y, Y)), 100)
    assert [p.shape for p in probe.x] == [(48, 5), (48, 3)]
    assert [len(p) for p in probe.y] == [48, 48]
    # More than three (x, y) tuples cannot be (x, y, sample_weight): batches.
    batches = tuple((X[i:i + 12], Y[i:i + 12]) for i in range(0, 48, 12))
    probe = take_probe(batches, 100)
    np.testing.assert_array_equal(probe.x, X)


def test_variable_length_batches_say_what_to_do():
    batches = [(RNG.standard_normal((4, t, 3)).astype("float32"), np.zeros(4)) for t in (5, 7, 9)]
    with pytest.raises(ValueError, match=r"do not stack.*Pad variable-length batches.*"
                                         r"give one batch.*Received: probe_data=list"):
        take_probe(batches, 100)


def test_too_many_inputs_says_how_to_give_each_form():
    model = _mlp()
    with pytest.raises(ValueError, match=r"gives 3 input arrays; the model takes 1.*list of "
                                         r"\(x, y\) tuples.*Received: probe_data=list"):
        _measure(DeadReLUMonitor(probe_data=[X, X, X]), model)
