"""What a run measures besides its History: accuracy at fixed step budgets, and named
measurements taken once training ends (`MEASURES`).

`BudgetEvaluator` scores the whole validation split (and a fixed slice of the
training split) before the first step and at each budget step, so learning curves
of different arms and seeds are read at the same steps, never interpolated. Each
split is scored in one compiled call (`HitCounter`), its arrays held by the backend
once per `fit`.
"""

import math

import keras
import numpy as np

CHUNK = 2048  # images per forward pass when scoring


def accuracy(model, x, y):
    """Top-1 accuracy of `model` on `(x, y)` in inference mode, in chunks."""
    if not len(x):
        return None
    hits = 0
    for start in range(0, len(x), CHUNK):
        out = keras.ops.convert_to_numpy(model(x[start:start + CHUNK], training=False))
        hits += int(np.sum(np.argmax(out, axis=-1) == y[start:start + CHUNK]))
    return hits / len(x)


class HitCounter:
    """Top-1 hits of `model` on fixed arrays, each call one compiled backend call.

    The arrays are held by the backend once (`tf.constant`, `jax.device_put`); a call
    runs the model in inference mode on the same chunks of `CHUNK` images as
    `accuracy` and counts `argmax == y` in the same function, so that the counts are
    `accuracy`'s: the same ops on the same chunks, the ties to the first index as
    NumPy's `argmax` (`tests/test_budgets.py`). On TensorFlow it is one `tf.function`
    over `model(x, training=False)`, reading the variables as they are, that walks the
    chunks in a `tf.while_loop` whatever the number of images: traced once for every
    split of the same image shape. On JAX it is `jax.jit` over Keras's public
    `stateless_call`, the variables' values passed in, traced once per array shape.
    Other backends: `accuracy`.

    `calls` counts the calls; `traces` the times the model was traced, which the tests
    read.

    Example:
    >>> count = HitCounter(model)
    >>> split = count.hold(x_valid, y_valid)
    >>> count(split) / len(x_valid)  # == accuracy(model, x_valid, y_valid)
    """

    def __init__(self, model):
        self.model = model
        self.backend = keras.backend.backend()
        self.calls = self.traces = 0
        self._jax_fn = self._jax_function() if self.backend == "jax" else None
        self._tf_fns = {}  # (image shape, dtypes): the traced function

    def _right(self, out, y):
        right = keras.ops.equal(keras.ops.cast(keras.ops.argmax(out, axis=-1), "int32"),
                                keras.ops.cast(y, "int32"))
        return keras.ops.sum(keras.ops.cast(right, "int32"))

    def _jax_function(self):
        """The JAX count, compiled once per array shape."""
        import jax

        model = self.model

        def hits(trainable, non_trainable, x, y):
            """The whole chunks in a `fori_loop` (one forward pass to compile, not one
            a chunk), then the short last one."""
            self.traces += 1

            def forward(chunk):
                return model.stateless_call(trainable, non_trainable, chunk, training=False)[0]

            def whole(i, count):
                start = i * CHUNK
                return count + self._right(
                    forward(jax.lax.dynamic_slice_in_dim(x, start, CHUNK)),
                    jax.lax.dynamic_slice_in_dim(y, start, CHUNK))

            n, rest = x.shape[0], x.shape[0] % CHUNK
            count = keras.ops.zeros((), "int32")
            if n // CHUNK:  # (the loop's body is traced even for no iteration)
                count = jax.lax.fori_loop(0, n // CHUNK, whole, count)
            if rest:
                count = count + self._right(forward(x[n - rest:]), y[n - rest:])
            return count

        return jax.jit(hits)

    def _tf_function(self, x, y):
        """The TensorFlow count for arrays like `x`, `y` (any number of images)."""
        import tensorflow as tf

        key = (tuple(x.shape[1:]), x.dtype, tuple(y.shape[1:]), y.dtype)
        if key not in self._tf_fns:
            model = self.model

            def count(x, y):
                self.traces += 1
                n = tf.shape(x)[0]

                def chunk(start, hits):
                    end = tf.minimum(start + CHUNK, n)
                    return end, hits + self._right(model(x[start:end], training=False),
                                                   y[start:end])

                _, hits = tf.while_loop(lambda start, _: start < n, chunk,
                                        (tf.constant(0), tf.constant(0, tf.int32)))
                return hits

            signature = (tf.TensorSpec([None, *key[0]], key[1]),
                         tf.TensorSpec([None, *key[2]], key[3]))
            self._tf_fns[key] = tf.function(count, input_signature=signature,
                                            autograph=False, jit_compile=False)
        return self._tf_fns[key]

    def hold(self, x, y):
        """`(x, y)` as the backend holds them for every later call."""
        if self.backend == "tensorflow":
            import tensorflow as tf

            return tf.constant(x), tf.constant(y)
        if self.backend == "jax":
            import jax

            return jax.device_put(np.asarray(x)), jax.device_put(np.asarray(y))
        return x, y

    def __call__(self, split):
        x, y = split
        self.calls += 1
        if self.backend == "tensorflow":
            out = self._tf_function(x, y)(x, y)
        elif self.backend == "jax":
            model = self.model
            out = self._jax_fn([v.value for v in model.trainable_variables],
                           [v.value for v in model.non_trainable_variables], x, y)
        else:
            return round(accuracy(self.model, x, y) * len(x)) if len(x) else 0
        return int(keras.ops.convert_to_numpy(out))


def epochs_to_steps(epochs, n_train, batch_size, group=10):
    """Budgets in epochs as steps, rounded to a multiple of the execution `group`."""
    steps = []
    for e in epochs:
        raw = e * n_train / batch_size
        steps.append(max(group, int(round(raw / group)) * group))
    return steps


class BudgetEvaluator(keras.callbacks.Callback):
    """Records validation (and training) accuracy at step 0 and at each budget.

    Keras calls `on_train_batch_end` once per group of `steps_per_execution` steps,
    so budgets must be multiples of the group to be hit exactly; a budget that falls
    inside a group is recorded at the group's end, with the step it was taken at.

    The model's step count is read once an epoch and then only at groups that may
    have reached the next budget (a group's batch index bounds the steps run since
    the epoch began): on JAX every read of the model moves its whole state back into
    the variables, which on the 50-layer network cost more than the steps did.

    Records: `[{"step", "valid_accuracy", "train_accuracy", "minibatch_accuracy",
    "minibatch_images"}]` in `records`. The training images are scored at budgets up
    to `train_until` (all: `None`), or only at `train_until` (`train_every=False`).
    With `minibatch_size`, every budget up to `train_until` also records the accuracy
    of the training minibatches themselves, as the training step scored them (each
    batch before its own update: the model's compiled `"accuracy"`, which Keras logs
    as its mean since the epoch began), accumulated over every step from step 0, and
    the number of images that mean is over. It costs nothing beyond the step and
    needs whole batches of `minibatch_size` (the by-step presets' streams).
    """

    def __init__(self, x_valid, y_valid, steps, x_train=None, y_train=None, train_until=None,
                 *, train_every=True, minibatch_size=None):
        super().__init__()
        if (not train_every or minibatch_size) and train_until is None:
            raise ValueError("`train_every=False` and `minibatch_size` read the training "
                             "window `train_until`, which is not set.")
        self.x_valid, self.y_valid = x_valid, y_valid
        self.x_train, self.y_train = x_train, y_train
        self.steps = sorted(set(int(s) for s in steps))
        self.train_until = train_until
        self.train_every = train_every
        self.minibatch_size = minibatch_size
        self.records = []

    def _record(self, step, logs=None):
        record = {"step": step, "valid_accuracy": self._accuracy(self._valid)}
        in_window = self.train_until is None or step <= self.train_until
        if self._train is not None and in_window and (self.train_every
                                                      or step == self.train_until):
            record["train_accuracy"] = self._accuracy(self._train)
        if self.minibatch_size and in_window and step > 0:
            hits, images = self._minibatch_so_far(step, logs)
            if images:
                record["minibatch_accuracy"] = hits / images
                record["minibatch_images"] = images
        self.records.append(record)

    def _minibatch_so_far(self, step, logs):
        """`(hits, images)` of the training minibatches from step 0 to `step`: the ended
        epochs' and this one's (its running mean times its images, an integer count)."""
        images = (step - self._epoch_start) * self.minibatch_size
        mean = (logs or {}).get("accuracy")
        if mean is None or not images:
            return self._mb_hits, self._mb_images
        hits = int(round(float(keras.ops.convert_to_numpy(mean)) * images))
        return self._mb_hits + hits, self._mb_images + images

    def _accuracy(self, split):
        n = len(split[1])
        return self.counter(split) / n if n else None

    def _iterations(self):
        return int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))

    def on_train_begin(self, logs=None):
        self.records = []
        # One compiled scorer and the splits held by the backend, for this `fit`.
        self.counter = HitCounter(self.model)
        self._valid = self.counter.hold(self.x_valid, self.y_valid)
        self._train = (self.counter.hold(self.x_train, self.y_train)
                       if self.x_train is not None and len(self.x_train) else None)
        self._pending = [s for s in self.steps if s > 0]
        self._base = None  # the step count when the epoch began (unknown: read each group)
        self._mb_hits = self._mb_images = 0  # minibatches of the epochs that ended
        self._epoch_start = 0
        if 0 in self.steps:
            self._record(0)

    def _window_open(self):
        return bool(self.minibatch_size) and self._epoch_start < self.train_until

    def on_epoch_begin(self, epoch, logs=None):
        if self._pending or self._window_open():
            self._base = self._iterations()
            self._epoch_start = self._base
        else:
            self._base = None

    def on_epoch_end(self, epoch, logs=None):
        if self._window_open():
            step = self._iterations()
            if step <= self.train_until:  # a window's epoch ended: its minibatches count
                self._mb_hits, self._mb_images = self._minibatch_so_far(step, logs)
                self._epoch_start = step

    def on_train_batch_end(self, batch, logs=None):
        if not self._pending:
            return
        if self._base is not None and self._base + batch + 1 < self._pending[0]:
            return  # at most `batch + 1` steps ran this epoch: the budget is still ahead
        step = self._iterations()
        if step >= self._pending[0]:
            loss = (logs or {}).get("loss")
            if loss is not None and not math.isfinite(float(keras.ops.convert_to_numpy(loss))):
                self._pending = []  # diverged: the weights are NaN from here on
                return
            self._record(step, logs)
            self._pending = [s for s in self._pending if s > step]


