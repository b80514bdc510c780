"""Finding the activation sites of any Keras model, without running it.

One mechanism serves all three monitors. An "activation site" is a layer whose
activation the monitors can read:

- an activation layer: actkeras's own, `keras.layers.ReLU` (with its threshold,
  negative slope and cap), `LeakyReLU`, `PReLU`, `ELU`, `Softmax`, or
  `Activation(f)` with a Keras activation function `f`;
- a layer with a built-in activation, `Dense(64, activation="relu")`, where the
  activation is a Keras activation function (by name, or a `functools.partial`
  of one) or a Keras activation layer (`Dense(64, activation=ReLU())`: the
  `ReLU` instance is then the site, named `<dense>/<re_lu>`);
- a `Lambda` layer whose function is a Keras activation function
  (`Lambda(keras.ops.relu)`), found with a warning: a `Lambda` may do more than
  its function's name says.

Sites are looked for in the whole layer tree: the layers of Functional,
Sequential and subclassed models, nested models at any depth, and layers held by
other layers. A site's name is its path below the model (`"block/relu"`; a
layer of the model itself keeps its plain name). Recurrent layers are not
searched (their cells apply activations once per time step).

What cannot be decided without running a function blind is reported by
`unseen_activations` instead, so that the monitors can say so: activations given
as other Python functions (`activation=lambda t: ops.relu(t)`) and rectifiers
applied as bare ops (`keras.ops.relu(x)`) inside a custom layer's `call()`.

How the monitors read a site on probe data is in `_tap.py`; every call of a
site is measured, so a layer used twice gives two measurements.
"""

import functools
import types
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
    "softplus": "smooth", "hard_silu": "smooth", "hard_swish": "smooth",
    "linear": "linear",
}  # fmt: skip
_CAPS = {"relu6": 6.0}


@dataclass(frozen=True)
class ActivationSite:
    """One layer of a model whose activation the monitors read.

    Args:
        name: the layer's path below the model (`"dense_1"`, `"block/relu"`).
        layer: the layer itself.
        family: `"rectifier"`, `"leaky"`, `"exponential"`, `"sigmoid"`, `"tanh"`,
            `"softmax"`, `"smooth"` or `"linear"`.
        fused: True for a layer with a built-in activation (`Dense(activation=...)`),
            read by wrapping its `activation` function.
        threshold: the pre-activation at or below which a unit is inactive
            (`keras.layers.ReLU(threshold=...)`; 0 otherwise).
        cap: the output cap of a capped rectifier (6 for ReLU6), else `None`.
        via_lambda: True for a `Lambda` layer recognised by its function.
    """

    name: str
    layer: object
    family: str
    fused: bool = False
    threshold: float = 0.0
    cap: float = None
    via_lambda: bool = False


def function_family(fn):
    """`(family, threshold, cap)` of a Keras activation function, or `None`.

    Recognised by name (`keras.activations.relu`, `keras.ops.relu`, `"relu6"`),
    through `functools.partial` (`partial(relu, max_value=6.0)` is capped at 6).
    """
    keywords = {}
    while isinstance(fn, functools.partial):
        keywords = {**fn.keywords, **keywords}
        fn = fn.func
    name = getattr(fn, "__name__", None)
    family = _FUNCTIONS.get(name)
    if family is None:
        return None
    if name == "relu" and keywords.get("negative_slope"):
        family = "leaky"
    cap = keywords.get("max_value", _CAPS.get(name))
    return family, float(keywords.get("threshold") or 0.0), None if cap is None else float(cap)


