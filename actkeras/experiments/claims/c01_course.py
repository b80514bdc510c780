"""Claim 1: with the course's one-hidden-layer network on notMNIST, ReLU hidden units give
better train and validation accuracy than sigmoid and softmax hidden units (seed 003).

Runs: the course network (784-1024-10, stddev-1 weights, SGD, batch 128, 3,001 steps)
per activation: at the course's SGD 0.5 ("as run") and, for the three compared
activations, at each one's best learning rate ("tuned", from a Keras Tuner grid search).
Measurement: final validation accuracy (and, as the alternative aggregate, its mean over
the last three budgets); training accuracy as the course's code reads it, on each training
minibatch in the step that trains on it (its `train_prediction`; Keras's compiled
accuracy), averaged over every step of the course's own budget of 1.92 epochs (the
alternative: the whole training split scored at the budget's last step), since by the end
every network fits our smaller training split.
"""

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.presets import (
    CHANCE,
    COURSE_EPOCHS,
    data_note,
    seeds_note,
)
from actkeras.experiments.claims.runs import best_rate, small_grid, tune_run, udacity_run
from actkeras.experiments.rules import AS_RUN, TUNED, protocol
from actkeras.experiments.spec import Claim

ID = 1
PROTOCOL = protocol(ID)
COMPARED = ("relu", "sigmoid", "softmax")
OTHERS = ("tanh", "leaky_relu", "elu")
COURSE_RATE = 0.5

WHY_DIFFERENT = (
    "Why our accuracies differ from the published ones: the course trained on 200,000 "
    "notMNIST_large images for 1.9 epochs and validated on 10,000 more large images; "
    "this reproduction has only notMNIST_small (the shared data), split 80/10/10 after "
    "removing exact and near-duplicates, so 3,001 steps are about 26 epochs of a "
    "14,000-image training split (every network fits it almost perfectly) and the "
    "validation images come from the small archive, not the large one. The numbers are "
    "comparable between our arms, not with the published ones."
)


def grid(sizes):
    full = PROTOCOL.params["grid"]
    return full if sizes.tune_grids else small_grid(full, COURSE_RATE)


def searches(sizes):
    """The learning-rate searches, `{activation: tune RunSpec}` (shared with claims 9, 10)."""
    return {a: tune_run(udacity_run(sizes, ID, a, a, 0), grid(sizes), f"{a} (search)")
            for a in COMPARED}


def course_runs(sizes, tuned, claim=ID, protocol_=PROTOCOL, activations=COMPARED,
                others=OTHERS):
    """The course runs "as run" and at each searched rate (claims 1, 7, 9 and 10 list
    them), and the names of the arms still waiting for their search."""
    runs = [udacity_run(sizes, claim, a, a, s) for a in activations
            for s in sizes.seeds(protocol_, "judged")]
    runs += [udacity_run(sizes, claim, a, a, s) for a in others
             for s in sizes.seeds(protocol_, "other")]
    waiting = []
    for a, search in searches(sizes).items():
        if a not in activations:
            continue
        rate = best_rate(tuned, search)
        if rate is None:
            waiting.append(f"{a} {TUNED}")
            continue
        runs += [udacity_run(sizes, claim, f"{a} {TUNED}", a, s, learning_rate=rate,
                             tuned_from=search.run_id)
                 for s in sizes.seeds(protocol_, "judged")]
    return tuple(runs), tuple(waiting)


