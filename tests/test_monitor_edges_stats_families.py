"""ActivationStats' spread and saturation, and the families of every Keras activation.

The std of outputs with a large mean and a small spread, the saturated fraction of
piecewise-linear activations, every activation `keras.activations` has (taken from
it at test time, so that a new one fails here until it is given a family), the dead
units of sparse_plus and of the shrinks, and leaky or exponential activations with
a slope of 0. Every number is checked against NumPy on the layers' own outputs or
pre-activations. Runs on TensorFlow and on JAX.
"""

import functools

import keras
import numpy as np
import pytest
from keras import ops

import actkeras
from actkeras.callbacks import (
    ActivationStats,
    DeadReLUMonitor,
    find_activation_layers,
)
from monitoring import measure_with_warnings

NUM_SAMPLES = 64
RNG = np.random.default_rng(11)
X = RNG.normal(size=(NUM_SAMPLES, 6)).astype("float32")
Y = np.zeros((NUM_SAMPLES, 1), "float32")


def _measure(monitor, model):
    """One measurement outside `fit`, and its warnings' messages."""
    record, caught = measure_with_warnings(monitor, model)
    return record, [str(w.message) for w in caught]


def _outputs(inputs, tensors, x=X):
    """The tensors' values on `x`, by a plain Keras forward pass, in float64."""
    values = keras.Model(inputs, tensors)(x)
    return [np.asarray(v, "float64") for v in keras.tree.flatten(values)]


def _dense(units, name, bias, activation=None, scale=1.0):
    """Dense with kernel `scale` * ones / in-features and the given bias (per unit)."""
    return keras.layers.Dense(
        units, activation=activation, name=name,
        kernel_initializer=keras.initializers.Constant(scale / X.shape[1]),
        bias_initializer=keras.initializers.Constant(np.asarray(bias, "float32")))  # fmt: skip


# Defect 1: the std of outputs with a large mean and a small spread.


def test_std_is_right_for_a_large_mean_and_a_small_spread_over_several_chunks():
    keras.utils.set_random_seed(0)
    x = RNG.normal(size=(256, 4)).astype("float32")
    inputs = keras.Input((4,))
    small = keras.initializers.RandomNormal(stddev=0.01)
    sig = keras.layers.Dense(4, activation="sigmoid", name="sig", kernel_initializer=small,
                             bias_initializer=keras.initializers.Constant(8.0))(inputs)
    relu = keras.layers.Dense(4, activation="relu", name="relu", kernel_initializer=small,
                              bias_initializer=keras.initializers.Constant(100.0))(inputs)
    plain = keras.layers.Dense(5, activation="tanh", name="plain")(inputs)  # an ordinary layer
    merged = keras.layers.Concatenate()([sig, relu, plain])
    model = keras.Model(inputs, keras.layers.Dense(1)(merged))
    stats = ActivationStats(probe_data=x)
    stats.chunk_size = 100  # three chunks: 100, 100 and 56 samples
    record, _ = _measure(stats, model)  # (the probe is the monitor's own)
    for name, out in zip(["sig", "relu", "plain"], _outputs(inputs, [sig, relu, plain], x)):
        layer = record["layers"][name]
        # Before: sig 0.0 (NumPy 5.7e-6), relu 0.034 (NumPy 0.017) on TensorFlow.
        np.testing.assert_allclose(layer["std"], out.std(), rtol=1e-4, err_msg=name)
        np.testing.assert_allclose(layer["mean"], out.mean(), rtol=1e-6, err_msg=name)


# Defect 8: saturation of piecewise-linear activations, at a bound.


