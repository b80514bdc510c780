"""The ten claims of issue 4 as `Claim`s, sized per preset.

`claims("quick")` runs offline on the embedded samples in about six minutes on two
CPU cores (37 runs; 5:43 measured): one seed for most comparisons (two where
cheap), a few hundred steps and few epochs. `claims("full")` uses the real data
sets, three seeds and the published settings. `claims("tiny")` is a smoke test
(every claim at toy size; its verdicts mean nothing). Every shrinking is stated in
the claim's `setup` or `notes`, so the report says it.
"""

from dataclasses import dataclass, replace

from actkeras.experiments.spec import Claim, RunSpec


@dataclass(frozen=True)
class Sizes:
    """How big each experiment is in a preset.

    Args:
        name: the preset's name.
        source: `load_dataset`'s `source` (`"embedded"`, or `"auto"` for the files).
        seeds: seeds per arm of the comparisons.
        cheap_seeds: seeds for the cheap experiments (regression, cost).
        notmnist_subset, fashion_subset: `(n_train, n_valid, n_test)` or `None`.
        udacity_steps, udacity_log_every: the course network's training length.
        fashion_epochs: epochs of the 50-layer Fashion-MNIST network.
        fashion_depth: its hidden layers (50 in the notebook).
        deep_depth, deep_epochs: the deep MLP of claims 3, 4, 5 and 10.
        dying_epochs: the shallow MLP of claim 6.
        regression_steps: claim 9's fit, in minibatch steps.
        cost_rounds, cost_repeats, cost_epoch_train: claim 8's timing sizes.
        cost_repetitions: how many times claim 8's whole measurement is repeated.
        probe_size: validation images the monitors measure on.
    """

    name: str
    source: str
    seeds: int
    cheap_seeds: int
    notmnist_subset: tuple | None
    fashion_subset: tuple | None
    udacity_steps: int
    udacity_log_every: int
    fashion_epochs: int
    fashion_depth: int
    deep_depth: int
    deep_epochs: int
    dying_epochs: int
    regression_steps: int
    cost_rounds: int
    cost_repeats: int
    cost_epoch_train: int
    cost_repetitions: int = 1
    probe_size: int = 256


PRESETS = {
    "quick": Sizes(
        name="quick", source="embedded", seeds=1, cheap_seeds=2,
        notmnist_subset=None, fashion_subset=None,
        udacity_steps=300, udacity_log_every=50,
        fashion_epochs=8, fashion_depth=50,
        deep_depth=20, deep_epochs=5, dying_epochs=4,
        regression_steps=2048, cost_rounds=3, cost_repeats=50, cost_epoch_train=512,
    ),
    "full": Sizes(
        name="full", source="auto", seeds=3, cheap_seeds=3,
        notmnist_subset=None, fashion_subset=None,
        udacity_steps=3001, udacity_log_every=100,
        fashion_epochs=10, fashion_depth=50,
        deep_depth=20, deep_epochs=5, dying_epochs=5,
        regression_steps=8192, cost_rounds=5, cost_repeats=200, cost_epoch_train=4096,
        cost_repetitions=3, probe_size=1024,
    ),
    "tiny": Sizes(
        name="tiny", source="embedded", seeds=1, cheap_seeds=1,
        notmnist_subset=(512, 256, 256), fashion_subset=(512, 256, 256),
        udacity_steps=20, udacity_log_every=10,
        fashion_epochs=1, fashion_depth=5,
        deep_depth=4, deep_epochs=1, dying_epochs=1,
        regression_steps=256, cost_rounds=1, cost_repeats=5, cost_epoch_train=256,
        probe_size=64,
    ),
}

UDACITY_ACTIVATIONS = ("relu", "sigmoid", "softmax", "tanh", "leaky_relu", "elu")
KWARGS = {"leaky_relu": {"negative_slope": 0.3}}


