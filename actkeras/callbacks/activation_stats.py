"""`ActivationStats`: what each activation layer outputs on a probe set."""

import warnings

import numpy as np
from keras import ops

from actkeras import checks
from actkeras.callbacks._backend import to_numpy
from actkeras.callbacks._activation_monitor import ActivationMonitor
from actkeras.callbacks._monitor import NonFiniteWarning, NothingToWatchWarning
from actkeras.callbacks._recorder import per_unit
from actkeras.callbacks._sites import FAMILIES

BINS = 40
SATURATION = 0.01  # smooth activations: saturated where the derivative is below 1 % of its maximum
# Piecewise-linear activations bounded on both sides: the derivative is a constant
# (its maximum) between the bounds and exactly 0 at them.
BOUNDS = {"hard_sigmoid": (0.0, 1.0), "sparse_sigmoid": (0.0, 1.0), "hard_tanh": (-1.0, 1.0)}


def saturates(site):
    """Whether `ActivationStats` reads a saturated fraction for `site`."""
    return site.cap is not None or site.family in ("sigmoid", "tanh")


def saturated(values, site):
    """Boolean tensor of saturated values, read from the OUTPUTS of `site`; `None` where
    `saturates(site)` is False.

    Smooth activations, where the derivative is below `SATURATION` of its maximum:
    for `s = sigmoid(a x)`, `s' / max s' = 4 s (1 - s)`; for `t = tanh(x)`,
    `t' / max t' = 1 - t**2`; for `l = log_sigmoid(x)`, `l' / max l' = 1 - exp(l)`:
    each read off the output alone, whatever the slope `a` (actkeras's
    `ScaledSigmoid`). Piecewise-linear ones (`BOUNDS`: hard_sigmoid,
    sparse_sigmoid, hard_tanh), where the derivative is exactly 0: at a bound. A
    capped rectifier (ReLU6): at its cap (its zeros are `zero_fraction`).
    """
    if site.cap is not None:
        return ops.greater_equal(values, site.cap)
    if site.function in BOUNDS:
        low, high = BOUNDS[site.function]
        return ops.logical_or(ops.less_equal(values, low), ops.greater_equal(values, high))
    if site.function == "log_sigmoid":
        return ops.less(1.0 - ops.exp(values), SATURATION)
    if site.family == "sigmoid":
        return ops.less(4.0 * values * (1.0 - values), SATURATION)
    if site.family == "tanh":
        return ops.less(1.0 - ops.square(values), SATURATION)
    return None


def _unit_sums(values, site):
    """Per unit, over a chunk's samples (6, units): the sum of the values; a centre `c`
    (their mean); the sums of `x - c` and of `(x - c)**2`; exact zeros; saturated values.

    The centred sums give the spread to float precision however large the mean
    (`sum x**2 - (sum x)**2 / n` in float32 loses it all once the mean is 10**4
    times the spread); `_spread` combines them over units and chunks.
    """
    centre = ops.mean(values, axis=0)
    centred = values - centre
    zeros = ops.cast(ops.equal(values, 0.0), values.dtype)
    mask = saturated(values, site)
    mask = ops.zeros_like(values) if mask is None else ops.cast(mask, values.dtype)
    sums = [ops.sum(v, axis=0) for v in (values, centred, centred * centred, zeros, mask)]
    return ops.stack(sums[:1] + [centre] + sums[1:])


def _summary(site, pre, out):
    """Reduced on the device: the value count and six numbers per unit are fetched."""
    values = per_unit(out)
    return ops.size(values), _unit_sums(values, site)


def _summary_and_values(site, pre, out):
    """`_summary` and every output value (for the histograms)."""
    values = per_unit(out)
    return ops.size(values), _unit_sums(values, site), values


def _spread(groups):
    """The standard deviation of every value, from each (chunk, unit) group's count,
    centre and centred sums, combined in float64 (Chan et al.'s pairwise formula)."""
    n = np.concatenate([np.full(len(centre), rows) for rows, centre, _, _ in groups])
    shifted = np.concatenate([s for _, _, s, _ in groups])
    means = np.concatenate([c for _, c, _, _ in groups]) + shifted / n
    within = np.concatenate([q for _, _, _, q in groups]) - shifted * shifted / n
    mean = np.sum(n * means) / np.sum(n)
    total = np.sum(np.maximum(within, 0.0)) + np.sum(n * (means - mean) ** 2)
    return float(np.sqrt(total / np.sum(n)))


