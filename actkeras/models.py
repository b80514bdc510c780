"""`build_model`: the presets of the seeds' networks, built and compiled from one config."""

import dataclasses
import json
from dataclasses import dataclass, field

import keras
import numpy as np

from actkeras import checks
from actkeras.initializers import ScaledInitializer
from actkeras.registry import describe_activation, get_activation
from actkeras.schedules import PulseSchedule

OPTIMIZERS = {
    "sgd": keras.optimizers.SGD,
    "momentum": lambda learning_rate: keras.optimizers.SGD(learning_rate, momentum=0.9),
    "adam": keras.optimizers.Adam,
    "rmsprop": keras.optimizers.RMSprop,
}

# What every built model is compiled with, beside its loss (and so logs: `val_*` too).
METRICS = ("accuracy",)

INITIALIZERS = {
    "truncated_normal": lambda stddev, seed: keras.initializers.TruncatedNormal(
        stddev=stddev, seed=seed
    ),
    "glorot_uniform": lambda stddev, seed: keras.initializers.GlorotUniform(seed=seed),
    "glorot_normal": lambda stddev, seed: keras.initializers.GlorotNormal(seed=seed),
    "he_normal": lambda stddev, seed: keras.initializers.HeNormal(seed=seed),
    "he_uniform": lambda stddev, seed: keras.initializers.HeUniform(seed=seed),
    "lecun_normal": lambda stddev, seed: keras.initializers.LecunNormal(seed=seed),
    "lecun_uniform": lambda stddev, seed: keras.initializers.LecunUniform(seed=seed),
    "random_normal": lambda stddev, seed: keras.initializers.RandomNormal(
        stddev=stddev, seed=seed
    ),
}


