"""Claim 2: the 50-hidden-layer Fashion-MNIST MLP with the default initializer
(glorot_uniform) stays near 10 % for ReLU and sigmoid; He initialisation fixes ReLU,
LeakyReLU(0.3) and ELU.

Runs: the notebook's `fashion_mlp` (Dense(300) + 49 x Dense(100), SGD, batch 32) with
ReLU on the 2 x 2 grid glorot_uniform / he_normal x lr 0.01 / 0.001, LeakyReLU(0.3) and
ELU with glorot at 0.01 and 0.001 and He at 0.001, sigmoid and tanh with glorot at
0.001; scored at fixed step budgets.
Measurement: final validation accuracy (and the budget curves for the figure).
Judge: (a) ReLU glorot lr 0.01 and (b) sigmoid glorot lr 0.001 stay at chance in every
seed; (c-e) for each of ReLU, LeakyReLU and ELU, He at lr 0.001 against glorot at the
SAME lr 0.001 (the initializer's own effect), per-seed differences against a 5-point
margin. The notebook's confounded comparison (glorot lr 0.01 -> He lr 0.001) and the
ReLU grid's separate initializer and learning-rate effects are reported as findings
with their intervals.
"""

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.sizes import (
    CHANCE,
    KWARGS,
    budget_steps,
    data_note,
    reason,
    seeds,
    seeds_note,
)
from actkeras.experiments.judging import Part, combine
from actkeras.experiments.spec import Claim, RunSpec

ID = 2
GLOROT, HE = "glorot_uniform", "he_normal"
# label: (activation, initializer, learning rate). Labels are display only: arms are
# selected by these structured fields.
ARMS = {
    "relu glorot lr=0.01": ("relu", GLOROT, 0.01),
    "relu glorot lr=0.001": ("relu", GLOROT, 0.001),
    "relu he lr=0.01": ("relu", HE, 0.01),
    "relu he lr=0.001": ("relu", HE, 0.001),
    "sigmoid glorot lr=0.001": ("sigmoid", GLOROT, 0.001),
    "tanh glorot lr=0.001": ("tanh", GLOROT, 0.001),
    "leaky_relu glorot lr=0.01": ("leaky_relu", GLOROT, 0.01),
    "leaky_relu glorot lr=0.001": ("leaky_relu", GLOROT, 0.001),
    "leaky_relu he lr=0.001": ("leaky_relu", HE, 0.001),
    "elu glorot lr=0.01": ("elu", GLOROT, 0.01),
    "elu glorot lr=0.001": ("elu", GLOROT, 0.001),
    "elu he lr=0.001": ("elu", HE, 0.001),
}
FIXED = ("relu", "leaky_relu", "elu")  # the activations He is said to fix
NAMES = {"relu": "ReLU", "leaky_relu": "LeakyReLU(0.3)", "elu": "ELU", "sigmoid": "sigmoid",
         "tanh": "tanh"}
# Five points of validation accuracy: "fixes" means the network goes from not training
# to training (a gap of about 75 points in the notebook), not a tuning gain; 5 points
# is many times the seed-to-seed sd of the arms that train (0.1-0.9 points in the
# first full run) and far below a rescue, so a difference under it is no fix.
MARGIN = 0.05

RULE = (
    "Parts: (a) ReLU with glorot_uniform (the Keras default) at the notebook's lr 0.01 and "
    "(b) sigmoid with glorot_uniform at lr 0.001 stay at chance (final validation accuracy "
    f"below {c.STUCK:.0%}, twice chance) in every seed that finished (holds: all; fails: "
    "none; inconclusive: some, or fewer than 2 seeds); (c) ReLU, (d) LeakyReLU(0.3) and (e) "
    "ELU: He initialisation at lr 0.001 against glorot_uniform at the same lr 0.001 (the "
    "initializer's own effect), on the per-seed differences of final validation accuracy: "
    f"holds when the 95 % t interval lies above {MARGIN:.0%} ({100 * MARGIN:g} points), fails "
    "when it lies at or below it, inconclusive when it straddles it; when every glorot seed "
    "stayed at chance and every He seed trained, the part holds on that alone. Diverged runs "
    "and (in the comparisons) runs at chance are left out of the pairs and counted. The "
    "notebook's own comparison (glorot lr 0.01 -> He lr 0.001, initializer and learning rate "
    "changed together) and the ReLU 2 x 2 grid's separate effects are reported as findings "
    "with the same margin. All parts hold: reproduced; all fail: not reproduced; some each "
    "way: mixed; otherwise inconclusive."
)


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
        seed=seed, probe_size=sizes.probe_size, eval_steps=budget_steps(100_000),
    )


