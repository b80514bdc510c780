"""`DeadReLUMonitor`: the fraction of rectifier units that never fire on a probe set."""

import warnings

import keras
import numpy as np

from actkeras import checks
from actkeras.callbacks._backend import to_numpy
from actkeras.callbacks._activation_monitor import ActivationMonitor
from actkeras.callbacks._monitor import NonFiniteWarning, NothingToWatchWarning
from actkeras.callbacks._units import per_unit

WATCHED = ("rectifier", "leaky", "exponential", "smooth", "shrink")
DEAD = ("rectifier", "shrink")  # the families whose off units get no gradient at all
# What "off" means, per kind, in warnings (the threshold is each site's, 0 unless set).
_OFF = {
    "dead": "dead (pre-activation <= {t:g}, output 0, for every probe sample: no gradient)",
    "dead zone": "dead (|pre-activation| <= {t:g}, output 0, for every probe sample: "
                 "no gradient)",
    "inactive": "inactive (pre-activation <= {t:g} for every probe sample: the output stays on "
                "the activation's low side, between its floor or leak and its value at {t:g}, "
                "where the gradient is small but not zero)",
}  # fmt: skip


class DeadUnitWarning(UserWarning):
    """A layer's dead (or inactive) fraction is above `DeadReLUMonitor.threshold`."""


