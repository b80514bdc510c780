"""Claim 10: ReLU networks reach a given accuracy in fewer steps than sigmoid ones (seed 002,
citing Krizhevsky et al. 2012: six times faster to 25 % training error on CIFAR-10).

Runs, shared with other claims and trained once: the course network of claim 1 (ReLU and
sigmoid, SGD 0.5 and each at its best learning rate), and the deep MLP of claims 3-5 with
ReLU (He) against a sigmoid that trains there, started from 8 times glorot_uniform weights
(the sigmoid on glorot_uniform weights stays at chance: it has no speed, and is a
finding). Every run scores the whole validation split at step budgets with no gaps
(about ten a decade; from step 1 for the course network, whose ReLU runs pass most
targets within 10 steps; from step 10 for the deep MLP, which runs 10 steps per call).
Measurement: per setting and setup, the target is 90 % of the lower of the two arms'
mean final validation accuracy; per run, log10 of the first budget step at which it is
reached. The part is the per-seed difference sigmoid - ReLU of that log (a log step
ratio). The normalised area under the accuracy curve on a log-step axis (the earlier
protocol's measure, which mixes speed with final accuracy) is a finding.
"""

import math

from actkeras.experiments import stats
from actkeras.experiments.claims import _common as c
from actkeras.experiments.claims import deep
from actkeras.experiments.claims.c01_course import searches as course_searches
from actkeras.experiments.claims.presets import CHANCE, data_note, seeds_note
from actkeras.experiments.claims.runs import best_rate, udacity_run
from actkeras.experiments.rules import AS_RUN, TUNED, protocol
from actkeras.experiments.spec import Claim

ID = 10
PROTOCOL = protocol(ID)
SETUPS = {"course": ("course relu", "course sigmoid"), "deep": ("deep relu", "deep sigmoid x8")}
OFFSET = 10  # the area's axis: log10(step + 10), for the finding


def build(sizes, tuned):
    seeds = sizes.seeds(PROTOCOL)
    runs, waiting = [], []
    found = course_searches(sizes)
    for a in ("relu", "sigmoid"):
        runs += [udacity_run(sizes, ID, f"course {a}", a, s) for s in seeds]
        rate = best_rate(tuned, found[a])
        if rate is None:
            waiting.append(f"course {a} {TUNED}")
        else:
            runs += [udacity_run(sizes, ID, f"course {a} {TUNED}", a, s, learning_rate=rate,
                                 tuned_from=found[a].run_id) for s in seeds]
    trained, waiting_deep = deep.runs(sizes, ID, ("relu", "sigmoid x8"), tuned)
    plain, _ = deep.runs(sizes, ID, ("sigmoid",), tuned, settings=(AS_RUN,))
    return Claim(
        id=ID, title="Convergence speed",
        statement="ReLU networks reach a given accuracy in fewer steps than sigmoid ones.",
        quote="The constant gradient of ReLUs results in faster learning ... in practice, "
              "networks with Relu tend to show better convergence performance than sigmoid",
        source="seed 002 (citing Krizhevsky et al. 2012)",
        seed_file="seeds/002_971926e18ad6f5cd.txt",
        setup=f"Validation accuracy on the whole validation split at step budgets with no "
              f"gaps, ReLU against sigmoid, in two setups: the course network of claim 1 "
              f"(`udacity` preset, batch 128, {sizes.udacity_steps} steps on notMNIST) and the "
              f"deep MLP of claims 3-5 ({sizes.deep_depth} hidden layers, {sizes.deep_epochs} "
              f"epochs, batch 32, on Fashion-MNIST; ReLU with He, sigmoid with 8 x "
              f"glorot_uniform weights); as run (SGD 0.5 and 0.05) and each at its best "
              f"learning rate; {data_note(sizes)}; {seeds_note(sizes, PROTOCOL)}.",
        runs=tuple(runs) + tuple(deep_label(trained + plain)),
        tuning=(found["relu"], found["sigmoid"])
        + tuple(deep.searches(sizes, ("relu", "sigmoid x8")).values()),
        waiting=tuple(waiting + waiting_deep),
        published={"relu": {"speed-up": "6x to 25 % training error (CIFAR-10, 4-layer CNN, "
                                         "against tanh)"}},
        published_source="Krizhevsky, Sutskever and Hinton 2012, Figure 1",
    )