def build(sizes):
    notes = [f"{sizes.fashion_epochs} epoch(s): " + reason("fashion_epochs", sizes),
             f"{seeds_note(sizes)}: " + reason("seeds", sizes)]
    if sizes.fashion_depth < 50:
        notes.append(f"Shallower than the notebook: {sizes.fashion_depth} hidden layers, not 50 "
                     "(a smoke test: a shallow network trains with any initializer).")
    if sizes.source == "embedded":
        notes.append("The embedded sample is a few thousand images, not 55,000: fewer updates "
                     "per epoch, so accuracies are lower than published.")
    notes.append("Each activation is compared with its own glorot_uniform arm at the same "
                 "learning rate: the notebook changed the initializer and the learning rate "
                 "together (glorot lr 0.01 -> He lr 0.001); that comparison is kept as a "
                 "finding, not as the test of the initializer.")
    return Claim(
        id=ID, title="He initialisation and the 50-layer Fashion-MNIST MLP",
        statement="The 50-hidden-layer Fashion-MNIST MLP with the default initializer stays "
                  "near 10 % accuracy for ReLU and sigmoid; He initialisation fixes ReLU, "
                  "LeakyReLU(0.3) and ELU.",
        source="ReLU best-practice notebook (REFERENCES.md §2)",
        seed_file="seeds/001_740307ee495fdbfa.txt",
        setup=f"`fashion_mlp` preset: Dense(300) + {sizes.fashion_depth - 1} x Dense(100), "
              f"softmax output, SGD, batch 32, {sizes.fashion_epochs} epoch(s) on "
              f"Fashion-MNIST, {data_note(sizes)}; {seeds_note(sizes)}. ReLU on the 2 x 2 grid "
              "glorot_uniform / he_normal x lr 0.01 / 0.001; LeakyReLU(0.3) and ELU with "
              "glorot at lr 0.01 and 0.001 and He at 0.001; sigmoid and tanh with glorot at "
              "0.001. Validation accuracy is also scored at fixed step budgets.",
        runs=tuple(fashion_run(sizes, label, seed) for label in ARMS for seed in seeds(sizes)),
        published={
            "relu glorot lr=0.01": {"train_accuracy": 0.0993, "valid_accuracy": 0.0914},
            "relu he lr=0.001": {"train_accuracy": 0.8545, "valid_accuracy": 0.8552},
            "sigmoid glorot lr=0.001": {"train_accuracy": 0.0987, "valid_accuracy": 0.0986},
            "tanh glorot lr=0.001": {"train_accuracy": 0.8364, "valid_accuracy": 0.8432},
            "leaky_relu glorot lr=0.01": {"train_accuracy": 0.0995, "valid_accuracy": 0.0914},
            "leaky_relu he lr=0.001": {"train_accuracy": 0.8664, "valid_accuracy": 0.8580},
        },
        published_source="BindiChen/machine-learning notebooks (REFERENCES.md §2), 10 epochs "
                         "on 55,000 images, one run each",
        notes=tuple(notes),
    )


# --- judge ------------------------------------------------------------------------------------

VALID = c.final("valid_accuracy")


def _label(activation, initializer, rate):
    for label, arm in ARMS.items():
        if arm == (activation, initializer, rate):
            return label
    raise KeyError((activation, initializer, rate))


def _arm(arms, activation, initializer, rate):
    return arms.get(_label(activation, initializer, rate), {})


def _trained_all(runs):
    n = c.counts(runs)
    return n["ok"] >= 1 and n["chance"] == 0


