"""Training speed of the `udacity` network against what a user would otherwise run.

One process measures, on the same data and in round-robin order (machines are
noisy, so every variant is timed in every round and the median is kept):

  a. the seed 003 code's own TensorFlow 1 loop (`tf.compat.v1`, placeholders,
     `GradientDescentOptimizer(0.5)`, batch 128): the peer baseline, on the
     tensorflow backend only;
  b. a plain `keras.Sequential` with `fit`;
  c. `build_model` + `actkeras.fit`, as the package runs it by default;
  d. the same with all three monitors attached at their defaults;
  e. the machine's matrix-multiply rate at the network's own shapes.

Plus, as ratios to ReLU with 95 % confidence intervals from paired rounds run in a
seeded random order: the cost of each activation (forward + backward, many passes in
one compiled loop over 2**20 elements, net of an identity baseline timed in the same
rounds), and the training-step time of the 50-layer MLP per activation.

`run_all` takes every measurement `actkeras bench` reports;
`actkeras.bench_report.to_markdown` writes them as BENCHMARKS.md.
"""

import math
import random
import statistics
import time

import keras
import numpy as np

from actkeras import checks
from actkeras.records import environment
from actkeras.experiments.stats import t_critical
from actkeras.training import course_offsets

BATCH = 128
# Untimed steps every variant runs first (graph building, compilation): a whole
# execution group of the `udacity` preset, so the timed run traces nothing anew.
WARMUP = 100
VALID_EVERY = 500  # the seed's validation period, also `actkeras.fit`'s reported epoch
HIDDEN = 1024
PIXELS = 784
CLASSES = 10
# Multiply-adds of one training step: forward x@W1, h@W2; backward dW2, dh, dW1.
STEP_FLOPS = 2 * BATCH * (2 * PIXELS * HIDDEN + 3 * HIDDEN * CLASSES)


def start_weights(seed=0):
    """The `udacity` network's initial weights `[w1, b1, w2, b2]` for `seed`, as
    `build_model` draws them: every variant starts from these, so that their test
    accuracies can be compared as well as their speeds."""
    from actkeras.models import build_model

    return build_model("relu", preset="udacity", seed=seed).get_weights()


def tf1_loop(x, y, steps, seed=0, valid=None, weights=None):
    """The seed's TensorFlow 1 training loop; returns (seconds, test-time predict fn).

    Like the seed, it measures the validation accuracy (of `valid`, `(x, y)`) every
    500 steps, as `actkeras.fit` does at the end of each reported epoch. `weights`
    (`[w1, b1, w2, b2]`) replace the seed's truncated-normal start; the batches
    are the course's, from the first, after `WARMUP` untimed ones, as `package_fit`
    runs them.
    """
    import tensorflow as tf

    x = x.reshape(len(x), -1)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(seed)
        inputs = tf.compat.v1.placeholder(tf.float32, shape=(BATCH, PIXELS))
        labels = tf.compat.v1.placeholder(tf.int32, shape=(BATCH,))
        if weights is None:
            weights = [tf.random.truncated_normal([PIXELS, HIDDEN]), tf.zeros([HIDDEN]),
                       tf.random.truncated_normal([HIDDEN, CLASSES]), tf.zeros([CLASSES])]
        w1, b1, w2, b2 = (tf.Variable(value) for value in weights)
        logits = tf.matmul(tf.nn.relu(tf.matmul(inputs, w1) + b1), w2) + b2
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        )
        train = tf.compat.v1.train.GradientDescentOptimizer(0.5).minimize(loss)
        eval_inputs = tf.compat.v1.placeholder(tf.float32, shape=(None, PIXELS))
        eval_logits = tf.matmul(tf.nn.relu(tf.matmul(eval_inputs, w1) + b1), w2) + b2
        session = tf.compat.v1.Session(graph=graph)
        session.run(tf.compat.v1.global_variables_initializer())
    for offset in course_offsets(len(x), BATCH, WARMUP).tolist():
        session.run(train, {inputs: x[offset : offset + BATCH], labels: y[offset : offset + BATCH]})
    offsets = course_offsets(len(x), BATCH, steps).tolist()
    valid_x = None if valid is None else valid[0].reshape(len(valid[0]), -1)
    start = time.perf_counter()
    for step, offset in enumerate(offsets, start=1):
        session.run(
            [train, loss],
            {inputs: x[offset : offset + BATCH], labels: y[offset : offset + BATCH]},
        )
        if valid_x is not None and (step % VALID_EVERY == 0 or step == steps):
            np.argmax(session.run(eval_logits, {eval_inputs: valid_x}), axis=1)
    seconds = time.perf_counter() - start

    def predict(images):
        return session.run(eval_logits, {eval_inputs: images.reshape(len(images), -1)})

    return seconds, predict


