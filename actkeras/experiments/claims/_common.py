"""What the claim modules share: metrics, picking runs by structured fields, the numbers
`decide.judge` reads, and table cells.

Results are the dicts `runner.run_specs` returns (`{run_id: result}`). An arm's runs
are `{seed: result}`. A metric is a function of one run's result; a run that diverged
or failed has no value and is counted, never averaged in.
"""

import math
from dataclasses import dataclass

from actkeras.experiments import decide, stats
from actkeras.experiments.rules import TUNED


@dataclass(frozen=True)
class Metric:
    """A per-run number a protocol may name.

    Args:
        fn: `fn(result) -> float or None`.
        unit: `"pts"` (an accuracy, as a fraction), `"share"`, `"pp"` (a difference of
            shares), `"decades"`, `"log10 ratio"`, `"output"` (an activation's output
            value) or `"exponent"` (powers of sqrt(2) a layer); how values are printed and
            plotted.
        label: how the report names it.
        chance: the value a run that did not train is scored at in the sensitivity
            table's "scored at chance" row (`None`: not applicable).
    """

    fn: object
    unit: str
    label: str
    chance: float | None = None

    def meta(self):
        return {"unit": self.unit, "label": self.label, "chance": self.chance}


# --- reading results -------------------------------------------------------------------------

def status(result):
    """`"ok"`, `"diverged"`, `"failed"` or `"missing"`."""
    return (result or {}).get("status", "missing")


def metric(result, key):
    """A final metric of a run (`train_accuracy`, `valid_accuracy`, `test_accuracy`)."""
    value = ((result or {}).get("metrics") or {}).get(key)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def final(key):
    return lambda result: metric(result, key)


def budget_curve(result, key="valid_accuracy"):
    """`(steps, values)` of a run's budget records (step 0 included)."""
    records = (result or {}).get("budgets") or []
    return [r["step"] for r in records], [r.get(key) for r in records]


def last_budgets(n=3, key="valid_accuracy"):
    """`fn(result)`: the mean of `key` at the last `n` budgets (less hostage to one
    evaluation step than the final value)."""

    def fn(result):
        _, values = budget_curve(result, key)
        values = stats.finite(values)
        if len(values) < n:
            return None
        return sum(values[-n:]) / n

    return fn


def chance_info(result):
    """What the chance rule reads: final validation accuracy, split size, and the largest
    class share of the validation split (the best constant answer's accuracy)."""
    accuracy = metric(result, "valid_accuracy")
    data = (result or {}).get("data") or {}
    counts = ((data.get("info") or {}).get("class_counts") or {}).get("valid")
    n = data.get("n_valid") or (sum(counts) if counts else 0)
    majority = max(counts) / sum(counts) if counts and sum(counts) else 0.1
    return {"accuracy": accuracy, "n": n, "majority": majority}


VALID = Metric(final("valid_accuracy"), "pts", "final validation accuracy", chance=0.1)

# The report note of a claim whose training runs are made with `RunSpec(final_train=False)`.
NO_FINAL_TRAIN = ("After training only the validation and test splits are scored: nothing here "
                  "reads the training split's final loss or accuracy, so the runs do not "
                  "compute them.")
VALID_LAST3 = Metric(last_budgets(3), "pts",
                     "validation accuracy, mean of the last three budgets", chance=0.1)


# --- picking runs ----------------------------------------------------------------------------

def runs_where(claim, results, **fields):
    """`{seed: result}` of the claim's runs whose spec has every field's value
    (`activation="relu"`, `initializer="he_normal"`, `learning_rate=0.001`, ...).
    Runs without a result yet are left out."""
    out = {}
    for spec in claim.runs:
        if spec.matches(**fields) and spec.run_id in results:
            out.setdefault(spec.seed, results[spec.run_id])
    return out


def runs_labelled(claim, results, label):
    """`{seed: result}` of the claim's runs with `label`."""
    out = {}
    for spec in claim.runs:
        if spec.label == label and spec.run_id in results:
            out.setdefault(spec.seed, results[spec.run_id])
    return out