class DeadReLUMonitor(ActivationMonitor):
    """Reports, per layer and overall, the units that are off for every probe sample.

    A ReLU unit whose pre-activation is <= 0 (its threshold) for every sample
    outputs exactly 0 and gets no gradient: it is *dead*; so is a unit of any
    rectifier (see `ActivationSite`) at or below its threshold (-1 for
    sparse_plus and -3 for hard_silu (hard_swish), whose output and gradient are
    0 there; the threshold of
    `threshold(x, threshold, default_value)`, whose output is `default_value`),
    including LeakyReLU, ReLU and ELU with a slope or alpha of 0, and a unit of a
    shrink (hard_shrink, soft_shrink: 0 for |pre-activation| <= their threshold,
    0.5 unless given; tanh_shrink: threshold 0) whose pre-activation stays in
    that dead zone for every sample. Every other activation
    with a low side has one definition of *inactive*, with the same threshold:
    the pre-activation is <= 0 for every probe sample, so the output never leaves
    the low side, where the gradient is small but not zero: leaky units
    (LeakyReLU, PReLU: only the leak), and the smooth activations with a floor
    (ELU and SELU, output between -alpha (-scale * alpha) and 0; swish/SiLU and
    GELU, between their minimum (-0.28, -0.17) and 0; softplus, between 0 and
    log 2; squareplus, between 0 and sqrt(b) / 2; exponential, between 0 and 1;
    mish). A `PReLU` unit is inactive, not dead, even while its
    learned slope is 0 (Keras's default start): the slope gets a gradient from
    the unit's negative inputs, so the unit can come back. Saturating, normalising,
    bounded and gated activations (the sigmoid, tanh, softmax, bounded and gated
    families) have no low side and are not watched (see `ActivationStats`). A
    capped rectifier's unit (ReLU6) at or above its
    cap for every sample outputs the cap and gets no gradient either: it is
    *capped*, counted apart from dead units. A unit of a convolutional layer is a
    channel: the last axis, or axis 1 for a layer with
    `data_format="channels_first"` and for a standalone activation layer fed by
    one (read from the model's graph; for a subclassed model, from its layers'
    common `data_format`, see `actkeras.callbacks._units`); inside a
    `TimeDistributed`, a unit is off only if it is off in every frame of every sample.

    Any Keras model works (Functional, Sequential, subclassed, nested at any
    depth): `find_activation_layers` finds actkeras layers,
    `keras.layers.ReLU`/`LeakyReLU`/`PReLU`/`ELU`, `Activation("relu")`,
    activations given as Keras functions or layers (`activation="relu"`,
    `activation=keras.ops.relu`, `activation=ReLU()`) and, with a warning,
    `Lambda(keras.ops.relu)`. A layer called several times is measured at each
    call, as `<layer>.call1`, `<layer>.call2`, ...; a nested model's layer is
    named by its path, `<model>/<layer>`. Rectifiers it cannot see (a Python
    `lambda` as activation, `keras.ops.relu` inside a custom `call()`) are
    named in a warning, as are recurrent layers (whose cells are not measured)
    and layers found but never called (a fused path).

    The model's output layer is watched too (a regression head with ReLU can die
    entirely); `include_outputs=False` leaves it out.

    Measured by running the model itself on the probe, in `mode` (training mode
    by default: BatchNorm with the probe batch's statistics, Dropout off,
    nothing updated), so the numbers equal a count made by hand from the
    layers' intermediate outputs in the same mode.

    Keys written into `logs` at each epoch end (so `History`, `CSVLogger` and
    `TensorBoard` placed after it see them), present only when such layers exist:
    `dead_fraction` (all rectifier and shrink units), `dead_fraction/<layer>`,
    `inactive_fraction` (all leaky, exponential and smooth units),
    `inactive_fraction/<layer>`, `capped_fraction` (all capped units) and
    `capped_fraction/<layer>`. Each measurement is also appended to `records`:
    `{"epoch", "step", "trigger", "mode", "dead_fraction", "inactive_fraction",
    "capped_fraction", "layers": {name: {"family", "kind", "units",
    "inactive_units", "fraction", "threshold", and for capped rectifiers "cap",
    "capped_units", "capped_fraction"}}}`.

    Example:
    >>> monitor = DeadReLUMonitor(probe_data=(x_valid, y_valid), stop_above=0.9)
    >>> model.fit(x, y, epochs=5, callbacks=[monitor, keras.callbacks.CSVLogger("log.csv")])
    >>> monitor.records[-1]["layers"]["activation_0"]["fraction"]
    0.125

    Args:
        probe_data: `x`, `(x, y)`, a `tf.data.Dataset` (batched or not), a
            `PyDataset`, a list of `(x, y)` batches or any iterable of batches
            (see `take_probe`); a sample of at most `probe_size` samples is kept. Defaults to `None` (`actkeras.fit`
            passes a validation sample; plain `fit` needs it).
        probe_size: the most probe samples. A unit is dead only if it is off for
            all of them, so more samples mean fewer false alarms. Defaults to `1024`.
        every: `None` (each epoch end) or `N` (also every `N` batches, into
            `records` and `log_dir` only). Defaults to `None`.
        threshold: warn (`DeadUnitWarning`, once per layer per `fit`) when a
            layer's dead, inactive or capped fraction is above it. Defaults to `0.1`.
        stop_above: stop training when a layer's dead or inactive fraction is
            above it. Defaults to `None` (never).
        log_dir: write every measurement to a TensorBoard event file there.
            Defaults to `None`.
        mode: `"training"` or `"inference"` (see above). Defaults to `"training"`.
        layers: the layers to watch: names, `fnmatch` patterns or layer classes
            (see `Monitor`). Defaults to `None` (all).
        include_outputs: also watch the activation of the model's output layer.
            Defaults to `True`.
    """

    suffix = ".dead_relu"
    # Set to True on an instance to list, per layer, the indices of the units that
    # are off (`"off_units"`), so that a unit can be followed from one record to the next.
    record_units = False

    def __init__(self, probe_data=None, probe_size=1024, every=None, threshold=0.1,
                 stop_above=None, log_dir=None, mode="training", layers=None,
                 include_outputs=True):  # fmt: skip
        self.threshold = checks.fraction("threshold", threshold)
        self.stop_above = checks.optional(checks.fraction, "stop_above", stop_above)
        self.include_outputs = checks.boolean("include_outputs", include_outputs)
        super().__init__(probe_data, probe_size, every, log_dir, mode, layers)

    def _setup(self, probe):
        self._warned = set()
        self._calls = self._activation_calls(WATCHED, _extremes, self.include_outputs)
        if not self._calls:
            reason = self._nothing_found("rectifier") or (
                "it found no rectifier, leaky, exponential, smooth or shrink activation. It "
                "recognises actkeras layers, keras.layers.ReLU/LeakyReLU/PReLU/ELU, "
                "Activation('relu') and the like, and activations held by a layer such as "
                "Dense(activation='relu')")
            warnings.warn(f"DeadReLUMonitor will log nothing for model {self.model.name!r}: "
                          f"{reason}.", NothingToWatchWarning, stacklevel=2)  # fmt: skip
            return False
        return True

    def _measure(self, probe):
        active, capped, nonfinite = {}, {}, {}
        recorder = self._recorder
        for x, _, _ in probe.chunks(recorder.chunk_size(self.chunk_size)):
            found = recorder(x, _extremes)
            for call in self._calls:
                key = (call.index, call.call)
                if key not in found:
                    continue  # a call the model skipped on this batch
                site, (high, low) = recorder.sites[call.index], found[key]
                # Reduced on the device: one or two numbers per unit are fetched.
                high = to_numpy(high)
                fired = high > site.threshold
                nan = np.isnan(high)  # NaN is not <= threshold: neither off nor firing
                if site.family == "shrink":  # off only inside [-threshold, threshold]
                    fired |= to_numpy(low) < -site.threshold
                    nan |= np.isnan(to_numpy(low))
                active[key] = fired if key not in active else active[key] | fired
                nonfinite[key] = nan if key not in nonfinite else nonfinite[key] | nan
                if site.cap is not None:
                    stuck = to_numpy(low) >= site.cap
                    capped[key] = stuck if key not in capped else capped[key] & stuck
        layers, scalars = {}, {}
        totals = {"dead": [0, 0], "inactive": [0, 0], "capped": [0, 0]}
        for call in self._calls:
            key = (call.index, call.call)
            if key not in active:
                continue
            site, fired = recorder.sites[call.index], active[key]
            kind = "dead" if site.family in DEAD else "inactive"
            nan = nonfinite[key] & ~fired
            off_units = ~fired & ~nan
            units, off = int(fired.size), int(off_units.sum())
            info = {"family": site.family, "kind": kind, "units": units,
                    "inactive_units": off, "fraction": off / units,
                    "threshold": site.threshold}  # fmt: skip
            if nan.any():
                info["nan_units"] = int(nan.sum())
                self._warn(("nan", call.name),
                           f"{int(nan.sum())} of the {units} units of layer {call.name!r} have "
                           "NaN pre-activations (has training diverged?): they are counted "
                           "neither as firing nor as off ('nan_units' in the record).",
                           NonFiniteWarning)
            if self.record_units:
                info["off_units"] = [int(i) for i in off_units.nonzero()[0]]
            scalars[f"{kind}_fraction/{call.name}"] = off / units
            totals[kind][0] += off
            totals[kind][1] += units
            if key in capped:
                stuck = int(capped[key].sum())
                info.update(cap=site.cap, capped_units=stuck, capped_fraction=stuck / units)
                scalars[f"capped_fraction/{call.name}"] = stuck / units
                totals["capped"][0] += stuck
                totals["capped"][1] += units
            layers[call.name] = info
        fields = {}
        for kind, (off, units) in totals.items():
            fields[f"{kind}_fraction"] = off / units if units else None
            if units:
                scalars[f"{kind}_fraction"] = off / units
        fields["layers"] = layers
        return fields, scalars, None

    def _after(self, record, scalars):
        where = f"at epoch {record['epoch']}, step {record['step']}"
        for name, info in record["layers"].items():
            zone = info["family"] == "shrink"
            what = _OFF["dead zone" if zone else info["kind"]].format(t=info["threshold"])
            if info["fraction"] > self.threshold and name not in self._warned:
                self._warned.add(name)
                warnings.warn(
                    DeadUnitWarning(
                        f"{info['fraction']:.1%} of the {info['units']} units of layer "
                        f"{name!r} are {what} {where}; above threshold={self.threshold} "
                        f"({self.mode} mode)."
                    )
                )
            stuck = info.get("capped_fraction")
            if stuck is not None and stuck > self.threshold and (name, "cap") not in self._warned:
                self._warned.add((name, "cap"))
                warnings.warn(
                    DeadUnitWarning(
                        f"{stuck:.1%} of the {info['units']} units of layer {name!r} are stuck "
                        f"at their cap {info['cap']:g} for every probe sample (no gradient) "
                        f"{where}; above threshold={self.threshold} ({self.mode} mode)."
                    )
                )
            if self.stop_above is not None and info["fraction"] > self.stop_above:
                warnings.warn(
                    DeadUnitWarning(
                        f"Stopping training: {info['fraction']:.1%} of layer {name!r}'s "
                        f"units are {info['kind']} {where}; above stop_above={self.stop_above}."
                    )
                )
                self.model.stop_training = True
                record["stopped"] = True


def _extremes(site, pre, out):
    """Per unit, the largest pre-activation and, for a capped rectifier or a shrink, the
    smallest."""
    values = per_unit(pre, site)
    high = keras.ops.max(values, axis=0)
    low = site.cap is not None or site.family == "shrink"
    return high, (keras.ops.min(values, axis=0) if low else None)