def build(sizes, tuned):
    notes = []
    if sizes.udacity_steps < 3001:
        notes.append(f"Shortened from 3,001 to {sizes.udacity_steps} steps.")
    if sizes.source != "embedded":
        notes.append(WHY_DIFFERENT)
    runs, waiting = course_runs(sizes, tuned)
    return Claim(
        id=ID, title="ReLU vs sigmoid vs softmax hidden units",
        statement="With the course's one-hidden-layer network on notMNIST, ReLU hidden "
                  "units give the best train and validation accuracy against sigmoid and "
                  "softmax hidden units.",
        quote="Relu gives the best train accuracy & validation accuracy (translated from "
              "the question)",
        source="seed 003 (course assignment 2)",
        seed_file="seeds/003_e80752f7a2b21320.txt",
        setup=f"`udacity` preset (784-1024-10, truncated normal stddev 1, SGD, batch 128) "
              f"for {sizes.udacity_steps} steps on notMNIST, {data_note(sizes)}; "
              f"{seeds_note(sizes, PROTOCOL)}; tanh, LeakyReLU(0.3) and ELU added as "
              f"findings ({len(sizes.seeds(PROTOCOL, 'other'))} seeds). As run: SGD 0.5, as "
              f"the course. Tuned: each of ReLU, sigmoid and softmax at its best of "
              f"{len(grid(sizes))} learning rates ({', '.join(f'{r:g}' for r in grid(sizes))}). "
              f"Training accuracy is read as the course's code reads it (`train_prediction`: "
              f"each training minibatch, in the step that trains on it), over every step of "
              f"the course's {COURSE_EPOCHS:.2f} epochs, and on the whole training split at "
              f"their end.",
        runs=runs, tuning=tuple(searches(sizes).values()), waiting=waiting,
        published={"relu": {"valid_accuracy": "81.4–81.7 %", "test_accuracy": "87.8–89.1 %"}},
        published_source="public re-runs of the assignment (tensorflow/examples/udacity, "
                         "2_fullyconnected.ipynb; trained on "
                         "200,000 notMNIST_large images, 3,001 steps)",
        notes=tuple(notes),
    )


# --- measurement ----------------------------------------------------------------------------

def window(result):
    """The budget step at which the whole training split was scored (the course's budget)."""
    steps = [r["step"] for r in (result or {}).get("budgets") or [] if "train_accuracy" in r]
    return max(steps) if steps else None


def train_budget_mean(result):
    """Mean training accuracy over every step of the course's budget, as the course's code
    reads it: each step's own minibatch scored in that step, before its update, the
    minibatches of every step from the first to the budget's last (`minibatch_accuracy`
    at the window's end, `BudgetEvaluator`)."""
    end = window(result)
    for record in (result or {}).get("budgets") or []:
        if record["step"] == end and record.get("minibatch_accuracy") is not None:
            return float(record["minibatch_accuracy"])
    return None


def train_at_budget(result):
    """Training accuracy at the course's budget (its last scored step)."""
    points = [r["train_accuracy"] for r in (result or {}).get("budgets") or []
              if r.get("train_accuracy") is not None]
    return points[-1] if points else None


METRICS = {
    "valid": c.VALID,
    "valid_last3": c.VALID_LAST3,
    "train_budget_mean": c.Metric(train_budget_mean, "pts", "training accuracy on the "
                                  "minibatches, mean over every step of the course's 1.92-epoch "
                                  "budget", chance=0.1),
    "train_at_budget": c.Metric(train_at_budget, "pts", "training accuracy on the whole training "
                                "split at the end of the course's budget", chance=0.1),
    "test": c.Metric(c.final("test_accuracy"), "pts", "final test accuracy", chance=0.1),
    "train_end": c.Metric(c.final("train_accuracy"), "pts", "final training accuracy"),
}


def roles(claim, results):
    return {AS_RUN: {a: c.runs_labelled(claim, results, a) for a in COMPARED + OTHERS},
            TUNED: {a: c.runs_labelled(claim, results, f"{a} {TUNED}") for a in COMPARED}}


def numbers(claim, results):
    arms = roles(claim, results)
    out = c.settings_numbers(arms, METRICS)
    out["searches"] = c.search_numbers(claim, results)
    out["series"] = {setting: {a: {str(s): {"valid": c.budget_curve(r),
                                            "train": c.budget_curve(r, "minibatch_accuracy"),
                                            "status": c.status(r)}
                                   for s, r in runs.items()} for a, runs in per.items()}
                     for setting, per in arms.items()}
    out["window"] = next((window(r) for per in arms.values() for runs in per.values()
                          for r in runs.values() if window(r)), None)
    out["steps"] = max((r["config"]["steps"] for runs in arms[AS_RUN].values()
                        for r in runs.values() if (r.get("config") or {}).get("steps")),
                       default=None)  # what the runs trained: 3,001 in the full preset
    return out