def search_numbers(claim, results):
    """`{label: {"grid", "rates", "scores", "added", "best", "trains", "at_edge", "at_cap",
    "stopped"}}` of the claim's finished searches: `rates` every rate tried (the grid's
    and those the grid-extension rule added, `added`: `{rate: "top"/"bottom"}`), `scores`
    in their order; `at_edge`: the best is at an edge of the rates tried (a bound, not a
    best), `at_cap`: the rule stopped at its cap with the best still at the edge."""
    from actkeras.experiments.claims.runs import searched

    out = {}
    for spec in claim.tuning:
        found = ((results.get(spec.run_id) or {}).get("search")) or {}
        if not found:
            continue
        best = found.get("best")
        trials = found.get("trials", [])
        rates = [t["learning_rate"] for t in trials]
        extension = found.get("extension") or {}
        out[spec.label] = {"grid": list(spec.grid), "rates": rates,
                           "scores": [t.get("score") for t in trials],
                           "added": {t["learning_rate"]: t["added"] for t in trials
                                     if t.get("added")},
                           "best": best, "trains": searched(results[spec.run_id])["trains"],
                           "at_edge": bool(rates) and best in (min(rates), max(rates)),
                           "at_cap": bool(extension.get("at_cap")),
                           "stopped": extension.get("stopped")}
    return out


def search_note(search):
    """One sentence on where a search's best rate lies, and what the grid-extension rule
    did (`""` for a best inside the grid, with nothing added)."""
    if search.get("best") is None:
        return ""
    added = search.get("added") or {}
    grid = search.get("grid") or []
    text = []
    if added:
        rates = ", ".join(f"{r:g}" for r in sorted(added))
        sides = " and ".join(sorted(set(added.values())))
        text.append(f"the grid's best was at its {sides} edge, so the protocol's grid-extension "
                    f"rule added {rates}")
        scores = dict(zip(search.get("rates") or [], search.get("scores") or []))
        ties = [r for r in sorted(added) if r != search["best"]
                and scores.get(r) is not None and scores.get(r) == scores.get(search["best"])]
        if ties:
            text.append(f"{', '.join(f'{r:g}' for r in ties)} scored exactly as {search['best']:g} "
                        "(a tie goes to the lower rate, and a tie points nowhere)")
    if search.get("at_cap"):
        side = "top" if search["best"] == max(search["rates"]) else "bottom"
        text.append(f"still at the {side} edge at the rule's cap: this arm might do better "
                    "beyond it, so its tuned numbers are a bound, not its best")
    elif search.get("at_edge") and len(grid) > 1:
        side = "top" if search["best"] == max(search["rates"]) else "bottom"
        text.append(f"at the {side} edge of the rates tried, not extended: "
                    f"{search.get('stopped') or 'searched before the grid-extension rule'}")
    elif added:
        text.append("the best is now inside the rates tried")
    return "; ".join(text)


def search_margin(search, judged):
    """One clause on how far a search's best rate led the next best, in its one run per
    rate, beside the spread of the arm's judged seeds at the best rate (`judged`: their
    final validation accuracies, the search's own score), or `""` without a next best.

    A search scores each rate on one seed; a lead smaller than the spread between seeds
    at one rate is a pick that another seed, or another backend's float rounding, can
    turn (a finding: the rule stays as declared)."""
    scores = dict(zip(search.get("rates") or [], search.get("scores") or []))
    best = search.get("best")
    others = sorted(((s, r) for r, s in scores.items() if r != best and s is not None),
                    key=lambda sr: (-sr[0], sr[1]))
    if best is None or scores.get(best) is None or not others:
        return ""
    runner_score, runner = others[0]
    if runner_score == scores[best]:  # a tie goes to the lower rate
        return ("" if runner in (search.get("added") or {})  # `search_note` says so
                else f"{runner:g} scored exactly as {best:g} (a tie goes to the lower rate)")
    lead = 100 * (scores[best] - runner_score)
    shown = f"{lead:.1f}" if lead >= 0.095 else f"{lead:.1g}"  # never "by 0.0 points"
    text = f"it led the next best rate, {runner:g}, by {shown} points (one run each)"
    seeds = stats.summarize((judged or {}).values())
    if seeds is None or seeds.n < 2:
        return text
    spread = (f"the spread of the arm's {seeds.n} judged seeds at {best:g} (standard "
              f"deviation {100 * seeds.std:.1f} points)")
    if lead < 100 * seeds.std:
        return f"{text}, less than {spread}: a lead that another seed could reverse"
    return f"{text}, more than {spread}"


def search_findings(numbers):
    """One finding per finished learning-rate search of `numbers["searches"]`: its best
    rate, where it lies and what the grid-extension rule did (`search_note`), how far it
    led the next best rate (`search_margin`), or that no rate took the arm above chance."""
    tuned = (numbers.get("settings") or {}).get(TUNED) or {}
    found = []
    for label, search in (numbers.get("searches") or {}).items():
        if search.get("best") is None:
            found.append(f"search {label}: no trial finished")
            continue
        text = f"search {label}: best learning rate {search['best']:g}"
        if search.get("trains") is False:
            found.append(text + ", but no rate tried took the arm above chance (by the chance "
                         "rule on the validation split): its best is the highest of "
                         "chance-level scores (which constant answer a network settled on), not a "
                         "rate at which it trains, so its tuned runs show the arm at one more "
                         "rate, not at its best")
            continue
        arm = label.removesuffix(" (search)")
        judged = ((tuned.get(arm) or {}).get("values") or {}).get("valid")
        notes = [n for n in (search_note(search), search_margin(search, judged)) if n]
        found.append(text + (f" ({'; '.join(notes)})" if notes else ""))
    return found


