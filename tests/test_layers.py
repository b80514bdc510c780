"""Every registry entry: values against NumPy, gradients against finite differences,
config and `.keras` round trips with NON-default arguments."""

import contextlib
import math

import keras
import numpy as np
import pytest

import actkeras
from actkeras.registry import ACTIVATIONS, get_activation

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805
_erf = np.vectorize(math.erf)


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def reference(name, x, kwargs):
    """The NumPy formula each entry must match."""
    if name == "relu":
        return np.maximum(x, 0)
    if name in ("leaky_relu", "prelu"):
        slope = kwargs.get("negative_slope", kwargs.get("initial_slope"))
        slope = {"leaky_relu": 0.3, "prelu": 0.25}[name] if slope is None else slope
        return np.where(x >= 0, x, slope * x)
    if name == "elu":
        alpha = kwargs.get("alpha", 1.0)
        return np.where(x > 0, x, alpha * (np.exp(x) - 1))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1))
    if name == "gelu":
        if kwargs.get("approximate", False):
            inner = np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)
            return 0.5 * x * (1 + np.tanh(inner))
        return 0.5 * x * (1 + _erf(x / np.sqrt(2)))
    if name == "swish":
        return x / (1 + np.exp(-kwargs.get("beta", 1.0) * x))
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "scaled_sigmoid":
        return 1 / (1 + np.exp(-kwargs.get("slope", 4.0) * x))
    if name == "tanh":
        return np.tanh(x)
    if name == "softsign":
        return x / (1 + np.abs(x))
    if name == "softmax":
        return _softmax(x, kwargs.get("axis", -1))
    if name == "linear":
        return x
    raise AssertionError(f"no reference formula for {name}: add one with the entry")


def test_every_entry_has_a_reference_formula():
    x = np.zeros((2, 3))
    for name in ACTIVATIONS:
        reference(name, x, {})


def _float64():
    """Float64 for the block: JAX runs with x64 off, where a float64 layer computes in
    float32 (a warning, no error); TensorFlow needs nothing."""
    if keras.backend.backend() != "jax":
        return contextlib.nullcontext()
    import jax

    if hasattr(jax, "enable_x64"):  # newer jax; older ones have jax.experimental.enable_x64
        return jax.enable_x64(True)
    from jax.experimental import enable_x64

    return enable_x64()


# Keras's JAX backend computes `ops.tanh` in float32 even with x64 on (its type promotion
# maps float64 to float32, as JAX's default does), so the entries built on it can only be
# checked to float32's machine epsilon there. K: the float32 roundings in evaluating one
# value or derivative (about ten elementary operations, tanh within 2 ulp), with margin.
EPS32 = float(np.finfo(np.float32).eps)
K = 16


def _tanh_in_float32(name, kwargs):
    """Whether this entry goes through `ops.tanh`, on a backend that computes it in float32."""
    if name != "tanh" and not (name == "gelu" and kwargs.get("approximate")):
        return False
    with _float64():
        return keras.ops.convert_to_numpy(keras.ops.tanh(np.zeros(1))).dtype == np.float32


def _inputs(seed=0, shape=(5, 7)):
    x = np.random.default_rng(seed).normal(scale=2.0, size=shape)
    # Keep clear of the kinks at 0 so finite differences are meaningful there.
    return np.where(np.abs(x) < 0.05, 0.3, x)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("non_default", [False, True], ids=["defaults", "non_default"])
def test_values_match_numpy_formula(name, non_default):
    kwargs = ACTIVATIONS[name].test_kwargs if non_default else {}
    x = _inputs()
    layer = get_activation(name, kwargs, dtype="float64")
    with _float64():
        got = keras.ops.convert_to_numpy(layer(x))
    if _tanh_in_float32(name, kwargs):
        # Errors relative to the value, or to |x| times it (gelu's 0.5 * x * (1 + tanh)).
        np.testing.assert_allclose(got, reference(name, x, kwargs), rtol=K * EPS32,
                                   atol=K * EPS32 * np.abs(x).max())
        return
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, reference(name, x, kwargs), rtol=1e-10, atol=1e-12)


