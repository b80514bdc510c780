"""Finding the activation sites of any Keras model, without running it.

One mechanism serves all three monitors. An "activation site" is a place in a
model whose activation the monitors can read:

- an activation layer: actkeras's own, `keras.layers.ReLU` (with its threshold,
  negative slope and cap), `LeakyReLU`, `PReLU`, `ELU`, `Softmax`, or
  `Activation(f)` with a Keras activation function `f`;
- a Keras activation function held by a layer: `Dense(64, activation="relu")`
  (the attribute `activation`), or any other attribute of a custom layer
  (`self.act_fn = keras.activations.relu`, named `<layer>/act_fn`), given by
  name, as a function or as a `functools.partial` of one; a Keras activation
  layer given as `activation=` (`Dense(64, activation=ReLU())`) is a site of its
  own, named `<dense>/<re_lu>`;
- an activation op in a Functional graph (`keras.ops.relu(x)` applied to a
  symbolic tensor while building the model: an operation, not a layer);
- a `Lambda` layer whose function is a Keras activation function
  (`Lambda(keras.ops.relu)`), found with a warning: a `Lambda` may do more than
  its function's name says.

Identity activations (`Activation("linear")`, actkeras's `Linear`) are not sites:
they have no units to watch.

Sites are looked for in the whole layer tree: the layers of Functional,
Sequential and subclassed models, nested models at any depth, layers held by
other layers, and the layer a `TimeDistributed` wraps (its site is measured over
every frame at once, see `_recorder`). Recurrent layers are not searched: their
cells apply activations once per time step, on TensorFlow often inside one fused
kernel (`recurrent_layers` lists them, so that the monitors can say so).

A site's name is its stable path below the model (`"block/relu"`, see `_tree`).

What cannot be found without running the model (an activation applied as a bare
op inside a custom `call()`) is caught while the recorder's first pass runs
(see `_recorder.bare_ops`).
"""

import functools
from dataclasses import dataclass

import keras

from actkeras.callbacks._tree import is_recurrent, snake_case, tree
from actkeras.layers import BaseActivation

FAMILIES = ("rectifier", "leaky", "exponential", "smooth", "sigmoid", "tanh", "softmax", "bounded",
            "shrink", "gated")  # fmt: skip

# Activation functions (and Functional-graph ops) by name, with their family. Every
# activation of `keras.activations` but `linear` (the identity) is here.
FUNCTIONS = {
    "relu": "rectifier", "relu6": "rectifier", "sparse_plus": "rectifier", "threshold": "rectifier",
    "leaky_relu": "leaky",
    "elu": "exponential", "selu": "exponential", "celu": "exponential",
    "gelu": "smooth", "silu": "smooth", "swish": "smooth", "mish": "smooth",
    "softplus": "smooth", "squareplus": "smooth", "exponential": "smooth",
    "hard_silu": "rectifier", "hard_swish": "rectifier",
    "sigmoid": "sigmoid", "hard_sigmoid": "sigmoid", "sparse_sigmoid": "sigmoid",
    "log_sigmoid": "sigmoid",
    "tanh": "tanh", "hard_tanh": "tanh",
    "softmax": "softmax", "log_softmax": "softmax", "sparsemax": "softmax",
    "softsign": "bounded",
    "hard_shrink": "shrink", "soft_shrink": "shrink", "tanh_shrink": "shrink",
    "glu": "gated",
}  # fmt: skip
_CAPS = {"relu6": 6.0}
# Where a unit is off when no argument says otherwise: sparse_plus is 0, with a zero
# derivative, at or below -1, hard_silu (hard_swish) at or below -3; the shrinks are 0 on
# [-threshold, threshold].
_THRESHOLDS = {"sparse_plus": -1.0, "hard_silu": -3.0, "hard_swish": -3.0,
               "hard_shrink": 0.5, "soft_shrink": 0.5, "tanh_shrink": 0.0}  # fmt: skip
# Arguments that, at 0, make a leaky or exponential activation a plain rectifier.
_FLAT_WHEN_ZERO = {"relu": "negative_slope", "leaky_relu": "negative_slope", "elu": "alpha"}