def _n(count, word):
    """`1 epoch`, `3 epochs`."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def _seeds(sizes, n=None):
    return range(n if n is not None else sizes.seeds)


def _udacity_run(sizes, claim, label, name, seed, **overrides):
    return RunSpec(
        claim=claim, label=label, activation=name, activation_kwargs=KWARGS.get(name, {}),
        preset="udacity", overrides={"steps": sizes.udacity_steps, **overrides},
        dataset="notmnist", source=sizes.source, subset=sizes.notmnist_subset, seed=seed,
        log_every=sizes.udacity_log_every, monitors=("dead", "histograms"),
        probe_size=sizes.probe_size,
    )


def _udacity_runs(sizes, claim, seeds):
    return tuple(_udacity_run(sizes, claim, name, name, seed)
                 for name in UDACITY_ACTIVATIONS for seed in _seeds(sizes, seeds))


def _fashion_runs(sizes, seeds):
    arms = [  # (label, activation, initializer, learning rate)
        ("relu glorot lr=0.01", "relu", "glorot_uniform", 0.01),
        ("relu glorot lr=0.001", "relu", "glorot_uniform", 0.001),
        ("relu he lr=0.01", "relu", "he_normal", 0.01),
        ("relu he lr=0.001", "relu", "he_normal", 0.001),
        ("sigmoid glorot lr=0.001", "sigmoid", "glorot_uniform", 0.001),
        ("tanh glorot lr=0.001", "tanh", "glorot_uniform", 0.001),
        ("leaky_relu glorot lr=0.01", "leaky_relu", "glorot_uniform", 0.01),
        ("leaky_relu he lr=0.001", "leaky_relu", "he_normal", 0.001),
        ("elu glorot lr=0.01", "elu", "glorot_uniform", 0.01),
        ("elu he lr=0.001", "elu", "he_normal", 0.001),
    ]
    hidden = (300,) + (100,) * (sizes.fashion_depth - 1)
    return tuple(
        RunSpec(
            claim=2, label=label, activation=activation,
            activation_kwargs=KWARGS.get(activation, {}), preset="fashion_mlp",
            overrides={"initializer": init, "learning_rate": rate,
                       "epochs": sizes.fashion_epochs, "hidden_units": hidden},
            dataset="fashion_mnist", source=sizes.source, subset=sizes.fashion_subset,
            seed=seed, probe_size=sizes.probe_size,
        )
        for label, activation, init, rate in arms
        for seed in _seeds(sizes, seeds)
    )


# The deep MLP of claims 3, 4, 5 and 10: each label's runs are shared between them.
DEEP_ARMS = {  # label: (activation, initializer, batch_norm)
    "relu": ("relu", "he_normal", False),
    "relu glorot": ("relu", "glorot_uniform", False),
    "sigmoid": ("sigmoid", "glorot_uniform", False),
    "tanh": ("tanh", "glorot_uniform", False),
    "scaled_sigmoid": ("scaled_sigmoid", "glorot_uniform", False),
    "sigmoid + BN": ("sigmoid", "glorot_uniform", True),
    "relu + BN": ("relu", "he_normal", True),
}


def _deep_runs(sizes, claim, labels, seeds):
    runs = []
    for label in labels:
        activation, init, batch_norm = DEEP_ARMS[label]
        for seed in _seeds(sizes, seeds):
            runs.append(RunSpec(
                claim=claim, label=label, activation=activation,
                activation_kwargs={"slope": 4.0} if activation == "scaled_sigmoid" else {},
                preset="mlp",
                overrides={"hidden_units": (100,) * sizes.deep_depth, "initializer": init,
                           "batch_norm": batch_norm, "learning_rate": 0.05,
                           "batch_size": 32, "epochs": sizes.deep_epochs},
                dataset="fashion_mnist", source=sizes.source, subset=sizes.fashion_subset,
                seed=seed, monitors=("gradients", "stats"), probe_size=sizes.probe_size,
            ))
    return tuple(runs)


# Claim 6: a He-initialised MLP trained with Adam (whose steps do not blow up with the
# gradient, so a large learning rate kills units instead of diverging), plus the
# course network of claim 1 at its own SGD 0.5, for reference (not judged).
DYING_ARMS = {  # label: (activation, Adam learning rate, bias_init)
    "relu": ("relu", 0.001, 0.0),
    "relu large lr": ("relu", 0.03, 0.0),
    "leaky_relu large lr": ("leaky_relu", 0.03, 0.0),
    "elu large lr": ("elu", 0.03, 0.0),
    "relu negative bias": ("relu", 0.001, -1.5),
    "leaky_relu negative bias": ("leaky_relu", 0.001, -1.5),
    "elu negative bias": ("elu", 0.001, -1.5),
}
DYING_CONTROLS = {"large lr": "relu", "negative bias": "relu"}
DYING_COURSE = "relu, course network (SGD 0.5)"


def _dying_runs(sizes, seeds):
    runs = [RunSpec(
        claim=6, label=label, activation=activation,
        activation_kwargs=KWARGS.get(activation, {}), preset="mlp",
        overrides={"hidden_units": (256, 256, 256), "initializer": "he_normal",
                   "optimizer": "adam", "learning_rate": rate, "bias_init": bias,
                   "batch_size": 64, "epochs": sizes.dying_epochs},
        dataset="fashion_mnist", source=sizes.source, subset=sizes.fashion_subset,
        seed=seed, monitors=("dead",), probe_size=sizes.probe_size,
    ) for label, (activation, rate, bias) in DYING_ARMS.items() for seed in _seeds(sizes, seeds)]
    runs += [_udacity_run(sizes, 6, DYING_COURSE, "relu", seed) for seed in _seeds(sizes, seeds)]
    return tuple(runs)


REGRESSION = {"units": 64, "depth": 2, "points": 256, "learning_rate": 0.01, "batch_size": 32}
COST_ACTIVATIONS = ("relu", "leaky_relu", "elu", "selu", "gelu", "swish", "sigmoid",
                    "scaled_sigmoid", "tanh", "softmax", "linear")
EPOCH_ACTIVATIONS = ("relu", "elu", "sigmoid", "tanh")


def claims(preset="quick", seeds=None, sizes=None):
    """The ten claims, with runs sized for `preset`.

    Args:
        preset: `"quick"`, `"full"` or `"tiny"`. Defaults to `"quick"`.
        seeds: seeds per arm, overriding the preset's (cheap experiments too).
        sizes: a `Sizes` to use instead of the preset's (tests shrink further).
    """
    if sizes is None:
        if preset not in PRESETS:
            raise ValueError(f"Unknown reproduction preset. Valid choices: "
                             f"{', '.join(PRESETS)}. Received: preset={preset!r}")
        sizes = PRESETS[preset]
    if seeds is not None:
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
            raise ValueError(f"`seeds` must be a positive integer. Received: seeds={seeds!r}")
        sizes = replace(sizes, seeds=seeds, cheap_seeds=seeds, cost_repetitions=seeds)
    s = sizes
    data_note = (
        "embedded samples shipped with the package (small real subsets)"
        if s.source == "embedded" else "the full data sets found through ACTKERAS_DATA_DIR"
    )
    seeds_note = f"{_n(s.seeds, 'seed')} per arm"
    udacity = _udacity_runs(s, 1, None)
    deep = f"{s.deep_depth} hidden layers of 100 units, SGD 0.05, batch 32, {_n(s.deep_epochs, 'epoch')}"
    out = [
        Claim(
            id=1, title="ReLU vs sigmoid vs softmax hidden units",
            statement="With the course's one-hidden-layer network on notMNIST, ReLU hidden "
                      "units give the best train and validation accuracy against sigmoid and "
                      "softmax hidden units.",
            source="seed 003 (course assignment 2)",
            setup=f"`udacity` preset (784-1024-10, truncated normal stddev 1, SGD 0.5, batch "
                  f"128) for {s.udacity_steps} steps on notMNIST, {data_note}; "
                  f"{seeds_note}; tanh, LeakyReLU(0.3) and ELU added.",
            runs=udacity,
            published={"relu": {"valid_accuracy": "81.4–81.7 %", "test_accuracy": "87.8–89.1 %"}},
            published_source="public re-runs of the assignment (REFERENCES.md §1; trained on "
                             "200,000 notMNIST_large images, 3,001 steps)",
            notes=tuple(n for n in (
                "" if s.udacity_steps >= 3001 else
                f"Shortened from 3,001 to {s.udacity_steps} steps.",
                "" if s.source == "embedded" else
                "The course trained on 200,000 notMNIST_large images; where only "
                "notMNIST_small is found, it is split after removing duplicates (see Data), "
                "so the accuracies are not directly comparable with the published ones.",
            ) if n),
        ),
        Claim(
            id=2, title="He initialisation and the 50-layer Fashion-MNIST MLP",
            statement="The 50-hidden-layer Fashion-MNIST MLP with the default initializer "
                      "stays near 10 % accuracy for ReLU and sigmoid; He initialisation fixes "
                      "ReLU, LeakyReLU(0.3) and ELU. The initializer and the learning rate, "
                      "changed together in the notebook, are separated.",
            source="ReLU best-practice notebook (REFERENCES.md §2)",
            setup=f"`fashion_mlp` preset: Dense(300) + {s.fashion_depth - 1} x Dense(100), "
                  f"softmax output, SGD, batch 32, {_n(s.fashion_epochs, 'epoch')} on Fashion-MNIST, "
                  f"{data_note}; {seeds_note}. ReLU runs on the full 2 x 2 grid "
                  "glorot_uniform / he_normal x lr 0.01 / 0.001.",
            runs=_fashion_runs(s, None),
            published={
                "relu glorot lr=0.01": {"train_accuracy": 0.0993, "valid_accuracy": 0.0914},
                "relu he lr=0.001": {"train_accuracy": 0.8545, "valid_accuracy": 0.8552},
                "sigmoid glorot lr=0.001": {"train_accuracy": 0.0987, "valid_accuracy": 0.0986},
                "tanh glorot lr=0.001": {"train_accuracy": 0.8364, "valid_accuracy": 0.8432},
                "leaky_relu glorot lr=0.01": {"train_accuracy": 0.0995, "valid_accuracy": 0.0914},
                "leaky_relu he lr=0.001": {"train_accuracy": 0.8664, "valid_accuracy": 0.8580},
            },
            published_source="BindiChen/machine-learning notebooks, 10 epochs on 55,000 images",
            notes=tuple(n for n in (
                f"Shortened from 10 epochs to {s.fashion_epochs}." if s.fashion_epochs < 10 else "",
                f"Shallower than the notebook: {s.fashion_depth} hidden layers, not 50."
                if s.fashion_depth < 50 else "",
                "The embedded sample is a few thousand images, not 55,000: fewer updates per "
                "epoch, so accuracies are lower than published." if s.source == "embedded" else "",
            ) if n),
        ),
        Claim(
            id=3, title="Vanishing gradients with depth",
            statement="The sigmoid's derivative is at most 0.25, so gradient norms shrink layer "
                      "by layer in deep sigmoid networks and not in ReLU ones.",
            source="seeds 001, 002",
            setup=f"Deep MLP ({deep}) on Fashion-MNIST, {data_note}; per-layer kernel "
                  f"gradient norms from `GradientNormLogger` on probe images; ReLU with He "
                  f"initialisation (and with glorot_uniform), sigmoid and tanh with "
                  f"glorot_uniform; {seeds_note}.",
            runs=_deep_runs(s, 3, ("relu", "relu glorot", "sigmoid", "tanh"), None),
        ),
        Claim(
            id=4, title="The rescaled sigmoid 1 / (1 + exp(-4x))",
            statement="A sigmoid rescaled so that its derivative peaks at 1 does not cure the "
                      "vanishing gradient: its narrower non-saturated region undoes it.",
            source="seed 002 (a comment's question)",
            setup=f"The deep MLP of claim 3 ({deep}) with `scaled_sigmoid` (slope 4), "
                  f"against sigmoid and ReLU; {seeds_note}.",
            runs=_deep_runs(s, 4, ("relu", "sigmoid", "scaled_sigmoid"), None),
        ),
        Claim(
            id=5, title="Batch normalisation rescues deep sigmoid networks",
            statement="With batch normalisation, deep sigmoid networks train nearly as well as "
                      "ReLU ones.",
            source="seed 002, citing Ioffe and Szegedy 2015",
            setup=f"The deep MLP of claim 3 ({deep}) with and without a "
                  f"BatchNormalization between each Dense and its activation; {seeds_note}.",
            runs=_deep_runs(s, 5, ("sigmoid", "sigmoid + BN", "relu", "relu + BN"), None),
        ),
        Claim(
            id=6, title="Dying ReLU",
            statement="With a large learning rate or a strongly negative bias, a large share of "
                      "ReLU units die and stay dead; LeakyReLU and ELU do not lose their units.",
            source="seeds 001, 002, 003",
            setup=f"MLP of 3 x 256 units, He initialisation, Adam, batch 64, "
                  f"{_n(s.dying_epochs, 'epoch')} on Fashion-MNIST, {data_note}. Stresses: "
                  f"learning rate 0.03 against 0.001, and every bias initialised at -1.5 (about "
                  f"1.5 standard deviations of the pre-activations) against 0. After every "
                  f"epoch `DeadReLUMonitor` counts the units off for every probe image (dead "
                  f"for ReLU, only inactive for LeakyReLU and ELU, which still pass a "
                  f"gradient); {seeds_note}. For reference, not judged: the course network "
                  f"of claim 1 at its SGD 0.5.",
            runs=_dying_runs(s, None),
        ),
        Claim(
            id=7, title="Sparse representations",
            statement="ReLU representations are sparse (a large fraction of exact zeros), "
                      "sigmoid ones dense.",
            source="seed 002 (Glorot et al. 2011)",
            setup="The trained networks of claim 1; fraction of exact zeros in the hidden "
                  "activations on probe images, from `ActivationStats` at the end of training.",
            runs=_udacity_runs(s, 7, None),
        ),
        Claim(
            id=8, title="Computational cost",
            statement="ReLU and its derivative are cheaper to compute than sigmoid; ELU is "
                      "slower than ReLU.",
            source="seeds 001, 002",
            setup=f"In one process, round-robin: forward + backward time of each activation "
                  f"on a (128, 1024) tensor (compiled, median of {_n(s.cost_rounds, 'round')} of "
                  f"{s.cost_repeats} calls), and the epoch time of the 50-layer MLP "
                  f"({s.cost_epoch_train} images, batch 32) per activation; ratios to ReLU; "
                  f"{_n(s.cost_repetitions, 'repetition')}.",
            runs=tuple(
                RunSpec(claim=8, label="cost", kind="cost", activation="relu",
                        overrides={"activations": COST_ACTIVATIONS,
                                   "epoch_activations": EPOCH_ACTIVATIONS,
                                   "rounds": s.cost_rounds, "repeats": s.cost_repeats,
                                   "epoch_train": s.cost_epoch_train},
                        dataset="fashion_mnist", source=s.source, subset=s.fashion_subset,
                        seed=seed)
                for seed in _seeds(s, s.cost_repetitions)
            ),
            published={"sigmoid": {"epoch_ratio": round(40 / 32, 2)},
                       "tanh": {"epoch_ratio": round(40 / 32, 2)}},
            published_source="the ReLU notebook's epoch times, about 32 s (ReLU) against 40 s "
                             "(sigmoid, tanh)",
        ),
        Claim(
            id=9, title="ReLU is not linear",
            statement="ReLU is not linear (f(-1) + f(1) != f(0)); a network with linear "
                      "activations collapses to one linear map and cannot fit a curved "
                      "function that a ReLU network fits.",
            source="seed 000",
            setup=f"Regression of sin(x) on {REGRESSION['points']} points of [-pi, pi]: "
                  f"{REGRESSION['depth']} hidden layers of {REGRESSION['units']} units, Adam "
                  f"{REGRESSION['learning_rate']}, batch {REGRESSION['batch_size']}, "
                  f"{s.regression_steps} steps, MSE; against the least-squares line; "
                  f"{_n(s.cheap_seeds, 'seed')}.",
            runs=tuple(
                RunSpec(claim=9, label=name, kind="regression", activation=name,
                        overrides={**REGRESSION, "steps": s.regression_steps}, seed=seed,
                        dataset="sin", source="generated")
                for name in ("relu", "linear", "tanh")
                for seed in _seeds(s, s.cheap_seeds)
            ),
        ),
        Claim(
            id=10, title="Convergence speed",
            statement="ReLU networks reach a given accuracy in fewer steps than sigmoid ones.",
            source="seed 002 (citing Krizhevsky et al. 2012)",
            setup=f"Validation accuracy against training steps, ReLU against sigmoid, in two "
                  f"setups: the course network of claim 1 and the deep MLP of claim 3 "
                  f"({deep}); {seeds_note}.",
            runs=tuple(replace(r, label=f"{r.label} (course)")
                       for r in _udacity_runs(s, 10, None) if r.activation in ("relu", "sigmoid"))
            + tuple(replace(r, label=f"{r.label} (deep)")
                    for r in _deep_runs(s, 10, ("relu", "sigmoid"), None)),
        ),
    ]
    return out


def select(all_claims, ids):
    """The claims whose id is in `ids` (all for `None`), or `ValueError` naming the valid ids."""
    if not ids:
        return list(all_claims)
    valid = {c.id for c in all_claims}
    unknown = sorted(set(ids) - valid)
    if unknown:
        raise ValueError(f"Unknown claim. Valid claims: {', '.join(map(str, sorted(valid)))}. "
                         f"Received: claims={','.join(map(str, unknown))}")
    return [c for c in all_claims if c.id in set(ids)]
