"""From per-seed numbers and a claim's `Protocol` to its verdict: the one judge every claim uses.

A claim module measures (`numbers`): for each setting and each role of its protocol,
the per-seed values of its metrics, each run's status, and what the chance rule needs
(final validation accuracy, split size, largest class share). Everything after that
is here and is pure: the same numbers and rules always give the same verdict, and the
sensitivity table calls it again with a rule moved (`Variant`).

Numbers, as `numbers()` returns them and `results.json` stores them:

    {"metrics": {name: {"unit": "pts", "chance": 0.1 or None, "label": "..."}},
     "settings": {setting: {role: {"label": "relu lr=0.5",
                                   "values": {metric: {seed: value}},
                                   "status": {seed: "ok" | "diverged" | "failed"},
                                   "chance": {seed: {"accuracy", "n", "majority"}}}}}}
"""

import math
from dataclasses import dataclass

from scipy import stats as _scipy

from actkeras.experiments import stats
from actkeras.experiments.judging import Part, combine
from actkeras.experiments.stats import FAILS, HOLDS, INCONCLUSIVE


@dataclass(frozen=True)
class Variant:
    """A rule moved, for the sensitivity table (the default is the protocol as declared).

    Args:
        name: how the row reads.
        margin_factor: every margin's tolerance multiplied by it: its distance from
            the level the claim names (`Margin.reference`, 0 for a difference).
        alternatives: every rule with an alternative aggregate reads it instead.
        unusable: `"drop"` (diverged, failed and metric-less runs are left out and
            counted) or `"chance"` (they are scored at the metric's chance value,
            where it has one: an accuracy of 10 %).
        chance_rule: `"binomial"` (the protocol's test) or `"line"` (its accuracy line).
        arms: `((arm, its replacement), ...)`: a row of the protocol's `moved_arms`.
    """

    name: str = "as declared"
    margin_factor: float = 1.0
    alternatives: bool = False
    unusable: str = "drop"
    chance_rule: str = "binomial"
    arms: tuple = ()


DECLARED = Variant()


# --- chance ----------------------------------------------------------------------------------

def at_chance(info, protocol, rule="binomial"):
    """Did a run stay at chance? `info` is `{"accuracy", "n", "majority"}` of its final
    validation accuracy (`None` when it has none)."""
    if not info or info.get("accuracy") is None:
        return None
    if rule == "line":
        return info["accuracy"] < protocol.chance.line
    n = int(info.get("n") or 0)
    if n <= 0:
        return info["accuracy"] < protocol.chance.line
    chance = max(float(info.get("majority") or 0.1), 0.1)
    above, _ = stats.above_chance(round(info["accuracy"] * n), n, chance, protocol.chance.alpha)
    return not above


def chance_flags(arm, protocol, rule="binomial"):
    """`{seed: True/False}` over the arm's finished runs."""
    flags = {}
    for seed, status in (arm.get("status") or {}).items():
        if status == "ok":
            flag = at_chance((arm.get("chance") or {}).get(seed), protocol, rule)
            if flag is not None:
                flags[seed] = flag
    return flags


# --- values ----------------------------------------------------------------------------------

def arm_values(arm, metric, meta, variant):
    """`{seed: value}` of `metric` for one arm under `variant`, and the seeds left out
    (`{"diverged": n, "failed": n, "no value": n}`)."""
    values = {s: v for s, v in ((arm.get("values") or {}).get(metric) or {}).items()
              if v is not None and stats.finite([v])}
    lost = {}
    for seed, status in (arm.get("status") or {}).items():
        if seed in values:
            continue
        why = status if status in ("diverged", "failed") else "no value"
        chance_value = (meta or {}).get("chance")
        if variant.unusable == "chance" and chance_value is not None:
            values[seed] = float(chance_value)
            why = f"{why}, scored at chance"
        lost[why] = lost.get(why, 0) + 1
    return values, lost


def _lost_text(name, lost, n):
    if not lost:
        return ""
    return f"{name}: " + ", ".join(f"{k} {v}" for k, v in sorted(lost.items())) + f" of {n}"


# --- formatting ------------------------------------------------------------------------------

def _scale(unit):
    return 100.0 if unit in ("pts", "share", "pp") else 1.0


def fmt_value(value, unit, signed=False):
    if value is None or not math.isfinite(value):
        return "–"
    if unit == "log10 ratio":
        return f"x{10 ** value:.2f}"
    digits = 1 if unit in ("pts", "share", "pp") else 2
    sign = "+" if signed else ""
    return f"{_scale(unit) * value:{sign}.{digits}f}"


