"""What an activation costs, timed in paired rounds: claim 8's two measurements.

- `activation_cost`: forward + backward of each activation over one tensor, many
  passes in one compiled call, net of an identity baseline timed in the same rounds;
- `mlp_epoch_time`: training steps of the 50-layer `fashion_mlp` per activation.

Both report ratios to ReLU with t intervals over rounds run in a seeded random order
(`actkeras.paired_timing`). The reproduction's claim 8 and `actkeras bench` run them.
"""

import math
import statistics
import time

import keras
import numpy as np

from actkeras import checks
from actkeras.paired_timing import (
    BASELINE,
    REFERENCE,
    compile_function,
    geometric_ratio_ci,
    net_log_ratios,
    paired_rounds,
    wait_for,
)

WIDTH = 1024  # the cost tensor's last dimension
# Arms never judged: `linear` is the identity, which does no work of its own; the
# baseline is that identity.
NOT_JUDGED = ("linear",)
# x <- x + COST_STEP * (f + vjp of the previous pass): each pass depends on the previous
# one, so no pass is hoisted out of the loop or folded, and the forward output is
# consumed (a gradient that does not need f(x) would otherwise let the graph drop it).
COST_STEP = 1e-6


def activation_cost(names=None, *, elements=2**20, inner=40, rounds=40, warmup=3, seed=0,
                    level=0.95):
    """Forward + backward cost of activations, net of an identity baseline, paired.

    Each arm is ONE compiled call (`tf.function` / `jax.jit`) running an in-graph
    loop of `inner` passes over a float32 tensor of shape `(elements / 1024, 1024)`:
    `(y, dx) <- (f(x), vjp_f(x, g))` and `x <- x + 1e-6 * (y + dx)` of the previous
    pass, with `g` a fixed random upstream gradient (so the backward pass multiplies
    by real data, not by ones). The loop-carried `x` keeps every pass in the loop and
    the forward output in use; the carried `y` and `dx` are written to memory on
    both backends (XLA would otherwise fuse a cheap activation into the update,
    where its cost vanished); one call costs one dispatch for `inner` passes.

    The baseline arm is the loop with the identity for `f`, added in the same pass
    (`x <- x + 1e-6 * (x + g)`): nothing carried, `g` a run-time input, not a
    compile-time constant, and the loop, the update and the dispatch are all that is
    left. (A baseline `f(x) = x * s`, `s` a
    run-time scalar, was tried and rejected: unfused, ReLU and a scalar multiply
    move the same bytes, so ReLU's net time came out near zero, its sign flipped in
    a fifth of the rounds and every ratio to it was noise.) After each
    arm's first (compiling) call and `warmup` untimed rounds, every round times every
    arm, baseline included, once, in an order shuffled by `random.Random(seed)`.
    An arm's net time in a round is its time minus the baseline's in that round; its
    log-ratio is `log(net / net_relu)` (`None`, counted in `skipped`, where either
    net time is <= 0). The summary per arm is `geometric_ratio_ci` of those.

    Example:
    >>> cost = activation_cost(["relu", "sigmoid"], elements=2**14, inner=5, rounds=5)
    >>> ci = cost["summary"]["sigmoid"]  # ratio to ReLU, low, high, n, skipped, ...

    Args:
        names: registry names or Keras layer instances (keyed by their `name`).
            `"relu"`, the reference, is added first if missing; `"linear"` is
            refused. Defaults to `None`: the registry, less `"linear"`.
        elements: tensor size, a multiple of 1024. Defaults to `2**20`.
        inner: forward + backward passes per compiled call. Defaults to `40`.
        rounds: timed rounds. Defaults to `40`.
        warmup: untimed rounds after compilation. Defaults to `3`.
        seed: seeds the tensors and the shuffled orders. Defaults to `0`.
        level: the confidence intervals' coverage. Defaults to `0.95`.

    Returns:
        A JSON-ready dict: `backend`, `elements`, `shape`, `inner`, `rounds`,
        `warmup`, `seed`, `level`, `names`, `order` (per timed round, the keys in
        the order run, `"baseline"` among them), `seconds` (per arm, per round, one
        call), `baseline`, `net_seconds`, `log_ratio`, `skipped`, `summary` (per
        arm: `ratio`, `low`, `high`, `n`, `skipped`, `us_per_pass` and
        `net_us_per_pass`, medians over rounds), `baseline_us_per_pass`,
        `compile_seconds` and `wall_seconds`.
    """
    from actkeras.registry import activation_names, get_activation

    wall = time.perf_counter()
    checks.positive_int("inner", inner)
    checks.positive_int("rounds", rounds)
    if not checks._is_int(elements) or elements < WIDTH or elements % WIDTH:
        raise ValueError(f"`elements` must be a positive multiple of {WIDTH}. "
                         f"Received: elements={elements!r}")
    if names is None:
        names = [n for n in activation_names() if n not in NOT_JUDGED]
    layers = {}
    for item in names:
        if isinstance(item, str) and item in NOT_JUDGED:
            raise ValueError(f"{item!r} does no work of its own and is not judged (the "
                             f"identity baseline stands for it). Received: names={names!r}")
        layer = get_activation(item) if isinstance(item, str) else item
        key = item if isinstance(item, str) else layer.name
        if key == BASELINE:
            raise ValueError(f"{BASELINE!r} is the baseline's key. Received: names={names!r}")
        layers[key] = layer
    if REFERENCE not in layers:
        layers = {REFERENCE: get_activation(REFERENCE), **layers}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")  # one traced function per arm is intended
    rng = np.random.default_rng(seed)
    shape = (elements // WIDTH, WIDTH)
    x = keras.ops.convert_to_tensor(rng.normal(size=shape).astype("float32"))
    g = keras.ops.convert_to_tensor(rng.normal(size=shape).astype("float32"))
    for layer in layers.values():
        layer(x[:1])  # builds any weights (PReLU) outside the traced loop
    loops = {BASELINE: _cost_loop(None, inner)}
    for key, layer in layers.items():
        loops[key] = _cost_loop(layer, inner)
    arms = {key: (lambda fn=fn: wait_for(fn(x, g))) for key, fn in loops.items()}
    compile_seconds = {}
    for key, arm in arms.items():
        start = time.perf_counter()
        arm()
        compile_seconds[key] = time.perf_counter() - start
    order, seconds = paired_rounds(arms, rounds=rounds, warmup=warmup, seed=seed)
    baseline = seconds.pop(BASELINE)
    net, log_ratio, skipped = net_log_ratios(seconds, baseline)
    summary = {}
    for key in seconds:
        summary[key] = {
            **geometric_ratio_ci(log_ratio[key], level),
            "skipped": skipped[key],
            "us_per_pass": statistics.median(seconds[key]) / inner * 1e6,
            "net_us_per_pass": statistics.median(net[key]) / inner * 1e6,
        }
    return {
        "backend": keras.backend.backend(),
        "elements": elements,
        "shape": list(shape),
        "inner": inner,
        "rounds": rounds,
        "warmup": warmup,
        "seed": seed,
        "level": level,
        "names": list(seconds),
        "order": order,
        "seconds": seconds,
        "baseline": baseline,
        "net_seconds": net,
        "log_ratio": log_ratio,
        "skipped": skipped,
        "summary": summary,
        "baseline_us_per_pass": statistics.median(baseline) / inner * 1e6,
        "compile_seconds": compile_seconds,
        "wall_seconds": time.perf_counter() - wall,
    }


def _cost_loop(layer, inner):
    """Compiled `(x, g) -> sum(x after inner passes)`; `layer=None` is the baseline.

    An arm's pass computes `f(x)` and `g . df/dx` and carries them to the next pass,
    which adds them to `x`: the loop-carried values are written to memory on every
    backend, as TensorFlow's graph writes each op's output. Added to `x` in the same
    pass instead, XLA (JAX) fused ReLU's compare and select into the update, whose
    memory traffic is the baseline's: ReLU's net time was about 0 (at or below 0 in 2
    of 3 invocations of the quick preset), and every ratio to it was noise. The
    baseline computes nothing: `x <- x + 1e-6 (x + g)`."""
    vjp = _vjp()

    if layer is None:
        def body(i, x, g):
            return x + COST_STEP * (x + g)

        def loop(x, g):
            return keras.ops.sum(keras.ops.fori_loop(0, inner, lambda i, x: body(i, x, g), x))

        return compile_function(loop)

    def step(i, carry, g):
        x, y, dx = carry
        # The update first: each of x, y and dx is read before it is written, in place
        # (the other order made XLA copy all three every pass).
        x = x + COST_STEP * (y + dx)
        return (x, *vjp(layer, x, g))

    def loop(x, g):
        zeros = keras.ops.zeros_like(x)
        x, y, dx = keras.ops.fori_loop(0, inner, lambda i, c: step(i, c, g), (x, zeros, zeros))
        # A scalar result: fetching it costs the same in every arm and waits for all.
        return keras.ops.sum(x) + COST_STEP * keras.ops.sum(y + dx)

    return compile_function(loop)


def _vjp():
    """`(f, x, g) -> (f(x), g . df/dx)`: one forward and one backward pass."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        def vjp(f, x, g):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = f(x)
            return y, tape.gradient(y, x, output_gradients=g)

        return vjp
    if backend == "jax":
        import jax

        def vjp(f, x, g):
            y, pullback = jax.vjp(f, x)
            return y, pullback(g)[0]

        return vjp
    raise RuntimeError(f"activation_cost supports tensorflow and jax. Received: backend={backend}")


# ---------------------------------------------------------------------------
# What one activation costs a real network: training steps of the 50-layer MLP.
# ---------------------------------------------------------------------------


def mlp_epoch_time(data, names, *, batch_size=32, steps=50, rounds=40, warmup=3, seed=0,
                   n_train=None, level=0.95):
    """Training-step time of the 50-layer `fashion_mlp` per activation, paired rounds.

    For each activation, `build_model(name, preset="fashion_mlp",
    initializer="he_normal", seed=seed)`; its first `train_on_batch` (tracing) and
    `warmup` untimed rounds come first. Then every round times, for every model, in
    an order shuffled by `random.Random(seed)`, `steps` consecutive `train_on_batch`
    calls on one fixed batch (the first `batch_size` training images): the round's
    value is their mean seconds per step. Log-ratios to ReLU are per round and
    summarised by `geometric_ratio_ci`; the per-epoch estimate is the median step
    times the steps per epoch.

    Args:
        data: a data set with `x_train`, `y_train` (Fashion-MNIST shaped).
        names: registry names; `"relu"` is added first if missing.
        batch_size: the batch. Defaults to `32` (the preset's).
        steps: consecutive steps per timed value (one step, some 10 ms on a CPU,
            is shorter than the scheduler's time slice). Defaults to `50`: at 20,
            the round-to-round noise of a shared 2-core machine (about 14 % sd of
            the log-ratio) left intervals of about ±5 % after 40 rounds.
        rounds: timed rounds. Defaults to `40`.
        warmup: untimed rounds after the first step. Defaults to `3`.
        seed: the models' seed and the shuffled orders'. Defaults to `0`.
        n_train: images per epoch for the estimate. Defaults to `None`:
            `len(data.x_train)`.
        level: the confidence intervals' coverage. Defaults to `0.95`.

    Returns:
        A JSON-ready dict: `backend`, `preset`, `batch_size`, `steps`, `rounds`,
        `warmup`, `seed`, `level`, `steps_per_epoch`, `names`, `order`, `seconds`
        (per arm, per round, seconds per step), `log_ratio`, `summary` (per arm:
        `ratio`, `low`, `high`, `n`, `step_seconds` (median) and `epoch_seconds`),
        `compile_seconds` and `wall_seconds`.
    """
    from actkeras.models import build_model

    wall = time.perf_counter()
    names = list(names)
    if REFERENCE not in names:
        names.insert(0, REFERENCE)
    x, y = data.x_train[:batch_size], data.y_train[:batch_size]
    models, compile_seconds = {}, {}
    for name in names:
        start = time.perf_counter()
        model = build_model(name, preset="fashion_mlp", initializer="he_normal", seed=seed)
        model.train_on_batch(x, y)
        models[name], compile_seconds[name] = model, time.perf_counter() - start

    def arm(model):
        def run():
            for _ in range(steps):
                model.train_on_batch(x, y)  # returns NumPy values: each step is waited for

        return run

    order, seconds = paired_rounds({name: arm(m) for name, m in models.items()},
                                   rounds=rounds, warmup=warmup, seed=seed)
    seconds = {name: [t / steps for t in values] for name, values in seconds.items()}
    log_ratio = {name: [math.log(t / r) for t, r in zip(values, seconds[REFERENCE])]
                 for name, values in seconds.items()}
    steps_per_epoch = math.ceil((n_train or len(data.x_train)) / batch_size)
    summary = {}
    for name, values in seconds.items():
        step = statistics.median(values)
        summary[name] = {**geometric_ratio_ci(log_ratio[name], level), "step_seconds": step,
                         "epoch_seconds": step * steps_per_epoch}
    return {
        "backend": keras.backend.backend(),
        "preset": "fashion_mlp",
        "batch_size": batch_size,
        "steps": steps,
        "rounds": rounds,
        "warmup": warmup,
        "seed": seed,
        "level": level,
        "steps_per_epoch": steps_per_epoch,
        "names": names,
        "order": order,
        "seconds": seconds,
        "log_ratio": log_ratio,
        "summary": summary,
        "compile_seconds": compile_seconds,
        "wall_seconds": time.perf_counter() - wall,
    }
