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

Plus the deep presets' networks (`fashion_mlp`, `mlp`: b, c and e per preset,
`actkeras.bench_presets`), and, as ratios to ReLU with 95 % confidence intervals from
paired rounds run in a seeded random order (`actkeras.activation_timing`, claim 8's
timings): the cost of each activation (forward + backward, many passes in one compiled
loop over 2**20 elements, net of an identity baseline timed in the same rounds), and
the training-step time of the 50-layer MLP per activation.

`run_all` takes every measurement `actkeras bench` reports;
`actkeras.bench_report.to_markdown` writes them as BENCHMARKS.md.
"""

import math
import statistics
import time

import keras
import numpy as np

# Claim 8's timings, also reported here; importable from `actkeras.bench` as before.
from actkeras.activation_timing import activation_cost, mlp_epoch_time
from actkeras.bench_presets import DEEP_PRESETS, preset_speed
from actkeras.paired_timing import compile_function, wait_for
from actkeras.records import environment
from actkeras.stepping import course_offsets

__all__ = ["PRESETS", "activation_cost", "matmul_rate", "mlp_epoch_time", "package_fit",
           "plain_keras", "preset_speed", "run_all", "run_speed", "tf1_loop"]

PRESETS = ("udacity", *DEEP_PRESETS)  # every preset's network, in the order measured

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
    # `WARMUP` untimed steps whatever `steps` is, as `package_fit` has (b trained for fewer
    # than c below 100 steps, and their accuracies were not comparable).
    repeats = math.ceil(max(samples, WARMUP * BATCH) / len(x))
    xs, ys = np.concatenate([x] * repeats), np.concatenate([y] * repeats)
    model.fit(xs[: WARMUP * BATCH], ys[: WARMUP * BATCH], batch_size=BATCH, verbose=0)
    xs, ys = xs[:samples], ys[:samples]
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

    compiled = compile_function(lambda w1, w2: keras.ops.fori_loop(0, inner, body, (w1, w2)))
    wait_for(compiled(w1, w2)[0])
    best = 0.0
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            result = compiled(w1, w2)
        wait_for(result[0])
        best = max(best, STEP_FLOPS * inner * repeats / (time.perf_counter() - start))
    return best


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
        "batch_size": BATCH,
        "step_flops": STEP_FLOPS,
        "samples_per_second": rate,
        "seconds": seconds,  # every round's, which the medians and ratios come from
        "labels": {v: runners[v][0] for v in variants},
        "test_accuracy": {v: statistics.mean(a) for v, a in accuracies.items()},
        "test_accuracies": accuracies,
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


def run_all(data, fashion=None, *, presets=PRESETS, steps=3001, rounds=5,
            variants=("a", "b", "c", "d"), preset_train=None, cost_rounds=40, cost_inner=40,
            mlp_rounds=40, mlp_train=None, progress=print):
    """Every measurement `actkeras bench` reports, with the machine they were taken on.

    Args:
        data: notMNIST, for the `udacity` network's training speed (`run_speed`);
            `None` where `"udacity"` is not in `presets`.
        fashion: Fashion-MNIST, for the deep presets (`preset_speed`) and the 50-layer
            MLP's step time (`mlp_epoch_time`). Defaults to `None`: both skipped.
        presets: the presets whose networks' training speed is measured. Defaults to
            all of `PRESETS`.
        steps, rounds, variants: as for `run_speed`; `rounds` also for `preset_speed`.
        preset_train: training images per epoch of the deep presets. Defaults to
            `None`: all of `fashion`'s.
        cost_rounds, cost_inner: `activation_cost`'s `rounds` and `inner`; 0 rounds
            skips it. Default to `40`.
        mlp_rounds, mlp_train: `mlp_epoch_time`'s `rounds` and `n_train`; 0 for
            either skips it.
        progress: where progress lines go. Defaults to `print`.

    Returns:
        `{"environment", "speed", "presets", "activation_cost", "mlp_step_time"}`
        (empty dicts for what was skipped; `presets` maps each deep preset to its
        `preset_speed`), as `bench_report.to_markdown` and the `--json` file take them.
    """
    unknown = sorted(set(variants) - {"a", "b", "c", "d"})
    if unknown or not variants:
        raise ValueError(f"`variants` is a non-empty subset of a, b, c, d. "
                         f"Received: variants={list(variants)!r}")
    wrong = [p for p in presets if p not in PRESETS]
    if wrong or not presets:
        raise ValueError(f"`presets` is a non-empty subset of {', '.join(PRESETS)}. "
                         f"Received: presets={list(presets)!r}")
    speed = {}
    if "udacity" in presets:
        speed = run_speed(data, steps=steps, rounds=rounds, variants=variants, progress=progress)
    deep = {}
    for preset in (p for p in DEEP_PRESETS if p in presets and fashion is not None):
        progress(f"{preset} network ...")
        deep[preset] = preset_speed(fashion, preset, rounds=rounds, n_train=preset_train,
                                    progress=progress)
    cost = {}
    if cost_rounds:
        progress("activation cost ...")
        cost = activation_cost(inner=cost_inner, rounds=cost_rounds)
    mlp = {}
    if fashion is not None and mlp_rounds and mlp_train != 0:
        progress("50-layer MLP step time ...")
        mlp = mlp_epoch_time(fashion, list(MLP_ACTIVATIONS), rounds=mlp_rounds, n_train=mlp_train)
    return {"environment": environment(), "speed": speed, "presets": deep,
            "activation_cost": cost, "mlp_step_time": mlp}
