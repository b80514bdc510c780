"""The runs the claims are built from, and the ones several claims share.

Runs are shared by content (`RunSpec.run_id`): the course network's runs serve claims
1, 7, 9 and 10, the deep MLP's serve claims 3, 4, 5 and 10, and a shared run is
trained once. A learning-rate search (`tune_run`) is a run too; the runs "at each arm's
best learning rate" are built once its result is known (`best_rate`).
"""

import math

from actkeras.experiments.claims.presets import COURSE_EPOCHS
from actkeras.experiments.spec import RunSpec

KWARGS = {"leaky_relu": {"negative_slope": 0.3}, "scaled_sigmoid": {"slope": 4.0}}
TUNE_SEED = 1000  # the searches' seed: never one of the judged seeds (0, 1, 2, ...)
COURSE_RATE = 0.5  # the course's SGD learning rate


def ladder(total, first=1, group=1):
    """Step budgets with no gaps: 0, then about ten a decade (1, 1.2, 1.5, 2, 2.5, 3, 4,
    5, 6, 8 times a power of ten) from `first` up to `total`, each a multiple of
    `group` (the steps per execution: a budget inside a group cannot be hit), and
    `total` itself."""
    steps, decade = {0}, 1
    while decade <= total:
        for k in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8):
            step = int(round(decade * k))
            if first <= step <= total and step % group == 0:
                steps.add(step)
        decade *= 10
    steps.add(total)
    return tuple(sorted(steps))


def budget_until(steps, limit):
    """The budgets of `steps` at or below `limit` (claim 1's training-accuracy window)."""
    return tuple(s for s in steps if s <= limit)


def course_budget(n_train, batch=128):
    """The course's 1.92-epoch budget in steps of `batch` on a split of `n_train` images."""
    return max(1, int(round(COURSE_EPOCHS * n_train / batch)))


# --- the course network ----------------------------------------------------------------------

def udacity_run(sizes, claim, label, activation, seed, *, learning_rate=None, tuned_from=None,
                **overrides):
    """A course-network run: 784-1024-10, truncated normal stddev 1, SGD 0.5, batch 128,
    scored at every budget of `ladder` (one step per execution, so steps 1-9 are hit
    too) on the whole validation split; the training minibatches' own accuracy (as the
    course's `train_prediction` reads it) accumulated over every step up to the course's
    1.92 epochs, and the whole training split scored once, at the end of them."""
    steps = overrides.pop("steps", sizes.udacity_steps)
    # Always explicit, so that a search that picks the course's own rate gives the very
    # runs "as run" (the same content, trained once).
    overrides["learning_rate"] = COURSE_RATE if learning_rate is None else learning_rate
    return RunSpec(
        claim=claim, label=label, activation=activation,
        activation_kwargs=KWARGS.get(activation, {}), preset="udacity",
        overrides={"steps": steps, "steps_per_execution": 1, **overrides},
        dataset="notmnist", source=sizes.source, subset=sizes.notmnist_subset, seed=seed,
        log_every=sizes.udacity_log_every, monitors=("dead", "histograms"),
        probe_size=sizes.probe_size, eval_steps=ladder(steps),
        eval_train=-1, eval_train_epochs=round(COURSE_EPOCHS, 2), eval_train_every=False,
        minibatch=True,
        measures=("sparsity",), tuned_from=tuned_from,
    )


# --- the deep MLP (claims 3, 4, 5 and 10) -----------------------------------------------------

# label: (activation, activation kwargs, initializer, weight gain, batch norm)
DEEP_ARMS = {
    "relu": ("relu", {}, "he_normal", 1.0, False),
    "relu glorot": ("relu", {}, "glorot_uniform", 1.0, False),
    "sigmoid": ("sigmoid", {}, "glorot_uniform", 1.0, False),
    "sigmoid lecun": ("sigmoid", {}, "lecun_normal", 1.0, False),
    "sigmoid he": ("sigmoid", {}, "he_normal", 1.0, False),
    "sigmoid x4": ("sigmoid", {}, "glorot_uniform", 4.0, False),
    "sigmoid x8": ("sigmoid", {}, "glorot_uniform", 8.0, False),
    "tanh": ("tanh", {}, "glorot_uniform", 1.0, False),
    "sigmoid + BN": ("sigmoid", {}, "glorot_uniform", 1.0, True),
    "relu + BN": ("relu", {}, "he_normal", 1.0, True),
    "slope 2": ("scaled_sigmoid", {"slope": 2.0}, "glorot_uniform", 1.0, False),
    "slope 4": ("scaled_sigmoid", {"slope": 4.0}, "glorot_uniform", 1.0, False),
    "slope 8": ("scaled_sigmoid", {"slope": 8.0}, "glorot_uniform", 1.0, False),
    "slope 16": ("scaled_sigmoid", {"slope": 16.0}, "glorot_uniform", 1.0, False),
}
DEEP_RATE = 0.05  # the deep MLP's SGD learning rate "as run" (v1 and v2's; no source names one)


