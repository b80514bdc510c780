"""The statistics every claim is judged with, from `scipy.stats`.

A comparison between two arms is decided on the per-seed differences (arm A's value
minus arm B's for the same seed: the same initial data order and, where the arms share
an architecture, correlated noise), never on two separate means. Every interval in the
report is a two-sided 95 % Student t interval (`LEVEL`), so one level reads the same
everywhere; the package's own decisions from an interval are in `decide`:

- `"above"`: the interval lies above the margin: **holds**; at or below it: **does not
  hold**; straddling it: **undecided**;
- `"below"`: the mirror image (the interval must lie below the margin);
- `"within"`: non-inferiority, "A is nearly as good as B": the interval's lower bound
  lies above `-margin` (holds), its upper bound at or below `-margin` (does not hold).

With fewer than two values no interval exists and the decision is undecided: one seed
cannot tell an effect from noise. "Above chance" is SciPy's exact binomial test.
"""

import math
from dataclasses import dataclass

from scipy import stats as _scipy

HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "undecided"
OUTCOME_WORDS = (HOLDS, FAILS, INCONCLUSIVE)
LEVEL = 0.95  # every interval in the report
DIRECTIONS = ("above", "below", "within")


def t_critical(level, df):
    """Two-sided Student t critical value: `t` with P(|T| <= t) = `level`, T ~ t(df)."""
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1). Received: level={level}")
    if isinstance(df, bool) or df < 1:
        raise ValueError(f"`df` must be >= 1. Received: df={df}")
    return float(_scipy.t.ppf(0.5 + level / 2, df))


def finite(values):
    """The finite floats of `values` (`None`, NaN and infinities dropped)."""
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation and count of one measurement over seeds."""

    mean: float
    std: float
    n: int
    values: tuple

    def to_dict(self):
        return {"mean": self.mean, "std": self.std, "n": self.n, "values": list(self.values)}


def summarize(values):
    """`Summary` of the finite values in `values`; `None` if there are none."""
    values = finite(values)
    if not values:
        return None
    mean = math.fsum(values) / len(values)
    std = (math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))
           if len(values) > 1 else 0.0)
    return Summary(mean, std, len(values), tuple(values))


def interval(values, level=LEVEL):
    """The Student t interval of the mean of `values`, or `(None, None)` below two values.

    Equal values give a zero-width interval at their mean (SciPy's would be NaN).
    """
    s = summarize(values)
    if s is None or s.n < 2:
        return None, None
    if s.std == 0:
        return s.mean, s.mean
    low, high = _scipy.t.interval(level, s.n - 1, loc=s.mean, scale=s.std / math.sqrt(s.n))
    return float(low), float(high)


@dataclass(frozen=True)
class Estimate:
    """A mean with its interval: per-seed differences A - B, or one arm's values.

    `low`/`high` are `None` with fewer than two values. `seeds` and `values` are the
    paired seeds (or the seeds of the one arm) and the numbers behind it.
    """

    mean: float
    std: float
    n: int
    low: float | None
    high: float | None
    seeds: tuple
    values: tuple
    level: float = LEVEL

    def to_dict(self):
        return {"mean": self.mean, "std": self.std, "n": self.n, "low": self.low,
                "high": self.high, "level": self.level, "seeds": list(self.seeds),
                "values": list(self.values), "interval": "Student t (scipy.stats.t)"}


Difference = Estimate  # the name the claims used for paired estimates


def estimate(by_seed):
    """`Estimate` of `{seed: value}` (finite values only), or `None`."""
    seeds = sorted(s for s, v in by_seed.items() if finite([v]))
    if not seeds:
        return None
    values = tuple(float(by_seed[s]) for s in seeds)
    s = summarize(values)
    low, high = interval(values)
    return Estimate(s.mean, s.std, s.n, low, high, tuple(seeds), values)


def paired(a, b):
    """Differences `a[seed] - b[seed]` over the seeds both have a finite value for.

    Args:
        a, b: `{seed: value}`.

    Returns:
        An `Estimate`, or `None` if no seed has both values.
    """
    both = {s: float(a[s]) - float(b[s]) for s in a if s in b and finite([a[s]])
            and finite([b[s]])}
    return estimate(both)


def decide(est, margin, direction="above"):
    """`HOLDS`, `FAILS` or `INCONCLUSIVE` for an `Estimate` against a margin (see the
    module docstring for the three directions)."""
    if direction not in DIRECTIONS:
        raise ValueError(f"Unknown direction. Valid choices: {', '.join(DIRECTIONS)}. "
                         f"Received: direction={direction!r}")
    if est is None or est.low is None:
        return INCONCLUSIVE
    if direction == "above":
        return HOLDS if est.low > margin else FAILS if est.high <= margin else INCONCLUSIVE
    if direction == "below":
        return HOLDS if est.high < margin else FAILS if est.low >= margin else INCONCLUSIVE
    return HOLDS if est.low > -margin else FAILS if est.high <= -margin else INCONCLUSIVE


def above_chance(correct, total, chance, alpha):
    """Is `correct` of `total` clearly above the rate `chance`? SciPy's exact one-sided
    binomial test at level `alpha`; returns `(bool, p-value)`."""
    if total <= 0:
        return False, 1.0
    p = float(_scipy.binomtest(int(correct), int(total), chance, alternative="greater").pvalue)
    return p < alpha, p


def combine_invocations(per_invocation):
    """A two-stage estimate over separate invocations: each invocation's own mean, then
    the t interval over those means (degrees of freedom: invocations - 1), so the
    interval carries the variation between invocations as well as within them.

    Args:
        per_invocation: `[[value, ...], ...]`, one list per invocation.

    Returns:
        `(Estimate over the invocation means or None, [invocation means])`.
    """
    means = [math.fsum(v) / len(v) for v in (finite(x) for x in per_invocation) if v]
    return estimate(dict(enumerate(means))), means


# --- formatting ----------------------------------------------------------------------------

def fmt(value, digits=3, percent=False, signed=False):
    """A number for a table: `0.853`, `85.3 %`, `+1.2`; a dash for a missing value."""
    if value is None or not math.isfinite(value):
        return "–"
    sign = "+" if signed else ""
    if percent:
        return f"{100 * value:{sign}.{max(digits - 2, 1)}f} %"
    return f"{value:{sign}.{digits}f}"


def fmt_summary(s, digits=3, percent=False):
    """`85.3 ± 0.4 %` (mean ± sd); a dash for `None`."""
    if s is None:
        return "–"
    if s.n < 2:
        return fmt(s.mean, digits, percent)
    unit = " %" if percent else ""
    scale = 100.0 if percent else 1.0
    d = max(digits - 2, 1) if percent else digits
    return f"{scale * s.mean:.{d}f} ± {scale * s.std:.{d}f}{unit}"


def fmt_diff(d, digits=3, percent=False):
    """`+5.5 [+4.9, +6.1] pts (n=5)`: mean difference with its 95 % interval."""
    if d is None:
        return "no paired seeds"
    scale, unit = (100.0, " pts") if percent else (1.0, "")
    dd = max(digits - 2, 1) if percent else digits
    text = f"{scale * d.mean:+.{dd}f}"
    if d.low is not None:
        text += f" [{scale * d.low:+.{dd}f}, {scale * d.high:+.{dd}f}]"
    return f"{text}{unit} (n={d.n})"