def _layer_kind(layer):
    """`ActivationSite` keyword arguments for an activation site, or `None`."""
    if isinstance(layer, actkeras_layers.Activation):
        return {"family": layer.family} if layer.family in FAMILIES else None
    if isinstance(layer, keras.layers.ReLU):
        cap = None if layer.max_value is None else float(layer.max_value)
        family = "leaky" if layer.negative_slope else "rectifier"
        return {"family": family, "threshold": float(layer.threshold), "cap": cap}
    if isinstance(layer, (keras.layers.LeakyReLU, keras.layers.PReLU)):
        return {"family": "leaky"}
    if isinstance(layer, keras.layers.ELU):
        return {"family": "exponential"}
    if isinstance(layer, keras.layers.Softmax):
        return {"family": "softmax"}
    if isinstance(layer, keras.layers.Activation):
        found = function_family(layer.activation)
        return None if found is None else dict(zip(("family", "threshold", "cap"), found))
    if isinstance(layer, keras.layers.Lambda):
        found = function_family(layer.function)
        if found is None:
            return None
        return {**dict(zip(("family", "threshold", "cap"), found)), "via_lambda": True}
    if _is_recurrent(layer) or isinstance(layer, keras.Model):
        return None
    activation = getattr(layer, "activation", None)
    if activation is None or isinstance(activation, keras.layers.Layer):
        return None  # an activation layer given as `activation=` is a site of its own
    found = function_family(activation)
    if found is None or found[0] == "linear":
        return None
    return {**dict(zip(("family", "threshold", "cap"), found)), "fused": True}


def _is_recurrent(layer):
    return hasattr(layer, "cell") or hasattr(layer, "state_size")


def _children(layer):
    """The layers directly inside `layer`, in the order they were assigned."""
    if isinstance(layer, keras.Model):
        return list(layer.layers)
    found = []

    def visit(value, depth=0):
        if isinstance(value, keras.layers.Layer):
            found.append(value)
        elif isinstance(value, (list, tuple)) and depth < 3:
            for item in value:
                visit(item, depth + 1)
        elif isinstance(value, dict) and depth < 3:
            for item in value.values():
                visit(item, depth + 1)

    for value in vars(layer).values():
        visit(value)
    return found


def walk(model):
    """`(path, layer)` for every layer below `model`, depth first, each layer once."""
    seen = {id(model)}

    def visit(layer, prefix):
        for child in _children(layer):
            if id(child) in seen or isinstance(child, keras.layers.InputLayer):
                continue
            seen.add(id(child))
            path = f"{prefix}{child.name}"
            yield path, child
            if not _is_recurrent(child):
                yield from visit(child, f"{path}/")

    yield from visit(model, "")


def _model_output_ids(model):
    try:
        return {id(t) for t in keras.tree.flatten(model.outputs)}
    except (AttributeError, ValueError, TypeError):
        return set()


def _is_output(layer, output_ids):
    try:
        return id(layer.output) in output_ids
    except (AttributeError, ValueError):
        return False  # a layer called more than once, or a subclassed model's


def check_families(families):
    if families is not None:
        unknown = sorted(set(families) - set(FAMILIES))
        if unknown or isinstance(families, str):
            raise ValueError(
                f"Unknown activation family. Valid choices: {', '.join(FAMILIES)}. "
                f"Received: families={families!r}"
            )


def find_activation_layers(model, families=None, include_outputs=False):
    """Returns the `ActivationSite`s of `model`, in layer order.

    Searches the whole layer tree (nested models, layers inside layers), so it
    works on Functional, Sequential and subclassed models alike. Each layer is
    returned once; a monitor measures each of its calls (see `DeadReLUMonitor`).

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
            (the prediction, such as a softmax output layer, not a hidden unit);
            only decidable from a Functional or Sequential graph, so a subclassed
            model's output activation is left out by the monitors at run time.
            Defaults to `False`.
    """
    check_families(families)
    outputs = set() if include_outputs else _model_output_ids(model)
    sites = []
    for path, layer in walk(model):
        kind = _layer_kind(layer)
        if kind is None or (families is not None and kind["family"] not in families):
            continue
        if outputs and _is_output(layer, outputs):
            continue
        sites.append(ActivationSite(path, layer, **kind))
    return sites


# What cannot be found: reported, never guessed.

