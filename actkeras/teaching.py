"""What the notebooks share: warnings summarised to one line per fit, mean ± sd over seeds,
and per-seed learning curves in the reproduction's shape.

The notebooks teach from the monitors' numbers; a 50-layer network can raise a
`DeadUnitWarning` for each of its layers, and a page of them hides the lesson.
`summarised_warnings` keeps them, counts them, and prints one line instead.
"""

import contextlib
import math
import warnings
from collections import Counter

import numpy as np

__all__ = ["mean_sd", "seed_curves", "summarised_warnings", "summary_line"]


def summary_line(label, caught):
    """One line naming how many warnings of each kind `caught` holds (and, for the dead-unit
    monitor, how many layers it named), or `""` when it holds none."""
    if not caught:
        return ""
    kinds = Counter(w.category.__name__ for w in caught)
    parts = [f"{count} {name}" + ("s" if count > 1 else "") for name, count in kinds.most_common()]
    first = str(caught[0].message).splitlines()[0]
    if len(first) > 110:
        first = first[:107] + "..."
    return f"{label}: {', '.join(parts)} (first: {first})"


@contextlib.contextmanager
def summarised_warnings(label, show=print):
    """Collects the warnings raised inside the block and shows one line for all of them.

    Example:
    >>> with summarised_warnings("relu, he_normal, seed 0") as caught:
    ...     model.fit(x, y, callbacks=[DeadReLUMonitor()])
    relu, he_normal, seed 0: 42 DeadUnitWarnings (first: 12.5% of the 100 units of ...)

    Args:
        label: what the line starts with (the run).
        show: called with the line, if there is one. Defaults to `print`.

    Yields:
        The list of caught `warnings.WarningMessage`s (filled when the block ends).
    """
    if not callable(show):
        raise ValueError(f"`show` must be callable. Received: show={show!r}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Deprecations inside the libraries (NumPy 2 against TensorFlow's arrays) are
        # hidden by Python's default filters outside `__main__`: they stay hidden.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        yield caught
    line = summary_line(label, caught)
    if line:
        show(line)


def mean_sd(values, digits=3, percent=False):
    """`"mean ± sd (n=N)"` of the finite `values` (sample sd; no sd for one value)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return "n/a"
    scale, unit = (100, " %") if percent else (1, "")
    mean = np.mean(finite) * scale
    if len(finite) == 1:
        return f"{mean:.{digits}f}{unit} (n=1)"
    sd = np.std(finite, ddof=1) * scale
    return f"{mean:.{digits}f} ± {sd:.{digits}f}{unit} (n={len(finite)})"


def seed_curves(records_by_seed, key, x="step"):
    """`{seed: (steps, values)}` from per-seed lists of records (dicts), the shape
    `actkeras.experiments.figures.seed_curves` draws as thin lines and a mean ± sd band.

    Records without `key` are left out of their seed's curve.
    """
    out = {}
    for seed, records in records_by_seed.items():
        points = [(r[x], r[key]) for r in records if r.get(key) is not None]
        out[seed] = tuple(zip(*points)) if points else ((), ())
    return out