def test_saturated_fraction_is_at_a_bound_for_piecewise_linear_activations():
    inputs = keras.Input((6,))
    spread = keras.initializers.RandomNormal(stddev=2.0, seed=1)
    names = ["hard_sigmoid", "sparse_sigmoid", "hard_tanh", "relu6", "sigmoid", "tanh",
             "log_sigmoid"]  # fmt: skip
    branches = [keras.layers.Dense(8, activation=name, name=name, kernel_initializer=spread,
                                   bias_initializer=keras.initializers.Constant(bias))(inputs)
                for name, bias in zip(names, [-1.0, 0.5, 0.3, 4.0, 1.0, 0.0, 2.0])]  # fmt: skip
    capped = keras.layers.ReLU(max_value=1.5, name="capped")(
        keras.layers.Dense(8, kernel_initializer=spread, name="pre")(inputs))
    branches.append(capped)
    names.append("capped")
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Concatenate()(branches)))
    record, _ = _measure(ActivationStats(probe_data=X), model)
    out = dict(zip(names, _outputs(inputs, branches)))
    # Derivative exactly 0 (at a bound) for the piecewise-linear ones, below 1 % of its
    # maximum for the smooth ones, from the outputs alone.
    expected = {
        "hard_sigmoid": (out["hard_sigmoid"] <= 0) | (out["hard_sigmoid"] >= 1),
        "sparse_sigmoid": (out["sparse_sigmoid"] <= 0) | (out["sparse_sigmoid"] >= 1),
        "hard_tanh": np.abs(out["hard_tanh"]) >= 1,
        "relu6": out["relu6"] >= 6,
        "capped": out["capped"] >= 1.5,
        "sigmoid": 4 * out["sigmoid"] * (1 - out["sigmoid"]) < 0.01,
        "tanh": 1 - out["tanh"] ** 2 < 0.01,
        "log_sigmoid": 1 - np.exp(out["log_sigmoid"]) < 0.01,
    }
    for name, mask in expected.items():
        found = record["layers"][name]["saturated_fraction"]
        # Smooth ones: the float32 formula on the device may round a value at the
        # 1 % line the other way.
        slack = 0 if name in ("hard_sigmoid", "sparse_sigmoid", "hard_tanh", "relu6",
                              "capped") else 2 / mask.size  # fmt: skip
        assert abs(found - mask.mean()) <= slack, (name, found, mask.mean())
    # Every rule is tried on both sides: some values saturated, some not.
    for name in ("hard_sigmoid", "sparse_sigmoid", "hard_tanh", "relu6", "capped"):
        assert 0 < expected[name].mean() < 1, name
    # Before: hard_sigmoid read 0.995 (TensorFlow) with the smooth formula.
    assert record["layers"]["hard_sigmoid"]["saturated_fraction"] < 0.9


def test_a_hard_sigmoid_inside_its_bounds_is_not_saturated():
    inputs = keras.Input((6,))
    small = keras.initializers.RandomNormal(stddev=0.001, seed=0)
    hs = keras.layers.Dense(4, activation="hard_sigmoid", name="hs", kernel_initializer=small,
                            bias_initializer=keras.initializers.Constant(-2.99))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(hs))
    record, _ = _measure(ActivationStats(probe_data=X), model)
    (out,) = _outputs(inputs, [hs])
    assert ((out > 0) & (out < 1)).all()  # its derivative is 1/6, its maximum, everywhere
    assert record["layers"]["hs"]["saturated_fraction"] == 0.0  # was 0.995 (TF), 0.985 (JAX)


# Defect 7: every activation of keras.activations, by name.

# The family of each activation `keras.activations` has; `None`: the identity.
FAMILY = {
    "relu": "rectifier", "relu6": "rectifier", "sparse_plus": "rectifier",
    "threshold": "rectifier", "leaky_relu": "leaky",
    "elu": "exponential", "selu": "exponential", "celu": "exponential",
    "gelu": "smooth", "silu": "smooth", "swish": "smooth", "mish": "smooth",
    "softplus": "smooth", "squareplus": "smooth", "exponential": "smooth",
    "hard_silu": "rectifier", "hard_swish": "rectifier",
    "sigmoid": "sigmoid", "hard_sigmoid": "sigmoid", "sparse_sigmoid": "sigmoid",
    "log_sigmoid": "sigmoid", "tanh": "tanh", "hard_tanh": "tanh",
    "softmax": "softmax", "log_softmax": "softmax", "sparsemax": "softmax",
    "softsign": "bounded", "hard_shrink": "shrink", "soft_shrink": "shrink",
    "tanh_shrink": "shrink", "glu": "gated", "linear": None,
}  # fmt: skip
NOT_ACTIVATIONS = {"get", "serialize", "deserialize"}


def _keras_activations():
    return sorted(name for name in dir(keras.activations)
                  if not name.startswith("_") and name not in NOT_ACTIVATIONS
                  and callable(getattr(keras.activations, name)))  # fmt: skip


def _activation(name):
    function = getattr(keras.activations, name)
    if name == "threshold":  # it has no default threshold: usable only with one
        return functools.partial(function, threshold=0.1, default_value=0.0)
    return function


