"""What the claim modules share: picking runs by structured fields, sorting runs into
ok / diverged / at chance / failed, paired comparisons and table cells.

Results are the dicts `runner.run_specs` returns (`{run_id: result}`). An arm's runs
are `{seed: result}`. Diverged runs (NaN or infinite loss) and runs that never left
chance are counted and reported apart, never averaged into a mean; failed runs are
left out and listed in the report.
"""

from dataclasses import dataclass, field

from actkeras.experiments import stats
from actkeras.experiments.claims.sizes import CHANCE, DEEP_ARMS
from actkeras.experiments.judging import Part
from actkeras.experiments.stats import FAILS, HOLDS, INCONCLUSIVE

# A classifier "did not train" when its final validation accuracy stays below twice
# chance: the failing networks of the notebook sit at 9-10 %, and every network here
# that learns anything passes 50 % within its first epoch, so 20 % separates the two
# with room on both sides.
STUCK = 2 * CHANCE


@dataclass(frozen=True)
class Analysis:
    """What the report shows for one claim.

    Args:
        columns: table header.
        rows: table rows, one per arm (or per compared pair), as lists of strings.
        numbers: the measured numbers, JSON-ready, for `results.json` (per-seed values
            included).
        verdict: the `Verdict`.
        series: what the claim's figure draws, shaped per claim.
        runs: `{label: counts}` as `counts` returns them.
        extra_tables: more `(title, columns, rows)` tables for the report.
    """

    columns: list
    rows: list
    numbers: dict
    verdict: object
    series: dict = field(default_factory=dict)
    runs: dict = field(default_factory=dict)
    extra_tables: tuple = ()


# --- picking runs ---------------------------------------------------------------------------

def runs_where(claim, results, **fields):
    """`{seed: result}` of the claim's runs whose spec has every field's value
    (`activation="relu"`, `initializer="he_normal"`, `learning_rate=0.001`, ...).
    Runs without a result yet are left out."""
    out = {}
    for spec in claim.runs:
        if spec.matches(**fields) and spec.run_id in results:
            out.setdefault(spec.seed, results[spec.run_id])
    return out


def deep_arm_runs(claim, results, labels):
    """`{label: {seed: result}}` of the deep MLP's arms (`sizes.DEEP_ARMS`), selected by
    their structured fields (activation, initializer, batch norm)."""
    out = {}
    for label in labels:
        activation, initializer, batch_norm = DEEP_ARMS[label]
        out[label] = runs_where(claim, results, activation=activation,
                                initializer=initializer, batch_norm=batch_norm)
    return out


def status(result):
    """`"ok"`, `"diverged"`, `"failed"` or `"missing"`."""
    return (result or {}).get("status", "missing")


def metric(result, key):
    """A final metric of a run (`train_accuracy`, `valid_accuracy`, `test_accuracy`)."""
    value = ((result or {}).get("metrics") or {}).get(key)
    return float(value) if isinstance(value, (int, float)) else None


def at_chance(result, key="valid_accuracy"):
    """True for a finished run whose final `key` accuracy never left chance (`STUCK`)."""
    value = metric(result, key)
    return status(result) == "ok" and value is not None and value < STUCK


def counts(runs, chance_key="valid_accuracy"):
    """`{"n", "ok", "diverged", "failed", "chance"}` of `{seed: result}` (`chance`
    counts the ok runs that stayed at chance; `None` key: not a classifier)."""
    statuses = [status(r) for r in runs.values()]
    c = {"n": len(runs), **{s: statuses.count(s) for s in ("ok", "diverged", "failed")}}
    c["chance"] = sum(at_chance(r, chance_key) for r in runs.values()) if chance_key else 0
    return c


def counts_text(c):
    """`5` or `5 (1 diverged, 2 at chance)`."""
    extra = [f"{c[k]} {w}" for k, w in (("diverged", "diverged"), ("failed", "failed"),
                                         ("chance", "at chance")) if c.get(k)]
    return f"{c['n']}" + (f" ({', '.join(extra)})" if extra else "")


def values(runs, fn, include_chance=True):
    """`{seed: fn(result)}` over the ok runs (diverged and failed left out), finite only."""
    out = {}
    for seed, result in runs.items():
        if status(result) != "ok" or (not include_chance and at_chance(result)):
            continue
        value = fn(result)
        if value is not None and stats.finite([value]):
            out[seed] = float(value)
    return out


def final(key):
    """`fn(result)` reading a final metric, for `values`."""
    return lambda result: metric(result, key)


# --- comparisons ----------------------------------------------------------------------------

