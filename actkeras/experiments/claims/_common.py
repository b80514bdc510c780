"""What the claim modules share: metrics, picking runs by structured fields, the numbers
`decide.judge` reads, and table cells.

Results are the dicts `runner.run_specs` returns (`{run_id: result}`). An arm's runs
are `{seed: result}`. A metric is a function of one run's result; a run that diverged
or failed has no value and is counted, never averaged in.
"""

import math
from dataclasses import dataclass

from actkeras.experiments import decide, stats


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
    """`{label: {"grid", "scores", "best", "at_edge"}}` of the claim's finished searches."""
    out = {}
    for spec in claim.tuning:
        found = ((results.get(spec.run_id) or {}).get("search")) or {}
        if not found:
            continue
        from actkeras.experiments.claims.runs import searched

        best = found.get("best")
        grid_ = list(spec.grid)
        out[spec.label] = {"grid": grid_, "scores": [t.get("score") for t in found.get("trials", [])],
                           "best": best, "trains": searched(results[spec.run_id])["trains"],
                           "at_edge": best is not None and best in (grid_[0], grid_[-1])}
    return out


def search_findings(numbers):
    """One finding per finished learning-rate search of `numbers["searches"]`: its best
    rate, and whether it lies at an edge of the grid (then the tuned numbers are a bound)."""
    found = []
    for label, search in (numbers.get("searches") or {}).items():
        if search.get("best") is None:
            found.append(f"search {label}: no trial finished")
            continue
        text = f"search {label}: best learning rate {search['best']:g}"
        if search.get("trains") is False:
            found.append(text + ", but no rate of the grid took the arm above chance (by the "
                         "chance rule on the validation split): its best is the highest of "
                         "chance-level scores (which constant answer a network settled on), not a "
                         "rate at which it trains, so its tuned runs show the arm at one more "
                         "rate, not at its best")
            continue
        if search.get("at_edge"):
            side = "top" if search["best"] == max(search["grid"]) else "bottom"
            text += (f", at the {side} edge of the grid: this arm might do better beyond it, so "
                     "its tuned numbers are a bound, not its best")
        found.append(text)
    return found


def search_table(numbers, first="activation"):
    """The report table of `numbers["searches"]` (`None` without any): one row per search,
    its final validation accuracy at each rate of the grid and the best rate."""
    searches = numbers.get("searches") or {}
    if not searches:
        return None
    grid_ = next(iter(searches.values()))["grid"]
    return ("Learning-rate searches (final validation accuracy of one run per rate, seed 1000)",
            [first] + [f"lr {g:g}" for g in grid_] + ["best"],
            [[label] + [stats.fmt(v, percent=True) for v in s["scores"]]
             + [f"{s['best']:g}" if s.get("best") is not None else "–"]
             for label, s in searches.items()])


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
