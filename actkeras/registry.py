"""The one activation registry that the builder, the CLI, the tuner and the tests read.

Adding an activation is one layer class in `actkeras/layers/` plus one entry here.

The entries name their layer class and its arguments without importing it, so that
names and arguments are checked (`get_entry`, `check_activation_kwargs`,
`parse_activation_spec`) before Keras and its backend load: the CLI refuses a
misspelt activation at once. The layers load on first use of `entry.layer`.
"""

import copy
import importlib
from dataclasses import dataclass, field

from actkeras import checks


@dataclass(frozen=True)
class ActivationEntry:
    """One registry entry.

    Args:
        name: the registry name (`activation="name"`).
        class_name: the layer class's name in `actkeras.layers`.
        summary: one line for listings.
        parameters: the layer's constructor arguments and their defaults, as its
            signature has them (`tests/test_layers.py` checks that they agree).
        test_kwargs: NON-default constructor arguments, used by the tests and the
            export checks to prove that arguments survive a round trip.
    """

    name: str
    class_name: str
    summary: str
    parameters: dict = field(default_factory=dict)
    test_kwargs: dict = field(default_factory=dict)

    @property
    def layer(self):
        """The actkeras layer class (importing it loads Keras)."""
        return getattr(importlib.import_module("actkeras.layers"), self.class_name)

    @property
    def family(self):
        return self.layer.family


_ENTRIES = [
    ActivationEntry("relu", "ReLU", "max(x, 0)"),
    ActivationEntry("leaky_relu", "LeakyReLU", "x if x >= 0 else 0.3 x",
                    {"negative_slope": 0.3}, {"negative_slope": 0.1}),
    ActivationEntry("prelu", "PReLU", "leaky ReLU with a learned slope per unit",
                    {"initial_slope": 0.25}, {"initial_slope": 0.1}),
    ActivationEntry("elu", "ELU", "x if x > 0 else alpha (exp(x) - 1)",
                    {"alpha": 1.0}, {"alpha": 0.5}),
    ActivationEntry("selu", "SELU", "self-normalising scaled ELU"),
    ActivationEntry("gelu", "GELU", "x Phi(x)", {"approximate": False}, {"approximate": True}),
    ActivationEntry("swish", "Swish", "x sigmoid(beta x)", {"beta": 1.0}, {"beta": 1.5}),
    ActivationEntry("sigmoid", "Sigmoid", "1 / (1 + exp(-x))"),
    ActivationEntry("scaled_sigmoid", "ScaledSigmoid", "1 / (1 + exp(-a x)), a = 4",
                    {"slope": 4.0}, {"slope": 2.0}),
    ActivationEntry("tanh", "Tanh", "hyperbolic tangent"),
    ActivationEntry("softsign", "Softsign", "x / (1 + |x|)"),
    ActivationEntry("softmax", "Softmax", "softmax over the hidden units", {"axis": -1},
                    {"axis": 1}),
    ActivationEntry("linear", "Linear", "identity (collapses the network)"),
]

ACTIVATIONS = {entry.name: entry for entry in _ENTRIES}


def activation_names():
    """The registry names, in registry order."""
    return list(ACTIVATIONS)


def get_entry(name):
    """Returns the `ActivationEntry` for `name`, or raises `ValueError` naming the choices."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(
            f"Unknown activation. Valid choices: {', '.join(ACTIVATIONS)}. "
            f"Received: activation={name!r}"
        )
    return ACTIVATIONS[name]


def check_activation_kwargs(name, kwargs):
    """Raises `ValueError` if `kwargs` holds arguments that `name` does not take, or a
    value of the wrong kind (a number, `True`/`False`, an integer: as its default);
    the layer checks the ranges when it is made."""
    accepted = get_entry(name).parameters
    unknown = sorted(set(kwargs or {}) - set(accepted))
    if unknown:
        choices = ", ".join(accepted) if accepted else "none"
        raise ValueError(
            f"Activation {name!r} takes no argument {', '.join(map(repr, unknown))}; "
            f"it accepts: {choices}. Received: activation_kwargs={dict(kwargs)!r}"
        )
    for key, value in (kwargs or {}).items():
        _check_kind(key, value, accepted[key])


def _check_kind(key, value, default):
    """The kind of value the layer takes, judged by its default (the layers' own messages)."""
    if isinstance(default, bool):
        checks.boolean(key, value)
    elif isinstance(default, int):
        checks.integer(key, value)
    elif isinstance(default, float):
        checks.real(key, value)


def get_activation(activation, activation_kwargs=None, **layer_kwargs):
    """Returns a NEW activation layer.

    Args:
        activation: a registry name, or a Keras layer instance (cloned from its
            config, so one instance can describe every hidden layer).
        activation_kwargs: constructor arguments for a registry name, for example
            `{"negative_slope": 0.1}`. Defaults to `None` (the layer's defaults).
        **layer_kwargs: base layer arguments such as `name`.

    Raises:
        ValueError: unknown name, arguments the activation does not take, or
            out-of-range values, at call time.
    """
    import keras

    if isinstance(activation, keras.layers.Layer):
        if activation_kwargs:
            raise ValueError(
                "`activation_kwargs` only applies to a registry name; configure the "
                f"layer instance instead. Received: activation_kwargs={activation_kwargs!r}"
            )
        config = copy.deepcopy(activation.get_config())
        config.pop("name", None)
        config.update(layer_kwargs)
        return activation.__class__.from_config(config)
    entry = get_entry(activation)
    kwargs = dict(activation_kwargs or {})
    check_activation_kwargs(activation, kwargs)
    return entry.layer(**kwargs, **layer_kwargs)


def describe_activation(activation, activation_kwargs=None):
    """JSON-ready `(name, kwargs)` for a registry name or a layer instance (a registry
    layer's instance by its registry name, as `build_from_config` rebuilds it; another
    layer by its class name, which describes it only)."""
    import keras

    if isinstance(activation, keras.layers.Layer):
        if activation_kwargs:
            get_activation(activation, activation_kwargs)  # refused: configure the instance
        entry = next((e for e in _ENTRIES if type(activation) is e.layer), None)
        if entry is not None:  # one of the registry's layers: its name, so it rebuilds
            return entry.name, {k: getattr(activation, k) for k in entry.parameters}
        config = activation.get_config()
        base = set(keras.layers.Layer().get_config())
        kwargs = {k: v for k, v in config.items() if k not in base}
        return activation.__class__.__name__, kwargs
    layer = get_activation(activation, activation_kwargs)
    defaults = get_entry(activation).parameters
    kwargs = {k: getattr(layer, k) for k in defaults}
    return activation, kwargs


def parse_activation_spec(spec):
    """Parses the CLI form `name` or `name:key=value,key=value` into `(name, kwargs)`.

    Values are read as Python literals where they parse (`0.1`, `True`), else kept
    as strings, and then checked: the name and the arguments' names and kinds here,
    without loading Keras; their ranges when the layer is made.
    """
    name, _, rest = spec.partition(":")
    kwargs = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        pair = checks.key_value(item)
        if pair is None:
            raise ValueError(
                "Activation arguments are written `name:key=value,key=value`. "
                f"Received: activation={spec!r}"
            )
        kwargs[pair[0]] = pair[1]
    check_activation_kwargs(name.strip(), kwargs)  # now, not after Keras has loaded
    return name.strip(), kwargs