_FRAMEWORK = ("keras.", "actkeras.layers", "tensorflow.", "tf_keras.")


def _code_names(code, depth=0):
    """Names a code object refers to (`ops.relu(x)` gives "ops" and "relu")."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and depth < 3:  # lambdas, inner functions
            names |= _code_names(const, depth + 1)
    return names


def _named_rectifiers(fn, families, layer=None):
    """Activation functions a Python function names, of the chosen families."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return []
    names = {n for n in _code_names(code) if _FUNCTIONS.get(n, "linear") != "linear"}
    if layer is not None:  # `self.relu(x)` calls a layer, which is a site of its own
        names = {n for n in names if not isinstance(getattr(layer, n, None), keras.layers.Layer)}
    return sorted(n for n in names if families is None or _FUNCTIONS[n] in families)


def unseen_activations(model, families=None):
    """`(path, message)` for activations in `model` that no site can measure.

    Found without running anything: an activation given as an unrecognised
    Python function (`activation=lambda t: ops.relu(t)`, `Lambda(lambda t: ...)`,
    `Activation(my_function)`), and activation functions named in the `call()`
    of a custom layer or subclassed model (`keras.ops.relu(x)`), which run as
    bare ops. Each message says how to make the activation visible.
    """
    check_families(families)
    found = []
    for path, layer in [(model.name, model), *walk(model)]:
        if _layer_kind(layer) is not None:
            continue
        function, where = None, None
        if isinstance(layer, keras.layers.Lambda):
            function, where = layer.function, "a Lambda layer's function"
        elif not isinstance(layer, keras.Model) and not _is_recurrent(layer):
            activation = getattr(layer, "activation", None)
            if callable(activation) and not isinstance(activation, keras.layers.Layer):
                function, where = activation, "its activation function"
        if function is not None and function_family(function) is None:
            named = _named_rectifiers(function, families)
            if named:
                found.append((path, f"layer {path!r} applies {', '.join(named)} through "
                              f"{where} {getattr(function, '__name__', function)!r}, "
                              "which the monitors cannot identify without running it"))
            continue
        if type(layer).__module__.startswith(_FRAMEWORK):
            continue
        named = _named_rectifiers(type(layer).call, families, layer)
        if named:
            found.append((path, f"{type(layer).__name__} {path!r} calls {', '.join(named)} "
                          "inside call() as a bare op, which the monitors cannot see"))
    return found


HOW_TO_SHOW = (
    "To have it measured, apply the activation as a layer (keras.layers.ReLU(), "
    "keras.layers.Activation('relu')) or as activation='relu' on the layer before it."
)


def per_unit(tensor):
    """`tensor` as `(samples, units)`: a unit is the last axis (a channel for convolutions)."""
    dtype = keras.backend.standardize_dtype(tensor.dtype)
    tensor = keras.ops.cast(tensor, "float64" if dtype == "float64" else "float32")
    if len(tensor.shape) < 2:
        return keras.ops.reshape(tensor, (-1, 1))
    return keras.ops.reshape(tensor, (-1, tensor.shape[-1]))


class Tap:
    """The tensors at `(site, "input" | "output")` points for a batch (first call of each site).

    A thin view of `_tap.Recorder` for code that wants whole tensors rather than
    summaries (`actkeras.experiments`); runs in inference mode unless told.
    """

    def __init__(self, model, points, mode="inference"):
        from actkeras.callbacks._tap import Recorder

        self.points = list(points)
        self._index = {}
        for site, _ in self.points:
            self._index.setdefault(id(site.layer), (len(self._index), site))
        self._recorder = Recorder(model, [site for _, site in self._index.values()], mode)

    def __call__(self, x):
        """The backend tensors at the points, in order, for the batch `x`."""
        found = self._recorder(x, lambda site, pre, out: (pre, out))
        return [found[(self._index[id(site.layer)][0], 0)][0 if point == "input" else 1]
                for site, point in self.points]