@dataclass(frozen=True)
class ActivationSite:
    """One place in a model whose activation the monitors read.

    Args:
        name: the site's path below the model (`"dense_1"`, `"block/relu"`,
            `"block/act_fn"`), with Keras's automatic names made stable.
        layer: the layer (or Functional-graph operation) that applies it.
        family: what the monitors read of it (see `DeadReLUMonitor` and
            `ActivationStats`):
            `"rectifier"` (relu, relu6, sparse_plus, threshold, hard_silu/hard_swish,
            and a leaky or exponential activation whose slope or scale is 0: output
            constant, with no gradient, at or below `threshold`, so a unit can be dead);
            `"leaky"` (leaky_relu, PReLU), `"exponential"` (ELU, SELU, CELU) and
            `"smooth"` (GELU, swish/SiLU, mish, softplus, squareplus, exponential):
            a low side with a small but non-zero gradient, so a unit can be inactive;
            `"sigmoid"` (sigmoid, hard_sigmoid, sparse_sigmoid, log_sigmoid) and
            `"tanh"` (tanh, hard_tanh): saturating, so a saturated fraction is read;
            `"softmax"` (softmax, log_softmax, sparsemax): normalised over an axis;
            `"bounded"` (softsign: odd and bounded, with no floor, so neither dead nor
            inactive, and no saturation read);
            `"shrink"` (hard_shrink, soft_shrink, tanh_shrink: 0, with no gradient,
            for pre-activations in `[-threshold, threshold]`, so a unit can be dead);
            `"gated"` (glu: half the units gate the other half, so its outputs are
            not its inputs' units, and it is neither dead nor inactive).
        fused: True for an activation function held by a layer (`attribute`),
            read by wrapping that function.
        threshold: the pre-activation at or below which a unit is off
            (`keras.layers.ReLU(threshold=...)`, `threshold(x, threshold=...)`;
            -1 for sparse_plus, -3 for hard_silu; for a shrink, the half-width of its
            dead zone, 0.5 unless given, 0 for tanh_shrink; 0 otherwise).
        cap: the output cap of a capped rectifier (6 for ReLU6), else `None`.
        via_lambda: True for a `Lambda` layer recognised by its function.
        attribute: for a fused site, the attribute of `layer` holding the
            function (`"activation"` for `Dense(activation=...)`), else `None`.
        wrappers: the `TimeDistributed` layers around the site, outermost first.
        function: the name of the Keras activation function or op applied
            (`"hard_sigmoid"`), `None` for an activation layer class.
    """

    name: str
    layer: object
    family: str
    fused: bool = False
    threshold: float = 0.0
    cap: float = None
    via_lambda: bool = False
    attribute: str = None
    wrappers: tuple = ()
    function: str = None


def _named_kind(name, arguments):
    """`ActivationSite` keyword arguments of Keras activation `name` called with `arguments`."""
    family = FUNCTIONS[name]
    flat = _FLAT_WHEN_ZERO.get(name)
    if arguments.get(flat) is not None:
        family = "rectifier" if not arguments[flat] else "leaky" if name == "relu" else family
    threshold = arguments.get("threshold")
    threshold = _THRESHOLDS.get(name, 0.0) if threshold is None else threshold
    cap = arguments.get("max_value")
    cap = _CAPS.get(name) if cap is None else cap
    return {"family": family, "threshold": float(threshold),
            "cap": None if cap is None else float(cap), "function": name}  # fmt: skip


def function_family(fn):
    """`ActivationSite` keyword arguments (`family`, `threshold`, `cap`, `function`) of a
    Keras activation function, or `None` (the identity too).

    Recognised by name (`keras.activations.relu`, `keras.ops.relu`, `"relu6"`),
    through `functools.partial` (`partial(relu, max_value=6.0)` is capped at 6,
    `partial(leaky_relu, negative_slope=0.0)` is a rectifier).
    """
    keywords = {}
    while isinstance(fn, functools.partial):
        keywords = {**fn.keywords, **keywords}
        fn = fn.func
    if isinstance(fn, keras.layers.Layer) or not callable(fn):
        return None
    name = getattr(fn, "__name__", None)
    if name not in FUNCTIONS:
        return None
    return _named_kind(name, keywords)


def _operation_kind(operation):
    """A Functional graph's activation op (`keras.ops.relu` on a symbolic tensor)."""
    name = snake_case(type(operation).__name__)
    if name not in FUNCTIONS:
        return None
    arguments = {key: getattr(operation, key, None)
                 for key in ("negative_slope", "alpha", "threshold", "max_value")}  # fmt: skip
    return _named_kind(name, arguments)


