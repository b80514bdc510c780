"""Training speed of the deep presets' networks: Keras's `fit`, `actkeras.fit`, and the bound.

For a preset trained by epochs (`fashion_mlp`, `mlp`), one process times one epoch of
each variant on the same data, in round-robin order after one untimed round (tracing
and compiling; every variant keeps its model from round to round):

  b. a plain `keras.Sequential` of the same layers from the same start weights,
     `compile` and `fit` at Keras's defaults (one step a call), validation at the
     epoch's end: what a Keras user would first write;
  c. `build_model` + `actkeras.fit`, one epoch with validation at its end, as the
     package trains the preset;
  e. the same training step (forward, loss, gradient, SGD update) as one compiled
     function of the weights (`tf.function` without XLA, as Keras compiles on a CPU,
     or `jax.jit`), `INNER` steps a call over consecutive batches: no metrics, no
     callbacks, no data pipeline, no validation. The bound on this machine.

Ratios are the median over rounds of each round's ratio of speeds (steps per second),
with their range: the variants of one round ran seconds apart.
"""

import math
import statistics
import time

import keras
import numpy as np

from actkeras.paired_timing import compile_function, wait_for

DEEP_PRESETS = ("fashion_mlp", "mlp")
# The networks as the reproduction trains them (claim 2's He arms; the `mlp` preset's own).
OVERRIDES = {"fashion_mlp": {"initializer": "he_normal"}, "mlp": {}}
INNER = 20  # steps per compiled call of e


