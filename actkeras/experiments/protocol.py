"""The reproduction's protocol: every claim's rules as data, fixed before the runs.

A claim's `Protocol` names what is judged (`Rule`: a part of the claim, the metric
and aggregate it reads, the arms it compares, the margin with its reason, the
direction of the test), in which settings (the source's own, each arm at its own
best learning rate, another initialisation), how many seeds, and how "trained" is
told from "at chance". The rules themselves live in `rules.py`; this module holds
their types, their hash (recorded in every run, so a run made under other rules is
never reused silently) and their check against what each claim can measure.

Margins come from the sources' words or from practical significance, never from our
own earlier runs; `sensitivity.py` shows how each verdict moves when they do.
"""

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace

TESTS = ("paired", "one_sample", "at_chance")
DIRECTIONS = ("above", "below", "within")
UNITS = ("pts", "share", "pp", "decades", "log10 ratio", "output", "exponent")


@dataclass(frozen=True)
class Margin:
    """A margin and why it is what it is.

    Args:
        value: in the metric's own units (a fraction for accuracy points and shares,
            decades, or a log10 ratio).
        reason: from the source's words or from practical significance.
        reference: the level the claim's words name, from which `value` is a tolerance:
            0 for a difference or a change (the default), 1 for "all" or "tends to 1"
            read as 0.9, 0.5 for "near 0.5" read as above 0.4; equal to `value` when the
            words define the level with no tolerance ("most": more than half). The
            sensitivity table halves and doubles the distance from it, never the level
            itself (a 0.9 doubled to 1.8 is no rule). Verdicts as declared read `value`
            only, so the hash does not cover it.
    """

    value: float
    reason: str
    reference: float = 0.0

    def moved(self, factor):
        """The margin with its tolerance (its distance from `reference`) times `factor`."""
        return self.reference + (self.value - self.reference) * factor


@dataclass(frozen=True)
class Rule:
    """One part of a claim, decided from per-seed numbers.

    Args:
        key: the part's letter (`"a"`, `"b"`, ...).
        text: the statement judged, in the claim's words.
        test: `"paired"` (per-seed differences A - B), `"one_sample"` (one arm's
            per-seed values against the margin as a threshold) or `"at_chance"`
            (every seed of one arm stays at chance, by the protocol's chance rule).
        metric: the per-seed metric read (a name in the claim module's `METRICS`).
        arms: the roles compared: `(A, B)` for paired, `(A,)` otherwise.
        margin: a `Margin` (none for `at_chance`).
        direction: `"above"`, `"below"` or `"within"` (non-inferiority); see
            `stats.decide`.
        alternative: another aggregate of the same quantity, `(metric, margin value)`,
            for the sensitivity table.
        settings: the settings the part is judged in (all of the claim's by default).
        skip_untrained: for speed metrics: when every run of an arm never left chance,
            the part is not judged (a network that does not learn has no speed) and a
            finding says so.
    """

    key: str
    text: str
    test: str
    metric: str
    arms: tuple
    margin: Margin | None = None
    direction: str = "above"
    alternative: tuple | None = None
    settings: tuple | None = None
    skip_untrained: bool = False


@dataclass(frozen=True)
class ChanceRule:
    """How a classifier that "stayed at chance" is told from one that trained.

    The default test: the final validation accuracy is not above the accuracy of the
    best constant answer (the largest class share of the split) by SciPy's exact
    one-sided binomial test at `alpha`. The alternative, for the sensitivity table:
    a plain accuracy line.
    """

    alpha: float = 0.001
    reason: str = ""
    line: float = 0.2
    line_reason: str = ""


