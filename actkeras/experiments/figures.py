"""Figure helpers for the claims: every seed as a thin line, the mean ± sd as a band.

Each run is drawn to its own end (runs of unequal length are never cut to the
shortest); a diverged run ends in an `x`. The band at a step uses the runs that
reach it. Axes get human labels. Figures use the object-oriented matplotlib API
(`matplotlib.figure.Figure`), so no display backend is touched.
"""

import numpy as np

LABELS = {
    "valid_accuracy": "validation accuracy",
    "val_accuracy": "validation accuracy",
    "train_accuracy": "training accuracy",
    "step": "training step",
}


def new_figure(ncols=1, width=None, height=4.2):
    """`(figure, [axes])` with `ncols` panels side by side."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width or 5.5 * ncols + 1.0, height), layout="constrained")
    axes = np.atleast_1d(figure.subplots(1, ncols))
    return figure, list(axes)


def seed_curves(ax, label, curves, color=None, diverged=()):
    """Draws one arm: `curves` is `{seed: (steps, values)}`; `diverged` names the seeds
    that diverged (their line ends in an `x`). Returns the line colour."""
    color = color or ax._get_lines.get_next_color()
    grid = {}
    for seed, (steps, vals) in sorted(curves.items()):
        pts = [(s, v) for s, v in zip(steps, vals) if s is not None and v is not None]
        if not pts:
            continue
        xs, ys = zip(*pts)
        ax.plot(xs, ys, color=color, linewidth=0.7, alpha=0.45)
        if seed in diverged:
            ax.plot([xs[-1]], [ys[-1]], marker="x", color=color, markersize=7, linestyle="")
        for s, v in pts:
            grid.setdefault(s, []).append(v)
    if grid:
        steps = sorted(grid)
        mean = np.array([np.mean(grid[s]) for s in steps])
        sd = np.array([np.std(grid[s], ddof=1) if len(grid[s]) > 1 else 0.0 for s in steps])
        n = len(curves)
        ax.plot(steps, mean, color=color, linewidth=1.8, label=f"{label} (n={n})")
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
    ax.axhline(level, color="black", linestyle="--", linewidth=0.8, label="chance")


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
    if legend:
        ax.legend(fontsize=7, loc="best")