def fmt_unit(unit):
    return {"pts": " pts", "share": " %", "pp": " pp", "decades": " decades",
            "log10 ratio": ""}.get(unit, "")


def fmt_estimate(est, unit, signed=True):
    """`+5.8 [+5.3, +6.2] pts (n=8)`; a share's interval is clipped to [0, 100] %."""
    if est is None:
        return "no seeds to compare"
    signed = signed and unit != "log10 ratio"
    text = fmt_value(est.mean, unit, signed)
    if est.low is not None:
        low, high = est.low, est.high
        clipped = ""
        if unit == "share" and not signed:
            low, high = max(low, 0.0), min(high, 1.0)
            clipped = " (clipped to [0, 100] %)" if (low, high) != (est.low, est.high) else ""
        text += f" [{fmt_value(low, unit, signed)}, {fmt_value(high, unit, signed)}]{clipped}"
    return f"{text}{fmt_unit(unit)} (n={est.n})"


def fmt_margin(value, unit, direction, test):
    if unit == "log10 ratio":
        shown = f"x{10 ** value:.2f}"
    else:
        number = _scale(unit) * value
        shown = f"{number:g}" + (" pt" if unit == "pts" and number == 1 else fmt_unit(unit))
    if direction == "within":
        return f"margin -{shown} (non-inferiority)"
    word = "above" if direction == "above" else "below"
    return f"{'threshold' if test == 'one_sample' else 'margin'} {shown} ({word})"


# --- one rule ---------------------------------------------------------------------------------

def _estimate_dict(est):
    return est.to_dict() if est is not None else None


def judge_rule(rule, setting_numbers, metrics, protocol, variant=DECLARED):
    """`(Part or None, [findings])` for one rule in one setting; `None` when the rule is
    skipped (an arm that never trained, for a speed metric)."""
    meta = metrics.get(rule.metric) or {}
    unit = meta.get("unit", "")
    arms = [setting_numbers.get(role) or {} for role in rule.arms]
    names = [arm.get("label") or role for arm, role in zip(arms, rule.arms)]
    findings = []
    if rule.test == "at_chance":
        return _judge_at_chance(rule, arms[0], names[0], protocol, variant), findings
    if rule.skip_untrained:
        for arm, name in zip(arms, names):
            flags = chance_flags(arm, protocol, variant.chance_rule)
            if flags and all(flags.values()):
                findings.append(f"({rule.key}) not judged: {name} never left chance in any of "
                                f"{len(flags)} seeds, so it has no speed to compare")
                return None, findings
    margin = rule.margin.value
    values, notes = [], []
    for arm, name in zip(arms, names):
        v, lost = arm_values(arm, rule.metric, meta, variant)
        values.append(v)
        text = _lost_text(name, lost, len(arm.get("status") or {}))
        if text:
            notes.append(text)
    est = (stats.paired(values[0], values[1]) if rule.test == "paired"
           else stats.estimate(values[0]))
    outcome = stats.decide(est, margin, rule.direction)
    what = f"{names[0]} - {names[1]}" if rule.test == "paired" else names[0]
    shown = "pp" if rule.test == "paired" and unit == "share" else unit  # a difference of shares
    detail = (f"{what}: {fmt_estimate(est, shown, signed=rule.test == 'paired')}; "
              f"{fmt_margin(margin, shown, rule.direction, rule.test)}")
    if notes:
        detail += "; " + "; ".join(notes) + " left out"
    part = Part(rule.text, outcome, detail, key=rule.key, estimate=_estimate_dict(est),
                margin=margin, direction=rule.direction, unit=unit, test=rule.test)
    return part, findings


