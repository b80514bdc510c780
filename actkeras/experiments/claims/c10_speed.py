"""Claim 10: ReLU networks reach a given accuracy in fewer steps than sigmoid ones.

Runs: ReLU and sigmoid in two setups, both shared with other claims and trained once:
the course network of claim 1 (784-1024-10 on notMNIST) and the deep MLP of claims 3-5
(20 hidden layers of 100 units on Fashion-MNIST in the full preset). Every run scores
the whole validation split at fixed step budgets: step 0, every 10 steps to 200, then
about four budgets a decade.
Measurement: per seed, the normalised area under the validation-accuracy curve over
the budgets, on the axis log10(step + 10) (trapezoid rule; the mean accuracy over
log-time, in accuracy units); steps to a target, read at the budgets, as a finding.
Judge: per setup, ReLU's area minus sigmoid's per seed, 95 % t interval against one
point. A setup in which one arm never leaves chance is "did not train", not "slower":
it is reported, and is not a part of the verdict.
"""

import math
from dataclasses import replace

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims.sizes import (
    CHANCE,
    REASONS,
    data_note,
    deep_description,
    deep_runs,
    reason,
    seeds,
    seeds_note,
    udacity_run,
)
from actkeras.experiments.judging import Part, combine
from actkeras.experiments.spec import Claim

ID = 10
ARMS = ("relu", "sigmoid")
# The two setups, selected by structured fields of the run spec (`preset`).
SETUPS = {"course": "udacity", "deep": "mlp"}
SETUP_NAMES = {"course": "course network (notMNIST)", "deep": "deep MLP (Fashion-MNIST)"}
# The area's axis: log10(step + 10). "Fewer steps" is a ratio (twice as fast at step 50
# is twice as fast at step 5,000), and on a log axis a constant speed-up moves the curve
# by a constant distance, so every decade of training weighs the same and the early
# steps, where speed shows, are not drowned by the long plateau at the end. The offset
# of 10 steps is the budgets' finest spacing (one group of `steps_per_execution`), so
# step 0 is on the axis.
OFFSET = 10
# One point of accuracy for the area (a mean accuracy over log-time): the margin of
# claim 1 for the same network, below which nobody would pick one activation over the
# other, and about twice the seed-to-seed sd of final validation accuracy there.
MARGIN = 0.01
# The target for steps-to-target (a finding, not a part): 90 % of the best arm's mean
# final validation accuracy in the setup, i.e. "near the end of training" for the arm
# that learns best; read at the budgets, never interpolated.
TARGET_SHARE = 0.9

RULE = (
    "Per setup and seed, the validation accuracy at the fixed step budgets (step 0, every "
    "10 steps to 200, then about four a decade) is summarised by its normalised area: the "
    f"trapezoid rule on the axis log10(step + {OFFSET}), divided by the axis length, i.e. "
    "the mean accuracy over log-time (every decade of training weighs the same, as "
    "'fewer steps' is a ratio), up to the last budget every run of the setup reached. A "
    "setup's part holds when the 95 % t interval of the per-seed difference ReLU - sigmoid "
    f"lies above {MARGIN * 100:g} point, fails when it lies at or below it, and is "
    "inconclusive when it straddles it. Diverged runs are left out and counted; a seed in "
    f"which either arm never leaves chance (every budget below {c.STUCK:.0%}) is left out "
    "of the pairs and counted. A setup in which every run of one arm never leaves chance "
    "is reported as 'did not train' and is not a part: a network that does not learn has "
    "no speed, so it is no evidence that it is slower (nor that it is not). Steps to a "
    f"target ({TARGET_SHARE:.0%} of the best arm's mean final accuracy, the first budget "
    "at which a run reaches it) are reported beside it. All parts hold: reproduced; all "
    "fail: not reproduced; some each way: mixed; otherwise (or no part): inconclusive."
)


