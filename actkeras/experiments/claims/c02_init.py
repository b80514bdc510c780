"""Claim 2: the 50-hidden-layer Fashion-MNIST MLP with the default initializer
(glorot_uniform) stays near 10 % for ReLU and sigmoid; He initialisation fixes ReLU and
LeakyReLU(0.3) (the ReLU best-practice notebook of BindiChen/machine-learning,
`tensorflow2/011-relu/relu-and-best-practice.ipynb`).

Runs: the notebook's `fashion_mlp` (Dense(300) + 49 x Dense(100), SGD, batch 32, 10
epochs). The arms the parts compare, 8 seeds each: ReLU glorot at lr 0.01 (the
notebook's default arm), sigmoid glorot at 0.001, and for ReLU and LeakyReLU He against
glorot at the same lr 0.001 (the notebook changed the initializer and the rate together;
here the initializer's own effect is judged). The notebook's tanh arm (glorot at 0.001)
and ELU with glorot at 0.001, which the notebook does not show, are findings with 3
seeds each.
"""

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.presets import CHANCE, data_note, reason, seeds_note
from actkeras.experiments.claims.runs import KWARGS, ladder
from actkeras.experiments.rules import AS_RUN, protocol
from actkeras.experiments.spec import Claim, RunSpec

ID = 2
PROTOCOL = protocol(ID)
GLOROT, HE = "glorot_uniform", "he_normal"
# label: (activation, initializer, learning rate). Labels are the protocol's roles.
JUDGED = {
    "relu glorot lr=0.01": ("relu", GLOROT, 0.01),
    "relu glorot lr=0.001": ("relu", GLOROT, 0.001),
    "relu he lr=0.001": ("relu", HE, 0.001),
    "sigmoid glorot lr=0.001": ("sigmoid", GLOROT, 0.001),
    "leaky_relu glorot lr=0.001": ("leaky_relu", GLOROT, 0.001),
    "leaky_relu he lr=0.001": ("leaky_relu", HE, 0.001),
}
FINDINGS = {
    "tanh glorot lr=0.001": ("tanh", GLOROT, 0.001),
    "elu glorot lr=0.001": ("elu", GLOROT, 0.001),
}
ARMS = {**JUDGED, **FINDINGS}

PUBLISHED = {
    "relu glorot lr=0.01": {"train_accuracy": 0.0993, "valid_accuracy": 0.0914},
    "relu he lr=0.001": {"train_accuracy": 0.8545, "valid_accuracy": 0.8552},
    "sigmoid glorot lr=0.001": {"train_accuracy": 0.0987, "valid_accuracy": 0.0986},
    "tanh glorot lr=0.001": {"train_accuracy": 0.8364, "valid_accuracy": 0.8432},
    "leaky_relu glorot lr=0.01": {"train_accuracy": 0.0995, "valid_accuracy": 0.0914},
    "leaky_relu he lr=0.001": {"train_accuracy": 0.8664, "valid_accuracy": 0.8580},
}


def fashion_run(sizes, label, seed):
    activation, initializer, rate = ARMS[label]
    hidden = (300,) + (100,) * (sizes.fashion_depth - 1)
    return RunSpec(
        claim=ID, label=label, activation=activation,
        activation_kwargs=KWARGS.get(activation, {}), preset="fashion_mlp",
        overrides={"initializer": initializer, "learning_rate": rate,
                   "epochs": sizes.fashion_epochs, "hidden_units": hidden,
                   "steps_per_execution": 10},
        dataset="fashion_mnist", source=sizes.source, subset=sizes.fashion_subset,
        seed=seed, probe_size=sizes.probe_size, eval_steps=ladder(10 ** 6, first=10, group=10),
    )


