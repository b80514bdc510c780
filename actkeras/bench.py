"""Training speed of the `udacity` network against what a user would otherwise run.

One process measures, on the same data and in round-robin order (machines are
noisy, so every variant is timed in every round and the median is kept):

  a. the seed 003 code's own TensorFlow 1 loop (`tf.compat.v1`, placeholders,
     `GradientDescentOptimizer(0.5)`, batch 128): the peer baseline;
  b. a plain `keras.Sequential` with `fit`;
  c. `build_model` + `actkeras.fit`, as the package runs it by default;
  d. the same with all three monitors attached at their defaults;
  e. the machine's matrix-multiply rate at the network's own shapes.

Plus the cost of each activation (forward + backward on a (128, 1024) tensor) and
the epoch time of the 50-layer MLP per activation, as ratios to ReLU.
"""

import importlib.util
import math
import statistics
import time

import keras
import numpy as np

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
    the model's train and test functions and pays the monitors' first use in the
    process (on JAX, compiling the eager operations of their measurements: seconds
    on the first model, nothing on the next). Its seconds are appended to `warm_up`
    where given. The timed fit then has new monitors, which make their tap models
    and functions again, as each `fit` does.
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


def activation_cost(names=None, shape=(BATCH, HIDDEN), repeats=200, rounds=5):
    """Forward + backward time of each registry activation, median over rounds (s)."""
    from actkeras.registry import activation_names, get_activation

    names = names or activation_names()
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")  # one traced function per activation is intended
    x = keras.ops.convert_to_tensor(
        np.random.default_rng(0).normal(size=shape).astype("float32")
    )
    steps = {name: _compile(_grad_fn(get_activation(name))) for name in names}
    for fn in steps.values():
        _block(fn(x))
    times = {name: [] for name in names}
    for _ in range(rounds):
        for name, fn in steps.items():
            start = time.perf_counter()
            for _ in range(repeats):
                result = fn(x)
            _block(result)
            times[name].append((time.perf_counter() - start) / repeats)
    return {name: statistics.median(values) for name, values in times.items()}


def _grad_fn(layer):
    """x -> d/dx sum(layer(x)): one forward and one backward pass."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        def fn(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.reduce_sum(layer(x))
            return tape.gradient(y, x)

        return fn
    if backend == "jax":
        import jax

        return jax.grad(lambda x: keras.ops.sum(layer(x)))
    raise RuntimeError(f"activation_cost supports tensorflow and jax, not {backend}")


def mlp_epoch_time(data, names, n_train=2048, rounds=2):
    """Seconds per epoch of the 50-layer `fashion_mlp` per activation (median)."""
    from actkeras.models import build_model

    x, y = data.x_train[:n_train], data.y_train[:n_train]
    models = {}
    for name in names:
        model = build_model(name, preset="fashion_mlp", initializer="he_normal", seed=0)
        model.fit(x[:64], y[:64], batch_size=32, verbose=0)  # compile
        models[name] = model
    times = {name: [] for name in names}
    for _ in range(rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(x, y, batch_size=32, epochs=1, verbose=0)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


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
    if "a" in variants and importlib.util.find_spec("tensorflow") is None:
        # The TF1 loop runs its own graph and session whatever the Keras backend,
        # but it needs TensorFlow installed.
        variants = [v for v in variants if v != "a"]
        progress("variant a skipped: TensorFlow is not installed")
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
