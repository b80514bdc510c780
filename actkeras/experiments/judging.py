"""Verdicts: a claim's checked parts combined into one outcome.

Each part of a claim **holds**, **does not hold** (its interval lies on the other side
of its margin: the effect is smaller than the margin, or reversed) or is **undecided**
(the interval straddles the margin, or there are too few seeds to have one). A
claim's parts combine into:

- every part holds: **reproduced**;
- every part does not hold: **not reproduced**;
- some hold and some do not: **mixed** (the parts disagree);
- otherwise (an undecided part, and the decided ones agree): **undecided**.

A claim whose analysis raised is reported as **could not be judged** with the reason.
"""

from dataclasses import dataclass, field

from actkeras.experiments.stats import FAILS, HOLDS, INCONCLUSIVE

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
MIXED = "mixed"
INCONCLUSIVE_VERDICT = "undecided"
COULD_NOT_JUDGE = "could not be judged"
OUTCOMES = (REPRODUCED, NOT_REPRODUCED, MIXED, INCONCLUSIVE_VERDICT, COULD_NOT_JUDGE)

__all__ = ["COULD_NOT_JUDGE", "FAILS", "HOLDS", "INCONCLUSIVE", "INCONCLUSIVE_VERDICT",
           "MIXED", "NOT_REPRODUCED", "OUTCOMES", "Part", "REPRODUCED", "Verdict",
           "combine", "could_not_judge", "outcome_of"]


@dataclass(frozen=True)
class Part:
    """One checked statement of a claim, with the numbers that decided it.

    Args:
        text: the statement, e.g. "ReLU's validation accuracy beats sigmoid's".
        outcome: `HOLDS`, `FAILS` or `INCONCLUSIVE`.
        detail: the numbers in words, e.g. "+5.5 [+4.9, +6.1] pts (n=8); margin 1 pts".
        key: the part's letter in the protocol (`"a"`, `"b"`, ...).
        estimate: `Estimate.to_dict()` of what was compared (`None` for a count).
        margin: the margin it was compared with, in the estimate's units.
        direction: `"above"`, `"below"` or `"within"` (see `stats.decide`).
        unit: how the estimate reads: `"pts"`, `"decades"`, `"log ratio"`, `"share"`...
        test: `"paired"` (a difference A - B), `"one_sample"` (one arm's level) or
            `"at_chance"` (a share of seeds).
    """

    text: str
    outcome: str
    detail: str = ""
    key: str = ""
    estimate: dict | None = None
    margin: float | None = None
    direction: str = "above"
    unit: str = ""
    test: str = "paired"

    def __post_init__(self):
        if self.outcome not in (HOLDS, FAILS, INCONCLUSIVE):
            raise ValueError(f"`outcome` must be one of {HOLDS!r}, {FAILS!r}, "
                             f"{INCONCLUSIVE!r}. Received: outcome={self.outcome!r}")

    @property
    def holds(self):
        return self.outcome == HOLDS

    def to_dict(self):
        return {"key": self.key, "text": self.text, "outcome": self.outcome,
                "holds": self.holds, "detail": self.detail, "estimate": self.estimate,
                "margin": self.margin, "direction": self.direction, "unit": self.unit,
                "test": self.test}


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict in one setting: the rule in words, its parts, findings and what
    would change it."""

    verdict: str
    rule: str
    parts: tuple = field(default_factory=tuple)
    findings: tuple = field(default_factory=tuple)
    would_change: str = ""

    def to_dict(self):
        return {
            "verdict": self.verdict,
            "rule": self.rule,
            "parts": [p.to_dict() for p in self.parts],
            "findings": list(self.findings),
            "would_change": self.would_change,
        }


def outcome_of(parts):
    """The verdict word for a list of `Part`s (see the module docstring)."""
    outcomes = [p.outcome for p in parts]
    if not outcomes:
        return INCONCLUSIVE_VERDICT
    if all(o == HOLDS for o in outcomes):
        return REPRODUCED
    if HOLDS in outcomes and FAILS in outcomes:
        return MIXED
    if FAILS in outcomes and HOLDS not in outcomes and INCONCLUSIVE not in outcomes:
        return NOT_REPRODUCED
    return INCONCLUSIVE_VERDICT


def combine(parts, rule, findings=(), would_change=""):
    """The `Verdict` of `parts`; with no parts at all, undecided with the reason."""
    parts = tuple(parts)
    findings = tuple(findings)
    if not parts:
        findings = ("nothing could be compared: every arm lacked usable runs",) + findings
    return Verdict(outcome_of(parts), rule, parts, findings, would_change)


def could_not_judge(rule, reason):
    """The verdict of a claim whose analysis could not run, with the reason."""
    return Verdict(COULD_NOT_JUDGE, rule, (), (reason,))