@dataclass(frozen=True)
class GridExtension:
    """How a learning-rate search whose best rate lies at an edge of its grid is widened.

    A search whose best trial is at an edge of the rates tried so far, and better than
    its neighbour inside, tries one more rate beyond that edge, one grid step further
    (`step`: the grid's own ratio between neighbouring rates), and again, until its best
    is interior or `cap` rates have been added on that side. A diverged trial scores 0,
    so it ends the extension on its side (so does a trial that failed: it is no
    evidence either way, and it is not retried). A search in which no trial left chance is not
    extended: its ties are broken by the lower rate, not by a score, so they point
    nowhere. A best tied with its inside neighbour points nowhere either.

    Args:
        cap: rates added on one side at most.
        reason: why a search at an edge is extended.
        cap_reason: why the cap is what it is.
    """

    cap: int
    reason: str = ""
    cap_reason: str = ""

    @staticmethod
    def step(grid):
        """The grid's ratio between neighbouring rates (their geometric mean, for a grid
        that is geometric only to its rounding, such as 0.05, 0.15, 0.5, 1.5, 5)."""
        low, high = min(grid), max(grid)
        return (high / low) ** (1 / (len(grid) - 1))

    def decisive(self):
        """What decides the searches (recorded in each): the cap and how rates are added."""
        return {"cap": self.cap, "step": "the grid's own ratio", "significant_digits": 3}

    def rate(self, grid, side, k):
        """The `k`-th rate added beyond the `side` (`"top"`/`"bottom"`) edge of `grid`,
        rounded to 3 significant digits."""
        factor = self.step(grid) ** k
        edge = max(grid) * factor if side == "top" else min(grid) / factor
        return float(f"{edge:.3g}")

    def next_rate(self, grid, trials, trained=None):
        """Where a search stands under the rule, and the rate it tries next.

        Args:
            grid: the search's own grid.
            trials: every trial so far, `[{"learning_rate", "score"}]` (`score` `None`
                for a trial that did not finish; 0 for a diverged one).
            trained: `fn(score) -> bool`, whether a score left chance (`None`: every
                finished score counts).

        Returns:
            `{"next": rate or None, "side": "top"/"bottom"/None, "stopped": why it
            stops, or None while it goes on, "at_cap": bool}`.
        """
        def state(stopped, side=None, next_=None, at_cap=False):
            return {"next": next_, "side": side, "stopped": stopped, "at_cap": at_cap}

        scored = [t for t in trials if t.get("score") is not None]
        if len(grid) < 2 or not scored:
            return state("no trial finished" if not scored else "a grid of one rate has no step")
        best = max(scored, key=lambda t: (t["score"], -t["learning_rate"]))
        if trained is not None and not trained(best["score"]):
            return state("no rate left chance: the scores point nowhere, so the grid is not "
                         "extended")
        rates = sorted(t["learning_rate"] for t in trials)
        rate = best["learning_rate"]
        if rates[0] < rate < rates[-1]:
            return state("the best rate is inside the rates tried")
        side = "top" if rate == rates[-1] else "bottom"
        inside = rates[-2] if side == "top" else rates[1]
        neighbour = next((t["score"] for t in trials if t["learning_rate"] == inside), None)
        if neighbour is not None and neighbour >= best["score"]:
            return state(f"the best rate, at the {side} edge, ties its neighbour: the scores "
                         "point nowhere", side)
        beyond = (lambda r: r > max(grid)) if side == "top" else (lambda r: r < min(grid))
        added = sum(1 for r in rates if beyond(r))
        if added >= self.cap:
            return state(f"at the cap: {added} rates added beyond the grid's {side} edge, and "
                         f"the best is still at the {side} edge", side, at_cap=True)
        return state(None, side, self.rate(grid, side, added + 1))


