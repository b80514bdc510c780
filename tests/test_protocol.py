"""The protocol as data (`rules.py`, `protocol.py`), the one judge (`decide.py`) on hand-made
numbers, and the sensitivity table: every rule checked before any run, hashed, and every
verdict shown moving when a rule moves."""

import dataclasses

import pytest

from actkeras.experiments import decide, sensitivity
from actkeras.experiments.claims import MODULES, PRESETS, claims, module
from actkeras.experiments.pipeline import validate_claims
from actkeras.experiments.protocol import ChanceRule, Margin, Protocol, ProtocolError, Rule, validate
from actkeras.experiments.rules import PROTOCOLS, protocol
from actkeras.experiments.stats import FAILS, HOLDS, INCONCLUSIVE

ONE = Margin(0.01, "one point")


def toy(**changes):
    rule = Rule("a", "A beats B", "paired", "valid", ("a", "b"), ONE,
                alternative=("valid_last3", 0.01))
    fields = dict(claim=99, parts=(rule,), settings={"as run": "", "tuned": ""},
                  seeds={"judged": 3}, seeds_reason="three", chance=ChanceRule())
    fields.update(changes)
    return Protocol(**fields)


ROLES = {"as run": ["a", "b"], "tuned": ["a", "b"]}
METRICS = {"valid", "valid_last3"}


def test_every_declared_protocol_validates_against_its_module():
    validate_claims(list(MODULES))
    assert set(PROTOCOLS) == set(MODULES)
    for claim_id, p in PROTOCOLS.items():
        for rule in p.parts:
            assert rule.margin is None or rule.margin.reason, (claim_id, rule.key)
            assert "first full run" not in (rule.margin.reason if rule.margin else "")


@pytest.mark.parametrize("change, message", [
    (dict(metric="val_acc"), "Unknown metric or aggregate in claim 99, part \\(a\\).*Received: metric='val_acc'"),
    (dict(alternative=("mean_of_nothing", 0.01)), "Received: metric='mean_of_nothing'"),
    (dict(arms=("a", "c")), "Unknown arm in claim 99, part \\(a\\).*Received: arm='c'"),
    (dict(test="bayes"), "Unknown test.*Received: test='bayes'"),
    (dict(direction="sideways"), "Received: direction='sideways'"),
    (dict(margin=None), "needs a margin"),
    (dict(settings=("later",)), "names the setting 'later'"),
    (dict(arms=("a",)), "compares 2 arm"),
])
def test_a_protocol_naming_something_unknown_is_one_clear_line(change, message):
    bad = toy(parts=(dataclasses.replace(toy().parts[0], **change),))
    with pytest.raises(ProtocolError, match=message):
        validate(bad, METRICS, ROLES)
    with pytest.raises(ProtocolError, match="names the setting 'tuned'"):
        validate(toy(), METRICS, {"as run": ["a", "b"]})


def test_the_hash_covers_the_rules_not_the_prose():
    p = toy()
    reworded = toy(parts=(dataclasses.replace(p.parts[0], text="A is better",
                                              margin=Margin(0.01, "other words")),),
                   seeds_reason="other words")
    assert reworded.hash() == p.hash()
    assert p.with_margins(2).hash() != p.hash()
    assert toy(seeds={"judged": 8}).hash() != p.hash()
    assert p.with_margins(0.5).parts[0].margin.value == pytest.approx(0.005)
    assert p.with_alternatives().parts[0].metric == "valid_last3"


def test_full_preset_seeds_are_the_protocols_and_small_presets_shrink_them():
    for claim_id, p in PROTOCOLS.items():
        assert len(PRESETS["full"].seeds(p)) == p.seeds["judged"]
        assert len(PRESETS["quick"].seeds(p)) == min(3, p.seeds["judged"])
    assert PRESETS["full"].deep_depth == protocol(3).params["depth"]
    assert PRESETS["full"].fashion_epochs == protocol(2).params["epochs"]