def _judge_at_chance(rule, arm, name, protocol, variant):
    flags = chance_flags(arm, protocol, variant.chance_rule)
    statuses = list((arm.get("status") or {}).values())
    lost = {s: statuses.count(s) for s in ("diverged", "failed") if statuses.count(s)}
    hits, n = sum(flags.values()), len(flags)
    how = (f"final validation accuracy not above the best constant answer (exact binomial "
           f"test, alpha {protocol.chance.alpha:g})" if variant.chance_rule == "binomial"
           else f"final validation accuracy below {protocol.chance.line:.0%}")
    detail = f"{name}: at chance in {hits} of {n} finished seeds ({how})"
    if lost and variant.unusable == "chance":  # a run with no accuracy, scored at chance
        hits, n = hits + sum(lost.values()), n + sum(lost.values())
        detail = (f"{name}: at chance in {hits} of {n} seeds ({how}), "
                  + ", ".join(f"{v} {k}" for k, v in lost.items()) + " scored at chance")
    elif lost:
        detail += "; " + ", ".join(f"{v} {k}" for k, v in lost.items()) + " left out"
    if n < 2:
        outcome = INCONCLUSIVE
        detail += "; fewer than 2 finished seeds"
    else:
        outcome = HOLDS if hits == n else FAILS if hits == 0 else INCONCLUSIVE
    est = None
    if n:
        ci = _scipy.binomtest(hits, n).proportion_ci(confidence_level=stats.LEVEL)
        est = {"mean": hits / n, "low": float(ci.low), "high": float(ci.high), "n": n,
               "level": stats.LEVEL, "interval": "Clopper-Pearson (scipy.stats.binomtest)"}
    return Part(rule.text, outcome, detail, key=rule.key, estimate=est, margin=1.0,
                direction="above", unit="share", test="at_chance")


# --- a claim ----------------------------------------------------------------------------------

def judge_setting(numbers, protocol, setting, variant=DECLARED, findings=(), would_change=""):
    """The `Verdict` of one setting under `variant`."""
    if variant.margin_factor != 1:
        protocol = protocol.with_margins(variant.margin_factor)
    if variant.alternatives:
        protocol = protocol.with_alternatives()
    if variant.arms:
        protocol = protocol.with_arms(dict(variant.arms))
    setting_numbers = (numbers.get("settings") or {}).get(setting) or {}
    metrics = numbers.get("metrics") or {}
    parts, notes = [], []
    for rule in protocol.rules_in(setting):
        part, found = judge_rule(rule, setting_numbers, metrics, protocol, variant)
        notes += found
        if part is not None:
            parts.append(part)
    return combine(parts, rule_text(protocol, setting, metrics), tuple(notes) + tuple(findings),
                   would_change)


def judge(numbers, protocol, variant=DECLARED, findings=(), would_change=""):
    """`{setting: Verdict}` for every setting of the protocol, the primary first."""
    return {setting: judge_setting(numbers, protocol, setting, variant,
                                   findings if setting == protocol.primary else (),
                                   would_change)
            for setting in protocol.settings}


# --- the rule in words -----------------------------------------------------------------------

_TESTS = {
    "paired": "the per-seed difference {a} - {b} in {metric}",
    "one_sample": "{a}'s {metric}, per seed",
}
_DECISIONS = {
    "above": "its 95 % t interval lies above {m} (holds), at or below it (does not hold), or "
             "straddles it (undecided)",
    "below": "its 95 % t interval lies below {m} (holds), at or above it (does not hold), or "
             "straddles it (undecided)",
    "within": "non-inferiority: the lower end of its 95 % t interval lies above -{m} (holds), "
              "the upper end at or below -{m} (does not hold), otherwise undecided",
}


def describe(rule, protocol, metrics=None):
    """One rule in words, with its margin's reason."""
    metric = ((metrics or {}).get(rule.metric) or {}).get("label", rule.metric.replace("_", " "))
    if rule.test == "at_chance":
        return (f"({rule.key}) {rule.text}: every finished seed of {rule.arms[0]} stays at "
                "chance (holds), none does (does not hold), some do (undecided)")
    unit = ((metrics or {}).get(rule.metric) or {}).get("unit", "")
    if unit == "share" and rule.test == "paired":
        unit = "pp"
    m = fmt_margin(rule.margin.value, unit, "above", rule.test).split(" (")[0]
    m = m.replace("margin ", "").replace("threshold ", "")
    text = _TESTS[rule.test].format(a=rule.arms[0], b=rule.arms[-1], metric=metric)
    text = f"({rule.key}) {rule.text}: {text}; {_DECISIONS[rule.direction].format(m=m)}"
    return text + (f". Why {m}: {rule.margin.reason}" if rule.margin.reason else "")


def rule_text(protocol, setting=None, metrics=None):
    """The whole rule of a claim in words (what the report prints under "Rule")."""
    rules = protocol.rules_in(setting) if setting else protocol.parts
    return " ".join(describe(r, protocol, metrics) + "." for r in rules)