def plain_keras(x, y, steps, seed=0, weights=None):
    """A plain `keras.Sequential` and `fit`, as a Keras user would first write it
    (started from `weights` where given, trained on the data in its stored order)."""
    keras.utils.set_random_seed(seed)
    init = keras.initializers.TruncatedNormal(stddev=1.0)
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(HIDDEN, activation="relu", kernel_initializer=init),
            keras.layers.Dense(CLASSES, kernel_initializer=init),
        ]
    )
    if weights is not None:
        model.set_weights(weights)
    model.compile(
        keras.optimizers.SGD(0.5),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    samples = steps * BATCH
    repeats = math.ceil(samples / len(x))
    xs, ys = np.concatenate([x] * repeats)[:samples], np.concatenate([y] * repeats)[:samples]
    model.fit(xs[: WARMUP * BATCH], ys[: WARMUP * BATCH], batch_size=BATCH, verbose=0)
    start = time.perf_counter()
    model.fit(xs, ys, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    return time.perf_counter() - start, lambda images: model.predict(images, verbose=0)


def package_fit(data, steps, seed=0, monitors=False, warm_up=None):
    """`build_model` + `actkeras.fit` at the package's defaults (optionally all monitors).

    An untimed fit of `WARMUP` steps comes first, with the same monitors: it traces
    the model's train and test functions and pays the monitors' first use on the
    model (on JAX, compiling their passes and gradient: once per model). Its
    seconds are appended to `warm_up` where given. The timed fit then has new
    monitors, as a user's next `fit` would: they set up again (probe, call sites)
    and, on JAX, reuse the compiled functions.
    """
    from actkeras.models import build_model
    from actkeras.training import fit

    keras.utils.set_random_seed(seed)
    model = build_model("relu", preset="udacity", seed=seed)
    start = time.perf_counter()
    fit(model, data, steps=WARMUP, verbose=0, callbacks=_all_monitors() if monitors else [])
    if warm_up is not None:
        warm_up.append(time.perf_counter() - start)
    callbacks = _all_monitors() if monitors else []
    start = time.perf_counter()
    fit(model, data, steps=steps, verbose=0, callbacks=callbacks, log_every=VALID_EVERY)
    return time.perf_counter() - start, lambda images: model.predict(images, verbose=0)


def _all_monitors():
    from actkeras.callbacks import ActivationStats, DeadReLUMonitor, GradientNormLogger

    return [DeadReLUMonitor(), GradientNormLogger(), ActivationStats()]


def matmul_rate(inner=20, repeats=20):
    """FLOP/s of the step's five matrix products at the network's shapes, compiled.

    `inner` steps run inside one compiled loop so that dispatch overhead stays out.
    """
    rng = np.random.default_rng(0)

    def tensor(*shape):
        return keras.ops.convert_to_tensor(rng.normal(size=shape).astype("float32"))

    x, w1, w2, g = tensor(BATCH, PIXELS), tensor(PIXELS, HIDDEN), tensor(HIDDEN, CLASSES), tensor(BATCH, CLASSES)

    def body(i, carry):
        w1, w2 = carry
        h = keras.ops.matmul(x, w1)
        out = keras.ops.matmul(h, w2)
        dw2 = keras.ops.matmul(keras.ops.transpose(h), g + out * 1e-9)
        dh = keras.ops.matmul(g, keras.ops.transpose(w2))
        dw1 = keras.ops.matmul(keras.ops.transpose(x), dh)
        return w1 - 1e-9 * dw1, w2 - 1e-9 * dw2  # a data dependency: no step is skipped

    compiled = _compile(lambda w1, w2: keras.ops.fori_loop(0, inner, body, (w1, w2)))
    _block(compiled(w1, w2)[0])
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            result = compiled(w1, w2)
        _block(result[0])
        best = max(best, STEP_FLOPS * inner * repeats / (time.perf_counter() - start))
    return best


def _compile(fn):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=False)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    return fn


def _block(value):
    return keras.ops.convert_to_numpy(value)


# ---------------------------------------------------------------------------
# Paired, randomised timing and its statistics.
#
# Each timed unit is run once per round for every arm, in an order shuffled by a
# seeded `random.Random`: a slow patch of a shared machine then lands on random
# arms, and a per-round ratio pairs two arms that ran seconds apart.
# ---------------------------------------------------------------------------

REFERENCE = "relu"  # every ratio is to this arm
BASELINE = "baseline"  # the key of the identity arm in `order`
# Arms never judged: `linear` is the identity, which does no work of its own; the
# baseline is that identity.
NOT_JUDGED = ("linear",)
# x <- x + COST_STEP * (f(x) + vjp): each pass depends on the previous one, so no
# pass is hoisted out of the loop or folded, and the forward output is consumed
# (a gradient that does not need f(x) would otherwise let the graph drop it).
COST_STEP = 1e-6


def geometric_ratio_ci(log_ratios, level=0.95):
    """Geometric-mean ratio and its t confidence interval, from per-round log-ratios.

    `ratio = exp(mean)`, `low, high = exp(mean -/+ t * sd / sqrt(n))` with `sd` the
    sample standard deviation and `t = t_critical(level, n - 1)` (exact, see there).
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
    half = t_critical(level, n - 1) * statistics.stdev(values) / math.sqrt(n)
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


# ---------------------------------------------------------------------------
# What one activation costs: forward + backward, compiled, in a loop.
# ---------------------------------------------------------------------------


def activation_cost(names=None, *, elements=2**20, inner=40, rounds=40, warmup=3, seed=0,
                    level=0.95):
    """Forward + backward cost of activations, net of an identity baseline, paired.

    Each arm is ONE compiled call (`tf.function` / `jax.jit`) running an in-graph
    loop of `inner` passes over a float32 tensor of shape `(elements / 1024, 1024)`:
    `x <- x + 1e-6 * (f(x) + vjp_f(x, g))`, with `g` a fixed random upstream gradient
    (so the backward pass multiplies by real data, not by ones). The loop-carried
    `x` keeps every pass in the loop and the forward output in use, and one call
    costs one dispatch for `inner` passes.

    The baseline arm is the same loop with the identity for `f`: its backward pass
    returns `g`, a run-time input, not a compile-time constant, and the loop, the
    update and the dispatch are all that is left. (A baseline `f(x) = x * s`, `s` a
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
    if not checks._is_int(elements) or elements < HIDDEN or elements % HIDDEN:
        raise ValueError(f"`elements` must be a positive multiple of {HIDDEN}. "
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
    shape = (elements // HIDDEN, HIDDEN)
    x = keras.ops.convert_to_tensor(rng.normal(size=shape).astype("float32"))
    g = keras.ops.convert_to_tensor(rng.normal(size=shape).astype("float32"))
    for layer in layers.values():
        layer(x[:1])  # builds any weights (PReLU) outside the traced loop
    loops = {BASELINE: _cost_loop(None, inner)}
    for key, layer in layers.items():
        loops[key] = _cost_loop(layer, inner)
    arms = {key: (lambda fn=fn: _block(fn(x, g))) for key, fn in loops.items()}
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
    """Compiled `(x, g) -> sum(x after inner passes)`; `layer=None` is the baseline."""
    vjp = _vjp()
    forward = (lambda v: v) if layer is None else layer

    def loop(x, g):
        def body(i, x):
            y, dx = vjp(forward, x, g)
            return x + COST_STEP * (y + dx)

        # A scalar result: fetching it costs the same in every arm and waits for all.
        return keras.ops.sum(keras.ops.fori_loop(0, inner, body, x))

    return _compile(loop)


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


def accuracy(predict, images, labels):
    return float(np.mean(np.argmax(predict(images), axis=-1) == labels))


def run_speed(data, steps=3001, rounds=5, variants=("a", "b", "c", "d"), progress=print):
    """Times the variants round-robin; returns samples/s (median), ratios and accuracies.

    A ratio is the median over rounds of that round's ratio, with its range: the
    variants of one round run back to back, so a slow patch of a shared machine
    moves both sides of a round's ratio, while a ratio of medians can pair a fast
    round of one variant with a slow round of the other.
    """
    weights = start_weights()
    warm_up = {"c": [], "d": []}
    runners = {
        "a": ("TF1 loop (seed 003 code)", lambda: tf1_loop(
            data.x_train, data.y_train, steps, valid=(data.x_valid, data.y_valid),
            weights=weights)),
        "b": ("plain keras.Sequential + fit",
              lambda: plain_keras(data.x_train, data.y_train, steps, weights=weights)),
        "c": ("build_model + actkeras.fit",
              lambda: package_fit(data, steps, warm_up=warm_up["c"])),
        "d": ("c + all three monitors",
              lambda: package_fit(data, steps, monitors=True, warm_up=warm_up["d"])),
    }
    if "a" in variants and keras.backend.backend() != "tensorflow":
        # The TF1 loop is TensorFlow's own baseline: on another backend it would run a
        # TensorFlow session beside that backend in one process (if TensorFlow is
        # there at all), which measures neither.
        variants = [v for v in variants if v != "a"]
        progress(f"variant a skipped: the TF1 loop is the tensorflow backend's baseline, "
                 f"not {keras.backend.backend()}'s")
    seconds = {v: [] for v in variants}
    accuracies = {}
    for round_index in range(rounds):
        for v in variants:
            elapsed, predict = runners[v][1]()
            seconds[v].append(elapsed)
            accuracies.setdefault(v, []).append(accuracy(predict, data.x_test, data.y_test))
            progress(f"round {round_index + 1}/{rounds} {v}: {steps * BATCH / elapsed:,.0f} samples/s")
    rate = {v: steps * BATCH / statistics.median(s) for v, s in seconds.items()}
    peak = matmul_rate()
    result = {
        "steps": steps,
        "rounds": rounds,
        "samples_per_second": rate,
        "labels": {v: runners[v][0] for v in variants},
        "test_accuracy": {v: statistics.mean(a) for v, a in accuracies.items()},
        "matmul_flops": peak,
        "warm_up_steps": WARMUP,
        "warm_up_seconds": {v: w for v, w in warm_up.items() if w},
        "ratios": {},
        "ratio_ranges": {},
    }
    for top, bottom in (("c", "a"), ("d", "a"), ("d", "c"), ("c", "b")):
        if top in rate and bottom in rate:
            per_round = [b / t for t, b in zip(seconds[top], seconds[bottom])]
            result["ratios"][f"{top}/{bottom}"] = statistics.median(per_round)
            result["ratio_ranges"][f"{top}/{bottom}"] = (min(per_round), max(per_round))
    if "c" in rate:
        result["train_flops_c"] = rate["c"] / BATCH * STEP_FLOPS
        result["ratios"]["c_flops/e"] = result["train_flops_c"] / peak
    return result


MLP_ACTIVATIONS = ("relu", "leaky_relu", "elu", "sigmoid", "tanh")


def run_all(data, fashion=None, *, steps=3001, rounds=5, variants=("a", "b", "c", "d"),
            cost_rounds=40, cost_inner=40, mlp_rounds=40, mlp_train=None, progress=print):
    """Every measurement `actkeras bench` reports, with the machine they were taken on.

    Args:
        data: notMNIST, for the training speed (`run_speed`).
        fashion: Fashion-MNIST, for the 50-layer MLP's step time (`mlp_epoch_time`).
            Defaults to `None`: that timing is skipped.
        steps, rounds, variants: as for `run_speed`.
        cost_rounds, cost_inner: `activation_cost`'s `rounds` and `inner`; 0 rounds
            skips it. Default to `40`.
        mlp_rounds, mlp_train: `mlp_epoch_time`'s `rounds` and `n_train`; 0 for
            either skips it.
        progress: where progress lines go. Defaults to `print`.

    Returns:
        `{"environment", "speed", "activation_cost", "mlp_step_time"}` (empty dicts
        for what was skipped), as `bench_report.to_markdown` and the `--json` file
        take them.
    """
    unknown = sorted(set(variants) - {"a", "b", "c", "d"})
    if unknown or not variants:
        raise ValueError(f"`variants` is a non-empty subset of a, b, c, d. "
                         f"Received: variants={list(variants)!r}")
    speed = run_speed(data, steps=steps, rounds=rounds, variants=variants, progress=progress)
    cost = {}
    if cost_rounds:
        progress("activation cost ...")
        cost = activation_cost(inner=cost_inner, rounds=cost_rounds)
    mlp = {}
    if fashion is not None and mlp_rounds and mlp_train != 0:
        progress("50-layer MLP step time ...")
        mlp = mlp_epoch_time(fashion, list(MLP_ACTIVATIONS), rounds=mlp_rounds, n_train=mlp_train)
    return {"environment": environment(), "speed": speed, "activation_cost": cost,
            "mlp_step_time": mlp}