def deep_overrides(sizes, label, depth=None):
    activation, kwargs, init, gain, batch_norm = DEEP_ARMS[label]
    return {"hidden_units": (100,) * (depth or sizes.deep_depth), "initializer": init,
            "init_gain": gain, "batch_norm": batch_norm, "learning_rate": DEEP_RATE,
            "batch_size": 32, "epochs": sizes.deep_epochs, "steps_per_execution": 10}


def deep_run(sizes, claim, label, seed, *, learning_rate=None, tuned_from=None):
    """A run of the deep MLP arm `label` (`DEEP_ARMS`), scored at fixed budgets, with the
    gradient and activation monitors at step 0 and each epoch end."""
    activation, kwargs, *_ = DEEP_ARMS[label]
    overrides = deep_overrides(sizes, label)
    if learning_rate is not None:
        overrides["learning_rate"] = learning_rate
    return RunSpec(
        claim=claim, label=label, activation=activation, activation_kwargs=kwargs,
        preset="mlp", overrides=overrides, dataset="fashion_mnist", source=sizes.source,
        subset=sizes.fashion_subset, seed=seed, monitors=("gradients", "stats"),
        probe_size=sizes.probe_size, eval_steps=ladder(10 ** 6, first=10, group=10),
        tuned_from=tuned_from,
    )


def probe_run(sizes, claim, label, seeds):
    """Claims 3 and 4's step-0 measurement of one deep arm at every depth of
    `sizes.probe_depths`, every seed in one run: per hidden layer the kernel gradient,
    the backpropagated error (dL/dz) and the activations' saturation, before any update
    (`experiments.probes`)."""
    activation, kwargs, *_ = DEEP_ARMS[label]
    overrides = deep_overrides(sizes, label)
    overrides.pop("hidden_units")
    return RunSpec(
        claim=claim, label=f"{label} (step 0)", kind="probe", activation=activation,
        activation_kwargs=kwargs, preset="mlp",
        overrides={**overrides, "depths": tuple(sizes.probe_depths), "seeds": tuple(seeds)},
        dataset="fashion_mnist", source=sizes.source, subset=sizes.fashion_subset, seed=0,
        probe_size=sizes.probe_size,
    )


# --- learning-rate searches ------------------------------------------------------------------

def tune_run(base, grid, label=None):
    """A Keras Tuner grid search over `grid` (learning rates) for the arm of `base` (a
    training `RunSpec`), seeded with `TUNE_SEED`, scored by the final validation
    accuracy. Its monitors and budgets are left out: only the score is needed."""
    return RunSpec(
        claim=base.claim, label=label or f"{base.label} (learning-rate search)", kind="tune",
        activation=base.activation, activation_kwargs=base.activation_kwargs,
        preset=base.preset, overrides={k: v for k, v in base.overrides.items()
                                       if k != "learning_rate"},
        dataset=base.dataset, source=base.source, subset=base.subset, seed=TUNE_SEED,
        log_every=base.log_every, grid=tuple(grid),
    )


def small_grid(grid, center):
    """Three values of `grid` around `center` (the small presets' searches)."""
    i = min(range(len(grid)), key=lambda k: abs(math.log(grid[k] / center)))
    i = min(max(i, 1), len(grid) - 2)
    return tuple(grid[i - 1:i + 2])


def best_rate(tuned, spec):
    """The best learning rate a finished search found, or `None` (not run yet, or no
    trial finished). `tuned` maps a search's `run_id` to its best rate, or to
    `{"best": rate, "trains": bool}`."""
    found = (tuned or {}).get(spec.run_id)
    return found.get("best") if isinstance(found, dict) else found


def trains(tuned, spec):
    """Whether a finished search found a rate at which the arm left chance (`True` when
    the search did not say)."""
    found = (tuned or {}).get(spec.run_id)
    return found.get("trains", True) if isinstance(found, dict) else True


def left_chance(accuracy, data):
    """Whether a validation accuracy left chance by the protocol's chance rule, on the
    validation split a run's `data` record describes (`n_valid`, `valid_majority`)."""
    from actkeras.experiments.decide import at_chance
    from actkeras.experiments.rules import CHANCE_PROTOCOL

    info = {"accuracy": accuracy, "n": data.get("n_valid"), "majority": data.get("valid_majority")}
    return at_chance(info, CHANCE_PROTOCOL) is False


def searched(result):
    """`{"best", "trains"}` of a finished search: its best rate, and whether any rate took
    the arm above chance (by the protocol's chance rule on the validation split)."""
    search = result["search"]
    scores = [t["score"] for t in search.get("trials", []) if t.get("score") is not None]
    return {"best": search["best"],
            "trains": left_chance(max(scores) if scores else None, result.get("data") or {})}