@dataclass(frozen=True)
class Protocol:
    """One claim's rules.

    Args:
        claim: the claim's number.
        parts: its `Rule`s.
        settings: `{name: what it means}`; the first is the primary (the verdict the
            summary leads with).
        seeds: `{group: seeds per arm in the full preset}` (`"judged"` for the arms
            the parts compare, `"other"` for the rest, more groups where a claim
            needs them), with `seeds_reason`.
        chance: the `ChanceRule`.
        params: other fixed numbers the metrics use (budgets, targets, grids), each
            with its reason in `reasons`.
        scope: what the verdict covers, in words ("at the standard initialisations").
        moved_arms: rows of the sensitivity table that judge the parts again with other
            arms in place of some: `((row name, {arm: its replacement}, reason), ...)`,
            for a choice the source did not fix (claim 13's stalled depth, taken from a
            convolutional network). Only the sensitivity table reads them, so the hash
            does not cover them.
    """

    claim: int
    parts: tuple
    settings: dict
    seeds: dict
    seeds_reason: str
    chance: ChanceRule = field(default_factory=ChanceRule)
    params: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=dict)
    scope: str = ""
    moved_arms: tuple = ()

    @property
    def primary(self):
        return next(iter(self.settings))

    def rules_in(self, setting):
        """The rules judged in `setting`."""
        return [r for r in self.parts if r.settings is None or setting in r.settings]

    def rule(self, key):
        for r in self.parts:
            if r.key == key:
                return r
        raise KeyError(f"Claim {self.claim} has no part {key!r}")

    def with_margins(self, factor):
        """The same protocol with every margin's tolerance multiplied by `factor`
        (`Margin.moved`)."""
        parts = tuple(replace(r, margin=None if r.margin is None else
                              replace(r.margin, value=r.margin.moved(factor)))
                      for r in self.parts)
        return replace(self, parts=parts)

    def with_arms(self, replacements):
        """The same protocol with each rule's arms replaced by `replacements[arm]` where
        it names one (`moved_arms`)."""
        parts = tuple(replace(r, arms=tuple(replacements.get(a, a) for a in r.arms))
                      for r in self.parts)
        return replace(self, parts=parts)

    def with_alternatives(self):
        """The same protocol with every rule that has an alternative aggregate reading it."""
        parts = tuple(replace(r, metric=r.alternative[0],
                              margin=replace(r.margin, value=r.alternative[1]),
                              alternative=None)
                      if r.alternative else r for r in self.parts)
        return replace(self, parts=parts)

    def decisive(self):
        """What decides verdicts (not the prose): what the hash covers."""
        payload = asdict(self)
        for rule in payload["parts"]:
            rule.pop("text")
            if rule["margin"]:
                rule["margin"] = rule["margin"]["value"]
        payload.pop("seeds_reason")
        payload.pop("moved_arms")  # the sensitivity table's, as the margins' references
        payload.pop("reasons")
        payload.pop("scope")
        payload["chance"] = {"alpha": self.chance.alpha, "line": self.chance.line}
        payload["settings"] = list(self.settings)
        return payload

    def hash(self):
        """A short hash of the decisive content (prose edits leave it unchanged)."""
        text = json.dumps(self.decisive(), sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


class ProtocolError(ValueError):
    """A protocol that names something its claim cannot measure."""


def validate(protocol, metrics, roles):
    """Checks a claim's protocol against what its module measures, before any run.

    Args:
        protocol: the claim's `Protocol`.
        metrics: the metric names the claim module computes.
        roles: `{setting: [role, ...]}` the claim module fills.

    Raises:
        ProtocolError: one line naming the unknown metric, arm, setting or test.
    """
    where = f"claim {protocol.claim}"
    keys = [r.key for r in protocol.parts]
    if len(set(keys)) != len(keys):
        raise ProtocolError(f"The protocol of {where} repeats a part key. Received: parts={keys}")
    for setting in protocol.settings:
        if setting not in roles:
            raise ProtocolError(f"The protocol of {where} names the setting {setting!r}, which "
                                f"its module does not build. Known settings: "
                                f"{', '.join(roles)}. Received: setting={setting!r}")
    for rule in protocol.parts:
        part = f"{where}, part ({rule.key})"
        if rule.test not in TESTS:
            raise ProtocolError(f"Unknown test in {part}. Valid choices: {', '.join(TESTS)}. "
                                f"Received: test={rule.test!r}")
        if rule.direction not in DIRECTIONS:
            raise ProtocolError(f"Unknown direction in {part}. Valid choices: "
                                f"{', '.join(DIRECTIONS)}. Received: direction={rule.direction!r}")
        aggregates = [rule.metric] + ([rule.alternative[0]] if rule.alternative else [])
        for metric in aggregates:
            if metric not in metrics:
                raise ProtocolError(f"Unknown metric or aggregate in {part}. Known: "
                                    f"{', '.join(sorted(metrics))}. Received: metric={metric!r}")
        wanted = {"paired": 2, "one_sample": 1, "at_chance": 1}[rule.test]
        if len(rule.arms) != wanted:
            raise ProtocolError(f"{part} is a {rule.test} test and compares {wanted} arm(s). "
                                f"Received: arms={rule.arms!r}")
        if rule.test != "at_chance" and rule.margin is None:
            raise ProtocolError(f"{part} needs a margin. Received: margin=None")
        for setting in rule.settings or protocol.settings:
            if setting not in protocol.settings:
                raise ProtocolError(f"{part} names the setting {setting!r}, which the protocol "
                                    f"does not have. Received: setting={setting!r}")
            moved = [m.get(a, a) for _, m, _ in protocol.moved_arms for a in rule.arms]
            for arm in (*rule.arms, *moved):
                if arm not in roles.get(setting, ()):
                    raise ProtocolError(
                        f"Unknown arm in {part} ({setting}). Known arms: "
                        f"{', '.join(roles.get(setting, ()))}. Received: arm={arm!r}")
    for name, _, reason in protocol.moved_arms:
        if not reason:
            raise ProtocolError(f"The sensitivity row {name!r} of {where} needs its reason.")


def hashes(protocols):
    """`{claim id: hash}` and the hash of them all."""
    per_claim = {p.claim: p.hash() for p in protocols}
    text = json.dumps(per_claim, sort_keys=True)
    return per_claim, hashlib.sha256(text.encode()).hexdigest()[:12]
