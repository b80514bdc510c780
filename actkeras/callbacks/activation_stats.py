"""`ActivationStats`: what each activation layer outputs on a probe set."""

import warnings

import numpy as np
from keras import ops

from actkeras import checks
from actkeras.callbacks._backend import to_numpy
from actkeras.callbacks._activation_monitor import ActivationMonitor
from actkeras.callbacks._monitor import NothingToWatchWarning
from actkeras.callbacks._recorder import per_unit
from actkeras.callbacks._sites import FAMILIES

BINS = 40
SATURATION = 0.01  # saturated where the derivative is below 1 % of its maximum


def saturated(values, family):
    """Boolean tensor of saturated units, from the OUTPUTS of a sigmoid or tanh.

    For `s = sigmoid(a x)`, `s' / max s' = 4 s (1 - s)`; for `t = tanh(x)`,
    `t' / max t' = 1 - t**2`: both are read off the output alone, whatever
    the slope `a` (actkeras's `ScaledSigmoid`). `None` for other families.
    """
    if family == "sigmoid":
        return ops.less(4.0 * values * (1.0 - values), SATURATION)
    if family == "tanh":
        return ops.less(1.0 - ops.square(values), SATURATION)
    return None


def _unit_sums(values, family):
    """Per unit, summed over samples: values, squares, exact zeros, saturated (4, units)."""
    zeros = ops.cast(ops.equal(values, 0.0), values.dtype)
    mask = saturated(values, family)
    mask = ops.zeros_like(values) if mask is None else ops.cast(mask, values.dtype)
    return ops.stack([ops.sum(v, axis=0) for v in (values, values * values, zeros, mask)])


def _summary(site, pre, out):
    """Reduced on the device: the value count and four numbers per unit are fetched."""
    values = per_unit(out)
    return ops.size(values), _unit_sums(values, site.family)


def _summary_and_values(site, pre, out):
    """`_summary` and every output value (for the histograms)."""
    values = per_unit(out)
    return ops.size(values), _unit_sums(values, site.family), values


class ActivationStats(ActivationMonitor):
    """Per activation layer: mean, standard deviation, sparsity and saturation.

    Measured on the layer OUTPUTS for a probe set, for every hidden activation
    site `find_activation_layers` finds (any family but the identity), in any
    Keras model, at every call of a layer used more than once (`<layer>.call1`,
    ...), in `mode` (training mode by default: BatchNorm with the probe batch's
    statistics, Dropout off), as `DeadReLUMonitor` explains. The output layer's
    activation (a softmax over the classes is the prediction, not a hidden
    representation) is left out unless `include_outputs=True`. `zero_fraction` is the
    share of exact zeros (a ReLU layer's sparsity); `saturated_fraction`, for
    sigmoid and tanh units only, the share where the derivative is below 1 % of
    its maximum (the unit barely passes a gradient).

    Keys written into `logs` at each epoch end, per layer (or call): `act_mean/<layer>`,
    `act_std/<layer>`, `act_zero_fraction/<layer>` and, for sigmoid and tanh
    layers, `act_saturated_fraction/<layer>`. Each measurement is appended to
    `records`: `{"epoch", "step", "trigger", "mode", "layers": {name: {"family",
    "mean", "std", "zero_fraction", "saturated_fraction", "histogram"}}}`,
    `saturated_fraction` None where it does not apply, `histogram`
    (`{"counts", "edges"}`) only with `histograms=True`.

    Example:
    >>> stats = ActivationStats(probe_data=x_valid, histograms=True, log_dir="logs")
    >>> model.fit(x, y, epochs=3, callbacks=[stats])
    >>> actkeras.plots.plot_activation_histograms(stats.records)

    Args:
        probe_data: `x`, `(x, y)`, a `tf.data.Dataset` or iterable of batches;
            at most `probe_size` samples are kept. Defaults to `None`
            (`actkeras.fit` passes a validation sample).
        probe_size: the most probe samples. Defaults to `256`.
        every: `None` (each epoch end) or `N` (also every `N` batches, into
            `records` and `log_dir` only). Defaults to `None`.
        histograms: also keep a 40-bin histogram of each layer's outputs (in
            `records`, and in `log_dir` as TensorBoard histograms). Defaults to
            `False`.
        log_dir: write every measurement to a TensorBoard event file there.
            Defaults to `None`.
        mode: `"training"` or `"inference"`. Defaults to `"training"`.
        layers: the layers to watch: names, `fnmatch` patterns or layer classes
            (see `Monitor`). Defaults to `None` (all).
        include_outputs: also measure the activation of the model's output
            layer. Defaults to `False`.
    """

    suffix = ".activation_stats"

    def __init__(self, probe_data=None, probe_size=256, every=None, histograms=False,
                 log_dir=None, mode="training", layers=None, include_outputs=False):  # fmt: skip
        self.histograms = checks.boolean("histograms", histograms)
        self.include_outputs = checks.boolean("include_outputs", include_outputs)
        super().__init__(probe_data, probe_size, every, log_dir, mode, layers)

    def _reduce(self):
        return _summary_and_values if self.histograms else _summary

    def _setup(self, probe):
        self._calls = self._activation_calls(FAMILIES, self._reduce(), self.include_outputs)
        if not self._calls:
            reason = self._nothing_found("activation") or "it found no hidden activation"
            warnings.warn(f"ActivationStats will log nothing for model {self.model.name!r}: "
                          f"{reason}.", NothingToWatchWarning, stacklevel=2)  # fmt: skip
            return False
        return True

    def _measure(self, probe):
        sums = np.zeros((len(self._calls), 5))  # count, sum, sum of squares, zeros, saturated
        kept = [[] for _ in self._calls]
        recorder, reduce = self._recorder, self._reduce()
        for x, _, _ in probe.chunks(recorder.chunk_size(self.chunk_size)):
            found = recorder(x, reduce)
            for i, call in enumerate(self._calls):
                if (call.index, call.call) not in found:
                    continue
                count, unit_sums, *values = found[(call.index, call.call)]
                sums[i] += (to_numpy(count), *to_numpy(unit_sums).astype("float64").sum(axis=1))
                if values:
                    kept[i].append(to_numpy(values[0]).ravel())
        layers, scalars, histograms = {}, {}, {}
        for i, call in enumerate(self._calls):
            site = recorder.sites[call.index]
            count, total, squares, zeros, n_saturated = sums[i]
            if not count:
                continue
            mean = total / count
            stats = {
                "family": site.family,
                "mean": float(mean),
                "std": float(np.sqrt(max(squares / count - mean * mean, 0.0))),
                "zero_fraction": float(zeros / count),
                "saturated_fraction": (
                    float(n_saturated / count) if site.family in ("sigmoid", "tanh") else None
                ),
            }
            for key in ("mean", "std", "zero_fraction", "saturated_fraction"):
                if stats[key] is not None:
                    scalars[f"act_{key}/{call.name}"] = stats[key]
            if self.histograms:
                values = np.concatenate(kept[i])
                counts, edges = np.histogram(values, bins=BINS)
                stats["histogram"] = {"counts": counts.tolist(), "edges": edges.tolist()}
                histograms[f"activations/{call.name}"] = values
            layers[call.name] = stats
        return {"layers": layers}, scalars, histograms
