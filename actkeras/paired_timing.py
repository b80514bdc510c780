"""Timing on a noisy, shared machine: paired rounds in a shuffled order, and their ratios.

Each timed unit is run once per round for every arm, in an order shuffled by a
seeded `random.Random`: a slow patch of a shared machine then lands on random arms,
and a per-round ratio pairs two arms that ran seconds apart. `geometric_ratio_ci`
summarises the rounds' log-ratios with a t interval. `compile_function` and
`wait_for` make a timed unit one compiled call, waited for.

`actkeras.activation_timing` (claim 8's timings) and `actkeras.bench` build on it. It
imports nothing of the package: the reproduction (`actkeras.experiments`) runs claim
8's timings through it, and its t quantile is SciPy's, as the reproduction's is.
"""

import math
import random
import statistics
import time

import keras
from scipy import stats

REFERENCE = "relu"  # every ratio is to this arm
BASELINE = "baseline"  # the key of the identity arm in `order`


def geometric_ratio_ci(log_ratios, level=0.95):
    """Geometric-mean ratio and its t confidence interval, from per-round log-ratios.

    `ratio = exp(mean)`, `low, high = exp(mean -/+ t * sd / sqrt(n))` with `sd` the
    sample standard deviation and `t` the Student t quantile at `(1 + level) / 2` with
    `n - 1` degrees of freedom (`scipy.stats.t.ppf`).
    `None` entries are rounds that could not be measured (see `net_log_ratios`)
    and are left out; `n` counts the values used. With one value the interval cannot
    be computed and its bounds are `None`; with none, every number is `None`.

    Example:
    >>> geometric_ratio_ci([math.log(1.1), math.log(1.2), math.log(1.3)])["n"]
    3

    Args:
        log_ratios: per-round natural logs of a ratio (floats, or `None`).
        level: the interval's coverage. Defaults to `0.95`.

    Returns:
        `{"ratio", "low", "high", "n"}`, plain floats (or `None`) and an int.
    """
    values = [float(v) for v in log_ratios if v is not None]
    bad = [v for v in values if not math.isfinite(v)]
    if bad:
        raise ValueError(f"Log-ratios must be finite. Received: log_ratios with {bad[0]}")
    if not 0 < level < 1:
        raise ValueError(f"`level` must be in (0, 1). Received: level={level}")
    n = len(values)
    if n == 0:
        return {"ratio": None, "low": None, "high": None, "n": 0}
    mean = statistics.fmean(values)
    if n == 1:
        return {"ratio": math.exp(mean), "low": None, "high": None, "n": 1}
    half = stats.t.ppf(0.5 + level / 2, n - 1) * statistics.stdev(values) / math.sqrt(n)
    return {"ratio": math.exp(mean), "low": math.exp(mean - half),
            "high": math.exp(mean + half), "n": n}


def paired_rounds(arms, *, rounds, warmup=0, seed=0, clock=time.perf_counter):
    """Times every arm once per round, in an order shuffled anew each round.

    `arms` maps a key to a callable that runs one timed unit and waits for its
    result. `warmup` untimed rounds come first (shuffled the same way). The orders
    are drawn from one `random.Random(seed)`: the same seed gives the same orders.

    Returns:
        `(orders, seconds)`: the timed rounds' orders (lists of keys) and, per key,
        the seconds of each timed round, in round order.
    """
    rng = random.Random(seed)
    keys = list(arms)
    for _ in range(warmup):
        order = rng.sample(keys, len(keys))
        for key in order:
            arms[key]()
    orders, seconds = [], {key: [] for key in keys}
    for _ in range(rounds):
        order = rng.sample(keys, len(keys))
        orders.append(order)
        for key in order:
            start = clock()
            arms[key]()
            seconds[key].append(clock() - start)
    return orders, seconds


def net_log_ratios(seconds, baseline, reference=REFERENCE):
    """Each arm's time net of the same round's baseline, and its log-ratio to `reference`.

    A round whose net time is <= 0 for the arm or for the reference (the baseline
    ran slower: noise larger than the arm's own work) has no log-ratio: its entry is
    `None`, and it is counted in `skipped`.

    Returns:
        `(net_seconds, log_ratio, skipped)`, dicts keyed like `seconds`.
    """
    net = {k: [t - b for t, b in zip(values, baseline)] for k, values in seconds.items()}
    log_ratio, skipped = {}, {}
    for key, values in net.items():
        row = [math.log(v / r) if v > 0 and r > 0 else None
               for v, r in zip(values, net[reference])]
        log_ratio[key], skipped[key] = row, row.count(None)
    return net, log_ratio, skipped


def compile_function(fn):
    """`fn` compiled by the backend (`tf.function` without XLA, `jax.jit`); as is elsewhere."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=False)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    return fn


def wait_for(value):
    """`value` as NumPy: waits until the computation that makes it has finished."""
    return keras.ops.convert_to_numpy(value)