# --- the judge on hand-made numbers ----------------------------------------------------------

def arm(values, label=None, status=None, chance=None):
    values = dict(enumerate(values))
    status = status or {s: ("ok" if v is not None else "diverged") for s, v in values.items()}
    return {"label": label, "status": status,
            "values": {"valid": {s: v for s, v in values.items() if v is not None},
                       "valid_last3": {s: v for s, v in values.items() if v is not None}},
            "chance": chance or {s: {"accuracy": v, "n": 5000, "majority": 0.1}
                                 for s, v in values.items() if v is not None}}


def numbers(a, b, setting="as run"):
    return {"metrics": {"valid": {"unit": "pts", "chance": 0.1, "label": "validation"},
                        "valid_last3": {"unit": "pts", "chance": 0.1, "label": "last three"}},
            "settings": {setting: {"a": a, "b": b}}}


BASE = [0.80, 0.81, 0.79, 0.80]


@pytest.mark.parametrize("gap, expected", [(0.05, HOLDS), (0.0, FAILS),
                                           (None, INCONCLUSIVE)])
def test_paired_rule_on_both_sides_of_the_margin(gap, expected):
    b = BASE
    a = [v + gap for v in b] if gap is not None else [0.80, 0.83, 0.79, 0.82]
    verdict = decide.judge(numbers(arm(a, "A"), arm(b, "B")), toy(settings={"as run": ""}))
    part = verdict["as run"].parts[0]
    assert part.outcome == expected and part.key == "a" and part.unit == "pts"
    assert "A - B" in part.detail and "margin 1 pt (above)" in part.detail


def test_diverged_runs_are_left_out_and_counted_or_scored_at_chance():
    n = numbers(arm([0.9, 0.91, None, 0.9], "A"), arm([0.8, 0.79, 0.8, 0.81], "B"))
    p = toy(settings={"as run": ""})
    part = decide.judge(n, p)["as run"].parts[0]
    assert part.estimate["n"] == 3 and "A: diverged 1 of 4 left out" in part.detail
    scored = decide.judge(n, p, decide.Variant(unusable="chance"))["as run"].parts[0]
    assert scored.estimate["n"] == 4 and "scored at chance" in scored.detail


def test_at_chance_by_the_binomial_test_and_by_the_line():
    p = toy(settings={"as run": ""},
            parts=(Rule("a", "stays near 10 %", "at_chance", "valid", ("a",)),))
    stuck = arm([0.091, 0.099, 0.19, 0.10], "A")  # 19 % is far above chance on 5,000 images
    n = {"metrics": {}, "settings": {"as run": {"a": stuck}}}
    binomial = decide.judge(n, p)["as run"].parts[0]
    assert binomial.outcome == INCONCLUSIVE and "3 of 4" in binomial.detail
    line = decide.judge(n, p, decide.Variant(chance_rule="line"))["as run"].parts[0]
    assert line.outcome == HOLDS and "4 of 4" in line.detail
    trained = {"metrics": {}, "settings": {"as run": {"a": arm([0.8, 0.85], "A")}}}
    assert decide.judge(trained, p)["as run"].parts[0].outcome == FAILS


def test_runs_without_a_value_scored_at_chance_count_as_at_chance_and_the_row_shows_only_where_it_can_move():
    p = toy(settings={"as run": ""},
            parts=(Rule("a", "stays near 10 %", "at_chance", "valid", ("a",)),))
    stuck = arm([0.1, None, None], "A")  # one seed at chance, two diverged
    n = {"metrics": {}, "settings": {"as run": {"a": stuck}}}
    declared = decide.judge(n, p)["as run"].parts[0]
    assert declared.outcome == INCONCLUSIVE and "2 diverged left out" in declared.detail
    chance = decide.judge(n, p, sensitivity.VARIANTS[3])["as run"].parts[0]
    assert sensitivity.VARIANTS[3].unusable == "chance"
    assert chance.outcome == HOLDS and "at chance in 3 of 3 seeds" in chance.detail
    # A metric with no chance value (a decay, steps to a target): the row could not move.
    q = toy(settings={"as run": ""})
    speeds = numbers(arm([v + 0.05 for v in BASE], "A"), arm(BASE, "B"))
    rows = {r["variant"] for r in sensitivity.table(speeds, q)}
    assert "runs without a value scored at chance" in rows
    speeds["metrics"]["valid"].pop("chance")
    rows = {r["variant"] for r in sensitivity.table(speeds, q)}
    assert "runs without a value scored at chance" not in rows and "margins halved" in rows


