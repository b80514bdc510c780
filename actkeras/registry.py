"""The one activation registry that the builder, the CLI, the tuner and the tests read.

Adding an activation is one layer class in `actkeras/layers/` plus one entry here.
"""

import copy
import inspect
from dataclasses import dataclass, field

import keras

from actkeras import layers


@dataclass(frozen=True)
class ActivationEntry:
    """One registry entry.

    Args:
        name: the registry name (`activation="name"`).
        layer: the actkeras layer class.
        summary: one line for listings.
        test_kwargs: NON-default constructor arguments, used by the tests and the
            export checks to prove that arguments survive a round trip.
    """

    name: str
    layer: type
    summary: str
    test_kwargs: dict = field(default_factory=dict)

    @property
    def family(self):
        return self.layer.family

    @property
    def parameters(self):
        """Constructor arguments and their defaults, read from the layer itself."""
        signature = inspect.signature(self.layer.__init__)
        return {
            name: p.default
            for name, p in signature.parameters.items()
            if name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD
        }


_ENTRIES = [
    ActivationEntry("relu", layers.ReLU, "max(x, 0)"),
    ActivationEntry(
        "leaky_relu", layers.LeakyReLU, "x if x >= 0 else 0.3 x", {"negative_slope": 0.1}
    ),
    ActivationEntry(
        "prelu", layers.PReLU, "leaky ReLU with a learned slope per unit", {"initial_slope": 0.1}
    ),
    ActivationEntry("elu", layers.ELU, "x if x > 0 else alpha (exp(x) - 1)", {"alpha": 0.5}),
    ActivationEntry("selu", layers.SELU, "self-normalising scaled ELU"),
    ActivationEntry("gelu", layers.GELU, "x Phi(x)", {"approximate": True}),
    ActivationEntry("swish", layers.Swish, "x sigmoid(beta x)", {"beta": 1.5}),
    ActivationEntry("sigmoid", layers.Sigmoid, "1 / (1 + exp(-x))"),
    ActivationEntry(
        "scaled_sigmoid", layers.ScaledSigmoid, "1 / (1 + exp(-a x)), a = 4", {"slope": 2.0}
    ),
    ActivationEntry("tanh", layers.Tanh, "hyperbolic tangent"),
    ActivationEntry("softmax", layers.Softmax, "softmax over the hidden units", {"axis": 1}),
    ActivationEntry("linear", layers.Linear, "identity (collapses the network)"),
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
    """Raises `ValueError` if `kwargs` holds arguments that `name` does not take."""
    accepted = get_entry(name).parameters
    unknown = sorted(set(kwargs or {}) - set(accepted))
    if unknown:
        choices = ", ".join(accepted) if accepted else "none"
        raise ValueError(
            f"Activation {name!r} takes no argument {', '.join(map(repr, unknown))}; "
            f"it accepts: {choices}. Received: activation_kwargs={dict(kwargs)!r}"
        )


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
    """JSON-ready `(name, kwargs)` for a registry name or a layer instance."""
    if isinstance(activation, keras.layers.Layer):
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
    as strings, and then checked like any other arguments.
    """
    from actkeras.checks import key_value

    name, _, rest = spec.partition(":")
    kwargs = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        pair = key_value(item)
        if pair is None:
            raise ValueError(
                "Activation arguments are written `name:key=value,key=value`. "
                f"Received: activation={spec!r}"
            )
        kwargs[pair[0]] = pair[1]
    get_activation(name.strip(), kwargs)  # validate now, not later
    return name.strip(), kwargs