# --- measurements after training -----------------------------------------------------------

SPARSITY_EPSILON = 0.05  # "near zero": |a| <= 5 % of the layer's scale (see `sparsity`)


def sparsity(model, data, spec):
    """Exact zeros and near-zero outputs of every hidden activation layer, on the probe.

    "Near zero" is |a| <= 5 % of the layer's scale, where the scale is the 99th
    percentile of |a| over the probe (robust to a few huge outputs), so that units
    of every family are compared like with like: a sigmoid unit that is "off"
    sits near its lower asymptote 0, never at exactly 0. For a sigmoid layer the
    scale is at most 1 and 5 % of it is at most 0.05.
    """
    from actkeras.callbacks import Tap, find_activation_layers

    sites = find_activation_layers(model)
    if not sites:
        return {"layers": {}}
    n = min(spec.probe_size, len(data.x_valid))
    tap = Tap(model, [(site, "output") for site in sites])
    values = [keras.ops.convert_to_numpy(v).reshape(n, -1) for v in tap(data.x_valid[:n])]
    layers = {}
    for site, a in zip(sites, values):
        magnitude = np.abs(a.astype(np.float64))
        scale = float(np.percentile(magnitude, 99))
        epsilon = SPARSITY_EPSILON * scale
        layers[site.name] = {
            "family": site.family,
            "units": int(a.shape[1]),
            "zero_fraction": float(np.mean(a == 0)),
            "near_zero_fraction": float(np.mean(magnitude <= epsilon)),
            "epsilon": epsilon,
            "scale": scale,
            "below_0.05_fraction": float(np.mean(magnitude <= 0.05)),
            "unit_zero_fraction": [float(f) for f in np.quantile(np.mean(a == 0, axis=0),
                                                                 [0.1, 0.5, 0.9])],
        }
    return {"layers": layers, "epsilon_rule": f"|a| <= {SPARSITY_EPSILON} x 99th percentile of |a|",
            "probe": n}


def unit_biases(model, data, spec):
    """Every hidden Dense layer's biases after training (claim 6: were the units that died
    switched off by a bias that training drove negative?)."""
    layers = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense) and layer.name != "output" and layer.use_bias:
            layers[layer.name] = [float(b) for b in keras.ops.convert_to_numpy(layer.bias)]
    return {"layers": layers}


MEASURES = {"sparsity": sparsity, "unit_biases": unit_biases}