def _python(value):
    """A NumPy scalar as the Python number it holds; anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class ModelConfig:
    """Everything that defines a model and how it is trained; saved with every result.

    Args:
        preset: the preset it came from.
        activation: registry name (or a layer class name for a layer instance).
        activation_kwargs: the activation's arguments, resolved to explicit values.
        input_shape: per-sample input shape; flattened before the first Dense.
        hidden_units: width of each hidden Dense layer, first to last.
        num_classes: output units.
        output: `"logits"` (loss from logits) or `"softmax"` (softmax output layer).
        initializer: kernel initializer name, see `INITIALIZERS`.
        init_stddev: standard deviation for the (truncated) normal initializers.
        init_gain: every kernel's initial values multiplied by this factor (1: the
            initializer as it is; 8 with `glorot_uniform`: weights 8 times Glorot's).
        bias_init: constant every bias starts at (seed 001's "strongly negative bias").
        batch_norm: a BatchNormalization between each Dense and its activation.
        dropout: dropout rate after each hidden activation (0 for none).
        optimizer: optimizer name, see `OPTIMIZERS`.
        learning_rate: the optimizer's learning rate.
        lr_pulse: `(peak, first_step, end_step)`: the learning rate is `peak` for the
            steps `first_step <= step < end_step` and `learning_rate` otherwise (a
            learning-rate pulse); `None` for a constant rate.
        batch_size, epochs, steps: how long `fit` runs; `steps`, when set, wins
            over `epochs` (the course assignment counts 3,001 steps).
        steps_per_execution: Keras's `steps_per_execution` for `compile` (100 for
            `udacity`, 10 otherwise); by-step `fit` lowers it to a divisor of its
            reporting period.
        seed: seed for the initializers (and, in experiments, for everything).
    """

    preset: str
    activation: str = "relu"
    activation_kwargs: dict = field(default_factory=dict)
    input_shape: tuple = (28, 28)
    hidden_units: tuple = (128, 128)
    num_classes: int = 10
    output: str = "logits"
    initializer: str = "glorot_uniform"
    init_stddev: float = 0.05
    init_gain: float = 1.0
    bias_init: float = 0.0
    batch_norm: bool = False
    dropout: float = 0.0
    optimizer: str = "sgd"
    learning_rate: float = 0.01
    lr_pulse: tuple | None = None
    batch_size: int = 32
    epochs: int = 5
    steps: int | None = None
    steps_per_execution: int = 10
    seed: int | None = None

    def __post_init__(self):
        for name in ("input_shape", "hidden_units"):
            value = getattr(self, name)
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise ValueError(f"`{name}` must be a sequence of positive integers. "
                                 f"Received: {name}={value!r}")
            object.__setattr__(self, name, tuple(value))
        if not isinstance(self.activation_kwargs, dict):
            raise ValueError("`activation_kwargs` must be a dict of the activation's arguments. "
                             f"Received: activation_kwargs={self.activation_kwargs!r}")
        object.__setattr__(self, "activation_kwargs", dict(self.activation_kwargs))
        checks.choice("preset", self.preset, list(PRESETS))
        if not isinstance(self.activation, str) or not self.activation:
            raise ValueError("`activation` must be a registry name or a layer class name. "
                             f"Received: activation={self.activation!r}")
        if not self.hidden_units:
            raise ValueError("`hidden_units` must hold at least one layer. Received: hidden_units=()")
        for units in self.hidden_units:
            checks.positive_int("units", units)
        for dim in self.input_shape:
            checks.positive_int("input_shape", dim)
        checks.positive_int("num_classes", self.num_classes)
        checks.choice("output", self.output, ["logits", "softmax"])
        checks.choice("initializer", self.initializer, list(INITIALIZERS))
        checks.choice("optimizer", self.optimizer, list(OPTIMIZERS))
        checks.finite("learning_rate", self.learning_rate, low=0, strict_low=True)
        checks.finite("init_stddev", self.init_stddev, low=0, strict_low=True)
        checks.finite("init_gain", self.init_gain, low=0, strict_low=True)
        if self.lr_pulse is not None:
            pulse = self.lr_pulse
            if (isinstance(pulse, (str, bytes)) or not hasattr(pulse, "__len__")
                    or len(pulse) != 3):
                raise ValueError("`lr_pulse` must be (peak learning rate, first step, end step). "
                                 f"Received: lr_pulse={pulse!r}")
            checks.finite("lr_pulse", pulse[0], low=0, strict_low=True)
            checks.non_negative_int("lr_pulse", pulse[1])
            checks.positive_int("lr_pulse", pulse[2])
            if pulse[2] <= pulse[1]:
                raise ValueError("`lr_pulse` must end after it starts. "
                                 f"Received: lr_pulse={pulse!r}")
            object.__setattr__(self, "lr_pulse", (float(pulse[0]), int(pulse[1]), int(pulse[2])))
        checks.finite("bias_init", self.bias_init)
        checks.finite("dropout", self.dropout, low=0, high=1)
        for name in ("batch_size", "epochs", "steps_per_execution"):
            checks.positive_int(name, getattr(self, name))
        if self.steps is not None:
            checks.positive_int("steps", self.steps)
        checks.optional(checks.non_negative_int, "seed", self.seed)
        checks.boolean("batch_norm", self.batch_norm)
        self._as_python_numbers()

    def _as_python_numbers(self):
        """NumPy's numbers, which the checks accept, as Python's (Keras's seeds and JSON
        take only those); Python's are left exactly as they are."""
        for name in ("input_shape", "hidden_units"):
            object.__setattr__(self, name, tuple(_python(v) for v in getattr(self, name)))
        for name in ("num_classes", "batch_size", "epochs", "steps_per_execution", "steps",
                     "seed", "learning_rate", "init_stddev", "init_gain", "bias_init",
                     "dropout"):  # fmt: skip
            object.__setattr__(self, name, _python(getattr(self, name)))

    def __hash__(self):
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def to_dict(self):
        """A JSON-ready dict (tuples become lists)."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, values):
        """The config `to_dict` wrote (lists back to tuples), validated.

        Raises:
            ValueError: a key that is not a field, or an invalid value.
        """
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(fields))
        if unknown:
            raise ValueError(f"Unknown ModelConfig field {unknown[0]!r}. Valid fields: "
                             f"{', '.join(fields)}. Received: {unknown[0]}={values[unknown[0]]!r}")
        return cls(**values)


PRESETS = {
    # Course assignment 2: 784 -> 1024 -> 10, tf.truncated_normal (stddev 1.0)
    # in both layers, zero biases, SGD 0.5, batch 128, 3,001 steps.
    "udacity": dict(
        hidden_units=(1024,),
        output="logits",
        initializer="truncated_normal",
        init_stddev=1.0,
        optimizer="sgd",
        learning_rate=0.5,
        batch_size=128,
        epochs=1,
        steps=3001,
        # A step of this network takes about a millisecond on a CPU, so Keras's
        # per-call overhead shows: with 10 steps a call `fit` ran at 0.75 of the
        # seed's TF1 loop, with 100 at its speed, and with 100 run in one graph call
        # by `stepping.graph_steps` (TensorFlow) faster (`actkeras bench`). `fit`
        # still reports every `log_every` steps.
        steps_per_execution=100,
    ),
    # The ReLU best-practice notebook: Dense(300) then 49 x Dense(100), softmax out.
    "fashion_mlp": dict(
        hidden_units=(300,) + (100,) * 49,
        output="softmax",
        initializer="glorot_uniform",
        optimizer="sgd",
        learning_rate=1e-3,
        batch_size=32,
        epochs=10,
    ),
    # A generic MLP; `units=` and `depth=` set `hidden_units`.
    "mlp": dict(
        hidden_units=(128, 128),
        output="logits",
        initializer="he_normal",
        optimizer="sgd",
        learning_rate=0.05,
        batch_size=64,
        epochs=5,
    ),
}

_SHORTCUTS = ("units", "depth")


def resolve_config(preset="udacity", activation="relu", activation_kwargs=None, **overrides):
    """Returns the `ModelConfig` that `build_model` would build, validating everything.

    Raises:
        ValueError: unknown preset, activation, override or optimizer/initializer
            name, or an out-of-range value.
    """
    checks.choice("preset", preset, list(PRESETS))
    valid = [f.name for f in dataclasses.fields(ModelConfig)]
    valid = [n for n in valid if n not in ("preset", "activation", "activation_kwargs")]
    unknown = sorted(set(overrides) - set(valid) - set(_SHORTCUTS))
    if unknown:
        raise ValueError(
            f"Unknown build_model argument {', '.join(map(repr, unknown))}. Valid "
            f"overrides: {', '.join(valid + list(_SHORTCUTS))}. Received: {unknown[0]}="
            f"{overrides[unknown[0]]!r}"
        )
    values = dict(PRESETS[preset])
    if "units" in overrides or "depth" in overrides:
        if "hidden_units" in overrides:
            raise ValueError(
                "Pass either `hidden_units` or `units`/`depth`, not both. "
                f"Received: hidden_units={overrides['hidden_units']!r}"
            )
        units = overrides.pop("units", values["hidden_units"][0])
        depth = overrides.pop("depth", len(values["hidden_units"]))
        checks.positive_int("units", units)
        checks.positive_int("depth", depth)
        values["hidden_units"] = (units,) * depth
    values.update(overrides)
    name, kwargs = describe_activation(activation, activation_kwargs)
    return ModelConfig(preset=preset, activation=name, activation_kwargs=kwargs, **values)


def build_from_config(config, activation_layer=None):
    """Builds and compiles the model a `ModelConfig` describes.

    Args:
        config: a `ModelConfig` (from `resolve_config`, or saved results).
        activation_layer: a layer instance to clone for every hidden layer instead
            of the registry entry `config.activation`. Defaults to `None`.
    """
    seed = config.seed

    def initializer(index):
        layer_seed = None if seed is None else seed * 1000 + index
        base = INITIALIZERS[config.initializer](config.init_stddev, layer_seed)
        return base if config.init_gain == 1.0 else ScaledInitializer(base, config.init_gain)

    def activation(index):
        source = activation_layer if activation_layer is not None else config.activation
        kwargs = None if activation_layer is not None else config.activation_kwargs
        return get_activation(source, kwargs, name=f"activation_{index}")

    inputs = keras.Input(shape=config.input_shape, name="image")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(config.input_shape) > 1 else inputs
    bias = keras.initializers.Constant(config.bias_init)
    for index, units in enumerate(config.hidden_units):
        x = keras.layers.Dense(
            units,
            kernel_initializer=initializer(index),
            bias_initializer=bias,
            use_bias=not config.batch_norm,
            name=f"dense_{index}",
        )(x)
        if config.batch_norm:
            x = keras.layers.BatchNormalization(name=f"batch_norm_{index}")(x)
        x = activation(index)(x)
        if config.dropout:
            x = keras.layers.Dropout(config.dropout, seed=seed, name=f"dropout_{index}")(x)
    outputs = keras.layers.Dense(
        config.num_classes,
        activation="softmax" if config.output == "softmax" else None,
        kernel_initializer=initializer(len(config.hidden_units)),
        bias_initializer="zeros",
        name="output",
    )(x)
    model = keras.Model(inputs, outputs, name=f"{config.preset}_{config.activation}")
    rate = (PulseSchedule(config.learning_rate, *config.lr_pulse) if config.lr_pulse
            else config.learning_rate)
    optimizer = OPTIMIZERS[config.optimizer](learning_rate=rate)
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=config.output == "logits"),
        metrics=list(METRICS),
        steps_per_execution=config.steps_per_execution,
    )
    model.actkeras_config = config
    return model


def build_model(activation="relu", preset="udacity", activation_kwargs=None, **overrides):
    """Returns a compiled Keras model for one of the seeds' networks.

    The resolved `ModelConfig` is on `model.actkeras_config` (`.to_dict()` for JSON).

    Example:
    >>> model = build_model(activation="leaky_relu", preset="udacity")
    >>> model.count_params()
    814090
    >>> model = build_model("elu", preset="fashion_mlp", initializer="he_normal")

    Args:
        activation: a registry name (see `actkeras.activation_names()`) or a Keras
            layer instance, cloned for every hidden layer. Defaults to `"relu"`.
        preset: `"udacity"`, `"fashion_mlp"` or `"mlp"`. Defaults to `"udacity"`.
        activation_kwargs: the activation's arguments, for example
            `{"negative_slope": 0.1}`. Defaults to `None`.
        **overrides: any `ModelConfig` field (`learning_rate`, `initializer`,
            `hidden_units`, `batch_norm`, `dropout`, `bias_init`, `seed`, ...) and,
            for convenience, `units=` and `depth=`.

    Raises:
        ValueError: at call time, for anything invalid, naming the valid choices.
    """
    config = resolve_config(preset, activation, activation_kwargs, **overrides)
    layer = activation if isinstance(activation, keras.layers.Layer) else None
    return build_from_config(config, activation_layer=layer)