def preset_speed(data, preset, *, rounds=5, n_train=None, seed=0, progress=print):
    """Times b, c and e on one epoch of `data` for `preset`; see the module's docstring.

    Args:
        data: Fashion-MNIST (`x_train`, `y_train`, `x_valid`, `y_valid`).
        preset: `"fashion_mlp"` or `"mlp"`.
        rounds: timed rounds. Defaults to `5`.
        n_train: training images per epoch (the first ones). Defaults to `None`:
            all of `data.x_train`.
        seed: the models' seed. Defaults to `0`.
        progress: where progress lines go. Defaults to `print`.

    Returns:
        A JSON-ready dict: `preset`, `batch_size`, `n_train`, `steps` (per epoch, per
        variant), `rounds`, `labels`, `seconds` (per variant, per round),
        `ms_per_step` (medians), `ratios` and `ratio_ranges` (`c/e`, `c/b`), and
        `valid_accuracy` (b and c, after the last round).
    """
    from actkeras.models import build_model
    from actkeras.training import fit

    if preset not in DEEP_PRESETS:
        raise ValueError(f"`preset` must be one of {', '.join(DEEP_PRESETS)}. "
                         f"Received: preset={preset!r}")
    keras.utils.set_random_seed(seed)
    data = _first(data, n_train)
    model = build_model("relu", preset=preset, seed=seed, **OVERRIDES[preset])
    config = model.actkeras_config
    plain = plain_model(config, model.get_weights())
    x, y, valid = data.x_train, data.y_train, (data.x_valid, data.y_valid)
    batch = config.batch_size
    steps = {"b": math.ceil(len(x) / batch), "c": math.ceil(len(x) / batch),
             "e": len(x) // batch // INNER * INNER}
    if not steps["e"]:
        raise ValueError(f"e needs at least {INNER} whole batches of {batch}. "
                         f"Received: n_train={len(x)}")
    histories = {}

    def run_b():
        histories["b"] = plain.fit(x, y, batch_size=batch, epochs=1, validation_data=valid,
                                   verbose=0, shuffle=True)

    def run_c():
        histories["c"] = fit(model, data, epochs=1, verbose=0)

    bound = CompiledSteps(build_model("relu", preset=preset, seed=seed, **OVERRIDES[preset]),
                          x, y, steps["e"])
    runners = {"b": run_b, "c": run_c, "e": bound.run}
    seconds = {v: [] for v in runners}
    for index in range(rounds + 1):  # the first round traces and compiles: not timed
        for v, run in runners.items():
            start = time.perf_counter()
            run()
            if index:
                seconds[v].append(time.perf_counter() - start)
                progress(f"{preset} round {index}/{rounds} {v}: "
                         f"{seconds[v][-1] / steps[v] * 1e3:.2f} ms a step")
    per_step = {v: [s / steps[v] for s in values] for v, values in seconds.items()}
    result = {
        "preset": preset, "batch_size": batch, "n_train": len(x), "steps": steps,
        "rounds": rounds, "inner": INNER, "labels": dict(LABELS), "seconds": seconds,
        "ms_per_step": {v: statistics.median(values) * 1e3 for v, values in per_step.items()},
        "ratios": {}, "ratio_ranges": {},
        "valid_accuracy": {v: float(h.history["val_accuracy"][-1]) for v, h in histories.items()},
    }
    for top, bottom in (("c", "e"), ("c", "b")):
        # A ratio of speeds: the bottom's time per step over the top's.
        per_round = [b / t for t, b in zip(per_step[top], per_step[bottom])]
        result["ratios"][f"{top}/{bottom}"] = statistics.median(per_round)
        result["ratio_ranges"][f"{top}/{bottom}"] = (min(per_round), max(per_round))
    return result


LABELS = {"b": "plain keras.Sequential + fit", "c": "build_model + actkeras.fit",
          "e": "the step compiled alone (the bound)"}


def plain_model(config, weights):
    """A plain `keras.Sequential` of a `ModelConfig`'s layers at Keras's defaults
    (`Dense(units, activation=...)`, one step a call), set to `weights`."""
    if config.batch_norm or config.dropout or config.optimizer != "sgd":
        raise ValueError("The plain baseline is written for SGD presets without batch "
                         f"normalization or dropout. Received: {config.preset} with "
                         f"optimizer={config.optimizer!r}, batch_norm={config.batch_norm}, "
                         f"dropout={config.dropout}")
    layers = [keras.Input(config.input_shape), keras.layers.Flatten()]
    layers += [keras.layers.Dense(units, activation=config.activation)
               for units in config.hidden_units]
    layers.append(keras.layers.Dense(
        config.num_classes, activation="softmax" if config.output == "softmax" else None))
    model = keras.Sequential(layers)
    model.set_weights(weights)
    model.compile(keras.optimizers.SGD(config.learning_rate), _loss(config), metrics=["accuracy"])
    return model


def _loss(config):
    return keras.losses.SparseCategoricalCrossentropy(from_logits=config.output == "logits")


class CompiledSteps:
    """e: `steps` SGD steps of `model`'s network over consecutive batches of `(x, y)`,
    `INNER` a compiled call, as a function of the weights (`weights`, carried from
    `run` to `run`); `run` waits for the last call."""

    def __init__(self, model, x, y, steps):
        config = model.actkeras_config
        batch, loss_fn = config.batch_size, _loss(config)
        frozen = [v.value for v in model.non_trainable_variables]

        def loss(weights, xb, yb):
            return loss_fn(yb, model.stateless_call(weights, frozen, xb, training=True)[0])

        step = _sgd_step(loss, config.learning_rate)

        def steps_from(weights, first, xs, ys):
            def body(i, weights):
                start = (first + i) * batch
                xb = keras.ops.slice(xs, (start, 0, 0)[: len(xs.shape)], (batch, *xs.shape[1:]))
                yb = keras.ops.slice(ys, (start,), (batch,))
                return step(weights, xb, yb)

            return keras.ops.fori_loop(0, INNER, body, weights)

        self._compiled = compile_function(steps_from)
        self._xs, self._ys = keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y)
        # Tensors, not Python numbers: a `tf.function` traces anew for each number.
        self._firsts = [keras.ops.convert_to_tensor(np.int32(call * INNER))
                        for call in range(steps // INNER)]
        self.weights = [v.value for v in model.trainable_variables]

    def run(self):
        for first in self._firsts:
            self.weights = self._compiled(self.weights, first, self._xs, self._ys)
        wait_for(self.weights[0])


def _sgd_step(loss, rate):
    """`(weights, xb, yb) -> weights - rate * gradient`, with the backend's gradient."""
    if keras.backend.backend() == "jax":
        import jax

        gradient = jax.grad(loss)
    else:
        import tensorflow as tf

        def gradient(weights, xb, yb):
            with tf.GradientTape() as tape:
                tape.watch(weights)
                value = loss(weights, xb, yb)
            return tape.gradient(value, weights)

    def step(weights, xb, yb):
        return [w - rate * g for w, g in zip(weights, gradient(weights, xb, yb))]

    return step


def _first(data, n_train):
    """`data` with only its first `n_train` training images (all for `None`)."""
    if n_train is None or n_train >= len(data.x_train):
        return data
    from types import SimpleNamespace

    return SimpleNamespace(x_train=data.x_train[:n_train], y_train=data.y_train[:n_train],
                           x_valid=data.x_valid, y_valid=data.y_valid,
                           x_test=data.x_test, y_test=data.y_test)
