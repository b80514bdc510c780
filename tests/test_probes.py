"""Step-0 probes (`experiments.probes`) against `GradientNormLogger` and by hand, on
TensorFlow and JAX; and the two knobs they sweep, the initial weight scale
(`init_gain`) and a learning-rate pulse (`lr_pulse`)."""

import keras
import numpy as np
import pytest

from actkeras.callbacks import GradientNormLogger
from actkeras.experiments.probes import step0
from actkeras.models import PulseSchedule, ScaledInitializer, build_model

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 28, 28)).astype("float32")
Y = RNG.integers(0, 10, size=32).astype("int32")


def test_kernel_gradients_equal_the_gradient_logger_and_nothing_changes():
    model = build_model("sigmoid", preset="mlp", hidden_units=(16, 16, 16), batch_norm=True,
                        seed=1)
    before = [np.array(v) for v in model.get_weights()]
    profile = step0(model, X, Y, "sigmoid")
    assert [np.array_equal(a, b) for a, b in zip(before, model.get_weights())] == [True] * len(before)
    logger = GradientNormLogger(probe_data=(X, Y), probe_size=32)
    logger.at_start = True
    logger.set_model(model)
    logger.on_train_begin()
    weights = logger.records[0]["weights"]
    for layer in profile["layers"]:
        fan_in = 784 if layer["layer"] == 0 else 16
        norm = weights[f"dense_{layer['layer']}/kernel"]
        assert layer["kernel_rms"] * np.sqrt(fan_in * 16) == pytest.approx(norm, rel=1e-4)
    assert set(profile["layers"][0]["saturated"]) == {"0.01", "0.05", "0.1", "0.25"}
    assert profile["decay_kernel"] == pytest.approx(
        np.log10(profile["layers"][-1]["kernel_rms"] / profile["layers"][0]["kernel_rms"]))


def test_the_error_of_a_linear_network_by_hand():
    """With linear activations and no biases to speak of, dL/dz of the last hidden layer is
    the output's error times the output kernel, by hand."""
    model = build_model("linear", preset="mlp", hidden_units=(8, 8), seed=2)
    profile = step0(model, X, Y, "linear")
    h = X.reshape(32, -1)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense) and layer.name != "output":
            h = h @ keras.ops.convert_to_numpy(layer.kernel) + keras.ops.convert_to_numpy(layer.bias)
    logits = h @ keras.ops.convert_to_numpy(model.get_layer("output").kernel) + keras.ops.convert_to_numpy(model.get_layer("output").bias)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(32), Y] -= 1
    delta = p / 32 @ keras.ops.convert_to_numpy(model.get_layer("output").kernel).T
    assert profile["layers"][-1]["error_rms"] == pytest.approx(np.sqrt(np.mean(delta ** 2)), rel=1e-3)


def test_deep_sigmoid_decays_and_a_larger_weight_scale_decays_less():
    plain = step0(build_model("sigmoid", preset="mlp", hidden_units=(32,) * 8, seed=0), X, Y,
                  "sigmoid")
    scaled = step0(build_model("sigmoid", preset="mlp", hidden_units=(32,) * 8, seed=0,
                               init_gain=8.0), X, Y, "sigmoid")
    assert plain["decay_error"] > 3 and scaled["decay_error"] < plain["decay_error"] - 2


def test_init_gain_scales_the_same_draws_and_saves():
    one = build_model("relu", preset="mlp", hidden_units=(8,), seed=3)
    four = build_model("relu", preset="mlp", hidden_units=(8,), seed=3, init_gain=4.0)
    np.testing.assert_allclose(4 * keras.ops.convert_to_numpy(one.get_layer("dense_0").kernel),
                               keras.ops.convert_to_numpy(four.get_layer("dense_0").kernel), rtol=1e-6)
    config = keras.initializers.serialize(ScaledInitializer(keras.initializers.GlorotUniform(1), 2.0))
    again = keras.initializers.deserialize(config)
    assert again.gain == 2.0 and isinstance(again.base, keras.initializers.GlorotUniform)
    with pytest.raises(ValueError, match="Received: init_gain=0"):
        build_model("relu", preset="mlp", init_gain=0)


def test_lr_pulse_is_the_peak_inside_and_the_base_outside():
    schedule = PulseSchedule(0.001, 0.03, 200, 600)
    values = [float(keras.ops.convert_to_numpy(schedule(s))) for s in (0, 199, 200, 599, 600)]
    assert values == pytest.approx([0.001, 0.001, 0.03, 0.03, 0.001])
    model = build_model("relu", preset="mlp", hidden_units=(8,), optimizer="adam",
                        learning_rate=0.001, lr_pulse=(0.03, 200, 600))
    assert model.actkeras_config.lr_pulse == (0.03, 200, 600)
    assert keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(
        schedule)).get_config() == schedule.get_config()
    for bad in ((0.03, 600, 200), (0.03, 200), (-1, 0, 10)):
        with pytest.raises(ValueError, match="lr_pulse"):
            build_model("relu", preset="mlp", lr_pulse=bad)
