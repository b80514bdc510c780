"""The statistics every claim is judged with: per-seed summaries and paired differences.

A comparison between two arms is decided on the per-seed differences (arm A's value
minus arm B's for the same seed: same initial data order and, where the arms share an
architecture, correlated noise), never on two separate means. The interval is a
Student t interval on those differences, with exact t quantiles (`t_critical`, no
SciPy and no resampling), so the same numbers always give the same verdict.

Three decisions, each `HOLDS`, `FAILS` or `INCONCLUSIVE`:

- `greater(diff, margin)`: A clearly exceeds B by more than `margin`: the 95 %
  interval lies above the margin (holds), below or at it (fails), or straddles it;
- `at_least(diff, margin)`: A is nearly as good as B: the lower bound of the 90 %
  interval (one side of a TOST equivalence test at 5 %) lies above `-margin`;
- `equivalent(diff, margin)`: the two one-sided tests (TOST) at 5 % each: the 90 %
  interval lies inside `(-margin, margin)`.

With fewer than two paired seeds no interval exists and every decision is
inconclusive: one seed cannot tell an effect from noise.
"""

import math
from dataclasses import dataclass
from statistics import NormalDist

HOLDS, FAILS, INCONCLUSIVE = "holds", "fails", "inconclusive"

def t_quantile(q, df):
    """`t_{q, df}`, the one-sided Student t quantile (`q = 0.975` for a 95 % interval)."""
    if not 0.5 < q < 1:
        raise ValueError(f"`q` must be in (0.5, 1). Received: q={q!r}")
    return t_critical(2 * q - 1, df)


def t_critical(level, df):
    """Two-sided Student t critical value: `t` with P(|T| <= t) = `level`, T ~ t(df).

    Exact for integer `df` up to 1,000: it inverts, by bisection on the angle, the
    closed-form finite series of the t distribution for integer degrees of freedom
    (Abramowitz and Stegun 26.7.3 and 26.7.4). Beyond 1,000 the Cornish-Fisher
    expansion around the normal quantile (error below 2e-8 there for levels up to
    0.99). No scipy.

    Example:
    >>> round(t_critical(0.95, 29), 4)  # t_{0.975, 29}
    2.0452

    Args:
        level: the two-sided coverage, in (0, 1).
        df: degrees of freedom, an integer >= 1.
    """
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1). Received: level={level}")
    if isinstance(df, bool) or int(df) != df or df < 1:
        raise ValueError(f"`df` must be an integer >= 1. Received: df={df}")
    df = int(df)
    if df > 1000:
        z = NormalDist().inv_cdf(0.5 + level / 2)
        return (z + (z**3 + z) / (4 * df)
                + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2))
    low, high = 0.0, math.pi / 2
    for _ in range(200):
        middle = (low + high) / 2
        if _t_mass(middle, df) < level:
            low = middle
        else:
            high = middle
        if high - low < 1e-15:
            break
    return math.sqrt(df) * math.tan((low + high) / 2)


def _t_mass(theta, df):
    """P(|T| <= sqrt(df) tan(theta)) for T ~ t(df), A&S 26.7.3 (odd df) / 26.7.4 (even)."""
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    # Odd: cos + (2/3) cos^3 + (2 4)/(3 5) cos^5 + ...; even: 1 + (1/2) cos^2 + ...
    k, term, total = (1, math.cos(theta), 0.0) if df % 2 else (0, 1.0, 0.0)
    while k <= df - 2:
        total += term
        term *= cos2 * (k + 1) / (k + 2)
        k += 2
    if df % 2:
        return 2 / math.pi * (theta + sin * total)
    return sin * total


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
    mean = sum(values) / len(values)
    std = (math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
           if len(values) > 1 else 0.0)
    return Summary(mean, std, len(values), tuple(values))


@dataclass(frozen=True)
class Difference:
    """Per-seed differences A - B with the mean and a t interval.

    `low`/`high` are the interval at `level` (`None` with fewer than two pairs);
    `low90`/`high90` the 90 % interval used by the equivalence decisions.
    """

    mean: float
    std: float
    n: int
    low: float | None
    high: float | None
    low90: float | None
    high90: float | None
    seeds: tuple
    values: tuple
    level: float = 0.95

    def to_dict(self):
        return {"mean": self.mean, "std": self.std, "n": self.n, "low": self.low,
                "high": self.high, "low90": self.low90, "high90": self.high90,
                "level": self.level, "seeds": list(self.seeds), "values": list(self.values),
                "interval": "Student t on the per-seed differences"}


def interval(values, q):
    """`(mean - t s / sqrt(n), mean + t s / sqrt(n))` with `t = t_{q, n-1}`, or Nones."""
    s = summarize(values)
    if s is None or s.n < 2:
        return None, None
    half = t_quantile(q, s.n - 1) * s.std / math.sqrt(s.n)
    return s.mean - half, s.mean + half


def paired(a, b):
    """Differences `a[seed] - b[seed]` over the seeds both have a finite value for.

    Args:
        a, b: `{seed: value}`.

    Returns:
        A `Difference`, or `None` if no seed has both values.
    """
    seeds = sorted(s for s in a if s in b and finite([a[s]]) and finite([b[s]]))
    if not seeds:
        return None
    values = tuple(float(a[s]) - float(b[s]) for s in seeds)
    s = summarize(values)
    low, high = interval(values, 0.975)
    low90, high90 = interval(values, 0.95)
    return Difference(s.mean, s.std, s.n, low, high, low90, high90, tuple(seeds), values)


def greater(diff, margin):
    """Does A exceed B by more than `margin`? Decided on the 95 % interval."""
    if diff is None or diff.low is None:
        return INCONCLUSIVE
    if diff.low > margin:
        return HOLDS
    if diff.high <= margin:
        return FAILS
    return INCONCLUSIVE


def at_least(diff, margin):
    """Is A at most `margin` below B (non-inferiority, one side of TOST at 5 %)?"""
    if diff is None or diff.low90 is None:
        return INCONCLUSIVE
    if diff.low90 > -margin:
        return HOLDS
    if diff.high90 <= -margin:
        return FAILS
    return INCONCLUSIVE


def equivalent(diff, margin):
    """Are A and B within `margin` of each other (TOST, two one-sided tests at 5 %)?"""
    if diff is None or diff.low90 is None:
        return INCONCLUSIVE
    if -margin < diff.low90 and diff.high90 < margin:
        return HOLDS
    if diff.low90 >= margin or diff.high90 <= -margin:
        return FAILS
    return INCONCLUSIVE


def one_sample(values, threshold, above=True):
    """Is the mean of `values` clearly above (or below) `threshold`? 95 % t interval."""
    low, high = interval(values, 0.975)
    if low is None:
        return INCONCLUSIVE
    if above:
        return HOLDS if low > threshold else FAILS if high <= threshold else INCONCLUSIVE
    return HOLDS if high < threshold else FAILS if low >= threshold else INCONCLUSIVE


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
    """`+5.5 [4.9, 6.1] pts (n=5)`: mean difference with its 95 % interval."""
    if d is None:
        return "no paired seeds"
    scale, unit = (100.0, " pts") if percent else (1.0, "")
    dd = max(digits - 2, 1) if percent else digits
    text = f"{scale * d.mean:+.{dd}f}"
    if d.low is not None:
        text += f" [{scale * d.low:+.{dd}f}, {scale * d.high:+.{dd}f}]"
    return f"{text}{unit} (n={d.n})"
