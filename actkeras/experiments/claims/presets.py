"""How big each experiment is per reproduction preset.

The protocol (`rules.py`) fixes the full preset's seeds per arm; a preset here only
shrinks them (`seeds_cap`) and the training lengths. `PRESETS["full"]` is the protocol
as declared, on the real data sets; `PRESETS["quick"]` runs offline on the embedded
samples in a few minutes on two CPU cores; `PRESETS["tiny"]` is a smoke test whose
verdicts mean nothing. Each full-preset size has its reason in `REASONS`, which the
claims print in their notes.
"""

from dataclasses import dataclass, replace

# The course trained 3,001 steps of 128 on 200,000 notMNIST_large images: 1.92 epochs.
COURSE_STEPS, COURSE_BATCH, COURSE_TRAIN = 3001, 128, 200_000
COURSE_EPOCHS = COURSE_STEPS * COURSE_BATCH / COURSE_TRAIN
CHANCE = 0.1  # ten classes in both data sets


@dataclass(frozen=True)
class Sizes:
    """How big each experiment is in a preset.

    Args:
        name: the preset's name.
        source: `load_dataset`'s `source` (`"embedded"`, or `"auto"` for the files).
        seeds_cap: at most this many seeds per arm (`None`: the protocol's own).
        seeds_override: exactly this many seeds per arm for every group (`--seeds`).
        notmnist_subset, fashion_subset: `(n_train, n_valid, n_test)` or `None`.
        udacity_steps, udacity_log_every: the course network's training length.
        fashion_epochs, fashion_depth: the 50-layer Fashion-MNIST network.
        deep_depth, deep_epochs: the deep MLP of claims 3, 4, 5 and 10.
        probe_depths: the depths of the step-0 gradient sweep (claims 3 and 4).
        dying_epochs: the shallow MLP of claim 6.
        regression_steps: claim 9's fit, in minibatch steps.
        cost_invocations, cost_rounds: claim 8's separate processes and the paired
            rounds timed in each.
        cost_elements, cost_inner: claim 8's tensor size and in-graph loop length.
        cost_step_rounds: claim 8's timed training steps (a finding).
        probe_size: validation images the monitors and probes measure on.
        tune_grids: whether the learning-rate searches run their whole grids (`False`
            keeps three values around the source's rate, for the small presets).
        tuned: whether the "tuned" setting (each arm at its best learning rate) runs at
            all (the quick preset leaves it out: its searches and their runs are most of
            the reproduction's runs).
        born_dead_widths, born_dead_depths: claim 11's grid (a part of the protocol's).
        born_dead_networks, born_dead_probe: claim 11's networks per seed and cell, and
            points of the 1-d probe.
        glorot_width, glorot_depths, glorot_steps, glorot_subset: claim 12's networks,
            their updates (minibatches of 10) and `(n_train, n_valid, n_test)`.
        he_depths, he_probe_depths, he_steps: claim 13's trained depths, step-0 depths
            and updates (of 128 images).
    """

    name: str
    source: str
    seeds_cap: int | None
    notmnist_subset: tuple | None
    fashion_subset: tuple | None
    udacity_steps: int
    udacity_log_every: int
    fashion_epochs: int
    fashion_depth: int
    deep_depth: int
    deep_epochs: int
    probe_depths: tuple
    dying_epochs: int
    regression_steps: int
    cost_invocations: int
    cost_rounds: int
    cost_elements: int
    cost_inner: int
    cost_step_rounds: int
    probe_size: int = 256
    tune_grids: bool = True
    tuned: bool = True
    seeds_override: int | None = None
    born_dead_widths: tuple = (2, 3, 4, 5, 10)
    born_dead_depths: tuple = (2, 5, 10, 20, 50)
    born_dead_networks: int = 100
    born_dead_probe: int = 201
    glorot_width: int = 1000
    glorot_depths: tuple = (4, 5)
    glorot_steps: int = 1000
    glorot_subset: tuple | None = (10000, None, None)
    he_depths: tuple = (10, 20, 30, 40, 50)
    he_probe_depths: tuple = (10, 20, 30, 40, 50, 60)
    he_steps: int = 430

    def seeds(self, protocol, group="judged"):
        """`range` of the seeds of an arm in `group` of a claim's protocol."""
        if self.seeds_override is not None:
            return range(self.seeds_override)
        n = protocol.seeds[group]
        return range(n if self.seeds_cap is None else min(n, self.seeds_cap))

    def with_seeds(self, n):
        return replace(self, seeds_override=n)