def test_every_keras_activation_has_a_family():
    names = _keras_activations()
    assert set(names) == set(FAMILY), (
        f"keras.activations has {sorted(set(names) - set(FAMILY))} that this test (and "
        "actkeras.callbacks._sites.FUNCTIONS) does not know, or lost "
        f"{sorted(set(FAMILY) - set(names))}")
    inputs = keras.Input((6,))
    kept = [name for name in names if FAMILY[name] is not None]
    branches = [keras.layers.Dense(4, activation=_activation(name), name=f"act_{name}")(inputs)
                for name in names]  # fmt: skip
    # Keras gives Dense(activation="glu") the symbolic shape of its inputs, not half of
    # it: a shape-blind head (one mean per branch) keeps the model runnable.
    means = [ops.mean(branch, axis=-1, keepdims=True) for branch in branches]
    model = keras.Model(inputs, keras.layers.Concatenate()(means))
    sites = {site.name: site for site in find_activation_layers(model)}
    assert sorted(sites) == sorted(f"act_{name}" for name in kept)
    for name in kept:
        site = sites[f"act_{name}"]
        assert site.family == FAMILY[name], name
        assert site.function == getattr(_activation(name), "func", _activation(name)).__name__
    # Measured too, and equal to NumPy on each layer's own outputs.
    record, messages = _measure(ActivationStats(probe_data=X), model)
    assert not [m for m in messages if "will log nothing" in m], messages
    outputs = dict(zip(names, _outputs(inputs, branches)))
    for name in kept:
        layer, out = record["layers"][f"act_{name}"], outputs[name]
        assert layer["family"] == FAMILY[name]
        np.testing.assert_allclose(layer["mean"], out.mean(), rtol=1e-5, atol=1e-7, err_msg=name)
        np.testing.assert_allclose(layer["std"], out.std(), rtol=1e-4, atol=1e-7, err_msg=name)
        assert layer["zero_fraction"] == np.mean(out == 0), name


def test_keras_activation_ops_in_a_functional_graph_get_their_family_and_arguments():
    inputs = keras.Input((6,))
    h = keras.layers.Dense(8)(inputs)
    branches = [ops.sparse_plus(h), ops.soft_shrink(h, threshold=0.3), ops.threshold(h, 0.2, 0.0),
                ops.log_softmax(h), ops.glu(h), ops.leaky_relu(h, negative_slope=0.0),
                ops.elu(h, alpha=0.0), ops.hard_tanh(h)]  # fmt: skip
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Concatenate()(branches)))
    found = {s.name: (s.family, s.threshold) for s in find_activation_layers(model)}
    assert found == {
        "sparse_plus": ("rectifier", -1.0), "soft_shrink": ("shrink", 0.3),
        "threshold": ("rectifier", 0.2), "log_softmax": ("softmax", 0.0),
        "glu": ("gated", 0.0), "leaky_relu": ("rectifier", 0.0), "elu": ("rectifier", 0.0),
        "hard_tanh": ("tanh", 0.0),
    }  # fmt: skip


def test_sparse_plus_units_at_or_below_minus_one_are_dead():
    inputs = keras.Input((6,))
    # Biases: pre-activations always <= -1 (dead), in (-1, 0] (alive: gradient (x + 1) / 2),
    # always above 0, and crossing -1.
    bias = [-30.0, -30.0, -0.9, -0.6, 2.0, 2.0, -1.0, -1.0]
    pre_layer = _dense(8, "pre", bias, scale=0.02)
    pre = pre_layer(inputs)
    out = keras.layers.Activation("sparse_plus", name="sp")(pre)
    model = keras.Model(inputs, keras.layers.Dense(1)(out))
    monitor = DeadReLUMonitor(probe_data=X, threshold=0.1)
    record, messages = _measure(monitor, model)
    pre_values, out_values = _outputs(inputs, [pre, out])
    dead = pre_values.max(axis=0) <= -1.0
    assert (out_values[:, dead] == 0).all() and (out_values[:, ~dead] != 0).any(axis=0).all()
    layer = record["layers"]["sp"]
    assert (layer["kind"], layer["threshold"]) == ("dead", -1.0)
    assert layer["inactive_units"] == dead.sum() == 2  # before: no site at all
    assert record["dead_fraction"] == 2 / 8
    assert any("are dead (pre-activation <= -1, output 0" in m for m in messages), messages


@pytest.mark.parametrize("name, threshold", [("hard_shrink", 0.5), ("soft_shrink", 0.3),
                                             ("tanh_shrink", 0.0)])  # fmt: skip
