"""Claim 5: batch normalisation rescues deep sigmoid networks: with it, a deep sigmoid
network trains nearly as well as a ReLU one.

Runs: the shared deep MLP of claims 3, 4 and 10 (20 hidden layers of 100 units in the
full preset) with sigmoid and ReLU, each with and without a BatchNormalization between
every Dense layer and its activation; scored at fixed step budgets.
Measurement: final validation accuracy.
Judge: (a) sigmoid + BN - sigmoid, per seed, clearly above 5 points (categorically when
the plain sigmoid never trained and sigmoid + BN always did); (b) sigmoid + BN is nearly
as good as the best ReLU arm (the one of ReLU and ReLU + BN with the higher mean):
non-inferiority (one side of TOST) with a 2-point margin, paired by seed.
"""

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.sizes import (
    CHANCE,
    data_note,
    deep_description,
    deep_runs,
    reason,
    seeds_note,
)
from actkeras.experiments.judging import combine
from actkeras.experiments.spec import Claim

ID = 5
LABELS = ("sigmoid", "sigmoid + BN", "relu", "relu + BN")
RELU_ARMS = ("relu", "relu + BN")
# Five points for "rescues": a rescue takes a network from chance (about 10 %) to
# training (about 85 % in the first full run); 5 points is more than twice the largest
# seed-to-seed sd of a trained arm there (2.1 points, sigmoid + BN) and far below a
# rescue, so a smaller gain is not one.
RESCUE = 0.05
# Two points for "nearly as well": about the seed-to-seed sd of sigmoid + BN's accuracy
# in the first full run (2.1 points) and of the spread between the trained arms there
# (84.7-85.1 %); a shortfall under 2 points would not make anyone pick ReLU over it.
NEARLY = 0.02

VALID = c.final("valid_accuracy")

RULE = (
    "Final validation accuracy, per seed. Parts: (a) batch normalisation rescues the deep "
    "sigmoid network: the per-seed difference sigmoid + BN - sigmoid has a 95 % t interval "
    f"above {RESCUE:.0%} ({100 * RESCUE:g} points) (holds), at or below it (fails), or "
    "straddling it (inconclusive); when every plain-sigmoid seed stayed at chance and every "
    "sigmoid + BN seed trained, it holds on that alone; (b) with it, sigmoid trains nearly as "
    "well as ReLU: against the ReLU arm (with or without BN) with the higher mean validation "
    "accuracy, the per-seed difference sigmoid + BN - ReLU has the lower bound of its 90 % "
    f"interval above -{100 * NEARLY:g} points (one side of TOST at 5 %: holds), the upper "
    f"bound at or below -{100 * NEARLY:g} points (fails), otherwise inconclusive. Diverged runs "
    "and runs at chance are left out of the pairs and counted. Both hold: reproduced; both "
    "fail: not reproduced; one each way: mixed; otherwise inconclusive."
)


def build(sizes):
    notes = [f"Depth {sizes.deep_depth}, {sizes.deep_epochs} epoch(s): "
             + reason("deep_epochs", sizes),
             f"{seeds_note(sizes)}: " + reason("seeds", sizes)]
    if sizes.deep_depth < 20:
        notes.append(f"Shallower than the full run: {sizes.deep_depth} hidden layers, not 20 "
                     "(a smoke test: a shallow sigmoid network may train without BN).")
    notes.append("No published counterpart: the seed cites Ioffe and Szegedy (2015), who "
                 "trained an Inception network on ImageNet, not this MLP.")
    return Claim(
        id=ID, title="Batch normalisation rescues deep sigmoid networks",
        statement="With batch normalisation, deep sigmoid networks train nearly as well as "
                  "ReLU ones.",
        source="seed 002, citing Ioffe and Szegedy 2015",
        seed_file="seeds/002_971926e18ad6f5cd.txt",
        setup=f"The deep MLP of claim 3 ({deep_description(sizes)}) on Fashion-MNIST, "
              f"{data_note(sizes)}, with and without a BatchNormalization between each Dense "
              "layer and its activation; sigmoid with glorot_uniform, ReLU with he_normal; "
              f"{seeds_note(sizes)}.",
        runs=deep_runs(sizes, ID, LABELS),
        notes=tuple(notes),
    )


# --- judge ------------------------------------------------------------------------------------

def best_relu(arms):
    """The ReLU arm (of `RELU_ARMS`) with the higher mean final validation accuracy over
    its ok runs that trained, or `None` if neither has one."""
    means = {}
    for label in RELU_ARMS:
        s = stats.summarize(list(c.values(arms.get(label, {}), VALID, False).values()))
        if s is not None:
            means[label] = s.mean
    return max(means, key=means.get) if means else None