PRESETS = {
    "full": Sizes(
        name="full", source="auto", seeds_cap=None,
        notmnist_subset=None, fashion_subset=None,
        udacity_steps=3001, udacity_log_every=100,
        fashion_epochs=10, fashion_depth=50,
        deep_depth=20, deep_epochs=3, probe_depths=(5, 10, 20, 40),
        dying_epochs=3, regression_steps=8192,
        cost_invocations=5, cost_rounds=16, cost_elements=2 ** 20, cost_inner=40,
        cost_step_rounds=20, probe_size=1024,
    ),
    "quick": Sizes(
        name="quick", source="embedded", seeds_cap=3,
        notmnist_subset=None, fashion_subset=None,
        udacity_steps=300, udacity_log_every=50,
        fashion_epochs=6, fashion_depth=50,
        deep_depth=20, deep_epochs=3, probe_depths=(5, 20),
        dying_epochs=25, regression_steps=2048,
        cost_invocations=3, cost_rounds=8, cost_elements=2 ** 20, cost_inner=20,
        cost_step_rounds=6, tune_grids=False, tuned=False,
        glorot_width=100, glorot_steps=100, glorot_subset=None,
        he_depths=(30,), he_probe_depths=(10, 30), he_steps=180,
    ),
    "tiny": Sizes(
        name="tiny", source="embedded", seeds_cap=2,
        notmnist_subset=(512, 256, 256), fashion_subset=(512, 256, 256),
        udacity_steps=20, udacity_log_every=10,
        fashion_epochs=1, fashion_depth=5,
        deep_depth=4, deep_epochs=1, probe_depths=(2, 4),
        dying_epochs=1, regression_steps=256,
        cost_invocations=2, cost_rounds=3, cost_elements=2 ** 14, cost_inner=2,
        cost_step_rounds=3, probe_size=64, tune_grids=False,
        born_dead_widths=(2, 3, 10), born_dead_depths=(2, 10), born_dead_networks=10,
        born_dead_probe=21, glorot_width=16, glorot_steps=20, glorot_subset=(512, 256, 256),
        he_depths=(30,), he_probe_depths=(30,), he_steps=4,
    ),
}

# Why each full-preset size is what it is (printed in the claims' notes).
REASONS = {
    "udacity_steps": "3,001 steps of 128, as the course (tensorflow/examples/udacity, "
                     "2_fullyconnected.ipynb).",
    "fashion_epochs": "10 epochs, as the notebook (BindiChen/machine-learning, "
                      "relu-and-best-practice.ipynb).",
    "deep_epochs": "3 epochs of the 20-layer MLP (no source names one): enough for every arm "
                   "that trains to pass 80 % validation accuracy, within the 2-hour budget "
                   "of the full preset on 2 CPU cores, which has to pay for each arm's "
                   "learning-rate search and its judged seeds.",
    "dying_epochs": "3 epochs of the 3 x 256 MLP: the pulse ends after 600 steps, and the "
                    "last 1,980 steps (2.3 epochs) are ordinary training in which dead units "
                    "could come back.",
    "probe_depths": "Depths 5, 10, 20 and 40: the decay per layer is a slope, so four depths "
                    "over a factor 8 show whether it is linear in depth.",
    "born_dead": "The protocol's grid, 10 populations of 100 networks per cell, 201 probe "
                 "points: the networks of a width are one batched forward pass, about 5 s of "
                 "CPU for the whole grid of one initialisation.",
    "glorot_steps": "1,000 updates of 10 images, one pass over the first 10,000 training "
                    "images: 40 runs of 4 or 5 layers of 1,000 units fit the time budget of "
                    "the full preset on 2 CPU cores (12 to 15 s of CPU each).",
    "he_steps": "430 updates of 128 (about one epoch): 50 runs of 10 to 50 layers fit the time "
                 "budget of the full preset on 2 CPU cores (4 to 12 s of CPU each).",
}


class SizesError(ValueError):
    """A custom `Sizes` asks for a width or depth that a claim's protocol does not know."""


def _subset_of(what, asked, known, must=()):
    asked = tuple(asked)
    unknown = [v for v in asked if v not in known]
    if unknown or not asked:
        raise SizesError(f"Unknown {what} in the sizes: the protocol knows "
                         f"{', '.join(map(str, known))}. Received: {what}={asked!r}")
    missing = [v for v in must if v not in asked]
    if missing:
        raise SizesError(f"The sizes leave out {what} {missing[0]}, which the protocol judges. "
                         f"Received: {what}={asked!r}")


def check(sizes):
    """Raises `SizesError` (one line, before any work) when a preset or custom `Sizes` asks
    claims 11 to 13 for a width or depth their protocols do not know, or leaves out one
    they judge."""
    from actkeras.experiments.rules import protocol

    lu, glorot, he = protocol(11).params, protocol(12).params, protocol(13).params
    width, depth = lu["headline"]
    _subset_of("born_dead_widths", sizes.born_dead_widths, lu["widths"], (width,))
    _subset_of("born_dead_depths", sizes.born_dead_depths, lu["depths"], (depth,))
    _subset_of("glorot_depths", sizes.glorot_depths, glorot["depths"], glorot["depths"])
    _subset_of("he_depths", sizes.he_depths, he["depths"], (he["depth"],))
    _subset_of("he_probe_depths", sizes.he_probe_depths, he["probe_depths"], (he["depth"],))
    for name in ("born_dead_networks", "born_dead_probe", "glorot_width", "glorot_steps",
                 "he_steps"):
        value = getattr(sizes, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SizesError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return sizes


def reason(key, sizes):
    """Why a size is what it is (`REASONS`; another preset says that it shrinks it)."""
    if sizes.name == "full":
        return REASONS[key]
    return f"the {sizes.name} preset's size (the full preset's reason: {REASONS[key]})"


def data_note(sizes):
    return ("embedded samples shipped with the package (small real subsets)"
            if sizes.source == "embedded" else "the full data sets found through ACTKERAS_DATA_DIR")


def seeds_note(sizes, protocol, group="judged"):
    n = len(sizes.seeds(protocol, group))
    text = f"{n} seed{'s' if n != 1 else ''} per arm"
    if sizes.name == "full" and sizes.seeds_override is None:
        return f"{text} ({protocol.seeds_reason})"
    return text + f" (the {sizes.name} preset; the protocol's full preset: {protocol.seeds[group]})"
