"""The layer tree of any Keras model, with names that stay the same from build to build.

`tree(model)` lists what is below a model: a Functional model's layers and graph
operations, a Sequential or subclassed model's layers, nested models at any
depth, layers held by other layers (attributes, lists, dicts), and the layer a
`TimeDistributed` wraps (with the wrappers around it). Recurrent layers are not
entered: their cells run once per time step. Each entry has a path below the
model (`"block/re_lu"`; a layer of the model itself keeps its plain name).

Names Keras made up (`re_lu_7`, `dense_12`: the class name with a counter kept
across the process) are replaced by the layer's order among its siblings of that
class (`re_lu`, `re_lu_1`, ...), so that the same architecture gives the same
paths however many times it is built in a process (repeated builds,
keras-tuner trials). Names given by the user are kept, and so are the names of
siblings of a class its user numbered from 0 (`dense_0`, `dense_1`, ...: Keras never
makes `dense_0`); a user's `dense_1` without a `dense_0` reads as Keras's own.

`select` picks layers (or sites) by name, `fnmatch` pattern or class, for the
monitors' `layers=` argument.
"""

import fnmatch
import functools
import re
import weakref
from dataclasses import dataclass

import keras


def is_recurrent(layer):
    return hasattr(layer, "cell") or hasattr(layer, "state_size")


@functools.lru_cache(maxsize=None)
def snake_case(name):
    """Keras's rule for the base of its automatic names (`ReLU` -> `re_lu`)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _is_automatic(child):
    base = snake_case(type(child).__name__)
    return base, re.fullmatch(rf"{re.escape(base)}(_[1-9][0-9]*)?", child.name) is not None


def stable_names(children):
    """Each child's name, Keras's automatic ones replaced by the child's order among its
    siblings of the same class (`re_lu`, `re_lu_1`, ...), clear of the names given.

    Siblings of a class numbered by their user from 0 (`dense_0`, `dense_1`, ..., as
    `build_model` names them: Keras never makes `dense_0`) keep their names."""
    kinds = [_is_automatic(child) for child in children]
    numbered = {base for child, (base, auto) in zip(children, kinds)
                if not auto and re.fullmatch(rf"{re.escape(base)}_[0-9]+", child.name)}
    kinds = [(base, auto and base not in numbered) for base, auto in kinds]
    given = {child.name for child, (_, auto) in zip(children, kinds) if not auto}
    counts, names = {}, []
    for child, (base, auto) in zip(children, kinds):
        if not auto:
            names.append(child.name)
            continue
        k = counts.get(base, 0)
        while (base if k == 0 else f"{base}_{k}") in given:
            k += 1
        counts[base] = k + 1
        names.append(base if k == 0 else f"{base}_{k}")
    return names


def _children(layer):
    """What is directly inside `layer`, in order: a Functional model's layers and graph
    operations (`x + y`, `keras.ops.relu(x)` on symbolic tensors), another model's layers,
    or the layers a layer holds (attribute order)."""
    if isinstance(layer, keras.Model):
        operations = getattr(layer, "operations", None)
        if operations is not None and not isinstance(layer, keras.Sequential):
            return list(operations)  # graph ops too: `keras.ops.relu(x)` can be a site
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

    for name, value in vars(layer).items():
        if name not in _KERAS_OWN:
            visit(value)
    return found


# Attributes Keras gives every layer that hold no sublayer (read 60 times a layer otherwise).
_KERAS_OWN = frozenset({"_inbound_nodes", "_outbound_nodes", "_trainable_variables",
                        "_non_trainable_variables", "_seed_generators", "_tracker", "_losses",
                        "_loss_ids", "_metrics", "_build_shapes_dict", "_call_signature"})


@dataclass(frozen=True)
class Node:
    """A layer (or graph operation) below a model: its stable path and the
    `TimeDistributed` layers around it."""

    path: str
    layer: object
    wrappers: tuple = ()


# model -> (signature, nodes): a model's tree is walked once while it stays the same (the
# monitors ask for it several times per `fit`; a large model takes tens of ms a walk).
# The nodes hold the model's layers but not the model, which can go.
_TREES = weakref.WeakKeyDictionary()


def tree(model):
    """Every `Node` below `model`, depth first, each layer once (recurrent layers' insides
    and input layers left out)."""
    signature = (tuple(map(id, model.layers)), tuple(map(id, model.variables)))
    cached = _TREES.get(model)
    if cached is None or cached[0] != signature:
        cached = _TREES[model] = (signature, tuple(_walk_tree(model)))
    return cached[1]


def _walk_tree(model):
    seen = {id(model)}

    def visit(layer, prefix, wrappers):
        children = [c for c in _children(layer)
                    if id(c) not in seen and not isinstance(c, keras.layers.InputLayer)]
        for child, name in zip(children, stable_names(children)):
            if id(child) in seen:  # held twice by the same parent
                continue
            seen.add(id(child))
            path = f"{prefix}{name}"
            yield Node(path, child, wrappers)
            if not is_recurrent(child) and isinstance(child, keras.layers.Layer):
                inner = (*wrappers, child) if isinstance(child, keras.layers.TimeDistributed) \
                    else wrappers  # fmt: skip
                yield from visit(child, f"{path}/", inner)

    yield from visit(model, "", ())


def walk(model):
    """`(path, layer)` for every layer below `model` (see `tree`)."""
    for node in tree(model):
        yield node.path, node.layer


def paths(model):
    """`{id(layer): stable path}` for `model` and everything below it."""
    found = {id(model): model.name}
    found.update((id(node.layer), node.path) for node in tree(model))
    return found


def check_selection(layers, name="layers"):
    """`None`, or `layers` as a list of names, name patterns or layer classes."""
    if layers is None:
        return None
    items = [layers] if isinstance(layers, (str, type)) else layers
    try:
        items = list(items)
    except TypeError:
        items = None
    if not items or not all(isinstance(i, str) or isinstance(i, type) for i in items):
        raise ValueError(
            f"`{name}` must be None or a non-empty list of layer names, name patterns "
            f"('block_*') or layer classes (keras.layers.Conv2D). Received: {name}={layers!r}"
        )
    return items


def matches(item, names, layer):
    """Whether `item` (a name, an fnmatch pattern or a class) selects a site or layer known
    by any of `names` and implemented by `layer`."""
    if isinstance(item, type):
        return isinstance(layer, item)
    return any(name == item or fnmatch.fnmatchcase(name, item) for name in names if name)


def select(candidates, items, name="layers"):
    """The `(names, layer, value)` candidates that some item matches; `ValueError` (naming
    `name`, listing the choices) for an item that matches none."""
    if items is None:
        return [value for _, _, value in candidates]
    for item in items:
        if not any(matches(item, names, layer) for names, layer, _ in candidates):
            choices = ", ".join(names[0] for names, _, _ in candidates[:40]) or "none"
            more = f" (and {len(candidates) - 40} more)" if len(candidates) > 40 else ""
            raise ValueError(
                f"`{name}` item {getattr(item, '__name__', item)!r} matches no layer the "
                f"monitor can watch. Valid choices: {choices}{more}. Received: {name}={items!r}"
            )
    return [value for names, layer, value in candidates
            if any(matches(item, names, layer) for item in items)]
