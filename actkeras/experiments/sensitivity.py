"""How each verdict moves when a rule moves: the sensitivity table.

Every claim is judged again (`decide.judge`, on the same numbers) with one rule moved at
a time: every margin halved, every margin doubled, the alternative aggregate of each
part (where the protocol names one), runs without a value (diverged, failed, or left
out by the metric) scored at chance instead of dropped, and, where a part decides "at
chance", the earlier protocol's 20 % line instead of the binomial test. A verdict that
changes in any row is **fragile**; the summary marks it.
"""

from actkeras.experiments.decide import DECLARED, Variant, judge

VARIANTS = (
    Variant("margins halved", margin_factor=0.5),
    Variant("margins doubled", margin_factor=2.0),
    Variant("alternative aggregates", alternatives=True),
    Variant("runs without a value scored at chance", unusable="chance"),
    Variant("chance by the 20 % line", chance_rule="line"),
)


def applies(variant, protocol):
    """Whether a variant can move anything in this claim."""
    if variant.alternatives:
        return any(r.alternative for r in protocol.parts)
    if variant.chance_rule != "binomial":
        return any(r.test == "at_chance" or r.skip_untrained for r in protocol.parts)
    return True


def table(numbers, protocol, extra=()):
    """`[{"variant", "setting", "verdict", "parts": {key: outcome}, "moved": bool}]` for the
    declared rules and every variant that applies, every setting.

    Args:
        extra: more `(name, {setting: Verdict})` rows measured elsewhere (another backend).
    """
    rows = []
    declared = judge(numbers, protocol, DECLARED)
    for setting, verdict in declared.items():
        rows.append(_row(DECLARED.name, setting, verdict, verdict))
    for variant in VARIANTS:
        if not applies(variant, protocol):
            continue
        for setting, verdict in judge(numbers, protocol, variant).items():
            rows.append(_row(variant.name, setting, verdict, declared[setting]))
    for name, verdicts in extra:
        for setting, verdict in verdicts.items():
            if setting in declared:
                rows.append(_row(name, setting, verdict, declared[setting]))
    return rows


def _row(name, setting, verdict, declared):
    parts = {p.key: p.outcome for p in verdict.parts}
    base = {p.key: p.outcome for p in declared.parts}
    return {"variant": name, "setting": setting, "verdict": verdict.verdict, "parts": parts,
            "moved": verdict.verdict != declared.verdict,
            "parts_moved": sorted(k for k in parts if base.get(k) != parts[k])}


def fragile(rows):
    """The moved rules under which a verdict changes, once each: `"margins halved"`, with
    the setting named where it is not the primary one (`"margins doubled (tuned)"`)."""
    primary = rows[0]["setting"] if rows else None
    out = []
    for r in rows:
        if r["moved"]:
            name = r["variant"] + ("" if r["setting"] == primary else f" ({r['setting']})")
            if name not in out:
                out.append(name)
    return out