def compare(text, a_runs, b_runs, fn, margin, *, decide=stats.greater, percent=True,
            chance="apart", names=("A", "B")):
    """One `Part`: arm A against arm B on `fn`, decided on per-seed differences.

    Args:
        text: the part's statement.
        a_runs, b_runs: `{seed: result}`.
        fn: result -> number.
        margin: the practical margin of `decide` (in `fn`'s units).
        decide: `stats.greater`, `stats.at_least` or `stats.equivalent`.
        percent: format as percentage points.
        chance: `"apart"`: runs at chance are left out of the pairs and counted (if
            every run of one arm is at chance and every run of the other trained,
            the part is decided on that alone: a network that did not train is
            worse than one that did); `"include"`: they are paired like any other.
        names: the two arms' names, for the detail.

    Returns:
        `(Part, Difference or None)`.
    """
    keep = chance != "apart"
    a, b = values(a_runs, fn, keep), values(b_runs, fn, keep)
    notes = []
    for name, runs in zip(names, (a_runs, b_runs)):
        c = counts(runs)
        lost = [f"{c[k]} {w}" for k, w in (("diverged", "diverged"), ("failed", "failed"))
                if c[k]]
        if chance == "apart" and c["chance"]:
            lost.append(f"{c['chance']} at chance")
        if lost:
            notes.append(f"{name}: {', '.join(lost)} of {c['n']} left out")
    diff = stats.paired(a, b)
    outcome = decide(diff, margin)
    if chance == "apart" and decide is not stats.equivalent:
        categorical = _categorical(a_runs, b_runs, decide)
        if categorical is not None:
            outcome, why = categorical
            notes.append(why)
    scale = 100 if percent else 1
    unit = " pts" if percent else ""
    detail = f"{stats.fmt_diff(diff, percent=percent)}; margin {scale * margin:g}{unit}"
    if notes:
        detail += "; " + "; ".join(notes)
    return Part(text, outcome, detail), diff


def _categorical(a_runs, b_runs, decide):
    """Decides "A better than B" when one arm never trained and the other always did."""
    ca, cb = counts(a_runs), counts(b_runs)
    a_trained = ca["ok"] - ca["chance"]
    b_trained = cb["ok"] - cb["chance"]
    if ca["ok"] >= 2 and cb["ok"] >= 2:
        if a_trained == ca["ok"] and b_trained == 0:
            return HOLDS, f"B did not train in {cb['chance']} of {cb['n']} seeds, A trained in all"
        if a_trained == 0 and b_trained == cb["ok"]:
            return FAILS, f"A did not train in {ca['chance']} of {ca['n']} seeds, B trained in all"
    return None


def one_sided(text, runs, fn, threshold, *, above=True, percent=True):
    """One `Part`: is the mean of `fn` over the ok runs clearly above (or below) a
    threshold (95 % t interval)?"""
    v = values(runs, fn)
    outcome = stats.one_sample(list(v.values()), threshold, above)
    low, high = stats.interval(list(v.values()), 0.975)
    s = stats.summarize(list(v.values()))
    detail = (f"{stats.fmt_summary(s, percent=percent)}, 95 % CI "
              f"[{stats.fmt(low, percent=percent)}, {stats.fmt(high, percent=percent)}] "
              f"vs {stats.fmt(threshold, percent=percent)} (n={len(v)})")
    return Part(text, outcome, detail)


def share_part(text, runs, predicate, *, need="all"):
    """One `Part` decided by counting seeds: `predicate(result)` for all (or none) of
    the ok runs. With fewer than two ok runs: inconclusive."""
    ok = [r for r in runs.values() if status(r) == "ok"]
    hits = sum(bool(predicate(r)) for r in ok)
    detail = f"{hits} of {len(ok)} seeds"
    c = counts(runs)
    if c["diverged"]:
        detail += f" ({c['diverged']} diverged, left out)"
    if len(ok) < 2:
        return Part(text, INCONCLUSIVE, detail + "; fewer than 2 usable seeds")
    if need == "all":
        outcome = HOLDS if hits == len(ok) else FAILS if hits == 0 else INCONCLUSIVE
    else:  # "none"
        outcome = HOLDS if hits == 0 else FAILS if hits == len(ok) else INCONCLUSIVE
    return Part(text, outcome, detail)


# --- table cells ------------------------------------------------------------------------------

def seed_cell(by_seed, percent=True, digits=3):
    """Per-seed values in seed order: `89.1, 89.5, 90.2` (or `–`)."""
    if not by_seed:
        return "–"
    return ", ".join(stats.fmt(by_seed[s], digits, percent).replace(" %", "")
                     for s in sorted(by_seed)) + (" %" if percent else "")


def summary_cell(by_seed, percent=True, digits=3):
    return stats.fmt_summary(stats.summarize(list(by_seed.values())), digits, percent)


def numbers(by_seed):
    """JSON-ready per-seed values and their summary."""
    s = stats.summarize(list(by_seed.values()))
    return {"per_seed": {str(k): v for k, v in sorted(by_seed.items())},
            "summary": s.to_dict() if s else None}


def budget_curve(result, key="valid_accuracy"):
    """`(steps, values)` of a run's budget records (step 0 included)."""
    records = (result or {}).get("budgets") or []
    return [r["step"] for r in records], [r.get(key) for r in records]


def history_curve(result, key="val_accuracy"):
    """`(steps, values)` of a run's History (the `step` column, else epochs)."""
    history = (result or {}).get("history") or []
    return [row.get("step", row.get("epoch")) for row in history], [row.get(key) for row in history]