def _gradient_of_weighted_sum(layer, x, w):
    """d/dx sum(w * f(x)) with the backend's autodiff."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = tf.reduce_sum(layer(xt) * w)
        return tape.gradient(y, xt).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(lambda v: (layer(v) * w).sum())(x))
    pytest.skip(f"no gradient helper for backend {backend}")


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_gradients_match_finite_differences(name):
    kwargs = ACTIVATIONS[name].test_kwargs
    x = _inputs(seed=1, shape=(3, 4))
    w = np.random.default_rng(2).normal(size=x.shape)
    layer = get_activation(name, kwargs, dtype="float64")
    with _float64():
        layer(x)  # build (PReLU makes its slope weights here)
        analytic = _gradient_of_weighted_sum(layer, x, w)

    if _tanh_in_float32(name, kwargs):
        # Differences of a float32 tanh at a step of 1e-6 would be noise: the float64
        # formula's instead; each derivative term is at most about 1 in size.
        def values(v):
            return reference(name, v, kwargs)

        tolerance = {"rtol": K * EPS32, "atol": K * EPS32 * np.abs(w).max()}
    else:
        def values(v):
            return keras.ops.convert_to_numpy(layer(v))

        tolerance = {"rtol": 1e-6, "atol": 1e-8}

    def objective(v):
        return float(np.sum(values(v) * w))

    numeric = np.zeros_like(x)
    eps = 1e-6
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        with _float64():
            numeric[index] = (objective(x + step) - objective(x - step)) / (2 * eps)
    assert analytic.dtype == np.float64
    np.testing.assert_allclose(analytic, numeric, **tolerance)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_the_registry_states_each_layers_arguments_and_defaults(name):
    """The registry declares them so that the CLI checks them before Keras loads: they
    must be the layer's own."""
    import inspect

    entry = ACTIVATIONS[name]
    signature = inspect.signature(entry.layer.__init__).parameters.values()
    assert entry.parameters == {p.name: p.default for p in signature
                                if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"}
    assert entry.layer.__name__ == entry.class_name and entry.family == entry.layer.family


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_config_round_trip_with_non_default_arguments(name):
    entry = ACTIVATIONS[name]
    layer = get_activation(name, entry.test_kwargs, name=f"my_{name}")
    config = layer.get_config()
    for key, value in entry.test_kwargs.items():
        assert config[key] == value, f"get_config lost {key}"
        assert entry.parameters[key] != value, "test_kwargs must differ from the defaults"
    clone = entry.layer.from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is entry.layer
    assert restored.get_config() == config


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_keras_file_round_trip_with_non_default_arguments(name, tmp_path):
    entry = ACTIVATIONS[name]
    inputs = keras.Input(shape=(6,))
    hidden = keras.layers.Dense(5, kernel_initializer=keras.initializers.RandomNormal(seed=3))(inputs)
    outputs = get_activation(name, entry.test_kwargs, name="act")(hidden)
    model = keras.Model(inputs, outputs)
    if name == "prelu":  # a learned slope must survive too, not just the initial one
        act = model.get_layer("act")
        act.slope.assign(np.linspace(0.05, 0.45, 5).astype("float32"))
    x = np.random.default_rng(4).normal(size=(8, 6)).astype("float32")
    expected = model.predict(x, verbose=0)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode stays on
    assert type(loaded.get_layer("act")) is entry.layer
    assert loaded.get_layer("act").get_config() == model.get_layer("act").get_config()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=0, atol=1e-6)


def test_leaky_relu_default_slope_is_keras_layer_default_not_activation_string():
    # keras.activations.leaky_relu (activation="leaky_relu") uses 0.2; ours is 0.3.
    assert actkeras.LeakyReLU().negative_slope == 0.3
    assert keras.layers.LeakyReLU().negative_slope == pytest.approx(0.3)
    x = np.array([[-1.0]])
    assert float(keras.ops.convert_to_numpy(actkeras.LeakyReLU()(x))[0, 0]) == pytest.approx(-0.3)


def test_scaled_sigmoid_derivative_peaks_at_one():
    x = np.linspace(-2, 2, 4001)
    y = reference("scaled_sigmoid", x, {})
    slope = np.gradient(y, x)
    assert slope.max() == pytest.approx(1.0, abs=1e-4)
    assert np.gradient(reference("sigmoid", x, {}), x).max() == pytest.approx(0.25, abs=1e-4)


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("leaky_relu", {"negative_slope": -0.1}, "negative_slope"),
        ("leaky_relu", {"negative_slope": float("nan")}, "finite"),
        ("leaky_relu", {"negative_slope": "big"}, "number"),
        ("elu", {"alpha": float("inf")}, "finite"),
        ("prelu", {"initial_slope": -1}, "initial_slope"),
        ("scaled_sigmoid", {"slope": 0}, "slope"),
        ("swish", {"beta": -1.0}, "beta"),
        ("gelu", {"approximate": "yes"}, "approximate"),
        ("softmax", {"axis": 1.5}, "axis"),
        ("relu", {"negative_slope": 0.1}, "accepts: none"),
        ("elu", {"negative_slope": 0.1}, "accepts: alpha"),
        ("nope", {}, "Valid choices: relu"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_argument(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        get_activation(name, kwargs)


def test_layer_instance_is_cloned_not_shared():
    prototype = keras.layers.LeakyReLU(negative_slope=0.05)
    first, second = get_activation(prototype), get_activation(prototype)
    assert first is not second and first is not prototype
    assert first.negative_slope == pytest.approx(0.05)
    with pytest.raises(ValueError, match="activation_kwargs"):
        get_activation(prototype, {"negative_slope": 0.1})


def test_parse_activation_spec():
    from actkeras.registry import parse_activation_spec

    assert parse_activation_spec("relu") == ("relu", {})
    assert parse_activation_spec("leaky_relu:negative_slope=0.1") == (
        "leaky_relu",
        {"negative_slope": 0.1},
    )
    assert parse_activation_spec("gelu:approximate=True") == ("gelu", {"approximate": True})
    with pytest.raises(ValueError, match="key=value"):
        parse_activation_spec("elu:0.5")
    with pytest.raises(ValueError, match="accepts: alpha"):
        parse_activation_spec("elu:beta=2")