def _never_trained(runs):
    n = c.counts(runs)
    return n["ok"] >= 1 and n["chance"] == n["ok"]


def effect(text, a_runs, b_runs, names):
    """A finding's `Part` for A - B; two arms that both stayed at chance in every seed
    are said to show no effect (nothing trained), not left undecided."""
    if _never_trained(a_runs) and _never_trained(b_runs):
        return Part(text, stats.FAILS, "both arms stayed at chance in every seed: no effect "
                                       "visible (neither trained)"), None
    return c.compare(text, a_runs, b_runs, VALID, MARGIN, names=names)


def judge(arms, margin=MARGIN):
    """Pure: `arms` is `{label: {seed: result}}` with the labels of `ARMS`.

    Returns `(Verdict, {name: Difference dict})`."""
    parts, diffs, findings = [], {}, []
    parts.append(c.share_part(
        "ReLU with glorot_uniform at lr 0.01 (the notebook's default arm) stays at chance",
        _arm(arms, "relu", GLOROT, 0.01), c.at_chance))
    parts.append(c.share_part(
        "sigmoid with glorot_uniform at lr 0.001 stays at chance",
        _arm(arms, "sigmoid", GLOROT, 0.001), c.at_chance))
    never_broken = []
    for act in FIXED:
        he, glorot = _arm(arms, act, HE, 0.001), _arm(arms, act, GLOROT, 0.001)
        part, diff = c.compare(
            f"He initialisation fixes {NAMES[act]}: He beats glorot_uniform at the same lr "
            f"0.001 by more than {100 * margin:g} points", he, glorot, VALID, margin,
            names=(f"{NAMES[act]} He", f"{NAMES[act]} glorot"))
        parts.append(part)
        diffs[f"{act}: He - glorot at lr 0.001"] = diff.to_dict() if diff else None
        if _trained_all(glorot):
            never_broken.append(NAMES[act])
        # The notebook's comparison: initializer and learning rate changed together.
        confounded = _arm(arms, act, GLOROT, 0.01)
        if confounded:
            f_part, f_diff = effect(f"{NAMES[act]}: He lr 0.001 - glorot lr 0.01", he,
                                    confounded, names=("He lr 0.001", "glorot lr 0.01"))
            diffs[f"{act}: He lr 0.001 - glorot lr 0.01 (notebook)"] = (
                f_diff.to_dict() if f_diff else None)
            findings.append(f"the notebook's comparison for {NAMES[act]} (initializer and "
                            f"learning rate changed together): {f_part.outcome}, "
                            f"{f_part.detail}")
    if never_broken:
        findings.append(f"{', '.join(never_broken)} trained with glorot_uniform at lr 0.001 in "
                        "every seed: He initialisation does not fix "
                        f"{'it' if len(never_broken) == 1 else 'them'}, "
                        f"{'it was' if len(never_broken) == 1 else 'they were'} never broken; "
                        "the claim holds only for the activations whose glorot arm stayed at "
                        "chance")
    # The ReLU 2 x 2 grid: each factor with the other held fixed.
    grid = (
        ("initializer at lr 0.01 (He - glorot)", (HE, 0.01), (GLOROT, 0.01)),
        ("initializer at lr 0.001 (He - glorot)", (HE, 0.001), (GLOROT, 0.001)),
        ("learning rate with glorot (0.001 - 0.01)", (GLOROT, 0.001), (GLOROT, 0.01)),
        ("learning rate with He (0.001 - 0.01)", (HE, 0.001), (HE, 0.01)),
    )
    for name, (ia, ra), (ib, rb) in grid:
        a, b = _arm(arms, "relu", ia, ra), _arm(arms, "relu", ib, rb)
        if not a and not b:
            continue
        g_part, g_diff = effect(f"ReLU grid: {name}", a, b, names=(f"{ia} {ra}", f"{ib} {rb}"))
        diffs[f"relu grid: {name}"] = g_diff.to_dict() if g_diff else None
        findings.append(f"ReLU grid, {name}: effect above {100 * margin:g} points "
                        f"{g_part.outcome}; {g_part.detail}")
    verdict = combine(parts, RULE, findings, would_change=(
        "a ReLU-glorot-0.01 or sigmoid seed that trained (part a or b), or, for an "
        "activation, a He - glorot interval at lr 0.001 reaching down to "
        f"{100 * margin:g} points (e.g. its glorot arm training too, as ELU's may: then He "
        "fixes nothing for it)"))
    return verdict, diffs


