"""What a unit is: the axis of an activation's units, and an activation laid out per unit.

A unit is a feature: an output of a Dense layer (the last axis), a channel of a
convolution. Channels are the last axis unless a layer says otherwise with
`data_format="channels_first"` (Conv1D/2D/3D, separable, depthwise and transposed
convolutions, ConvLSTM, pooling, up-sampling, padding, cropping, spatial
dropout): then they are axis 1, behind the frames a `TimeDistributed` adds.

- An activation held by a layer (`Conv2D(..., activation="relu")`) takes that
  layer's `data_format`; a layer without one (Dense) has its units last.
- A standalone activation (`ReLU()`, `Activation("relu")`, `keras.ops.relu` on a
  symbolic tensor) takes the format of the layer that produced its input in the
  Functional (or Sequential) graph, looking back through operations that keep
  their input's shape and have no units of their own (normalisation, PReLU,
  dropout, noise, other activations, merges such as `Add`, and `Concatenate`),
  and into a nested model's output. A layer with weights of its own (Dense,
  EinsumDense, Embedding, attention, a nested model ending in one) or one that
  changes the shape (Flatten, Reshape, Permute) ends the search: its units are
  its output's last axis.
- Where no graph tells (a subclassed model's layers, an activation applied to a
  model's input, a layer whose several calls disagree), the format of the
  model's layers that have one is taken if they all agree: a layer's default
  format is `keras.config.image_data_format()`, which is what keras-contrib's
  `DeadReluDetector` read. Otherwise the units are last. The limit: a subclassed
  model whose convolutions are channels-first and that applies a standalone
  activation to a 3-D or larger output of a Dense layer counts that output's
  axis 1 as its units.

Reading a graph's producers uses Keras internals, through `actkeras._compat`.
"""

import dataclasses

import keras

from actkeras import _compat
from actkeras.callbacks._sites import ActivationSite
from actkeras.callbacks._tree import tree

_FORMATS = ("channels_first", "channels_last")
# Layers with weights whose output's axes are still their input's (elementwise or per-axis).
_KEEP_UNITS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization,
               keras.layers.GroupNormalization, keras.layers.PReLU)  # fmt: skip
_MOST_STEPS = 1000  # a bound on the walk back through a graph


@dataclasses.dataclass(frozen=True)
class UnitSite(ActivationSite):
    """An `ActivationSite` with the axis of its units in the tensors a `Recorder` hands
    over (`unit_axis`: -1 for the last, else counted from the batch axis, 0)."""

    unit_axis: int = -1


def per_unit(tensor, site=None):
    """`tensor` as `(values, units)`, in float32 (float64 kept): the units are `site`'s
    `unit_axis` (see the module), the last axis when `site` has none."""
    dtype = keras.backend.standardize_dtype(tensor.dtype)
    tensor = keras.ops.cast(tensor, "float64" if dtype == "float64" else "float32")
    rank = len(tensor.shape)
    if rank < 2:
        return keras.ops.reshape(tensor, (-1, 1))
    axis = getattr(site, "unit_axis", -1)
    if 0 < axis < rank - 1:
        tensor = keras.ops.moveaxis(tensor, axis, -1)
    return keras.ops.reshape(tensor, (-1, tensor.shape[-1]))


def with_unit_axes(model, sites):
    """`sites` as `UnitSite`s of `model`, each with the axis of its units."""
    fallback = _model_format(model)
    found = []
    for site in sites:
        fields = {f.name: getattr(site, f.name) for f in dataclasses.fields(ActivationSite)}
        axis = _fused_axis(site) if site.fused else _graph_axis(site)
        if axis is None:
            axis = 1 + len(site.wrappers) if fallback == "channels_first" else -1
        found.append(UnitSite(**fields, unit_axis=axis))
    return found


def _fused_axis(site):
    """An activation held by a layer: the layer's format."""
    if getattr(site.layer, "data_format", None) == "channels_first":
        return 1 + len(site.wrappers)  # each TimeDistributed stacks its frames at axis 1
    return -1


def _graph_axis(site):
    """A standalone activation: its input's producer in the graph, for every call; `None`
    when no graph tells or the calls disagree."""
    start = site.wrappers[0] if site.wrappers else site.layer
    axes = {_producer_axis(inputs[0]) for inputs in _compat.call_inputs(start) if inputs}
    return axes.pop() if len(axes) == 1 else None


def _producer_axis(tensor):
    """The unit axis of a symbolic `tensor`, from the operations that made it; `None` when
    the graph does not tell (it starts at a model's input)."""
    for _ in range(_MOST_STEPS):
        found = _compat.producer(tensor)
        if found is None:
            return None
        operation, inputs, index = found
        inner, depth = operation, 0
        while isinstance(inner, keras.layers.TimeDistributed):
            inner, depth = inner.layer, depth + 1
        data_format = getattr(inner, "data_format", None)
        if data_format in _FORMATS:
            return 1 + depth if data_format == "channels_first" else -1
        if isinstance(operation, keras.Model):  # a nested model: its own graph tells
            outputs = _model_outputs(operation)
            if outputs is None:
                return None
            tensor = outputs[index]
            continue
        if not inputs:
            return None  # a model's input
        first = inputs[0]
        keeps = (tuple(first.shape) == tuple(tensor.shape)
                 or isinstance(inner, keras.layers.Concatenate))  # fmt: skip
        weighted = isinstance(inner, keras.layers.Layer) and inner.weights
        if not keeps or (weighted and not isinstance(inner, _KEEP_UNITS)):
            return -1
        tensor = first
    return None


def _model_outputs(model):
    """A Functional (or built Sequential) model's output tensors, flat; `None` for others."""
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        return None
    return keras.tree.flatten(outputs) if outputs else None


def _model_format(model):
    """The `data_format` of `model`'s layers that have one, if they all agree, else `None`."""
    formats = {getattr(node.layer, "data_format", None) for node in tree(model)}
    formats &= set(_FORMATS)
    return formats.pop() if len(formats) == 1 else None
