"""Figure helpers for the claims: every seed as a thin line, the mean ± sd as a band, and
the judged differences with their intervals and margins.

Each run is drawn to its own end (runs of unequal length are never cut to the
shortest); a diverged run ends in an `x`. The band at a step uses the runs that
reach it. Axes get human labels. Figures use the object-oriented matplotlib API
(`matplotlib.figure.Figure`), so no display backend is touched.
"""

import math

import numpy as np

OUTCOME_COLORS = {"holds": "tab:green", "does not hold": "tab:red", "undecided": "tab:orange"}


def new_figure(ncols=1, width=None, height=4.2, nrows=1):
    """`(figure, [axes])` with `ncols` panels side by side (`nrows` rows)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width or 5.5 * ncols + 1.0, height * nrows), layout="constrained")
    axes = np.atleast_1d(figure.subplots(nrows, ncols)).ravel()
    return figure, list(axes)


def seed_curves(ax, label, curves, color=None, diverged=(), linestyle="-"):
    """Draws one arm: `curves` is `{seed: (steps, values)}`; `diverged` names the seeds
    that diverged (their line ends in an `x`). Returns the line colour."""
    color = color or ax._get_lines.get_next_color()
    grid = {}
    for seed, (steps, vals) in sorted(curves.items()):
        pts = [(s, v) for s, v in zip(steps, vals) if s is not None and v is not None]
        if not pts:
            continue
        xs, ys = zip(*pts)
        ax.plot(xs, ys, color=color, linewidth=0.7, alpha=0.45, linestyle=linestyle)
        if seed in diverged:
            ax.plot([xs[-1]], [ys[-1]], marker="x", color=color, markersize=7, linestyle="")
        for s, v in pts:
            grid.setdefault(s, []).append(v)
    if grid:
        steps = sorted(grid)
        mean = np.array([np.mean(grid[s]) for s in steps])
        sd = np.array([np.std(grid[s], ddof=1) if len(grid[s]) > 1 else 0.0 for s in steps])
        ax.plot(steps, mean, color=color, linewidth=1.8, linestyle=linestyle,
                label=f"{label} (n={len(curves)})")
        ax.fill_between(steps, mean - sd, mean + sd, color=color, alpha=0.18, linewidth=0)
    return color


def step_axis(ax):
    """A training-step x axis, linear to 10 and logarithmic beyond (the budgets are
    dense early and log-spaced later), with plain numbers as ticks."""
    from matplotlib.ticker import FuncFormatter

    ax.set_xscale("symlog", linthresh=10, linscale=0.5)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlim(left=0)


def chance_line(ax, level=0.1):
    """A thin dashed chance line drawn behind the curves, so arms stuck at chance stay
    visible on top of it."""
    ax.axhline(level, color="grey", linestyle="--", linewidth=0.8, label="chance", zorder=0)


def judged_step(ax, step, label="judged here"):
    """A vertical dotted line at the step a part is judged at."""
    ax.axvline(step, color="black", linestyle=":", linewidth=1.0, label=label, zorder=0)


def seed_points(ax, per_arm, ylabel, reference=None, percent=False):
    """One column per arm: each seed a dot, the mean a bar with ± sd.

    Args:
        per_arm: `{label: {seed: value}}`.
    """
    labels = list(per_arm)
    for i, label in enumerate(labels):
        vals = list(per_arm[label].values())
        if not vals:
            continue
        ax.bar(i, np.mean(vals), color="tab:blue", alpha=0.35,
               yerr=np.std(vals, ddof=1) if len(vals) > 1 else 0, capsize=3)
        jitter = np.linspace(-0.15, 0.15, len(vals)) if len(vals) > 1 else [0.0]
        ax.plot(i + np.asarray(jitter), vals, "o", color="tab:blue", markersize=3)
    ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right", fontsize=8)
    if reference is not None:
        ax.axhline(reference, color="black", linestyle="--", linewidth=0.8)
    ax.set_ylabel(ylabel)
    if percent:
        ax.set_ylim(0, 1)


def finish(ax, title, xlabel="training step", ylabel="validation accuracy", ylim=(0, 1),
           legend=True):
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")


# --- judged differences --------------------------------------------------------------------

def _scaled(part):
    """`(estimate, low, high, margin, per-seed values)` in display units (points, %, decades,
    ratio as log10), or `None` without an estimate."""
    est = part.get("estimate")
    if not est or est.get("mean") is None:
        return None
    scale = 100.0 if part.get("unit") in ("pts", "share", "pp") else 1.0
    margin = part.get("margin")
    if part.get("direction") == "within" and margin is not None:
        margin = -margin

    def s(v):
        return None if v is None else scale * v

    low, high = s(est.get("low")), s(est.get("high"))
    if part.get("unit") == "share" and part.get("test") != "paired" and low is not None:
        low, high = max(low, 0.0), min(high, 100.0)  # a share's interval, clipped to [0, 100] %
    return s(est["mean"]), low, high, s(margin), [scale * v for v in est.get("values") or []]


UNIT_LABELS = {"pts": "points of accuracy", "share": "% of units, outputs or networks",
               "pp": "percentage points", "decades": "decades", "log10 ratio": "log10 ratio",
               "output": "a layer's mean output", "exponent": "powers of sqrt(2) a layer"}


def forest(ax, rows, title=None):
    """A forest plot: one row per part, its estimate with the 95 % interval, the margin as
    a tick, coloured by outcome. `rows` is `[(label, part dict)]`; values in the part's
    display units (see `UNIT_LABELS`: the axis names the units of its first row)."""
    ys = []
    for i, (label, part) in enumerate(rows):
        scaled = _scaled(part)
        y = len(rows) - i
        ys.append((y, label))
        if scaled is None:
            ax.text(0, y, "no estimate", fontsize=7, va="center", color="grey")
            continue
        mean, low, high, margin, values = scaled
        color = OUTCOME_COLORS.get(part["outcome"], "black")
        if values and part.get("unit") != "share":
            ax.plot(values, [y] * len(values), "o", color=color, alpha=0.3, markersize=3)
        if low is not None:
            ax.plot([low, high], [y, y], color=color, linewidth=2.2)
        ax.plot([mean], [y], "s", color=color, markersize=6)
        if margin is not None:
            ax.plot([margin, margin], [y - 0.35, y + 0.35], color="black", linewidth=1.2)
    ax.set_yticks([y for y, _ in ys], [label for _, label in ys], fontsize=7)
    ax.set_ylim(0.3, len(rows) + 0.7)
    if rows:
        ax.axvline(0, color="grey", linewidth=0.6, zorder=0)
        unit = rows[0][1].get("unit")
        ax.set_xlabel(f"estimate with its 95 % interval ({UNIT_LABELS.get(unit, unit)}"
                      + ("; a share's interval clipped to [0, 100] %" if unit == "share" else "")
                      + "); black tick: the margin", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)


def parts_panel(ax, verdicts):
    """The judged parts of a claim (every setting) as a forest, one panel for all."""
    rows = []
    for setting, verdict in (verdicts or {}).items():
        parts = verdict["parts"] if isinstance(verdict, dict) else [p.to_dict() for p in verdict.parts]
        for part in parts:
            rows.append((f"({part['key']}) {setting}", part))
    units = {p.get("unit") for _, p in rows}
    title = "judged differences (green holds, red does not, orange undecided)"
    if len(units) > 1:  # one axis per unit would not fit a panel: the first unit only
        first = rows[0][1].get("unit")
        left_out = [label for label, p in rows if p.get("unit") != first]
        rows = [(label, p) for label, p in rows if p.get("unit") == first]
        title += f"\nin other units, in the report's forest plot: {', '.join(left_out)}"
    forest(ax, rows, title)


def log_ticks(ax, axis="y"):
    """Readable ticks on a log axis that spans less than a decade (plain numbers)."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(LogLocator(base=10, subs=(1, 1.5, 2, 3, 5, 7)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}" if v > 0 else ""))
    target.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def is_finite(value):
    return value is not None and math.isfinite(value)
