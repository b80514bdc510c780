"""`ActivationHyperModel`: Keras Tuner samples the activation, `build_model` builds the net."""

import math
import warnings

import keras_tuner

from actkeras.callbacks import (
    DeadReLUMonitor,
    DeadUnitWarning,
    GradientNormLogger,
    NonFiniteWarning,
    NothingToWatchWarning,
)
from actkeras.callbacks.dead_relu import WATCHED
from actkeras.models import METRICS, build_model, resolve_config
from actkeras.registry import activation_names, get_entry
from actkeras.seeding import seed_everything
from actkeras.training import fit


def _choices(name, values, check):
    """Validates an optional list of candidate values; `None` means "not tuned"."""
    if values is None:
        return None
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        values = [values]
    values = list(dict.fromkeys(values))  # drop repeats, keep order
    if not values:
        raise ValueError(
            f"`{name}` must hold at least one value; leave it out (None) to keep the "
            f"preset's value. Received: {name}=[]"
        )
    for value in values:
        check(value)
    return values


class ActivationHyperModel(keras_tuner.HyperModel):
    """Samples `hp.Choice("activation", ...)` over the registry and calls `build_model`.

    `build` only samples hyper-parameters and calls existing code, so
    `build(keras_tuner.HyperParameters())` gives the preset's own model (the
    preset's values are each choice's default whenever they are candidates).
    `fit` seeds everything, trains with `actkeras.training.fit` and attaches
    `DeadReLUMonitor` and `GradientNormLogger`, so each trial's metrics hold
    `dead_fraction` (rectifiers), `inactive_fraction` (leaky and exponential
    units) and `gradient_ratio` (first/last layer gradient norm) beside its score.
    A trial whose training diverged (its loss not finite) is a failed trial
    (`keras_tuner.errors.FailedTrialError`, not retried): it is listed last and is
    never the best, where its score of the epochs before would rank it.

    Example:
    >>> hypermodel = ActivationHyperModel("mlp", activations=["relu", "sigmoid"],
    ...                                   units=8, depth=1)
    >>> hypermodel.build(keras_tuner.HyperParameters()).actkeras_config.activation
    'relu'

    Args:
        preset: `"udacity"`, `"fashion_mlp"` or `"mlp"`. Defaults to `"mlp"`.
        activations: registry names to choose from. Defaults to `None` (all).
        learning_rates, initializers, widths, depths: candidate values to tune;
            `None` keeps the preset's (or the override's) value. Defaults to `None`.
        seed: seeds the initializers and, per trial, everything else; execution
            `k` of a trial (`executions_per_trial`) uses `seed + k`, so that they
            differ. Defaults to `None` (unseeded).
        monitors: attach the dead-unit and gradient-norm monitors. Defaults to `True`.
        activation_kwargs: `{activation name: its arguments}` for the activations that
            need other arguments than the registry's defaults (a sigmoid's slope).
            Defaults to `None`.
        **overrides: fixed `build_model` overrides (`units=8`, `epochs=1`, ...).

    Raises:
        ValueError: an empty candidate list, a name not in the registry, or an
            invalid preset or override, at construction time.
    """

    def __init__(self, preset="mlp", activations=None, learning_rates=None,
                 initializers=None, widths=None, depths=None, seed=None, monitors=True,
                 activation_kwargs=None, **overrides):
        super().__init__(name=f"actkeras_{preset}")
        if activations is not None and not list(activations):
            raise ValueError(
                "`activations` must name at least one activation; leave it out to search "
                f"the whole registry ({', '.join(activation_names())}). Received: activations=[]"
            )
        self.activations = _choices("activations", activations or activation_names(), get_entry)
        self.preset = preset
        self.seed = seed
        self.execution = 0  # set by the tuner: execution k of a trial uses seed + k
        self.monitors = monitors
        self.activation_kwargs = {name: dict(kwargs)
                                  for name, kwargs in (activation_kwargs or {}).items()}
        unknown = sorted(set(self.activation_kwargs) - set(self.activations))
        if unknown:
            raise ValueError(f"`activation_kwargs` names an activation that is not searched. "
                             f"Searched: {', '.join(self.activations)}. Received: "
                             f"activation_kwargs={{{unknown[0]!r}: ...}}")
        self.overrides = dict(overrides)
        base = resolve_config(preset, self.activations[0], seed=seed, **self.overrides)
        self.defaults = {
            "activation": base.activation if base.activation in self.activations
            else self.activations[0],
            "learning_rate": base.learning_rate,
            "initializer": base.initializer,
            "units": base.hidden_units[0],
            "depth": len(base.hidden_units),
        }

        def check(key):
            return lambda value: resolve_config(preset, **{**self.overrides, key: value})

        self.candidates = {
            "learning_rate": _choices("learning_rates", learning_rates, check("learning_rate")),
            "initializer": _choices("initializers", initializers, check("initializer")),
            "units": _choices("widths", widths, check("units")),
            "depth": _choices("depths", depths, check("depth")),
        }

    def logged_metrics(self):
        """The metrics that every trial logs, and so the objectives a search can use:
        the loss and the compiled metrics, with their `val_` forms (these need a
        validation split), then, with the monitors, `gradient_ratio`, and
        `dead_fraction` (`inactive_fraction`) when every searched activation is a
        rectifier (a leaky or exponential unit)."""
        names = ["loss", *METRICS]
        names += [f"val_{name}" for name in names]
        if self.monitors:
            names.append("gradient_ratio")
            kinds = {_off_kind(get_entry(name).family) for name in self.activations}
            if len(kinds) == 1 and None not in kinds:
                names.append(kinds.pop())
        return names

    def search_space(self):
        """The candidate values of every tuned hyper-parameter (JSON-ready)."""
        space = {"activation": list(self.activations)}
        space.update({k: list(v) for k, v in self.candidates.items() if v is not None})
        return space

    def _choice(self, hp, name, values):
        default = self.defaults[name] if self.defaults[name] in values else values[0]
        return hp.Choice(name, values, default=default)

    def build(self, hp):
        activation = self._choice(hp, "activation", self.activations)
        overrides = dict(self.overrides)
        for name, values in self.candidates.items():
            if values is not None:
                overrides[name] = self._choice(hp, name, values)
        if ("units" in overrides or "depth" in overrides) and "hidden_units" not in overrides:
            overrides.setdefault("units", self.defaults["units"])
            overrides.setdefault("depth", self.defaults["depth"])
        return build_model(activation, preset=self.preset, seed=self._seed(),
                           activation_kwargs=self.activation_kwargs.get(activation), **overrides)

    def _seed(self):
        return None if self.seed is None else self.seed + self.execution

    def fit(self, hp, model, data, **kwargs):
        """Trains on an `actkeras.data.Dataset` (`train`); returns the `History`.

        Raises:
            keras_tuner.errors.FailedTrialError: the training diverged.
        """
        history = self.train(hp, model, data, **kwargs)
        if getattr(history, "diverged_at_step", None) is not None:
            raise keras_tuner.errors.FailedTrialError(
                f"training diverged at step {history.diverged_at_step}: its loss was not "
                f"finite (at learning rate {model.actkeras_config.learning_rate:g})")
        return history

    def train(self, hp, model, data, callbacks=(), epochs=None, initial_epoch=0,
              verbose=0, log_every=500):
        """Trains on an `actkeras.data.Dataset`; returns the `History` (with
        `diverged_at_step`, `None` unless the loss stopped being finite).

        `epochs`/`initial_epoch` come from Hyperband: only the difference is run (the
        model already holds the earlier epochs' weights). For by-step presets one
        Hyperband epoch is `log_every` steps.
        """
        if self.seed is not None:
            seed_everything(self._seed())
        config = model.actkeras_config
        length = {}
        if epochs is not None:
            if config.steps:  # Hyperband epoch e ends at step min(e * per, steps)
                per = min(log_every, config.steps)
                done = min(int(initial_epoch) * per, config.steps)
                length = {"steps": max(1, min(int(epochs) * per, config.steps) - done)}
            else:
                length = {"epochs": max(1, int(epochs) - int(initial_epoch))}
        monitors = [DeadReLUMonitor(), GradientNormLogger()] if self.monitors else []
        with warnings.catch_warnings():
            # Every trial's summary holds the fractions; one warning per trial is noise.
            warnings.filterwarnings("ignore", category=NothingToWatchWarning)
            warnings.filterwarnings("ignore", category=DeadUnitWarning)
            # A diverged trial fails, saying so (`FailedTrialError`); its NaN need no warning.
            warnings.filterwarnings("ignore", category=NonFiniteWarning)
            return fit(model, data, callbacks=[*monitors, *callbacks], verbose=verbose,
                       log_every=log_every, **length)


def _off_kind(family):
    """The summary `DeadReLUMonitor` logs for a family's units, or `None`."""
    if family not in WATCHED:
        return None
    return "dead_fraction" if family == "rectifier" else "inactive_fraction"


def epochs_of(config, log_every=500):
    """A config's training length in epochs; by-step presets count `log_every` steps as one."""
    if config.steps:
        return math.ceil(config.steps / min(log_every, config.steps))
    return config.epochs