def findings(numbers):
    found = []
    means = {a: stats.summarize(list(c.values_of(numbers, AS_RUN, a, "valid").values()))
             for a in COMPARED + OTHERS}
    ranked = sorted((a for a in means if means[a]), key=lambda a: -means[a].mean)
    if ranked:
        found.append("as run, mean validation accuracy, best first: " + " > ".join(
            f"{a} {100 * means[a].mean:.1f} %" for a in ranked))
    ends = {a: stats.summarize(list(c.values_of(numbers, AS_RUN, a, "train_end").values()))
            for a in COMPARED + OTHERS}
    saturated = [a for a, s in ends.items() if s and s.mean >= 0.98]
    if saturated:
        length = f" ({numbers['steps']:,} steps)" if numbers.get("steps") else ""
        found.append(f"at the end of training{length}, training accuracy is at or above "
                     f"98 % for {', '.join(saturated)}: the gap there is generalisation, not "
                     "trainability, which is why training accuracy is judged within the "
                     "course's budget")
    found += c.search_findings(numbers)
    return found


def tables(numbers):
    columns = ["setting", "activation", "runs", "learning rate", "validation per seed",
               "validation (mean ± sd)", "train accuracy (minibatches), mean over the budget",
               "train accuracy at the end", "test accuracy"]
    rows = []
    best = {label.split(" ")[0]: s.get("best") for label, s in (numbers.get("searches") or {}).items()}
    for setting, per in (numbers.get("settings") or {}).items():
        for role in per:
            valid = c.values_of(numbers, setting, role, "valid")
            rate = COURSE_RATE if setting == AS_RUN else best.get(role)
            rows.append([setting, role, c.counts_cell(c.statuses_of(numbers, setting, role)),
                         f"{rate:g}" if rate else "–", c.seed_cell(valid), c.summary_cell(valid),
                         c.summary_cell(c.values_of(numbers, setting, role, "train_budget_mean")),
                         c.summary_cell(c.values_of(numbers, setting, role, "train_end")),
                         c.summary_cell(c.values_of(numbers, setting, role, "test"))])
    out = [("Arms", columns, rows)]
    searches_ = c.search_table(numbers)
    if searches_:
        out.append(searches_)
    return out


def draw(claim, numbers, verdicts):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(3)
    series = numbers.get("series") or {}
    for ax, key, what in ((axes[0], "valid", "validation accuracy"),
                          (axes[1], "train", "training accuracy on the minibatches, mean "
                                             "from step 0")):
        colors = {}
        for setting, style in ((AS_RUN, "-"), (TUNED, "--")):
            for arm, seeds in (series.get(setting) or {}).items():
                if arm not in COMPARED:
                    continue
                curves = {s: v[key] for s, v in seeds.items()}
                colors[arm] = f.seed_curves(ax, f"{arm} ({setting})", curves,
                                            color=colors.get(arm), linestyle=style,
                                            diverged={s for s, v in seeds.items()
                                                      if v["status"] == "diverged"})
        f.chance_line(ax, CHANCE)
        f.step_axis(ax)
        if numbers.get("window"):
            f.judged_step(ax, numbers["window"], "end of the course's budget")
        f.finish(ax, f"Claim 1: {what}", ylabel=what)
    axes[1].set_xlim(0, (numbers.get("window") or 250) * 1.1)
    axes[1].set_xscale("linear")
    f.parts_panel(axes[2], verdicts)
    figure.suptitle("Course network on notMNIST (solid: SGD 0.5; dashed: each at its best "
                    "rate; each seed thin, mean ± sd band)")
    return figure
