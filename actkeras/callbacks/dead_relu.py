"""`DeadReLUMonitor`: the fraction of rectifier units that never fire on a probe set."""

import math
import warnings

import keras

from actkeras.callbacks._monitor import Monitor
from actkeras.callbacks._probe import to_numpy
from actkeras.callbacks._sites import Tap, find_activation_layers, per_unit

WATCHED = ("rectifier", "leaky", "exponential")


class DeadUnitWarning(UserWarning):
    """A layer's dead (or inactive) fraction is above `DeadReLUMonitor.threshold`."""


def _check_fraction(name, value):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not 0 <= value <= 1:
        raise ValueError(f"`{name}` must be a fraction in [0, 1]. Received: {name}={value!r}")
    return float(value)


class DeadReLUMonitor(Monitor):
    """Reports, per layer and overall, the units that are off for every probe sample.

    A ReLU unit whose pre-activation is <= 0 for every sample outputs 0 and gets
    no gradient: it is *dead*. Leaky and exponential units (LeakyReLU, PReLU,
    ELU, SELU) below 0 on every sample still pass a gradient: they are reported
    as *inactive*. A unit of a convolutional layer is a channel. Rectifier sites
    are found in any Functional or Sequential model by `find_activation_layers`:
    actkeras layers, `keras.layers.ReLU`/`LeakyReLU`/`PReLU`/`ELU`,
    `Activation("relu")` and fused activations such as `Dense(activation="relu")`.

    Keys written into `logs` at each epoch end (so `History`, `CSVLogger` and
    `TensorBoard` placed after it see them), present only when such layers exist:
    `dead_fraction` (all rectifier units), `dead_fraction/<layer>`,
    `inactive_fraction` (all leaky and exponential units) and
    `inactive_fraction/<layer>`. Each measurement is also appended to `records`:
    `{"epoch", "step", "trigger", "dead_fraction", "inactive_fraction",
    "layers": {name: {"family", "kind", "units", "inactive_units", "fraction"}}}`.

    Example:
    >>> monitor = DeadReLUMonitor(probe_data=(x_valid, y_valid), stop_above=0.9)
    >>> model.fit(x, y, epochs=5, callbacks=[monitor, keras.callbacks.CSVLogger("log.csv")])
    >>> monitor.records[-1]["layers"]["activation_0"]["fraction"]
    0.125

    Args:
        probe_data: `x`, `(x, y)`, a `tf.data.Dataset` or iterable of batches; a
            sample of at most `probe_size` samples is kept. Defaults to `None`
            (`actkeras.fit` passes a validation sample; plain `fit` needs it).
        probe_size: the most probe samples. A unit is dead only if it is off for
            all of them, so more samples mean fewer false alarms. Defaults to `1024`.
        every: `None` (each epoch end) or `N` (also every `N` batches, into
            `records` and `log_dir` only). Defaults to `None`.
        threshold: warn (`DeadUnitWarning`, once per layer per `fit`) when a
            layer's fraction is above it. Defaults to `0.1`.
        stop_above: stop training when a layer's fraction is above it.
            Defaults to `None` (never).
        log_dir: write every measurement to a TensorBoard event file there.
            Defaults to `None`.
    """

    suffix = ".dead_relu"
    # Set to True on an instance to list, per layer, the indices of the units that
    # are off (`"off_units"`), so that a unit can be followed from one record to the next.
    record_units = False

    def __init__(self, probe_data=None, probe_size=1024, every=None, threshold=0.1,
                 stop_above=None, log_dir=None):  # fmt: skip
        self.threshold = _check_fraction("threshold", threshold)
        self.stop_above = None if stop_above is None else _check_fraction("stop_above", stop_above)
        super().__init__(probe_data, probe_size, every, log_dir)

    def _setup(self, probe):
        self._warned = set()
        self._sites = find_activation_layers(self.model, families=WATCHED)
        if not self._sites:
            warnings.warn(
                f"DeadReLUMonitor found no rectifier, leaky or exponential activation in "
                f"model {self.model.name!r}, so it will log nothing. It recognises actkeras "
                "layers, keras.layers.ReLU/LeakyReLU/PReLU/ELU, Activation('relu') and the "
                "like, and fused activations such as Dense(activation='relu').",
                stacklevel=2,
            )
            return False
        # The pre-activation where the graph has it; a fused site's output is <= 0
        # exactly when its pre-activation is.
        self._tap = Tap(self.model, [(s, "output" if s.fused else "input") for s in self._sites])
        return True

    def _measure(self, probe):
        active = [None] * len(self._sites)
        for x, _, _ in probe.chunks(self.chunk_size):
            for i, (site, value) in enumerate(zip(self._sites, self._tap(x))):
                # Reduced on the device: only one number per unit is fetched.
                fired = to_numpy(keras.ops.max(per_unit(value), axis=0)) > site.threshold
                active[i] = fired if active[i] is None else active[i] | fired
        layers, scalars = {}, {}
        totals = {"dead": [0, 0], "inactive": [0, 0]}
        for site, fired in zip(self._sites, active):
            kind = "dead" if site.family == "rectifier" else "inactive"
            units, off = int(fired.size), int(fired.size - fired.sum())
            layers[site.name] = {"family": site.family, "kind": kind, "units": units,
                                 "inactive_units": off, "fraction": off / units}  # fmt: skip
            if self.record_units:
                layers[site.name]["off_units"] = [int(i) for i in (~fired).nonzero()[0]]
            scalars[f"{kind}_fraction/{site.name}"] = off / units
            totals[kind][0] += off
            totals[kind][1] += units
        fields = {}
        for kind, (off, units) in totals.items():
            fields[f"{kind}_fraction"] = off / units if units else None
            if units:
                scalars[f"{kind}_fraction"] = off / units
        fields["layers"] = layers
        return fields, scalars, None

    def _after(self, record, scalars):
        for name, info in record["layers"].items():
            what = (
                "dead (output 0 for every probe sample)" if info["kind"] == "dead"
                else "inactive (pre-activation <= 0 for every probe sample; they still "
                "pass a gradient)"
            )  # fmt: skip
            where = f"at epoch {record['epoch']}, step {record['step']}"
            if info["fraction"] > self.threshold and name not in self._warned:
                self._warned.add(name)
                warnings.warn(
                    DeadUnitWarning(
                        f"{info['fraction']:.1%} of the {info['units']} units of layer "
                        f"{name!r} are {what} {where}; above threshold={self.threshold}."
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

    def _teardown(self):
        self._tap = None
