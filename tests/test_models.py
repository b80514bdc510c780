"""build_model presets: exact architectures, parameter counts, and errors at call time."""

import json
import math

import keras
import numpy as np
import pytest

import actkeras
from actkeras.models import PRESETS, ModelConfig, build_model, resolve_config


def _dense_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_udacity_preset_is_the_course_network():
    model = build_model("relu", preset="udacity")
    assert model.count_params() == 814_090
    hidden, output = _dense_layers(model)
    assert (hidden.units, output.units) == (1024, 10)
    for dense in (hidden, output):
        init = dense.kernel_initializer
        assert isinstance(init, keras.initializers.TruncatedNormal)
        assert init.stddev == 1.0  # Keras's default would be 0.05
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(dense.bias), 0.0)
    assert output.activation is keras.activations.linear  # logits
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert model.loss.get_config()["from_logits"] is True
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.5)
    config = model.actkeras_config
    assert (config.batch_size, config.steps) == (128, 3001)
    assert model.input_shape == (None, 28, 28)
    assert isinstance(model.get_layer("activation_0"), actkeras.ReLU)


def test_udacity_weights_are_truncated_at_two_stddev():
    model = build_model("relu", preset="udacity", seed=1)
    kernel = keras.ops.convert_to_numpy(_dense_layers(model)[0].kernel)
    assert np.abs(kernel).max() <= 2.0
    assert kernel.std() == pytest.approx(0.88, abs=0.02)  # truncation shrinks 1.0 to ~0.88


def test_fashion_mlp_preset_is_the_notebook_network():
    model = build_model("relu", preset="fashion_mlp")
    units = [dense.units for dense in _dense_layers(model)]
    assert units == [300] + [100] * 49 + [10]
    assert model.count_params() == 751_410
    assert _dense_layers(model)[-1].activation is keras.activations.softmax
    assert isinstance(_dense_layers(model)[0].kernel_initializer, keras.initializers.GlorotUniform)
    he = build_model("relu", preset="fashion_mlp", initializer="he_normal", learning_rate=0.01)
    assert isinstance(_dense_layers(he)[0].kernel_initializer, keras.initializers.HeNormal)
    assert float(keras.ops.convert_to_numpy(he.optimizer.learning_rate)) == pytest.approx(0.01)


def test_every_registry_activation_builds_and_trains_one_step():
    x = np.random.default_rng(0).normal(size=(16, 28, 28)).astype("float32")
    y = np.arange(16) % 10
    for name in actkeras.activation_names():
        model = build_model(name, preset="mlp", units=8, depth=2, seed=0)
        loss = model.train_on_batch(x, y)
        assert math.isfinite(float(np.ravel(loss)[0])), name


def test_mlp_preset_options():
    model = build_model(
        "sigmoid", preset="mlp", units=16, depth=3, batch_norm=True, dropout=0.2,
        optimizer="adam", learning_rate=1e-3, bias_init=-1.0, input_shape=(10,),
    )
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("BatchNormalization") == 3 and kinds.count("Dropout") == 3
    assert kinds.count("Sigmoid") == 3 and "Flatten" not in kinds
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    biased = build_model("relu", preset="mlp", units=4, depth=1, bias_init=-5.0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(biased.get_layer("dense_0").bias), -5.0)


def test_activation_kwargs_and_layer_instances():
    model = build_model("leaky_relu", preset="mlp", activation_kwargs={"negative_slope": 0.1})
    assert model.get_layer("activation_1").negative_slope == 0.1
    assert model.actkeras_config.activation_kwargs == {"negative_slope": 0.1}
    default = build_model("leaky_relu", preset="mlp")
    assert default.actkeras_config.activation_kwargs == {"negative_slope": 0.3}
    model = build_model(keras.layers.ELU(alpha=0.5), preset="mlp", depth=2)
    first, second = model.get_layer("activation_0"), model.get_layer("activation_1")
    assert first is not second and isinstance(first, keras.layers.ELU)
    assert model.actkeras_config.activation == "ELU"
    # A registry layer's instance is described by its registry name, so that it rebuilds.
    mine = build_model(actkeras.ELU(alpha=0.5), preset="mlp", depth=2).actkeras_config
    assert (mine.activation, mine.activation_kwargs) == ("elu", {"alpha": 0.5})
    rebuilt = actkeras.build_from_config(actkeras.ModelConfig.from_dict(mine.to_dict()))
    assert rebuilt.get_layer("activation_0").alpha == 0.5