def deep_label(specs):
    from dataclasses import replace

    return [replace(s, label=f"deep {s.label}") for s in specs]


# --- measurement -----------------------------------------------------------------------------

def curve(result):
    """`[(step, validation accuracy)]` of a run's budgets, finite values only."""
    steps, values = c.budget_curve(result)
    return [(int(s), float(v)) for s, v in zip(steps, values)
            if s is not None and v is not None and math.isfinite(float(v))]


def steps_to(result, target):
    """The first budget step (>= 1) at which the validation accuracy reaches `target`."""
    for step, value in curve(result):
        if step >= 1 and value >= target:
            return step
    return None


def area(result, horizon):
    """Normalised trapezoid area of the curve up to `horizon` on log10(step + 10)."""
    pts = [(math.log10(s + OFFSET), v) for s, v in curve(result) if s <= horizon]
    if len(pts) < 2 or curve(result)[-1][0] < horizon:
        return None
    width = pts[-1][0] - pts[0][0]
    total = sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(pts, pts[1:]))
    return total / width if width > 0 else None


def target(arms, share):
    """`share` of the lower of the arms' mean final validation accuracies (ok runs)."""
    means = []
    for runs in arms:
        s = stats.summarize([c.metric(r, "valid_accuracy") for r in runs.values()
                             if c.status(r) == "ok"])
        if s is None:
            return None
        means.append(s.mean)
    return share * min(means)


def _log_steps(goal):
    def fn(result):
        step = steps_to(result, goal) if goal is not None else None
        return math.log10(step) if step else None
    return fn


METRICS_META = {
    "log_steps": c.Metric(None, "log10 ratio", "log10 steps to the target (90 % of the lower "
                          "arm's mean final accuracy)"),
    "log_steps_alt": c.Metric(None, "log10 ratio", "log10 steps to 80 % of it"),
    "valid": c.VALID,
}
METRICS = METRICS_META


def roles(claim, results):
    out = {}
    for setting in (AS_RUN, TUNED):
        suffix = "" if setting == AS_RUN else f" {TUNED}"
        out[setting] = {role: c.runs_labelled(claim, results, role + suffix)
                        for pair in SETUPS.values() for role in pair}
    out[AS_RUN]["deep sigmoid"] = c.runs_labelled(claim, results, "deep sigmoid")
    return out


def numbers(claim, results):
    arms = roles(claim, results)
    out = {"metrics": {k: m.meta() for k, m in METRICS.items()}, "settings": {}, "targets": {},
           "areas": {}, "series": {}}
    for setting, per in arms.items():
        out["settings"][setting] = {}
        for setup, pair in SETUPS.items():
            goal = target([per[r] for r in pair], PROTOCOL.params["target"])
            alt = target([per[r] for r in pair], PROTOCOL.params["target_alt"])
            out["targets"][f"{setting}, {setup}"] = goal
            ends = [curve(r)[-1][0] for role in pair for r in per[role].values()
                    if c.status(r) == "ok" and curve(r)]
            horizon = min(ends) if ends else None
            for role in pair + (("deep sigmoid",) if setup == "deep" and setting == AS_RUN else ()):
                metrics = {"log_steps": c.Metric(_log_steps(goal), "log10 ratio", ""),
                           "log_steps_alt": c.Metric(_log_steps(alt), "log10 ratio", ""),
                           "valid": c.VALID}
                out["settings"][setting][role] = c.arm_numbers(per[role], metrics, role)
                out["areas"][f"{setting}, {role}"] = {
                    str(s): area(r, horizon) for s, r in per[role].items()
                    if c.status(r) == "ok" and horizon}
                out["series"][f"{setting}, {role}"] = {str(s): c.budget_curve(r)
                                                       for s, r in per[role].items()}
    return out