def test_shrink_units_inside_their_dead_zone_are_dead(name, threshold):
    function = getattr(keras.activations, name)
    if name == "soft_shrink":
        function = functools.partial(function, threshold=threshold)
    inputs = keras.Input((6,))
    scale = 0.0 if name == "tanh_shrink" else 0.02  # tanh_shrink's zone is the point 0
    bias = [0.0, threshold * 0.5, -threshold * 0.5, 3.0, -3.0, threshold, 0.05, -0.05]
    pre_layer = _dense(8, "pre", bias, scale=scale)
    pre = pre_layer(inputs)
    out = keras.layers.Activation(function, name="shrink")(pre)
    model = keras.Model(inputs, keras.layers.Dense(1)(out))
    record, messages = _measure(DeadReLUMonitor(probe_data=X, threshold=0.1), model)
    pre_values, out_values = _outputs(inputs, [pre, out])
    dead = np.abs(pre_values).max(axis=0) <= threshold
    assert (out_values[:, dead] == 0).all()
    layer = record["layers"]["shrink"]
    assert (layer["family"], layer["kind"], layer["threshold"]) == ("shrink", "dead", threshold)
    assert layer["inactive_units"] == dead.sum() > 0
    assert dead.sum() < 8  # some units outside the zone, on either side
    assert f"are dead (|pre-activation| <= {threshold:g}, output 0" in " ".join(messages)


# Defect 11: leaky and exponential activations with a slope of 0 are rectifiers.

ZERO_SLOPE = {
    "keras LeakyReLU": lambda: keras.layers.LeakyReLU(negative_slope=0.0),
    "keras ELU": lambda: keras.layers.ELU(alpha=0.0),
    "actkeras LeakyReLU": lambda: actkeras.layers.LeakyReLU(negative_slope=0.0),
    "actkeras ELU": lambda: actkeras.layers.ELU(alpha=0.0),
    "leaky_relu function": lambda: keras.layers.Activation(
        functools.partial(keras.activations.leaky_relu, negative_slope=0.0)),
    "elu function": lambda: keras.layers.Activation(
        functools.partial(keras.activations.elu, alpha=0.0)),
}  # fmt: skip


@pytest.mark.parametrize("case", list(ZERO_SLOPE))
def test_leaky_and_exponential_activations_with_a_zero_slope_are_rectifiers(case):
    inputs = keras.Input((6,))
    pre_layer = _dense(4, "pre", [-50.0, -50.0, 1.0, 0.0], scale=1.0)
    pre = pre_layer(inputs)
    out = ZERO_SLOPE[case]()(pre)
    model = keras.Model(inputs, keras.layers.Dense(1)(out))
    record, messages = _measure(DeadReLUMonitor(probe_data=X, threshold=0.1), model)
    pre_values, out_values = _outputs(inputs, [pre, out])
    dead = pre_values.max(axis=0) <= 0
    assert (out_values[:, dead] == 0).all()  # a plain ReLU: exactly 0 there
    ((name, layer),) = record["layers"].items()
    assert (layer["family"], layer["kind"]) == ("rectifier", "dead")
    assert layer["inactive_units"] == dead.sum() == 2
    assert (record["dead_fraction"], record["inactive_fraction"]) == (0.5, None)
    assert any("are dead (pre-activation <= 0, output 0" in m for m in messages), messages


def test_a_prelu_at_slope_zero_stays_leaky_because_its_slope_learns():
    inputs = keras.Input((6,))
    pre_layer = _dense(4, "pre", [-50.0, -50.0, 1.0, 0.0], scale=1.0)
    prelu = keras.layers.PReLU(name="prelu")  # Keras starts every slope at 0
    model = keras.Model(inputs, keras.layers.Dense(1)(prelu(pre_layer(inputs))))
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    monitor = DeadReLUMonitor(probe_data=X, threshold=1.0)
    assert (np.asarray(prelu.alpha) == 0).all()
    model.fit(X, Y + 1.0, epochs=1, batch_size=NUM_SAMPLES, verbose=0, callbacks=[monitor])
    layer = monitor.records[-1]["layers"]["prelu"]
    assert (layer["family"], layer["kind"], layer["inactive_units"]) == ("leaky", "inactive", 2)
    # The off units' slopes got a gradient from their negative inputs and moved off 0.
    assert (np.asarray(prelu.alpha)[:2] != 0).all()


def test_the_new_families_can_be_chosen_and_are_named_in_errors():
    inputs = keras.Input((6,))
    h = keras.layers.Dense(4, activation="hard_shrink", name="shrink")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(4, activation="glu",
                                                                        name="gate")(h)))
    assert [s.name for s in find_activation_layers(model, families=("shrink",))] == ["shrink"]
    assert [s.name for s in find_activation_layers(model, families=("gated",))] == ["gate"]
    with pytest.raises(ValueError, match=r"Valid choices: .*, shrink, gated. Received: "):
        find_activation_layers(model, families=("dead",))