class ActivationStats(ActivationMonitor):
    """Per activation layer: mean, standard deviation, sparsity and saturation.

    Measured on the layer OUTPUTS for a probe set, for every hidden activation
    site `find_activation_layers` finds (any family but the identity), in any
    Keras model, at every call of a layer used more than once (`<layer>.call1`,
    ...), in `mode` (training mode by default: BatchNorm with the probe batch's
    statistics, Dropout off), as `DeadReLUMonitor` explains. The output layer's
    activation (a softmax over the classes is the prediction, not a hidden
    representation) is left out unless `include_outputs=True`. `mean` and `std` are
    those of every output value of the layer (all units and samples together),
    the std combined in float64 from centred per-unit sums, so it is right to
    float precision even for outputs with a large mean and a small spread (a
    saturated sigmoid). `zero_fraction` is the share of exact zeros (a ReLU
    layer's sparsity). `saturated_fraction`, for the sigmoid and tanh families and
    capped rectifiers only (see `saturated`), is the share of values where the
    unit barely passes a gradient: for smooth activations (sigmoid, tanh,
    log_sigmoid) where the derivative is below 1 % of its maximum; for
    piecewise-linear ones (hard_sigmoid, sparse_sigmoid, hard_tanh), where it is
    exactly 0, at a bound; for a capped rectifier (ReLU6), at its cap.

    Keys written into `logs` at each epoch end, per layer (or call): `act_mean/<layer>`,
    `act_std/<layer>`, `act_zero_fraction/<layer>` and, for the layers that have
    one, `act_saturated_fraction/<layer>`. Each measurement is appended to
    `records`: `{"epoch", "step", "trigger", "mode", "layers": {name: {"family",
    "mean", "std", "zero_fraction", "saturated_fraction", "histogram"}}}`,
    `saturated_fraction` None where it does not apply, `histogram`
    (`{"counts", "edges"}`, of the finite outputs; `"nonfinite"` counts the others when
    there are any) only with `histograms=True`.

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
        sums = np.zeros((len(self._calls), 4))  # count, sum, zeros, saturated
        groups = [[] for _ in self._calls]  # (rows, centre, centred sum, centred squares)
        kept = [[] for _ in self._calls]
        recorder, reduce = self._recorder, self._reduce()
        for x, _, _ in probe.chunks(recorder.chunk_size(self.chunk_size)):
            found = recorder(x, reduce)
            for i, call in enumerate(self._calls):
                if (call.index, call.call) not in found:
                    continue
                count, unit_sums, *values = found[(call.index, call.call)]
                count, unit_sums = to_numpy(count), to_numpy(unit_sums).astype("float64")
                _, centre, shifted, squares = unit_sums[:4]
                sums[i] += (count, *unit_sums[[0, 4, 5]].sum(axis=1))
                groups[i].append((count // unit_sums.shape[1], centre, shifted, squares))
                if values:
                    kept[i].append(to_numpy(values[0]).ravel())
        layers, scalars, histograms = {}, {}, {}
        for i, call in enumerate(self._calls):
            site = recorder.sites[call.index]
            count, total, zeros, n_saturated = sums[i]
            if not count:
                continue
            stats = {
                "family": site.family,
                "mean": float(total / count),
                "std": _spread(groups[i]),
                "zero_fraction": float(zeros / count),
                "saturated_fraction": float(n_saturated / count) if saturates(site) else None,
            }
            for key in ("mean", "std", "zero_fraction", "saturated_fraction"):
                if stats[key] is not None:
                    scalars[f"act_{key}/{call.name}"] = stats[key]
            if self.histograms:
                values = np.concatenate(kept[i])
                finite = np.isfinite(values)
                counts, edges = np.histogram(values[finite], bins=BINS)
                stats["histogram"] = {"counts": counts.tolist(), "edges": edges.tolist()}
                nonfinite = int(values.size - finite.sum())
                if nonfinite:  # a diverged model: the run goes on, measured
                    stats["histogram"]["nonfinite"] = nonfinite
                    self._warn(("nonfinite", call.name),
                               f"{nonfinite:,} of the {values.size:,} outputs "
                               f"of {call.name!r} are NaN or infinite (has training "
                               "diverged?): its histograms count the finite ones, and the "
                               "record's histogram says how many others in 'nonfinite'.",
                               NonFiniteWarning)
                histograms[f"activations/{call.name}"] = values[finite]
            layers[call.name] = stats
        return {"layers": layers}, scalars, histograms