def _is_flat(layer, attribute):
    """A leaky or exponential layer whose slope (or scale) is 0: a plain rectifier."""
    value = getattr(layer, attribute, None)
    return isinstance(value, (int, float)) and value == 0


def site_kinds(layer):
    """`ActivationSite` keyword arguments for each site `layer` holds (`[]` for none).

    A `PReLU` stays leaky whatever its slope (0 at the start with Keras's default
    initializer): the slope is learned, and a unit whose inputs are all negative
    still gives its slope a gradient, so it can come back.
    """
    if isinstance(layer, BaseActivation):
        if layer.family not in FAMILIES:
            return []
        flat = layer.family in ("leaky", "exponential") and (
            _is_flat(layer, "negative_slope") or _is_flat(layer, "alpha"))
        return [{"family": "rectifier" if flat else layer.family}]
    if isinstance(layer, keras.layers.ReLU):
        cap = None if layer.max_value is None else float(layer.max_value)
        family = "leaky" if layer.negative_slope else "rectifier"
        return [{"family": family, "threshold": float(layer.threshold), "cap": cap}]
    if isinstance(layer, keras.layers.LeakyReLU):
        return [{"family": "rectifier" if _is_flat(layer, "negative_slope") else "leaky"}]
    if isinstance(layer, keras.layers.PReLU):
        return [{"family": "leaky"}]
    if isinstance(layer, keras.layers.ELU):
        return [{"family": "rectifier" if _is_flat(layer, "alpha") else "exponential"}]
    if isinstance(layer, keras.layers.Softmax):
        return [{"family": "softmax"}]
    if isinstance(layer, keras.layers.Activation):
        found = function_family(layer.activation)
        return [] if found is None else [found]
    if isinstance(layer, keras.layers.Lambda):
        found = function_family(layer.function)
        return [] if found is None else [{**found, "via_lambda": True}]
    if not isinstance(layer, keras.layers.Layer):
        kind = _operation_kind(layer)
        return [] if kind is None else [kind]
    if is_recurrent(layer) or isinstance(layer, keras.Model):
        return []
    kinds = []
    for attribute, value in vars(layer).items():
        found = function_family(value)
        if found is not None:
            kinds.append({**found, "fused": True, "attribute": attribute})
    return kinds


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

    Searches the whole layer tree (nested models, layers inside layers, the layer
    a `TimeDistributed` wraps, a Functional graph's activation ops), so it works
    on Functional, Sequential and subclassed models alike. Each site is returned
    once; a monitor measures each of its calls (see `DeadReLUMonitor`).

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
    sites, outputs = sites_and_outputs(model, families)
    return sites if include_outputs else [s for s in sites if s.name not in outputs]


def sites_and_outputs(model, families=None):
    """`(every ActivationSite, names of those producing a model output)` of `model`."""
    check_families(families)
    output_ids = _model_output_ids(model)
    sites, outputs = [], set()
    for node in tree(model):
        for kind in site_kinds(node.layer):
            if families is not None and kind["family"] not in families:
                continue
            attribute = kind.get("attribute")
            name = node.path if attribute in (None, "activation") else f"{node.path}/{attribute}"
            sites.append(ActivationSite(name, node.layer, wrappers=node.wrappers, **kind))
            if output_ids and _is_output(node.layer, output_ids):
                outputs.add(name)
    return sites, outputs


def recurrent_layers(model, families=None):
    """`(path, layer, [activation names])` for each recurrent layer whose cell applies
    activations of `families` (which the monitors do not measure)."""
    check_families(families)
    found = []
    for node in tree(model):
        if not is_recurrent(node.layer) or not isinstance(node.layer, keras.layers.Layer):
            continue
        cells = getattr(node.layer, "cell", None) or getattr(node.layer, "forward_layer", None)
        cells = [getattr(c, "cell", c) for c in (cells if isinstance(cells, list) else [cells])]
        names = []
        for cell in cells + [node.layer]:
            for attribute in ("activation", "recurrent_activation"):
                kind = function_family(getattr(cell, attribute, None))
                name = getattr(getattr(cell, attribute, None), "__name__", None)
                if kind and (families is None or kind["family"] in families) and name not in names:
                    names.append(name)
        if names:
            found.append((node.path, node.layer, names))
    return found