def build(sizes):
    course = tuple(udacity_run(sizes, ID, f"{a} (course)", a, seed)
                   for a in ARMS for seed in seeds(sizes))
    deep = tuple(replace(spec, label=f"{spec.label} (deep)")
                 for spec in deep_runs(sizes, ID, ARMS))
    seeds_reason = reason("seeds", sizes)
    notes = [f"{seeds_note(sizes)}: {seeds_reason}"]
    if sizes.udacity_steps < 3001:
        notes.append(f"Course network shortened from 3,001 to {sizes.udacity_steps} steps "
                     f"(the {sizes.name} preset).")
    else:
        notes.append("Course network: " + REASONS["udacity_steps"])
    deep_reason = reason("deep_epochs", sizes)
    notes.append(f"Deep MLP, {sizes.deep_depth} hidden layers and {sizes.deep_epochs} "
                 f"epoch(s): {deep_reason}")
    notes.append("The runs are claim 1's (course) and claims 3-5's (deep) with the same "
                 "content, trained once; the labels here are display only.")
    return Claim(
        id=ID, title="Convergence speed",
        statement="ReLU networks reach a given accuracy in fewer steps than sigmoid ones.",
        source="seed 002 (citing Krizhevsky et al. 2012)",
        seed_file="seeds/002_971926e18ad6f5cd.txt",
        setup=f"Validation accuracy on the whole validation split at fixed step budgets, "
              f"ReLU against sigmoid, in two setups: the course network of claim 1 "
              f"(`udacity` preset, SGD 0.5, batch 128, {sizes.udacity_steps} steps on "
              f"notMNIST) and the deep MLP of claims 3-5 ({deep_description(sizes)}, He "
              f"initialisation for ReLU, glorot_uniform for sigmoid, on Fashion-MNIST); "
              f"{data_note(sizes)}; {seeds_note(sizes)}.",
        runs=course + deep,
        notes=tuple(notes),
    )


# --- measurement ------------------------------------------------------------------------

def curve(result):
    """`[(step, validation accuracy)]` of a run's budgets, finite values only."""
    steps, vals = c.budget_curve(result)
    return [(int(s), float(v)) for s, v in zip(steps, vals)
            if s is not None and v is not None and math.isfinite(float(v))]


def never_left_chance(result):
    """A finished run whose validation accuracy stayed below `STUCK` at every budget
    (and at the end)."""
    if c.status(result) != "ok":
        return False
    points = [v for _, v in curve(result)]
    final = c.metric(result, "valid_accuracy")
    if final is not None:
        points.append(final)
    return bool(points) and max(points) < c.STUCK


def area(points, horizon):
    """Normalised trapezoid area of `[(step, accuracy)]` up to `horizon` on the axis
    log10(step + OFFSET); `None` without two points or if the curve stops short."""
    if not points or points[-1][0] < horizon:
        return None  # stopped short of the horizon
    pts = [(math.log10(s + OFFSET), v) for s, v in points if s <= horizon]
    if len(pts) < 2:
        return None
    width = pts[-1][0] - pts[0][0]
    if width <= 0:
        return None
    total = sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(pts, pts[1:]))
    return total / width


def final_accuracy(result):
    """Final validation accuracy: the metric, else the last budget."""
    value = c.metric(result, "valid_accuracy")
    if value is None:
        pts = curve(result)
        value = pts[-1][1] if pts else None
    return value


def steps_to(result, target):
    """The first budget step at which the run's validation accuracy reaches `target`
    (`None`: never)."""
    for step, value in curve(result):
        if value >= target:
            return step
    return None


def horizon(runs_by_arm):
    """The last budget every ok run of the setup reached (`None` if none)."""
    ends = [curve(r)[-1][0] for runs in runs_by_arm.values() for r in runs.values()
            if c.status(r) == "ok" and curve(r)]
    return min(ends) if ends else None


# --- judge ------------------------------------------------------------------------------