def findings(numbers):
    found = []
    for key, goal in (numbers.get("targets") or {}).items():
        if goal is not None:
            found.append(f"{key}: target {100 * goal:.1f} % validation accuracy")
    for setting in (AS_RUN, TUNED):
        for setup, (relu, sigmoid) in SETUPS.items():
            a = {int(s): v for s, v in (numbers.get("areas") or {}).get(f"{setting}, {relu}", {}).items()
                 if v is not None}
            b = {int(s): v for s, v in (numbers.get("areas") or {}).get(f"{setting}, {sigmoid}", {}).items()
                 if v is not None}
            diff = stats.paired(a, b)
            if diff:
                found.append(f"{setting}, {setup}: area under the accuracy curve on a log-step axis "
                             f"(mean accuracy over log-time), ReLU - sigmoid "
                             f"{stats.fmt_diff(diff, percent=True)}: it mixes speed with the level "
                             "reached, so it is not the part")
            ratio = stats.paired(c.values_of(numbers, setting, sigmoid, "log_steps"),
                                 c.values_of(numbers, setting, relu, "log_steps"))
            if ratio:
                found.append(f"{setting}, {setup}: sigmoid takes {10 ** ratio.mean:.2f}x ReLU's "
                             "steps to the target (geometric mean over seeds; Krizhevsky et al.'s "
                             "CIFAR-10 network: 6x)")
    plain = ((numbers.get("settings") or {}).get(AS_RUN) or {}).get("deep sigmoid") or {}
    if plain:
        flags = [v for v in (plain.get("chance") or {}).values()]
        if flags:
            found.append("deep MLP, sigmoid on glorot_uniform weights at SGD 0.05: final "
                         "validation accuracy " + ", ".join(
                             f"{100 * (i.get('accuracy') or 0):.1f} %" for i in flags)
                         + ": a network that does not train has no speed to compare")
    return found


def tables(numbers):
    rows = []
    for setting, per in (numbers.get("settings") or {}).items():
        for role in per:
            steps = c.values_of(numbers, setting, role, "log_steps")
            rows.append([setting, role, c.counts_cell(c.statuses_of(numbers, setting, role)),
                         ", ".join(str(round(10 ** steps[s])) for s in sorted(steps)) or "–",
                         c.summary_cell(c.values_of(numbers, setting, role, "valid"))])
    return [("Steps to the target (first budget reaching it), per seed",
             ["setting", "arm", "runs", "steps per seed", "final validation (mean ± sd)"], rows)]


def draw(claim, numbers, verdicts):
    from actkeras.experiments import figures as f

    figure, axes = f.new_figure(3)
    for ax, setup in zip(axes, SETUPS):
        for setting, style in ((AS_RUN, "-"), (TUNED, "--")):
            for role in SETUPS[setup]:
                curves = (numbers.get("series") or {}).get(f"{setting}, {role}") or {}
                if curves:
                    f.seed_curves(ax, f"{role} ({setting})", curves, linestyle=style)
            goal = (numbers.get("targets") or {}).get(f"{setting}, {setup}")
            if goal is not None:
                ax.axhline(goal, color="grey", linestyle=":" if setting == AS_RUN else "-.",
                           linewidth=0.8, label=f"target, {setting}")
        f.chance_line(ax, CHANCE)
        f.step_axis(ax)
        f.finish(ax, f"Claim 10: {setup}", xlabel="training step (log scale beyond 10)")
    f.parts_panel(axes[2], verdicts)
    figure.suptitle("Validation accuracy at step budgets (each seed thin, mean ± sd band)")
    return figure