def search_table(numbers, first="search"):
    """The report table of `numbers["searches"]` (`None` without any): a column per rate
    tried by any search (those the grid-extension rule added marked so), the best, and
    what the rule did."""
    searches = numbers.get("searches") or {}
    if not searches:
        return None
    grid = sorted({r for s in searches.values() for r in s["grid"]})
    rates = sorted({r for s in searches.values() for r in s.get("rates") or s["grid"]})
    header = [first] + [f"lr {r:g}" + ("" if r in grid else " (added)") for r in rates]
    rows = []
    for label, s in searches.items():
        by_rate = dict(zip(s.get("rates") or s["grid"], s["scores"]))
        rows.append([label] + [stats.fmt(by_rate[r], percent=True) if r in by_rate else "–"
                               for r in rates]
                    + [f"{s['best']:g}" if s.get("best") is not None else "–",
                       search_note(s) or "inside the grid"])
    return ("Learning-rate searches (final validation accuracy of one run per rate, seed 1000; "
            "'added': a rate the protocol's grid-extension rule tried because the best was at "
            "an edge; '–': not tried)", header + ["best", "grid extension"], rows)


# --- the numbers decide.judge reads -----------------------------------------------------------

def arm_numbers(runs, metrics, label):
    """`{"label", "values": {metric: {seed: value}}, "status", "chance"}` of one arm."""
    values = {name: {} for name in metrics}
    for seed, result in runs.items():
        if status(result) != "ok":
            continue
        for name, m in metrics.items():
            value = m.fn(result)
            if value is not None and stats.finite([value]):
                values[name][seed] = float(value)
    return {"label": label,
            "values": values,
            "status": {seed: status(r) for seed, r in runs.items()},
            "chance": {seed: chance_info(r) for seed, r in runs.items() if status(r) == "ok"}}


def settings_numbers(arms, metrics, labels=None):
    """`{"metrics", "settings"}` from `{setting: {role: {seed: result}}}`."""
    labels = labels or {}
    return {
        "metrics": {name: m.meta() for name, m in metrics.items()},
        "settings": {setting: {role: arm_numbers(runs, metrics, labels.get((setting, role), role))
                               for role, runs in roles.items()}
                     for setting, roles in arms.items()},
    }


def values_of(numbers, setting, role, metric_name):
    """`{seed: value}` from `numbers` (seeds may be strings after JSON)."""
    arm = ((numbers.get("settings") or {}).get(setting) or {}).get(role) or {}
    return {int(s): v for s, v in ((arm.get("values") or {}).get(metric_name) or {}).items()}


def statuses_of(numbers, setting, role):
    arm = ((numbers.get("settings") or {}).get(setting) or {}).get(role) or {}
    return {int(s): v for s, v in (arm.get("status") or {}).items()}


def chance_count(numbers, setting, role, protocol):
    """`(runs at chance, finished runs)` of a role by the protocol's chance rule."""
    arm = ((numbers.get("settings") or {}).get(setting) or {}).get(role) or {}
    flags = decide.chance_flags(arm, protocol)
    return sum(flags.values()), len(flags)


# --- table cells -----------------------------------------------------------------------------

def seed_cell(by_seed, percent=True, digits=3):
    """Per-seed values in seed order: `89.1, 89.5, 90.2 %` (or `–`)."""
    if not by_seed:
        return "–"
    return ", ".join(stats.fmt(by_seed[s], digits, percent).replace(" %", "")
                     for s in sorted(by_seed)) + (" %" if percent else "")


def summary_cell(by_seed, percent=True, digits=3):
    """`85.3 ± 0.4 %` (mean ± sd over seeds)."""
    return stats.fmt_summary(stats.summarize(list(by_seed.values())), digits, percent)


def counts_cell(statuses, chance=None):
    """`8` or `8 (1 diverged, 2 at chance)`."""
    values = list(statuses.values())
    extra = [f"{values.count(k)} {k}" for k in ("diverged", "failed") if values.count(k)]
    if chance:
        extra.append(f"{chance} at chance")
    return f"{len(values)}" + (f" ({', '.join(extra)})" if extra else "")
