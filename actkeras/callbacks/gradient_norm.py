"""`GradientNormLogger`: per-layer gradient norms and the vanishing-gradient index."""

import warnings

import keras
import numpy as np

from actkeras.callbacks import _gradients
from actkeras.callbacks._monitor import Monitor, plain
from actkeras.callbacks._probe import describe


class GradientNormLogger(Monitor):
    """Logs the L2 norm of the loss gradient per weight, per layer and overall.

    The gradient is that of the model's own training loss (compiled loss plus
    regularisation losses) on one probe batch, in `mode` (training mode by
    default: `training=True` with Dropout and noise layers off), computed in
    `actkeras.callbacks._gradients` (TensorFlow `GradientTape` or `jax.grad`);
    measuring never changes the model. Layers are taken in `model.layers` order
    (input to output), a nested model's layers in their own order under its
    path (`<model>/<layer>`), for Functional, Sequential and subclassed models
    alike; a layer's norm covers all its trainable weights (weights a model
    holds itself form a group under the model's name, last); the
    *first/last ratio*, `norm(first layer) / norm(last layer)`, is the
    vanishing-gradient index: far below 1 when the gradient fades on its way
    back to the first layer (sigmoid), near 1 or above when it does not.

    Keys written into `logs` at each epoch end: `grad_norm/global` (all
    trainable weights), `grad_norm/<layer>` for each chosen layer, and
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
        layers: names of the layers to report (and to take the ratio between).
            Defaults to `None` (every layer with trainable weights).
        log_dir: write every measurement to a TensorBoard event file there.
            Defaults to `None`.
        mode: `"training"` or `"inference"`. Defaults to `"training"`.
    """

    suffix = ".gradient_norm"

    def __init__(self, probe_data=None, probe_size=256, every=None, layers=None, log_dir=None,
                 mode="training"):  # fmt: skip
        if layers is not None and (
            isinstance(layers, str) or not all(isinstance(n, str) for n in layers) or not layers
        ):
            raise ValueError(
                "`layers` must be None or a non-empty list of layer names. "
                f"Received: layers={layers!r}"
            )
        self.layers = None if layers is None else list(layers)
        super().__init__(probe_data, probe_size, every, log_dir, mode)

    def _setup(self, probe):
        _gradients.check_backend()
        if probe.y is None:
            raise ValueError(
                "GradientNormLogger needs targets to compute the loss: pass "
                f"`probe_data=(x, y)`. Received: probe_data={describe(probe.x)}"
            )
        self._groups = None
        if self.model.trainable_variables:  # else (a subclassed model before its first
            return self._group_layers()  # step): at the first measurement
        return True

    def _group_layers(self):
        model = self.model
        groups = weight_groups(model)
        if self.layers is not None:
            known = dict(groups)
            unknown = [n for n in self.layers if n not in known]
            if unknown:
                raise ValueError(
                    f"Unknown layer or layer without trainable weights {unknown[0]!r}. "
                    f"Valid choices: {', '.join(known)}. Received: layers={self.layers!r}"
                )
            groups = [(name, members) for name, members in groups if name in self.layers]
        if not groups:
            warnings.warn(
                f"GradientNormLogger: model {model.name!r} has no trainable weights, "
                "so it will log nothing.",
                stacklevel=2,
            )
            return False
        self._groups = groups
        self._paths = [v.path for v in model.trainable_variables]
        self._squared_norms = _gradients.squared_gradient_norms(model, self.mode)
        return True

    def _measure(self, probe):
        if self._groups is None and not self._group_layers():
            self._active = False
            return None
        squares = self._squared_norms(probe.x, probe.y, probe.sample_weight).tolist()
        layers = {name: float(np.sqrt(sum(squares[i] for i in members)))
                  for name, members in self._groups}  # fmt: skip
        chosen = {i for _, members in self._groups for i in members}
        weights = {self._paths[i]: float(np.sqrt(squares[i])) for i in sorted(chosen)}
        norms = list(layers.values())
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = float(np.float64(norms[0]) / np.float64(norms[-1]))
        total = float(np.sqrt(sum(squares)))
        scalars = {"grad_norm/global": total, "gradient_ratio": ratio}
        scalars.update({f"grad_norm/{name}": norm for name, norm in layers.items()})
        fields = {"global": total, "first_last_ratio": plain(ratio), "layers": layers,
                  "weights": weights}  # fmt: skip
        return fields, scalars, None

    def _teardown(self):
        self._squared_norms = None


def _leaf_layers(model, prefix=""):
    """`(path, layer)` for the layers of `model`, a nested model's layers under its path."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaf_layers(layer, f"{prefix}{layer.name}/")
        else:
            yield f"{prefix}{layer.name}", layer


def weight_groups(model):
    """`[(name, indices into model.trainable_variables)]`, each weight in one group."""
    index = {id(v): i for i, v in enumerate(model.trainable_variables)}
    taken, groups = set(), []
    for path, layer in _leaf_layers(model):
        members = [index[id(v)] for v in layer.trainable_variables if id(v) in index]
        members = [i for i in dict.fromkeys(members) if i not in taken]
        taken.update(members)
        if members:
            groups.append((path, members))
    own = [i for i in range(len(model.trainable_variables)) if i not in taken]
    if own:  # weights the model holds itself (`self.add_weight` in a subclassed model)
        groups.append((model.name, own))
    return groups