def build(sizes, tuned):
    notes = [f"{sizes.fashion_epochs} epoch(s): " + reason("fashion_epochs", sizes),
             f"{seeds_note(sizes, PROTOCOL)} for the judged arms, "
             f"{len(sizes.seeds(PROTOCOL, 'other'))} for the findings.",
             "LeakyReLU's negative slope is 0.3, as the notebook's `keras.layers.LeakyReLU()` "
             "(`activation='leaky_relu'` would give Keras's 0.2)."]
    if sizes.fashion_depth < 50:
        notes.append(f"Shallower than the notebook: {sizes.fashion_depth} hidden layers, not 50 "
                     "(a smoke test: a shallow network trains with any initializer).")
    if sizes.source == "embedded":
        notes.append("The embedded sample is a few thousand images, not 55,000: fewer updates "
                     "per epoch, so accuracies are lower than published.")
    notes.append("He is judged against glorot_uniform at the same learning rate (0.001): the "
                 "notebook changed the initializer and the learning rate together (glorot lr "
                 "0.01 -> He lr 0.001); that comparison is a finding.")
    runs = [fashion_run(sizes, label, s) for label in JUDGED
            for s in sizes.seeds(PROTOCOL, "judged")]
    runs += [fashion_run(sizes, label, s) for label in FINDINGS
             for s in sizes.seeds(PROTOCOL, "other")]
    return Claim(
        id=ID, title="He initialisation and the 50-layer Fashion-MNIST MLP",
        statement="The 50-hidden-layer Fashion-MNIST MLP with the default initializer stays "
                  "near 10 % accuracy for ReLU and sigmoid; He initialisation fixes ReLU and "
                  "LeakyReLU(0.3).",
        source="ReLU best-practice notebook (BindiChen/machine-learning, "
               "tensorflow2/011-relu)",
        seed_file="seeds/001_740307ee495fdbfa.txt",
        setup=f"`fashion_mlp` preset: Dense(300) + {sizes.fashion_depth - 1} x Dense(100), "
              f"softmax output, SGD, batch 32, {sizes.fashion_epochs} epoch(s) on "
              f"Fashion-MNIST, {data_note(sizes)}. Judged arms: ReLU glorot_uniform at lr 0.01 "
              "and 0.001, ReLU He at 0.001, sigmoid glorot at 0.001, LeakyReLU(0.3) glorot and "
              "He at 0.001. Findings: tanh glorot at 0.001 (the notebook's) and ELU glorot at "
              "0.001 (not in the notebook). Validation "
              "accuracy is also scored at fixed step budgets.",
        runs=tuple(runs), published=PUBLISHED,
        published_source="BindiChen/machine-learning notebooks (tensorflow2/011-relu and "
                         "009-leakyrelu), 10 epochs "
                         "on 55,000 images, one run each",
        notes=tuple(notes),
    )


METRICS = {"valid": c.VALID, "valid_last3": c.VALID_LAST3,
           "train": c.Metric(c.final("train_accuracy"), "pts", "final training accuracy"),
           "test": c.Metric(c.final("test_accuracy"), "pts", "final test accuracy")}


def roles(claim, results):
    return {AS_RUN: {label: c.runs_labelled(claim, results, label) for label in ARMS}}


def numbers(claim, results):
    arms = roles(claim, results)
    out = c.settings_numbers(arms, METRICS)
    out["series"] = {label: {str(s): {"valid": c.budget_curve(r), "status": c.status(r)}
                             for s, r in runs.items()} for label, runs in arms[AS_RUN].items()}
    return out


def _effect(numbers, a, b):
    return stats.paired(c.values_of(numbers, AS_RUN, a, "valid"),
                        c.values_of(numbers, AS_RUN, b, "valid"))


