"""Claim 5: batch normalisation rescues deep sigmoid networks: with it, a deep sigmoid
network trains nearly as well as a ReLU one (seed 002, citing Ioffe and Szegedy 2015).

Runs: the deep MLP of claims 3, 4 and 10 with sigmoid (glorot_uniform) and ReLU (He),
each with and without a BatchNormalization between every Dense layer and its
activation, at SGD 0.05 ("as run") and at each arm's best learning rate ("tuned"). A
plain sigmoid started from 8 times larger weights, at its best rate, shows whether the
weight scale alone does what batch normalisation does (a finding).
"""

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims import deep
from actkeras.experiments.claims.presets import CHANCE, data_note, seeds_note
from actkeras.experiments.rules import AS_RUN, TUNED, protocol
from actkeras.experiments.spec import Claim

ID = 5
PROTOCOL = protocol(ID)
ARMS = ("sigmoid", "sigmoid + BN", "relu", "relu + BN")
RELU_ARMS = ("relu", "relu + BN")


def build(sizes, tuned):
    runs, waiting = deep.runs(sizes, ID, ARMS, tuned)
    scale, waiting_scale = deep.runs(sizes, ID, ("sigmoid x8",), tuned, settings=(TUNED,))
    return Claim(
        id=ID, title="Batch normalisation rescues deep sigmoid networks",
        statement="With batch normalisation, deep sigmoid networks train nearly as well as "
                  "ReLU ones.",
        quote="you CAN do deep learning with sigmoids, you just need to normalize the inputs, "
              "for example via Batch Normalization ... the sigmoid activation neural network "
              "does nearly on par with ReLUs",
        source="seed 002, citing Ioffe and Szegedy 2015",
        seed_file="seeds/002_971926e18ad6f5cd.txt",
        setup=f"The deep MLP of claim 3 ({sizes.deep_depth} hidden layers of 100 units, "
              f"{sizes.deep_epochs} epochs, SGD, batch 32) on Fashion-MNIST, "
              f"{data_note(sizes)}, with and without a BatchNormalization between each Dense "
              "layer and its activation; sigmoid with glorot_uniform, ReLU with he_normal; as "
              f"run (SGD 0.05) and each at its best learning rate; {seeds_note(sizes, PROTOCOL)}.",
        runs=tuple(runs) + tuple(scale),
        tuning=tuple(deep.searches(sizes, ARMS + ("sigmoid x8",)).values()),
        waiting=tuple(waiting + waiting_scale),
        notes=("No published counterpart: the seed cites Ioffe and Szegedy (2015), who "
               "trained an Inception network on ImageNet, not this MLP.",
               "'The better of ReLU and ReLU + BN' is the one with the higher mean validation "
               "accuracy in the setting: the harder of the two comparisons for sigmoid + BN."),
    )


METRICS = {"valid": c.VALID, "valid_last3": c.VALID_LAST3,
           "test": c.Metric(c.final("test_accuracy"), "pts", "final test accuracy")}


def _mean(runs):
    s = stats.summarize([c.metric(r, "valid_accuracy") for r in runs.values()
                         if c.status(r) == "ok"])
    return s.mean if s else float("-inf")


def roles(claim, results):
    out = {}
    for setting in (AS_RUN, TUNED):
        arms = {label: deep.arm_runs(claim, results, label, setting) for label in ARMS}
        best = max(RELU_ARMS, key=lambda label: _mean(arms[label]))
        arms["best relu"] = arms[best]
        out[setting] = arms
    out[TUNED]["sigmoid x8"] = deep.arm_runs(claim, results, "sigmoid x8", TUNED)
    return out


def numbers(claim, results):
    arms = roles(claim, results)
    labels = {}
    for setting, per in arms.items():
        best = next(label for label in RELU_ARMS if per[label] is per["best relu"])
        labels[(setting, "best relu")] = best
    out = c.settings_numbers(arms, METRICS, labels)
    out["best_relu"] = {setting: labels[(setting, "best relu")] for setting in arms}
    out["searches"] = c.search_numbers(claim, results)
    out["series"] = {setting: {label: {str(s): {"valid": c.budget_curve(r), "status": c.status(r)}
                                       for s, r in arms[setting][label].items()}
                               for label in ARMS} for setting in arms}
    return out


def findings(numbers):
    found = []
    for setting in (AS_RUN, TUNED):
        means = {label: stats.summarize(list(c.values_of(numbers, setting, label, "valid").values()))
                 for label in ARMS}
        ranked = sorted((a for a in means if means[a]), key=lambda a: -means[a].mean)
        if ranked:
            found.append(f"{setting}, mean validation accuracy, best first: " + " > ".join(
                f"{a} ({stats.fmt_summary(means[a], percent=True)})" for a in ranked))
    scale = stats.summarize(list(c.values_of(numbers, TUNED, "sigmoid x8", "valid").values()))
    plain = stats.summarize(list(c.values_of(numbers, TUNED, "sigmoid", "valid").values()))
    if scale:
        found.append(f"without batch normalisation, a sigmoid started from 8 x glorot_uniform "
                     f"weights at its best learning rate reaches {stats.fmt_summary(scale, percent=True)}"
                     + (f" (glorot_uniform: {stats.fmt_summary(plain, percent=True)})" if plain else "")
                     + ": what batch normalisation rescues is, in part, the initial weight scale")
    return found + c.search_findings(numbers)


def tables(numbers):
    rows = []
    for setting, per in (numbers.get("settings") or {}).items():
        for role in per:
            if role == "best relu":
                continue
            valid = c.values_of(numbers, setting, role, "valid")
            rows.append([setting, role, c.counts_cell(c.statuses_of(numbers, setting, role)),
                         c.seed_cell(valid), c.summary_cell(valid),
                         c.summary_cell(c.values_of(numbers, setting, role, "test"))])
    return [("Arms", ["setting", "arm", "runs", "validation per seed", "validation (mean ± sd)",
                      "test (mean ± sd)"], rows)]


def draw(claim, numbers, verdicts):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(3)
    for ax, setting in zip(axes, (AS_RUN, TUNED)):
        for label, seeds in ((numbers.get("series") or {}).get(setting) or {}).items():
            f.seed_curves(ax, label, {s: v["valid"] for s, v in seeds.items()},
                          diverged={s for s, v in seeds.items() if v["status"] == "diverged"})
        f.chance_line(ax, CHANCE)
        f.step_axis(ax)
        f.finish(ax, f"validation accuracy, {setting}")
    f.parts_panel(axes[2], verdicts)
    figure.suptitle("Claim 5: deep MLP with and without batch normalisation (each seed thin, "
                    "mean ± sd band)")
    return figure