def judge(arms):
    """Pure: `arms` is `{label: {seed: result}}` with the labels of `LABELS`.

    Returns `(Verdict, {name: Difference dict})`."""
    sigmoid, bn = arms.get("sigmoid", {}), arms.get("sigmoid + BN", {})
    parts, diffs, findings = [], {}, []
    part, diff = c.compare(
        f"batch normalisation rescues the deep sigmoid network (sigmoid + BN beats sigmoid "
        f"by more than {100 * RESCUE:g} points)", bn, sigmoid, VALID, RESCUE,
        names=("sigmoid + BN", "sigmoid"))
    parts.append(part)
    diffs["sigmoid + BN - sigmoid"] = diff.to_dict() if diff else None
    best = best_relu(arms)
    if best is None:
        from actkeras.experiments.judging import Part

        parts.append(Part("with it, sigmoid trains nearly as well as the best ReLU arm",
                          stats.INCONCLUSIVE, "no ReLU arm has a run that trained"))
    else:
        part, diff = c.compare(
            f"with it, sigmoid trains nearly as well as the best ReLU arm ({best}): at most "
            f"{100 * NEARLY:g} points below it", bn, arms.get(best, {}), VALID, NEARLY,
            decide=stats.at_least, names=("sigmoid + BN", best))
        parts.append(part)
        diffs[f"sigmoid + BN - {best}"] = diff.to_dict() if diff else None
        findings.append(f"the best ReLU arm (higher mean validation accuracy) is {best!r}")
        other = next(label for label in RELU_ARMS if label != best)
        if arms.get(other):
            o_part, o_diff = c.compare("", bn, arms[other], VALID, NEARLY,
                                       decide=stats.at_least, names=("sigmoid + BN", other))
            diffs[f"sigmoid + BN - {other}"] = o_diff.to_dict() if o_diff else None
            findings.append(f"against {other!r} instead: nearly as well {o_part.outcome}; "
                            f"{o_part.detail}")
    means = {label: stats.summarize(list(c.values(runs, VALID).values()))
             for label, runs in arms.items()}
    ranked = sorted((a for a in means if means[a]), key=lambda a: -means[a].mean)
    if ranked:
        findings.append("mean validation accuracy, best first: " + " > ".join(
            f"{a} ({stats.fmt_summary(means[a], percent=True)})" for a in ranked))
    verdict = combine(parts, RULE, findings, would_change=(
        f"a sigmoid + BN gain whose interval reached down to {100 * RESCUE:g} points (e.g. a "
        "plain sigmoid seed that trained), or a 90 % interval of sigmoid + BN - best ReLU "
        f"reaching down to -{100 * NEARLY:g} points (more seeds narrow it; a shortfall of more "
        "than 2 points would make it fail)"))
    return verdict, diffs


# --- analysis and figure ----------------------------------------------------------------------

def arm_runs(claim, results, labels=LABELS):
    """`{label: {seed: result}}` of this claim's deep-MLP arms."""
    return c.deep_arm_runs(claim, results, labels)


def analyze(claim, results):
    arms = arm_runs(claim, results)
    verdict, diffs = judge(arms)
    columns = ["arm", "runs", "validation accuracy per seed", "validation (mean ± sd)",
               "train accuracy (mean ± sd)", "test accuracy (mean ± sd)"]
    rows, numbers = [], {"differences": diffs, "arms": {}, "best_relu": best_relu(arms)}
    for label, runs in arms.items():
        valid = c.values(runs, VALID)
        train = c.values(runs, c.final("train_accuracy"))
        test = c.values(runs, c.final("test_accuracy"))
        rows.append([label, c.counts_text(c.counts(runs)), c.seed_cell(valid),
                     c.summary_cell(valid), c.summary_cell(train), c.summary_cell(test)])
        numbers["arms"][label] = {"valid_accuracy": c.numbers(valid),
                                  "train_accuracy": c.numbers(train),
                                  "test_accuracy": c.numbers(test), "runs": c.counts(runs)}
    series = {label: {seed: {"valid": c.budget_curve(r), "status": c.status(r),
                             "final": c.metric(r, "valid_accuracy")}
                      for seed, r in runs.items()} for label, runs in arms.items()}
    return c.Analysis(columns, rows, numbers, verdict, series,
                      {label: c.counts(r) for label, r in arms.items()})


def draw(claim, analysis):
    from actkeras.experiments import figures as f

    figure, (left, right) = f.new_figure(2)
    colors = {}
    for label in LABELS:
        seeds = analysis.series.get(label) or {}
        diverged = {s for s, v in seeds.items() if v["status"] == "diverged"}
        colors[label] = f.seed_curves(left, label, {s: v["valid"] for s, v in seeds.items()},
                                      diverged=diverged)
    f.chance_line(left, CHANCE)
    f.step_axis(left)
    f.finish(left, "validation accuracy during training", ylabel="validation accuracy")
    finals = {label: {s: v["final"] for s, v in (analysis.series.get(label) or {}).items()
                      if v["status"] == "ok" and v.get("final") is not None}
              for label in LABELS}
    f.seed_points(right, finals, "final validation accuracy", reference=CHANCE, percent=True)
    right.set_title("final validation accuracy (each seed a dot; dashed: chance)")
    figure.suptitle("Claim 5: deep MLP with and without batch normalisation (each seed thin, "
                    "mean ± sd band; x: diverged)")
    return figure
