"""What a reproduction runs: `RunSpec` (one run) and `Claim` (one claim and its runs).

Both are plain frozen dataclasses. A run's identity is its content: `run_id` hashes
every field that changes what is computed (not the claim or label that list it), so
a run that two claims share is run once, and a result file can always be checked
against the spec that asks for it.
"""

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

from actkeras import checks
from actkeras.records import plain

KINDS = ("train", "regression", "cost", "tune", "probe", "baseline", "population")
# "histograms" is "stats" with 40-bin histograms of each layer's outputs in its records.
MONITORS = ("dead", "gradients", "stats", "histograms")

# Fields that only describe a run for people (or where a value came from): they are
# left out of `run_id`. A run at a searched learning rate holds the rate itself, so it
# is the same run as one asked for at that rate directly.
_DISPLAY_FIELDS = ("claim", "label", "tuned_from")
_TUPLES = ("monitors", "eval_steps", "eval_epochs", "measures", "grid")
# Fields added after runs were made, with the value every earlier run had: left out of
# `run_id` at that value, so that the earlier runs keep their ids.
_LATER_FIELDS = {"eval_train_every": True, "minibatch": False, "final_train": True}


def without_later_defaults(fields):
    """A spec's fields (`RunSpec.to_dict`) without those added after runs were made, where
    they have the value those runs had: what a run's identity and its recorded numbers
    are compared by (`content`, `experiments.compare`)."""
    return {k: v for k, v in fields.items()
            if not (k in _LATER_FIELDS and v == _LATER_FIELDS[k])}