def test_a_within_parts_hint_never_names_a_negative_tolerance():
    from actkeras.experiments.report import robustness

    part = {"estimate": {"low": 0.01, "high": 0.05}, "margin": 0.02, "direction": "within",
            "unit": "pts", "test": "paired"}
    assert robustness(part) == "holds with any tolerance; fails with none"
    part["estimate"] = {"low": -0.04, "high": -0.01}
    text = robustness(part)
    assert text.startswith("holds with any tolerance above 4") and "at or below 1" in text


def test_a_speed_rule_is_not_judged_when_an_arm_never_trained():
    rule = Rule("a", "A faster", "paired", "valid", ("a", "b"), ONE, skip_untrained=True)
    p = toy(settings={"as run": ""}, parts=(rule,))
    verdict = decide.judge(numbers(arm(BASE, "A"), arm([0.1, 0.1, 0.1, 0.1], "B")), p)["as run"]
    assert not verdict.parts and any("never left chance" in f for f in verdict.findings)


def test_a_margin_moves_by_its_tolerance_around_the_level_the_claim_names():
    """Claim 11 (c)'s "tends to 1" read as at least 0.9: doubled, the tolerance of 0.1 is
    0.2 (at least 0.8), not a level of 1.8 that no share can reach; a difference's margin
    (reference 0) doubles as before; a level that defines the words ("most": more than
    half) does not move."""
    nearly_all = Margin(0.9, "nearly all", reference=1.0)
    assert (nearly_all.moved(2), nearly_all.moved(0.5)) == (pytest.approx(0.8), pytest.approx(0.95))
    assert ONE.moved(2) == 0.02 and Margin(0.5, "most", reference=0.5).moved(2) == 0.5
    rule = Rule("a", "nearly all", "one_sample", "valid", ("a",), nearly_all)
    p = toy(settings={"as run": ""}, parts=(rule,))
    n = numbers(arm([0.85, 0.86, 0.84, 0.85], "A"), arm(BASE, "B"))
    outcomes = {v.name: decide.judge(n, p, v)["as run"].parts[0]
                for v in (decide.DECLARED, *sensitivity.VARIANTS[:2])}
    assert outcomes["as declared"].outcome == FAILS and outcomes["margins halved"].outcome == FAILS
    assert outcomes["margins doubled"].outcome == HOLDS
    assert outcomes["margins doubled"].margin == pytest.approx(0.8)
    assert protocol(11).rule("c").margin.moved(2) == pytest.approx(0.8)
    assert p.with_margins(2).parts[0].margin.value == pytest.approx(0.8)
    assert p.with_margins(2).hash() != p.hash() == toy(  # the reference alone: not decisive
        settings={"as run": ""}, parts=(dataclasses.replace(rule, margin=Margin(0.9, "")),)).hash()


