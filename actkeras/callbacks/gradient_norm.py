"""`GradientNormLogger`: per-layer gradient norms and the vanishing-gradient index."""

import warnings

import keras
import numpy as np

from actkeras.callbacks import _gradients
from actkeras.callbacks._mode import gist, sample_shapes
from actkeras.callbacks._monitor import Monitor, NothingToWatchWarning, plain
from actkeras.callbacks._probe import describe
from actkeras.callbacks._probe_checks import check_labels, custom_train_step, loss_is_sparse
from actkeras.callbacks._tree import select, stable_names


class GradientNormLogger(Monitor):
    """Logs the L2 norm of the loss gradient per weight, per layer and overall.

    The gradient is that of the loss Keras's `fit` minimises (the compiled loss plus
    `model.losses`: weight regularisers, activity regularisers and `add_loss`
    losses; a model compiled without `loss` has these alone, and its probe needs no
    targets; `fit`'s `class_weight` weighs the probe's samples by their labels as
    `fit` does; a model whose class overrides `train_step` gets a warning, since
    that step may minimise something else) on one probe batch, in `mode`
    (training mode by default: `training=True` with Dropout and noise layers off;
    under mixed precision the loss scaled and the gradient unscaled as `fit`
    does), computed in `actkeras.callbacks._gradients` (TensorFlow
    `GradientTape` or `jax.grad`); measuring never changes the model. Layers are taken input to output: a
    Functional or Sequential model's in `model.layers` order, a subclassed
    model's in the order its `call()` first calls them on the probe (layers it
    never calls last, in attribute order), a nested model's layers in their own
    order under its path (`<model>/<layer>`); a layer's norm covers all its
    trainable weights (weights a model holds itself form a group under the
    model's name, last); the *first/last ratio*, `norm(first layer) /
    norm(last layer)`, is the vanishing-gradient index: far below 1 when the
    gradient fades on its way back to the first layer (sigmoid), near 1 or
    above when it does not.

    Keys written into `logs` at each epoch end: `grad_norm/global` (all
    trainable weights), `grad_norm/<layer>` for each chosen layer (a layer
    named `global`: `grad_norm/global_layer`, with a warning), and
    `gradient_ratio` (first/last ratio of the chosen layers). Each measurement
    is appended to `records`: `{"epoch", "step", "trigger", "mode", "global",
    "first_last_ratio", "layers": {layer: norm}, "weights": {path: norm}}`,
    layers in depth order (what `actkeras.plots.plot_gradient_norms` draws).

    Example:
    >>> logger = GradientNormLogger(probe_data=(x_valid[:256], y_valid[:256]))
    >>> model.fit(x, y, epochs=3, callbacks=[logger])
    >>> logger.records[-1]["first_last_ratio"]
    0.83

    Args:
        probe_data: `(x, y)` or `(x, y, sample_weight)`, a `tf.data.Dataset` or
            iterable of batches (targets are needed); at most `probe_size`
            samples are kept and used as one batch. Defaults to `None`
            (`actkeras.fit` passes a validation sample).
        probe_size: the probe batch's size. Defaults to `256`.
        every: `None` (each epoch end) or `N` (also every `N` batches, into
            `records` and `log_dir` only). Defaults to `None`.
        layers: the layers to report (and to take the ratio between): names or
            paths, `fnmatch` patterns or layer classes (see `Monitor`). Defaults
            to `None` (every layer with trainable weights).
        log_dir: write every measurement to a TensorBoard event file there.
            Defaults to `None`.
        mode: `"training"` or `"inference"`. Defaults to `"training"`.
    """

    suffix = ".gradient_norm"
    _dropped = ("_recorder", "_squared_norms", "_weights")

    def __init__(self, probe_data=None, probe_size=256, every=None, layers=None, log_dir=None,
                 mode="training"):  # fmt: skip
        super().__init__(probe_data, probe_size, every, log_dir, mode, layers)

    @property
    def _needs_labels(self):
        # A model compiled without `loss` trains on its own losses (`add_loss`): no targets.
        return _gradients.compiled_loss(self.model)

    def _setup(self, probe):
        _gradients.check_backend()
        _gradients.check_compiled(self.model, self._sample(probe))
        if probe.y is None and self._needs_labels:
            raise ValueError(
                "GradientNormLogger needs targets to compute the loss: pass "
                f"`probe_data=(x, y)`. Received: probe_data={describe(probe.x)}"
            )
        model = self.model
        if custom_train_step(model):
            self._warn("train_step",
                       f"model {model.name!r} has a train_step of its own "
                       f"({type(model).__name__}.train_step), which may minimise another loss "
                       "than the compiled one: the norms logged are of the gradient of the "
                       "compiled loss and model.losses (what Keras's own train_step "
                       "minimises), whatever your train_step minimises. Received: a model "
                       "whose class overrides train_step")
        if not self._chosen():  # (an item of `layers` that matches nothing fails here)
            warnings.warn(
                f"GradientNormLogger: model {model.name!r} has no trainable weights, "
                "so it will log nothing.",
                NothingToWatchWarning,
                stacklevel=2,
            )
            return False
        self._paths = [v.path for v in model.trainable_variables]
        self._weights = self._sample_weight(probe)
        self._squared_norms = _trace(model, self.mode, probe, self._weights)
        self._groups = None  # in call order, known once the pass has run
        return True

    def _chosen(self, rank=None):
        """`[(name, members)]` of the chosen layers (see `weight_groups`)."""
        groups = weight_groups(self.model, layers=True, rank=rank)
        return select([((name, layer.name), layer, (name, members))
                       for name, members, layer in groups], self.layers)  # fmt: skip

    def _sample_weight(self, probe):
        """The probe's sample weights, or with `fit`'s `class_weight` each sample's class
        weight, read off its label as Keras reads it (a class index, or the largest of a
        one-hot row; 1 for a class it does not name)."""
        if not self._class_weight or not self._needs_labels:
            return probe.sample_weight
        labels = keras.tree.flatten(probe.y)
        if probe.sample_weight is not None or len(labels) != 1:
            self._warn("class_weight",
                       "fit's class_weight is left out of the gradient: the probe holds "
                       "sample weights of its own or the model has several outputs, which "
                       "fit refuses with class_weight too.")
            return probe.sample_weight
        y = np.asarray(labels[0])
        if y.ndim > 1:
            y = np.argmax(y, axis=-1) if y.shape[-1] > 1 else y[..., 0]
        classes = np.round(y).astype("int64").reshape(len(y))
        return np.array([self._class_weight.get(int(c), 1.0) for c in classes],
                        dtype=keras.config.floatx())

    def _measure(self, probe):
        squares = self._squared_norms(probe.x, probe.y, self._weights).tolist()
        if self._groups is None:  # after the pass: a model run eagerly first runs here
            self._groups = self._chosen(self._squared_norms.call_order)
        layers = {name: float(np.sqrt(sum(squares[i] for i in members)))
                  for name, members in self._groups}  # fmt: skip
        chosen = {i for _, members in self._groups for i in members}
        weights = {self._paths[i]: float(np.sqrt(squares[i])) for i in sorted(chosen)}
        norms = list(layers.values())
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = float(np.float64(norms[0]) / np.float64(norms[-1]))
        total = float(np.sqrt(sum(squares)))
        scalars = {"grad_norm/global": total, "gradient_ratio": ratio}
        scalars.update({self._key(name): norm for name, norm in layers.items()})
        fields = {"global": total, "first_last_ratio": plain(ratio), "layers": layers,
                  "weights": weights}  # fmt: skip
        return fields, scalars, None

    def _key(self, name):
        """`grad_norm/<layer>`; a layer named `global` gets `grad_norm/global_layer` (with
        more underscores while that is a layer's too), said once."""
        if name != "global":
            return f"grad_norm/{name}"
        taken = {group for group, _ in self._groups}
        key = "global_layer"
        while key in taken:
            key += "_"
        self._warn("global", f"the layer named 'global' logs its norm as 'grad_norm/{key}': "
                   "'grad_norm/global' is the norm over every trainable weight. Received: a "
                   "layer named 'global'")
        return f"grad_norm/{key}"