@dataclass(frozen=True)
class RunSpec:
    """One run of a reproduction.

    Example:
    >>> spec = RunSpec(claim=1, label="relu", activation="relu", preset="udacity",
    ...                overrides={"steps": 300}, dataset="notmnist", seed=0)
    >>> spec.run_id  # 'train-udacity-relu-s0-' + a content hash

    Args:
        claim: the claim that lists the run first (display only).
        label: the arm of the comparison it belongs to, e.g. `"relu he_normal"`
            (display only; the seeds of one arm share a label).
        kind: `"train"` (a classifier from `build_model`, trained with `fit`),
            `"regression"` (claim 9's 1-D fit), `"cost"` (claim 8's timings, each run
            in a process of its own), `"tune"` (a Keras Tuner grid search over the
            learning rates in `grid`), `"probe"` (step-0 measurements of several
            seeds, no training), `"baseline"` (claim 9's logistic regression) or
            `"population"` (claim 11's random networks at initialisation, many at
            once, `experiments.population`).
            Defaults to `"train"`.
        activation: registry name. Defaults to `"relu"`.
        activation_kwargs: the activation's arguments. Defaults to `{}`.
        preset: `build_model` preset. Defaults to `"mlp"`.
        overrides: `build_model` overrides (`learning_rate`, `initializer`, `steps`,
            `epochs`, ...) for training runs; the kind's own settings otherwise.
        dataset: `"notmnist"` or `"fashion_mnist"`. Defaults to `"notmnist"`.
        source: `load_dataset`'s `source`. Defaults to `"embedded"`.
        subset: `(n_train, n_valid, n_test)` taken with `Dataset.subset`, or `None`
            for the whole data set. Defaults to `None`.
        seed: seeds everything (`seed_everything`) and the initializers.
        log_every: steps per reported epoch for by-step presets. Defaults to `500`.
        monitors: any of `"dead"` (`DeadReLUMonitor`), `"gradients"`
            (`GradientNormLogger`), `"stats"` (`ActivationStats`) or `"histograms"`
            (`ActivationStats` with histograms, recorded as `"stats"`); each also
            measures once before the first step. Defaults to `()`.
        probe_size: validation images the monitors measure on. Defaults to `256`.
        eval_steps: training steps at which the whole validation split is scored
            (`0`: before training), for learning curves at fixed budgets.
            Defaults to `()`.
        eval_epochs: the same budgets given in epochs of the training split
            (converted to steps once the data set's size is known). Defaults to `()`.
        eval_train: training images also scored at those budgets (`0`: none, `-1`:
            the whole training split). Defaults to `0`.
        eval_train_epochs: score the training images only at budgets up to this
            many epochs (`None`: at every budget). Defaults to `None`.
        eval_train_every: score the training images at every budget up to
            `eval_train_epochs` (`False`: only at the budget of `eval_train_epochs`).
            Defaults to `True`.
        minibatch: also record, at every budget up to `eval_train_epochs`, the
            accuracy of the training minibatches themselves as the training step
            scores them (Keras's compiled `accuracy`, each batch before its update),
            accumulated from step 0 (`BudgetEvaluator`). Defaults to `False`.
        final_train: score the whole training split once training is over (its loss and
            accuracy in the run's `metrics`; `False`: the validation and test splits only,
            for a claim that reads neither, and the run's divergence is read from the
            first split scored). Defaults to `True`.
        measures: named measurements taken after training (`MEASURES` in
            `actkeras.experiments.measures`). Defaults to `()`.
        monitor_every: the monitors also measure every this many steps (`None`:
            at step 0 and epoch ends only). Defaults to `None`.
        grid: a `"tune"` run's candidate learning rates. Defaults to `()`.
        tuned_from: the `run_id` of the search that chose this run's learning rate
            (display only). Defaults to `None`.
    """

    claim: int = 0
    label: str = ""
    kind: str = "train"
    activation: str = "relu"
    activation_kwargs: dict = field(default_factory=dict)
    preset: str = "mlp"
    overrides: dict = field(default_factory=dict)
    dataset: str = "notmnist"
    source: str = "embedded"
    subset: tuple | None = None
    seed: int = 0
    log_every: int = 500
    monitors: tuple = ()
    probe_size: int = 256
    eval_steps: tuple = ()
    eval_epochs: tuple = ()
    eval_train: int = 0
    eval_train_epochs: float | None = None
    eval_train_every: bool = True
    minibatch: bool = False
    final_train: bool = True
    measures: tuple = ()
    monitor_every: int | None = None
    grid: tuple = ()
    tuned_from: str | None = None

    def __post_init__(self):
        for name in _TUPLES:
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.subset is not None:
            object.__setattr__(self, "subset", tuple(self.subset))
        if self.kind not in KINDS:
            raise ValueError(f"Unknown run kind. Valid choices: {', '.join(KINDS)}. "
                             f"Received: kind={self.kind!r}")
        unknown = [m for m in self.monitors if m not in MONITORS]
        if unknown:
            raise ValueError(f"Unknown monitor. Valid choices: {', '.join(MONITORS)}. "
                             f"Received: monitors={self.monitors!r}")
        checks.non_negative_int("seed", self.seed)

        bad_steps = [s for s in self.eval_steps
                     if isinstance(s, bool) or not isinstance(s, int) or s < 0]
        if bad_steps:
            raise ValueError(f"`eval_steps` must be non-negative integers. "
                             f"Received: eval_steps={self.eval_steps!r}")
        if (self.minibatch or not self.eval_train_every) and self.eval_train_epochs is None:
            raise ValueError(f"`minibatch` and `eval_train_every=False` read the training "
                             f"window `eval_train_epochs`, which is not set. Received: "
                             f"minibatch={self.minibatch!r}, "
                             f"eval_train_every={self.eval_train_every!r}")

    def __hash__(self):
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def to_dict(self):
        """Every field, JSON-ready."""
        return plain(asdict(self))

    @classmethod
    def from_dict(cls, payload):
        """The spec `to_dict` wrote (lists back to tuples)."""
        payload = dict(payload)
        for name in _TUPLES:
            payload[name] = tuple(payload.get(name, ()))
        overrides = dict(payload.get("overrides", {}))
        for name in ("hidden_units", "seeds", "depths", "widths", "lr_pulse", "activations",
                     "step_activations", "c_grid"):
            if isinstance(overrides.get(name), list):
                overrides[name] = tuple(overrides[name])
        payload["overrides"] = overrides
        if payload.get("subset") is not None:
            payload["subset"] = tuple(payload["subset"])
        return cls(**payload)

    # Structured fields that arms are selected by (never by parsing labels).

    @property
    def initializer(self):
        return self.overrides.get("initializer")

    @property
    def learning_rate(self):
        return self.overrides.get("learning_rate")

    @property
    def bias_init(self):
        return self.overrides.get("bias_init", 0.0)

    @property
    def batch_norm(self):
        return bool(self.overrides.get("batch_norm", False))

    @property
    def init_gain(self):
        return float(self.overrides.get("init_gain", 1.0))

    @property
    def lr_pulse(self):
        pulse = self.overrides.get("lr_pulse")
        return tuple(pulse) if pulse is not None else None

    @property
    def depth(self):
        units = self.overrides.get("hidden_units")
        return len(units) if units is not None else None

    def matches(self, **fields):
        """True if every named field (`activation`, `initializer`, `learning_rate`,
        `bias_init`, `batch_norm`, `depth`, `preset`, `kind`, ...) has that value."""
        for name, value in fields.items():
            mine = getattr(self, name)
            if isinstance(value, float) or isinstance(mine, float):
                if mine is None or value is None or abs(float(mine) - float(value)) > 1e-12:
                    return False
            elif mine != value:
                return False
        return True

    def content(self):
        """The fields that define what is computed: what `run_id` hashes."""
        return {k: v for k, v in without_later_defaults(self.to_dict()).items()
                if k not in _DISPLAY_FIELDS}

    @property
    def run_id(self):
        """A stable, readable id: kind, preset, activation, seed and a content hash."""
        text = json.dumps(self.content(), sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(text.encode()).hexdigest()[:10]
        what = (f"{self.preset}-{self.activation}" if self.kind in ("train", "tune", "probe")
                else self.activation)
        name = re.sub(r"[^a-z0-9_-]+", "_", what.lower())
        return f"{self.kind}-{name}-s{self.seed}-{digest}"

    @property
    def title(self):
        """The progress line's description: `claim 2 relu he_normal seed 1`."""
        return f"claim {self.claim} {self.label or self.activation} seed {self.seed}"


@dataclass(frozen=True)
class Claim:
    """One claim of the seeds, the runs that test it and how it is judged.

    Args:
        id: the claim's number.
        title: a few words, for headings.
        statement: the claim in one line.
        source: where it comes from (`"seed 003"`, `"seeds 001, 002"`, ...).
        setup: how it is measured in this preset, in a few sentences, including
            anything the preset shrinks.
        runs: the `RunSpec`s; runs with the same label are the seeds of one arm. Runs
            at a searched learning rate are listed once the search has finished.
        tuning: the learning-rate searches (`"tune"` runs) the claim needs first.
        published: reference numbers, `{label: {metric: value}}`, with
            `published_source` saying where they come from.
        published_source: citation for `published`.
        notes: caveats the report prints under the setup, including the reason for
            every size the preset chose.
        seed_file: the Q&A page in `shared/seeds/` the claim comes from.
        quote: the source's own words, where the claim is a quotation.
        waiting: display names of the arms still waiting for their search.
        params: what the analysis needs to know of the preset (a depth, a budget).
    """

    id: int
    title: str
    statement: str
    source: str
    setup: str
    runs: tuple
    tuning: tuple = ()
    published: dict = field(default_factory=dict)
    published_source: str = ""
    notes: tuple = ()
    seed_file: str = ""
    quote: str = ""
    waiting: tuple = ()
    params: dict = field(default_factory=dict)

    def arms(self):
        """`{label: [RunSpec, ...]}` in the order the runs are listed."""
        arms = {}
        for spec in self.runs:
            arms.setdefault(spec.label, []).append(spec)
        return arms
