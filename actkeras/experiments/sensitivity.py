"""How each verdict moves when a rule moves: the sensitivity table.

Every claim is judged again (`decide.judge`, on the same numbers) with one rule moved at
a time: every margin's tolerance halved, then doubled (its distance from the level the
claim names, `Margin.reference`: 0 for a difference), the alternative aggregate of each
part (where the protocol names one), runs without a value (diverged, failed, or left out
by the metric) scored at chance instead of dropped (where a metric read has a chance
value or a part decides "at chance": elsewhere the row could not move), and, where a
part decides "at chance", the earlier protocol's 20 % line instead of the binomial test;
and, where a protocol names them (`Protocol.moved_arms`), the parts judged with other
arms in place of some (claim 13's stalled depth). A verdict that changes in any row is
**fragile**; the summary marks it.

Given the same preset's reproduction on the other Keras backend (`reproduce(compare_with=
...)`), its verdicts join the table as one more row per setting, and a claim is also
fragile where a part's outcome differs between the backends, even with the same verdict.
"""

from actkeras.experiments.decide import DECLARED, Variant, judge
from actkeras.experiments.judging import Part, Verdict

VARIANTS = (
    Variant("margins halved", margin_factor=0.5),
    Variant("margins doubled", margin_factor=2.0),
    Variant("alternative aggregates", alternatives=True),
    Variant("runs without a value scored at chance", unusable="chance"),
    Variant("chance by the 20 % line", chance_rule="line"),
)


def variants(protocol):
    """The variants a claim's table may show: `VARIANTS`, then a row for each of the
    protocol's `moved_arms` (`applies` says which can move anything)."""
    moved = tuple(Variant(name, arms=tuple(sorted(replacements.items())))
                  for name, replacements, _ in protocol.moved_arms)
    return VARIANTS + moved


def applies(variant, protocol, numbers):
    """Whether a variant can move anything in this claim, on these numbers."""
    if variant.alternatives:
        return any(r.alternative for r in protocol.parts)
    if variant.chance_rule != "binomial":
        return any(r.test == "at_chance" or r.skip_untrained for r in protocol.parts)
    if variant.unusable == "chance":  # only a chance value (or an "at chance" part) moves it
        metrics = numbers.get("metrics") or {}
        return any(r.test == "at_chance" or (metrics.get(r.metric) or {}).get("chance")
                   is not None for r in protocol.parts)
    if variant.arms:  # a preset that does not run those arms (quick, tiny) has no row
        settings = (numbers.get("settings") or {}).values()
        return all(any((arms.get(arm) or {}).get("status") for arms in settings)
                   for _, arm in variant.arms)
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
    for variant in variants(protocol):
        if not applies(variant, protocol, numbers):
            continue
        for setting, verdict in judge(numbers, protocol, variant).items():
            rows.append(_row(variant.name, setting, verdict, declared[setting]))
    for name, verdicts in extra:
        for setting, verdict in verdicts.items():
            if setting in declared:
                rows.append({**_row(name, setting, verdict, declared[setting]), "backend": True})
    return rows


def backend_row(backend, verdicts):
    """`table`'s `extra` item for the verdicts another backend's results.json recorded
    (`{setting: Verdict.to_dict()}`)."""
    return (f"on the {backend} backend", {
        setting: Verdict(verdict=v["verdict"], rule=v.get("rule", ""),
                         parts=tuple(Part(text=p.get("text", ""), outcome=p["outcome"],
                                          key=p.get("key", "")) for p in v.get("parts", [])))
        for setting, v in verdicts.items()})


def _row(name, setting, verdict, declared):
    parts = {p.key: p.outcome for p in verdict.parts}
    base = {p.key: p.outcome for p in declared.parts}
    return {"variant": name, "setting": setting, "verdict": verdict.verdict, "parts": parts,
            "moved": verdict.verdict != declared.verdict,
            "parts_moved": sorted(k for k in parts if base.get(k) != parts[k])}


def fragile(rows):
    """The moved rules under which a verdict changes, once each: `"margins halved"`, with
    the setting named where it is not the primary one (`"margins doubled (tuned)"`); and
    another backend's row where any part differs (`"on the jax backend: part (b)"`)."""
    primary = rows[0]["setting"] if rows else None
    out = []
    for r in rows:
        parts = r.get("backend") and r["parts_moved"]
        if r["moved"] or parts:
            name = r["variant"] + ("" if r["setting"] == primary else f" ({r['setting']})")
            if parts:
                name += f": part{'s' if len(parts) > 1 else ''} " + ", ".join(f"({k})" for k in parts)
            if name not in out:
                out.append(name)
    return out