def judge_setup(name, arms, margin=MARGIN):
    """`(Part or None, findings, numbers)` for one setup: `arms` is `{"relu": {seed:
    result}, "sigmoid": {...}}`. `Part` is `None` when an arm did not train."""
    relu, sigmoid = arms.get("relu", {}), arms.get("sigmoid", {})
    title = SETUP_NAMES.get(name, name)
    text = f"ReLU's validation accuracy rises faster than sigmoid's ({title})"
    findings, numbers = [], {}
    cnt = {a: c.counts(runs) for a, runs in (("ReLU", relu), ("sigmoid", sigmoid))}
    stuck = {a: {s for s, r in runs.items() if never_left_chance(r)}
             for a, runs in (("ReLU", relu), ("sigmoid", sigmoid))}
    end = horizon(arms)
    numbers["horizon"] = end
    finals = {a: stats.summarize([final_accuracy(r) for s, r in runs.items()
                                  if c.status(r) == "ok"])
              for a, runs in (("ReLU", relu), ("sigmoid", sigmoid))}
    best = max((s.mean for s in finals.values() if s), default=None)
    if best is not None:
        target = TARGET_SHARE * best
        numbers["target"] = target
        numbers["steps_to_target"] = {}
        texts = []
        for arm, runs in (("ReLU", relu), ("sigmoid", sigmoid)):
            reached = {s: steps_to(r, target) for s, r in runs.items() if c.status(r) == "ok"}
            numbers["steps_to_target"][arm] = {str(s): v for s, v in sorted(reached.items())}
            got = sorted(v for v in reached.values() if v is not None)
            median = got[len(got) // 2] if got else None
            texts.append(f"{arm} {len(got)} of {len(reached)} seeds"
                         + (f" (median step {median})" if median is not None else ""))
        findings.append(f"{title}: steps to {100 * target:.1f} % ({TARGET_SHARE:.0%} of the "
                        "best arm's mean final accuracy, first budget reaching it): "
                        + "; ".join(texts))
    for arm, runs in (("ReLU", relu), ("sigmoid", sigmoid)):
        ok = cnt[arm]["ok"]
        if ok and len(stuck[arm]) == ok:
            other = "sigmoid" if arm == "ReLU" else "ReLU"
            other_trained = cnt[other]["ok"] - len(stuck[other])
            findings.append(
                f"{title}: {arm} did not train ({len(stuck[arm])} of {cnt[arm]['n']} seeds "
                f"never left chance; {other} trained in {other_trained} of "
                f"{cnt[other]['n']}): not evidence of 'slower', so no speed part for this "
                "setup")
            numbers["did_not_train"] = arm
            return None, findings, numbers
    areas = {}
    for arm, runs in (("ReLU", relu), ("sigmoid", sigmoid)):
        areas[arm] = {s: a for s, r in runs.items()
                      if c.status(r) == "ok" and s not in stuck["ReLU"] | stuck["sigmoid"]
                      and (a := area(curve(r), end)) is not None} if end is not None else {}
    diff = stats.paired(areas["ReLU"], areas["sigmoid"])
    notes = []
    for arm in ("ReLU", "sigmoid"):
        lost = [f"{cnt[arm][k]} {w}" for k, w in (("diverged", "diverged"),
                                                  ("failed", "failed")) if cnt[arm][k]]
        if stuck[arm]:
            lost.append(f"{len(stuck[arm])} never left chance")
        if lost:
            notes.append(f"{arm}: {', '.join(lost)} of {cnt[arm]['n']} left out")
    detail = (f"area (mean accuracy over log-time, to step {end}) ReLU - sigmoid "
              f"{stats.fmt_diff(diff, percent=True)}; margin {margin * 100:g} pts")
    if notes:
        detail += "; " + "; ".join(notes)
    part = Part(text, stats.greater(diff, margin), detail)
    numbers["area"] = {a: c.numbers(v) for a, v in areas.items()}
    numbers["difference"] = diff.to_dict() if diff else None

    # Finding: at how many budgets ReLU leads, per seed.
    lead, pairs = [], 0
    for seed in sorted(set(relu) & set(sigmoid)):
        if seed in stuck["ReLU"] | stuck["sigmoid"]:
            continue
        if c.status(relu[seed]) != "ok" or c.status(sigmoid[seed]) != "ok":
            continue
        a, b = dict(curve(relu[seed])), dict(curve(sigmoid[seed]))
        shared = [s for s in a if s in b and s > 0]
        if shared:
            pairs += 1
            lead.append((sum(a[s] > b[s] for s in shared), len(shared)))
    if lead:
        everywhere = sum(k == n for k, n in lead)
        findings.append(f"{title}: ReLU's validation accuracy is above sigmoid's at every "
                        f"budget after step 0 in {everywhere} of {pairs} seeds (budgets led: "
                        + ", ".join(f"{k}/{n}" for k, n in lead) + ")")
    return part, findings, numbers


def judge(setups, margin=MARGIN):
    """Pure: `setups` is `{setup name: {"relu": {seed: result}, "sigmoid": {...}}}`."""
    parts, findings, numbers = [], [], {}
    for name, arms in setups.items():
        part, found, nums = judge_setup(name, arms, margin)
        if part is not None:
            parts.append(part)
        findings += found
        numbers[name] = nums
    if not parts and setups:
        findings.append("no setup in which both arms trained: speed cannot be compared")
    verdict = combine(parts, RULE, findings, would_change=(
        f"in a setup where both arms train, ReLU's lead in area reaching down to "
        f"{margin * 100:g} point or below (a lead under one point would make it fail); a "
        "sigmoid that trained in the deep MLP would add a part there"))
    return verdict, numbers


# --- analysis ---------------------------------------------------------------------------

def arms_of(claim, results):
    return {name: {a: c.runs_where(claim, results, preset=preset, activation=a)
                   for a in ARMS}
            for name, preset in SETUPS.items()}


TABLE_STEPS = (10, 50, 100, 200, 1000, 3000, 8000)


def analyze(claim, results):
    setups = arms_of(claim, results)
    verdict, numbers = judge(setups)
    columns = ["setup", "arm", "runs", "area per seed", "area (mean ± sd)",
               "steps to target per seed", "final validation (mean ± sd)", "never left chance"]
    rows, series, budget_rows = [], {}, []
    for name, arms in setups.items():
        nums = numbers.get(name, {})
        end, target = nums.get("horizon"), nums.get("target")
        series[name] = {"target": target, "arms": {}}
        for arm, runs in arms.items():
            key = "ReLU" if arm == "relu" else "sigmoid"
            ok = {s: r for s, r in runs.items() if c.status(r) == "ok"}
            areas = ({s: a for s, r in ok.items()
                      if (a := area(curve(r), end)) is not None} if end is not None else {})
            steps = (nums.get("steps_to_target") or {}).get(key, {})
            finals = c.values(runs, final_accuracy)
            rows.append([SETUP_NAMES[name], arm, c.counts_text(c.counts(runs)),
                         c.seed_cell(areas), c.summary_cell(areas),
                         ", ".join("never" if v is None else str(v)
                                   for _, v in sorted(steps.items())) or "–",
                         c.summary_cell(finals),
                         f"{sum(never_left_chance(r) for r in runs.values())} of {len(runs)}"])
            series[name]["arms"][arm] = {s: {"curve": c.budget_curve(r), "status": c.status(r)}
                                         for s, r in runs.items()}
            row = [SETUP_NAMES[name], arm]
            for step in TABLE_STEPS:
                at = [dict(curve(r)).get(step) for r in ok.values()]
                row.append(stats.fmt_summary(stats.summarize([v for v in at if v is not None]),
                                             percent=True))
            budget_rows.append(row)
    extra = (("Validation accuracy at fixed budgets (mean ± sd over seeds)",
              ["setup", "arm"] + [f"step {s:,}" for s in TABLE_STEPS], budget_rows),)
    runs = {f"{a} ({n})": c.counts(r) for n, arms in setups.items() for a, r in arms.items()}
    return c.Analysis(columns, rows, numbers, verdict, series, runs, extra)


def draw(claim, analysis):
    from actkeras.experiments import figures as f

    series = analysis.series or {}
    setups = [n for n, s in series.items() if any(s.get("arms", {}).values())]
    if not setups:
        return None
    figure, axes = f.new_figure(len(setups))
    for ax, name in zip(axes, setups):
        for arm, seeds_ in series[name]["arms"].items():
            diverged = {s for s, v in seeds_.items() if v["status"] == "diverged"}
            f.seed_curves(ax, arm, {s: v["curve"] for s, v in seeds_.items()},
                          diverged=diverged)
        f.chance_line(ax, CHANCE)
        target = series[name].get("target")
        if target is not None:
            ax.axhline(target, color="grey", linestyle=":", linewidth=0.8,
                       label=f"target {100 * target:.0f} %")
        f.step_axis(ax)
        f.finish(ax, f"Claim 10: {SETUP_NAMES.get(name, name)}",
                 xlabel="training step (log scale beyond 10)", ylabel="validation accuracy")
    figure.suptitle("Validation accuracy at fixed step budgets: each seed thin, mean ± sd band")
    return figure