# --- analysis and figure ----------------------------------------------------------------------

def arm_runs(claim, results):
    """`{label: {seed: result}}` selected by activation, initializer and learning rate."""
    return {label: c.runs_where(claim, results, activation=a, initializer=i, learning_rate=r,
                                preset="fashion_mlp")
            for label, (a, i, r) in ARMS.items()}


def diff_text(d):
    """`+5.5 [+4.9, +6.1] pts (n=5)` from a `Difference.to_dict()` (or its absence)."""
    if not d:
        return "no paired seeds"
    text = f"{100 * d['mean']:+.1f}"
    if d.get("low") is not None:
        text += f" [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"
    return f"{text} pts (n={d['n']})"


def analyze(claim, results):
    arms = arm_runs(claim, results)
    verdict, diffs = judge(arms)
    columns = ["arm", "runs", "validation accuracy per seed", "validation (mean ± sd)",
               "train accuracy (mean ± sd)", "test accuracy (mean ± sd)",
               "published train / validation"]
    rows, numbers = [], {"differences": diffs, "arms": {}, "margin": MARGIN}
    for label, runs in arms.items():
        valid = c.values(runs, VALID)
        train = c.values(runs, c.final("train_accuracy"))
        test = c.values(runs, c.final("test_accuracy"))
        published = claim.published.get(label, {})
        rows.append([label, c.counts_text(c.counts(runs)), c.seed_cell(valid),
                     c.summary_cell(valid), c.summary_cell(train), c.summary_cell(test),
                     " / ".join(stats.fmt(published[k], percent=True)
                                for k in ("train_accuracy", "valid_accuracy") if k in published)])
        numbers["arms"][label] = {"valid_accuracy": c.numbers(valid),
                                  "train_accuracy": c.numbers(train),
                                  "test_accuracy": c.numbers(test), "runs": c.counts(runs),
                                  "published": published}
    effects = [[name, diff_text(d)] for name, d in diffs.items()]
    series = {label: {seed: {"valid": c.budget_curve(r), "status": c.status(r)}
                      for seed, r in runs.items()} for label, runs in arms.items()}
    return c.Analysis(columns, rows, numbers, verdict, series,
                      {label: c.counts(r) for label, r in arms.items()},
                      extra_tables=(("Per-seed differences of validation accuracy (95 % t "
                                     "interval)", ["comparison", "difference"], effects),))


PANELS = (
    ("ReLU: initializer x learning rate", ("relu glorot lr=0.01", "relu glorot lr=0.001",
                                           "relu he lr=0.01", "relu he lr=0.001")),
    ("LeakyReLU(0.3) and ELU", ("leaky_relu glorot lr=0.01", "leaky_relu glorot lr=0.001",
                                "leaky_relu he lr=0.001", "elu glorot lr=0.01",
                                "elu glorot lr=0.001", "elu he lr=0.001")),
    ("sigmoid and tanh (glorot, lr 0.001)", ("sigmoid glorot lr=0.001", "tanh glorot lr=0.001")),
)


def draw(claim, analysis):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(len(PANELS))
    for ax, (title, labels) in zip(axes, PANELS):
        for label in labels:
            seeds_ = analysis.series.get(label) or {}
            diverged = {s for s, v in seeds_.items() if v["status"] == "diverged"}
            f.seed_curves(ax, label, {s: v["valid"] for s, v in seeds_.items()},
                          diverged=diverged)
        f.chance_line(ax, CHANCE)
        f.step_axis(ax)
        f.finish(ax, title, ylabel="validation accuracy")  # one y scale: 0 to 1
    figure.suptitle("Claim 2: 50-layer Fashion-MNIST MLP (each seed thin, mean ± sd band; "
                    "x: diverged)")
    return figure