def test_a_row_of_moved_arms_judges_the_parts_with_other_arms_when_they_were_run():
    """Claim 13's stalled depth: a protocol's `moved_arms` row judges the same rules with
    arm c in b's place; a preset that did not run c shows no row; the hash ignores it."""
    moved = (("c in b's place", {"b": "c"}, "b was a choice"),)
    p = toy(settings={"as run": ""}, moved_arms=moved)
    assert p.hash() == toy(settings={"as run": ""}).hash()
    a = [v + 0.05 for v in BASE]
    n = numbers(arm(a, "A"), arm(BASE, "B"))
    n["settings"]["as run"]["c"] = arm(a, "C")  # as good as A: the part no longer holds
    by = {r["variant"]: r for r in sensitivity.table(n, p)}
    assert by["as declared"]["parts"] == {"a": HOLDS}
    assert by["c in b's place"]["parts"] == {"a": FAILS} and by["c in b's place"]["moved"]
    assert sensitivity.fragile(list(by.values())) == ["c in b's place"]
    del n["settings"]["as run"]["c"]
    assert "c in b's place" not in {r["variant"] for r in sensitivity.table(n, p)}
    with pytest.raises(ProtocolError, match="Received: arm='d'"):
        validate(toy(moved_arms=(("d", {"b": "d"}, "why"),)), METRICS, ROLES)
    with pytest.raises(ProtocolError, match="needs its reason"):
        validate(toy(moved_arms=(("c", {"b": "a"}, ""),)), METRICS, ROLES)
    thirteen = protocol(13)
    assert [name for name, _, _ in thirteen.moved_arms] == [
        "the stalled depth at 20 layers", "the stalled depth at 40 layers"]
    assert thirteen.with_arms(thirteen.moved_arms[1][1]).rule("e").arms == ("he 40", "xavier 40")


def test_sensitivity_rows_and_fragile_verdicts():
    a = [v + 0.015 for v in BASE]  # 1.5 points: holds at 1 and 0.5, undecided or not at 2
    p = toy(settings={"as run": ""})
    rows = sensitivity.table(numbers(arm(a, "A"), arm(BASE, "B")), p)
    by = {r["variant"]: r for r in rows}
    assert by["as declared"]["verdict"] == "reproduced"
    assert by["margins halved"]["verdict"] == "reproduced" and not by["margins halved"]["moved"]
    assert by["margins doubled"]["moved"] and by["margins doubled"]["parts_moved"] == ["a"]
    assert "chance by the 20 % line" not in by  # no part decides "at chance"
    assert sensitivity.fragile(rows) == ["margins doubled"]


def test_a_part_that_differs_on_the_other_backend_makes_the_claim_fragile():
    a = [v + 0.02 for v in BASE]  # 2 points: holds at every margin variant but doubling
    p = toy(settings={"as run": ""})
    same = {"as run": {"verdict": "reproduced", "parts": [{"key": "a", "outcome": HOLDS}]}}
    moved = {"as run": {"verdict": "undecided", "parts": [{"key": "a", "outcome": INCONCLUSIVE}]}}
    for verdicts, expected in ((same, []), (moved, ["on the jax backend: part (a)"])):
        rows = sensitivity.table(numbers(arm(a, "A"), arm(BASE, "B")), p,
                                 extra=[sensitivity.backend_row("jax", verdicts)])
        assert rows[-1]["variant"] == "on the jax backend" and rows[-1]["backend"]
        assert [f for f in sensitivity.fragile(rows) if "backend" in f] == expected


def test_rule_text_names_the_margin_and_its_reason():
    text = decide.rule_text(protocol(1), "as run")
    assert "(a) ReLU's validation accuracy beats sigmoid's" in text and "one point" in text
    assert "95 % t interval" in text


@pytest.mark.parametrize("claim_id", sorted(MODULES))
def test_every_claim_judges_empty_results_without_raising(claim_id):
    claim = [c for c in claims("tiny") if c.id == claim_id][0]
    mod = module(claim_id)
    n = mod.numbers(claim, {})
    verdicts = decide.judge(n, mod.PROTOCOL, findings=mod.findings(n))
    assert set(verdicts) == set(mod.PROTOCOL.settings)
    assert all(v.verdict == "undecided" for v in verdicts.values())
    mod.tables(n)
    figure = mod.draw(claim, n, {s: v.to_dict() for s, v in verdicts.items()})
    assert figure is None or figure.axes
