"""Verdicts: a claim's checked parts combined into one of four outcomes.

Each claim module's `judge` is a pure function from measured numbers to a `Verdict`
(tested on hand-made numbers on both sides of every margin). A claim is split into
parts; each part `holds`, `fails` or is `inconclusive` (an interval straddles its
margin, or too few seeds to have one):

- every part holds: **reproduced**;
- every part fails: **not reproduced**;
- some hold and some fail: **mixed** (the parts disagree);
- otherwise (an inconclusive part, and the decided ones agree): **inconclusive**.

A claim whose analysis raised is reported as **could not be judged** with the reason.
"""

from dataclasses import dataclass, field

from actkeras.experiments.stats import FAILS, HOLDS, INCONCLUSIVE

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
MIXED = "mixed"
INCONCLUSIVE_VERDICT = "inconclusive"
COULD_NOT_JUDGE = "could not be judged"
OUTCOMES = (REPRODUCED, NOT_REPRODUCED, MIXED, INCONCLUSIVE_VERDICT, COULD_NOT_JUDGE)

__all__ = ["COULD_NOT_JUDGE", "FAILS", "HOLDS", "INCONCLUSIVE", "INCONCLUSIVE_VERDICT",
           "MIXED", "NOT_REPRODUCED", "OUTCOMES", "Part", "REPRODUCED", "Verdict",
           "combine", "could_not_judge"]


@dataclass(frozen=True)
class Part:
    """One checked statement of a claim.

    Args:
        text: the statement, e.g. "ReLU's validation accuracy beats sigmoid's".
        outcome: `HOLDS`, `FAILS` or `INCONCLUSIVE`.
        detail: the numbers that decided it, e.g. "+5.5 [4.9, 6.1] pts (n=5)".
    """

    text: str
    outcome: str
    detail: str = ""

    def __post_init__(self):
        if self.outcome not in (HOLDS, FAILS, INCONCLUSIVE):
            raise ValueError(f"`outcome` must be one of {HOLDS!r}, {FAILS!r}, "
                             f"{INCONCLUSIVE!r}. Received: outcome={self.outcome!r}")

    @property
    def holds(self):
        return self.outcome == HOLDS


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict, the rule in words, its parts, findings and what would change it."""

    verdict: str
    rule: str
    parts: tuple = field(default_factory=tuple)
    findings: tuple = field(default_factory=tuple)
    would_change: str = ""

    def to_dict(self):
        return {
            "verdict": self.verdict,
            "rule": self.rule,
            "parts": [{"text": p.text, "outcome": p.outcome, "holds": p.holds,
                       "detail": p.detail} for p in self.parts],
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
    if all(o == FAILS for o in outcomes):
        return NOT_REPRODUCED
    if HOLDS in outcomes and FAILS in outcomes:
        return MIXED
    return INCONCLUSIVE_VERDICT


def combine(parts, rule, findings=(), would_change=""):
    """The `Verdict` of `parts`; with no parts at all, inconclusive with the reason."""
    parts = tuple(parts)
    findings = tuple(findings)
    if not parts:
        findings = ("nothing could be compared: every arm lacked usable runs",) + findings
    return Verdict(outcome_of(parts), rule, parts, findings, would_change)


def could_not_judge(rule, reason):
    """The verdict of a claim whose analysis could not run, with the reason."""
    return Verdict(COULD_NOT_JUDGE, rule, (), (reason,))