def _trace(model, mode, probe, sample_weight):
    """The compiled gradient, traced on the probe: labels the loss cannot take fail here,
    before training, with a message that names `probe_data`."""
    try:
        function = _gradients.GradientFunction(model, mode, probe.x, probe.y, sample_weight)
    except Exception as error:  # a backend's shape error deep in the loss: say what failed
        outputs = _output_shapes(model)
        expected = f" The model's output has shape {outputs} per sample." if outputs else ""
        raise ValueError(
            f"GradientNormLogger could not compute model {model.name!r}'s training loss on "
            f"`probe_data` ({type(error).__name__}: {gist(error)}).{expected} Received: "
            f"probe_data with inputs of {sample_shapes(probe.x)} and labels of "
            f"{sample_shapes(probe.y)}"
        ) from None
    check_labels(probe, function.output_shapes or [], loss_is_sparse(model))
    return function


def _output_shapes(model):
    try:
        shapes = [tuple(t.shape[1:]) for t in keras.tree.flatten(model.outputs)]
    except (AttributeError, ValueError, TypeError):
        return None
    return shapes[0] if len(shapes) == 1 else shapes


def _leaf_layers(model, prefix="", rank=None):
    """`(path, layer)` for the layers of `model`, a nested model's layers under its path,
    with Keras's automatic names made stable (see `_sites.stable_names`); a subclassed
    model's layers sorted by `rank` (`{id(layer): first call}`, the uncalled last) if given."""
    layers = list(model.layers)
    named = list(zip(layers, stable_names(layers)))  # named in attribute order, as ever
    if rank is not None and _gradients.is_subclassed(model):
        named.sort(key=lambda pair: rank.get(id(pair[0]), len(rank)))
    for layer, name in named:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer, f"{prefix}{name}/", rank)
        else:
            yield f"{prefix}{name}", layer


def weight_groups(model, layers=False, rank=None):
    """`[(name, indices into model.trainable_variables)]`, each weight in one group
    (`(name, indices, layer)` with `layers`); a subclassed model's layers in the order
    `rank` gives (`GradientFunction.call_order`), else in attribute order."""
    index = {id(v): i for i, v in enumerate(model.trainable_variables)}
    taken, groups = set(), []
    for path, layer in _leaf_layers(model, rank=rank):
        members = [index[id(v)] for v in layer.trainable_variables if id(v) in index]
        members = [i for i in dict.fromkeys(members) if i not in taken]
        taken.update(members)
        if members:
            groups.append((path, members, layer))
    own = [i for i in range(len(model.trainable_variables)) if i not in taken]
    if own:  # weights the model holds itself (`self.add_weight` in a subclassed model)
        groups.append((model.name, own, model))
    return groups if layers else [group[:2] for group in groups]