def findings(numbers):
    found = []
    for label in ARMS:
        hits, n = c.chance_count(numbers, AS_RUN, label, PROTOCOL)
        if n:
            found.append(f"{label}: at chance in {hits} of {n} finished seeds")
    diff = _effect(numbers, "relu he lr=0.001", "relu glorot lr=0.01")
    if diff:
        found.append(f"the notebook's own comparison for ReLU (He at lr 0.001 against glorot "
                     f"at lr 0.01: initializer and rate changed together): "
                     f"{stats.fmt_diff(diff, percent=True)}")
    rate = _effect(numbers, "relu glorot lr=0.001", "relu glorot lr=0.01")
    if rate:
        found.append(f"ReLU with glorot_uniform, lr 0.001 against 0.01 (the learning rate's own "
                     f"effect): {stats.fmt_diff(rate, percent=True)}")
    hits, n = c.chance_count(numbers, AS_RUN, "elu glorot lr=0.001", PROTOCOL)
    if n:
        elu = stats.summarize(list(c.values_of(numbers, AS_RUN, "elu glorot lr=0.001",
                                               "valid").values()))
        found.append(f"ELU (not in the notebook) with glorot_uniform at lr 0.001: at chance in "
                     f"{hits} of {n} seeds, validation {stats.fmt_summary(elu, percent=True)}"
                     + ("; He has nothing to fix for ELU here" if hits == 0 else ""))
    tanh = stats.summarize(list(c.values_of(numbers, AS_RUN, "tanh glorot lr=0.001",
                                            "valid").values()))
    if tanh:
        found.append(f"tanh with glorot_uniform at lr 0.001 (the notebook's 84.3 %): "
                     f"{stats.fmt_summary(tanh, percent=True)}")
    return found


def tables(numbers):
    columns = ["arm", "runs", "validation per seed", "validation (mean ± sd)",
               "train (mean ± sd)", "test (mean ± sd)", "published train / validation"]
    rows = []
    for label in ARMS:
        hits, _ = c.chance_count(numbers, AS_RUN, label, PROTOCOL)
        published = PUBLISHED.get(label, {})
        rows.append([label + ("" if label in JUDGED else " (finding)"),
                     c.counts_cell(c.statuses_of(numbers, AS_RUN, label), hits),
                     c.seed_cell(c.values_of(numbers, AS_RUN, label, "valid")),
                     c.summary_cell(c.values_of(numbers, AS_RUN, label, "valid")),
                     c.summary_cell(c.values_of(numbers, AS_RUN, label, "train")),
                     c.summary_cell(c.values_of(numbers, AS_RUN, label, "test")),
                     " / ".join(stats.fmt(published[k], percent=True)
                                for k in ("train_accuracy", "valid_accuracy") if k in published)])
    return [("Arms", columns, rows)]


PANELS = (
    ("ReLU: initializer and learning rate", ("relu glorot lr=0.01", "relu glorot lr=0.001",
                                             "relu he lr=0.001")),
    ("LeakyReLU(0.3) and ELU", ("leaky_relu glorot lr=0.001", "leaky_relu he lr=0.001",
                                "elu glorot lr=0.001")),
    ("sigmoid and tanh (glorot, lr 0.001)", ("sigmoid glorot lr=0.001", "tanh glorot lr=0.001")),
)


def draw(claim, numbers, verdicts):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(len(PANELS) + 1)
    for ax, (title, labels) in zip(axes, PANELS):
        # Arms stuck at chance overlap exactly: each arm of a panel gets its own dash
        # pattern, so a line drawn over another still shows the one beneath.
        for label, dashes in zip(labels, ("-", (0, (6, 3)), (0, (1, 2)))):
            seeds = (numbers.get("series") or {}).get(label) or {}
            f.seed_curves(ax, label, {s: v["valid"] for s, v in seeds.items()},
                          diverged={s for s, v in seeds.items() if v["status"] == "diverged"},
                          linestyle=dashes)
        f.chance_line(ax, CHANCE)
        f.step_axis(ax)
        f.finish(ax, title, ylabel="validation accuracy")
        ax.set_ylim(0, 1)
    f.parts_panel(axes[-1], verdicts)
    figure.suptitle("Claim 2: 50-layer Fashion-MNIST MLP (each seed thin, mean ± sd band; "
                    "x: diverged; arms at chance lie on the grey chance line, each arm "
                    "dashed its own way)")
    return figure