def test_arguments_for_a_layer_instance_and_a_softmax_over_no_unit_axis_are_refused():
    """`activation_kwargs` beside a layer instance were dropped without a word; a softmax
    axis out of range failed only inside `fit`, and axis 0 mixed each batch's samples."""
    with pytest.raises(ValueError, match="only applies to a registry name"):
        build_model(keras.layers.ELU(alpha=1.0), preset="mlp", activation_kwargs={"alpha": 0.5})
    with pytest.raises(ValueError, match="axes 1 to 1 .* rank 2. Received: axis=5"):
        build_model("softmax", preset="mlp", activation_kwargs={"axis": 5})
    with pytest.raises(ValueError, match="is the batch axis"):
        build_model("softmax", preset="mlp", activation_kwargs={"axis": 0})
    assert build_model("softmax", preset="mlp", activation_kwargs={"axis": 1}).built


def test_resolved_config_is_json_ready_and_rebuilds_the_same_model():
    model = build_model("elu", preset="udacity", seed=3)
    payload = json.loads(json.dumps(model.actkeras_config.to_dict()))
    assert payload["preset"] == "udacity" and payload["hidden_units"] == [1024]
    assert payload["activation_kwargs"] == {"alpha": 1.0}
    rebuilt = actkeras.build_from_config(model.actkeras_config)
    for a, b in zip(model.get_weights(), rebuilt.get_weights()):
        np.testing.assert_array_equal(a, b)  # same seed, same initial weights


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(preset="vgg"), "Valid choices: udacity, fashion_mlp, mlp"),
        (dict(activation="rectifier"), "Valid choices: relu"),
        (dict(activation="leaky_relu", activation_kwargs={"negative_slope": -1}), ">= 0"),
        (dict(activation="leaky_relu", activation_kwargs={"negative_slope": float("nan")}), "finite"),
        (dict(activation="sigmoid", activation_kwargs={"slope": 2}), "accepts: none"),
        (dict(preset="mlp", units=0), "units"),
        (dict(preset="mlp", depth=-1), "depth"),
        (dict(hidden_units=(10, 0)), "units"),
        (dict(hidden_units=()), "at least one"),
        (dict(learning_rate=float("nan")), "learning_rate"),
        (dict(learning_rate=0), "learning_rate"),
        (dict(dropout=1.0), "dropout"),
        (dict(initializer="orthogonal_ish"), "Valid choices: truncated_normal"),
        (dict(optimizer="adagrad"), "Valid choices: sgd"),
        (dict(batch_size=0), "batch_size"),
        (dict(batch_norm="yes"), "batch_norm"),
        (dict(learning_rte=0.1), "Valid overrides"),
        (dict(hidden_units=(8,), units=4), "not both"),
    ],
)
def test_bad_arguments_raise_at_build_time(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_model(**kwargs)


def test_presets_resolve_to_their_settings():
    for preset, settings in PRESETS.items():
        config = resolve_config(preset, "tanh")
        assert config.preset == preset and config.activation == "tanh"
        for name, value in settings.items():
            assert getattr(config, name) == value, (preset, name)


def test_config_holds_tuples_hashes_and_round_trips():
    config = resolve_config("mlp", "leaky_relu", {"negative_slope": 0.3}, hidden_units=[16, 8],
                            input_shape=[4, 4])
    assert config.hidden_units == (16, 8) and config.input_shape == (4, 4)
    again = ModelConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and hash(again) == hash(config)
    assert len({config, again, resolve_config("mlp", "relu")}) == 2
    assert config.to_dict()["hidden_units"] == [16, 8]


@pytest.mark.parametrize(
    "values, message",
    [
        (dict(hidden_units=()), "at least one layer"),
        (dict(hidden_units=8), "sequence of positive integers"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(steps=0), "steps"),
        (dict(optimizer="sgdd"), "Valid choices"),
        (dict(activation_kwargs=[("alpha", 1)]), "activation_kwargs"),
        (dict(preset="nope"), "Unknown preset"),
    ],
)
def test_config_validates_when_made_directly(values, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**{"preset": "mlp", **values})


def test_from_dict_names_an_unknown_field():
    values = {**resolve_config("mlp").to_dict(), "hiden_units": [3]}
    with pytest.raises(ValueError, match="Unknown ModelConfig field 'hiden_units'.*Received: hiden_units=\\[3\\]"):
        ModelConfig.from_dict(values)
