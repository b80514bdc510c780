"""Finding the activation layers of any Keras model, and reading them on probe data.

One mechanism serves all three monitors. An "activation site" is either an
activation layer (actkeras's own, `keras.layers.ReLU`, `LeakyReLU`, `PReLU`,
`ELU`, `Softmax`, `Activation(...)`) or a layer with a fused activation such as
`Dense(64, activation="relu")`. A `Tap` runs the model's forward pass and returns
the backend tensors at chosen sites (the monitors reduce them on the device and
fetch only per-unit summaries): for an activation layer its input (the
pre-activation) or its output; for a fused site only its output, which is all
the monitors need (for every rectifier, leaky and exponential unit,
`f(x) <= 0` exactly when `x <= 0`).

Limits: sites are looked for among `model.layers` (a nested model counts as one
layer and is not searched); tapping needs a Functional or Sequential model (a
subclassed model has no graph to tap) whose tapped layers are each called once;
for convolutional layers a "unit" is a channel of the last axis (channels_last).
"""

from dataclasses import dataclass

import keras

from actkeras import layers as actkeras_layers

FAMILIES = ("rectifier", "leaky", "exponential", "sigmoid", "tanh", "softmax", "smooth", "linear")

# Activation functions by name (`fn.__name__`), for `Activation(...)` and fused sites.
_FUNCTIONS = {
    "relu": "rectifier", "relu6": "rectifier",
    "leaky_relu": "leaky",
    "elu": "exponential", "selu": "exponential", "celu": "exponential",
    "sigmoid": "sigmoid", "hard_sigmoid": "sigmoid",
    "tanh": "tanh", "hard_tanh": "tanh",
    "softmax": "softmax",
    "gelu": "smooth", "silu": "smooth", "swish": "smooth", "mish": "smooth",
    "softplus": "smooth", "hard_silu": "smooth",
    "linear": "linear",
}  # fmt: skip


@dataclass(frozen=True)
class ActivationSite:
    """One place in a model where an activation is applied.

    Args:
        name: the layer's name.
        layer: the layer itself.
        family: `"rectifier"`, `"leaky"`, `"exponential"`, `"sigmoid"`, `"tanh"`,
            `"softmax"`, `"smooth"` or `"linear"`.
        fused: True for a layer with a built-in activation (`Dense(activation=...)`),
            whose pre-activation is not in the graph.
        threshold: the pre-activation at or below which a unit is inactive
            (`keras.layers.ReLU(threshold=...)`; 0 otherwise).
    """

    name: str
    layer: object
    family: str
    fused: bool = False
    threshold: float = 0.0


def _function_family(fn):
    return _FUNCTIONS.get(getattr(fn, "__name__", None))


def _family(layer):
    """`(family, fused, threshold)` for an activation site, or `None` for other layers."""
    if isinstance(layer, actkeras_layers.Activation):
        return (layer.family, False, 0.0) if layer.family in FAMILIES else None
    if isinstance(layer, keras.layers.ReLU):
        leaky = bool(layer.negative_slope)
        return ("leaky" if leaky else "rectifier", False, float(layer.threshold))
    if isinstance(layer, (keras.layers.LeakyReLU, keras.layers.PReLU)):
        return ("leaky", False, 0.0)
    if isinstance(layer, keras.layers.ELU):
        return ("exponential", False, 0.0)
    if isinstance(layer, keras.layers.Softmax):
        return ("softmax", False, 0.0)
    if isinstance(layer, keras.layers.Activation):
        family = _function_family(layer.activation)
        return (family, False, 0.0) if family else None
    if isinstance(layer, keras.Model) or hasattr(layer, "cell"):
        return None  # nested models and recurrent layers: not searched
    family = _function_family(getattr(layer, "activation", None))
    if family and family != "linear":
        return (family, True, 0.0)
    return None


def _model_output_ids(model):
    try:
        return {id(t) for t in keras.tree.flatten(model.outputs)}
    except (AttributeError, ValueError):
        return set()


def _is_output(layer, output_ids):
    try:
        return id(layer.output) in output_ids
    except (AttributeError, ValueError):
        return False


def find_activation_layers(model, families=None, include_outputs=False):
    """Returns the `ActivationSite`s of `model`, in layer order.

    Example:
    >>> model = build_model("relu", preset="mlp")
    >>> [(s.name, s.family) for s in find_activation_layers(model)]
    [('activation_0', 'rectifier'), ('activation_1', 'rectifier')]
    >>> find_activation_layers(model, families=("sigmoid",))
    []

    Args:
        model: any Keras model.
        families: keep only these families (see `ActivationSite`). Defaults to
            `None` (all).
        include_outputs: also return activations that produce a model output
            (the prediction, such as a softmax output layer, not a hidden unit).
            Defaults to `False`.
    """
    if families is not None:
        unknown = sorted(set(families) - set(FAMILIES))
        if unknown or isinstance(families, str):
            raise ValueError(
                f"Unknown activation family. Valid choices: {', '.join(FAMILIES)}. "
                f"Received: families={families!r}"
            )
    outputs = set() if include_outputs else _model_output_ids(model)
    sites = []
    for layer in model.layers:
        found = _family(layer)
        if found is None or (families is not None and found[0] not in families):
            continue
        if outputs and _is_output(layer, outputs):
            continue
        sites.append(ActivationSite(layer.name, layer, *found))
    return sites


class Tap:
    """Runs `model` forward (inference mode) and returns the tensors at `points`.

    Args:
        model: a Functional or Sequential model.
        points: `(site, "input" | "output")` pairs.
    """

    def __init__(self, model, points):
        self.points = list(points)
        if isinstance(model, keras.Sequential):
            self._layers = list(model.layers)
            self._function = self._run_sequential
            return
        try:
            inputs = model.input
            tensors = [getattr(site.layer, point) for site, point in self.points]
        except (AttributeError, ValueError) as error:
            raise ValueError(
                "The activation monitors read hidden layers through the model's graph, "
                "so they need a Functional or Sequential model whose monitored layers "
                f"are each called once ({error}). Received: model={model.name!r} "
                f"({type(model).__name__})"
            ) from error
        self._function = keras.Model(inputs, tensors)

    def _run_sequential(self, x, training=False):
        wanted = {}
        for index, (site, point) in enumerate(self.points):
            wanted.setdefault(id(site.layer), []).append((index, point))
        found = [None] * len(self.points)
        for layer in self._layers:
            points = wanted.get(id(layer), ())
            for index, point in points:
                if point == "input":
                    found[index] = x
            x = layer(x, training=training)
            for index, point in points:
                if point == "output":
                    found[index] = x
        return found

    def __call__(self, x):
        """The backend tensors at the points, in order, for the batch `x`."""
        values = self._function(x, training=False)
        return list(values) if isinstance(values, (list, tuple)) else [values]


def per_unit(tensor):
    """`tensor` as `(samples, units)`: a unit is the last axis (a channel for convolutions)."""
    dtype = keras.backend.standardize_dtype(tensor.dtype)
    tensor = keras.ops.cast(tensor, "float64" if dtype == "float64" else "float32")
    return keras.ops.reshape(tensor, (-1, tensor.shape[-1]))
